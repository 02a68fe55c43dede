package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace/export"
	"github.com/agenttrace/agenttrace/web"
)

func init() { mounts = append(mounts, mountExport) }

// mountExport adds the resource-exports API, the "export" job kind and the
// retention sweep. Files are written in DATA/exports; on PostgreSQL, where
// several replicas may share the store, finished files move into the
// database so that any replica serves the download.
// AGENTTRACE_EXPORT_RETENTION sets how long files and finished export jobs
// are kept: a Go duration (72h) or days (7d); default 7d.
func mountExport(ctx context.Context, s *Server) error {
	retention, err := exportRetention(os.Getenv("AGENTTRACE_EXPORT_RETENTION"))
	if err != nil {
		return err
	}
	svc := &export.Service{
		Store:     s.Store,
		API:       s.API,
		Dir:       filepath.Join(s.Config.DataDir, "exports"),
		Logger:    s.Config.Logger,
		Wake:      s.Jobs.Wake,
		Retention: retention,
		Shared:    s.Config.DatabaseURL != "",
	}
	svc.Register(s.Mux())
	web.UseExports(s.API, svc) // the UI's export pages use this service
	s.Jobs.Register(export.Kind, svc.Run)
	s.OnStop(svc.StartSweeper(ctx, time.Hour))
	return nil
}

func exportRetention(v string) (time.Duration, error) {
	if v == "" {
		return export.DefaultRetention, nil
	}
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(d)
		if err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("AGENTTRACE_EXPORT_RETENTION: %q is not a positive duration (like 7d or 72h)", v)
	}
	return d, nil
}
