package server

import (
	"context"
	"net/http"

	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/mcp"
)

func init() { mounts = append(mounts, mountMCP) }

// mountMCP serves MCP over streamable HTTP at /mcp. Tools act through the
// server's own API (called in process) with the request's bearer key, so
// they see exactly what that key may see; a request without a valid key is
// answered 401 before any MCP processing.
func mountMCP(ctx context.Context, s *Server) error {
	authenticate := func(w http.ResponseWriter, r *http.Request) bool {
		if _, err := s.API.Authenticate(r); err != nil {
			api.WriteError(w, r, err)
			return false
		}
		return true
	}
	s.Mux().Handle("/mcp", mcp.HTTPHandler(s.Handler(), authenticate))
	return nil
}
