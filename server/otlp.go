package server

import (
	"context"

	"github.com/agenttrace/agenttrace/otlp"
)

// OTLP/HTTP trace ingest: POST /v1/traces (see docs/otel.md).
func init() {
	mounts = append(mounts, func(ctx context.Context, s *Server) error {
		otlp.Register(s.Mux(), s.API)
		return nil
	})
}
