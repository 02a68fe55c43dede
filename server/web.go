package server

import (
	"context"

	"github.com/agenttrace/agenttrace/web"
)

func init() { mounts = append(mounts, mountWeb) }

// mountWeb serves the web UI (sign-in, All Traces, agents, trace pages, usage).
func mountWeb(ctx context.Context, s *Server) error {
	ui, err := web.New(web.Config{API: s.API, Store: s.Store, Logger: s.Config.Logger, Now: s.API.Now})
	if err != nil {
		return err
	}
	ui.Register(s.Mux())
	return nil
}
