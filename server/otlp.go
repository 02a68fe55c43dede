package server

import (
	"context"
	"fmt"
	"net"

	"github.com/agenttrace/agenttrace/otlp"
)

// OTLP trace ingest: POST /v1/traces on the main port, and OTLP/gRPC on its
// own port when Config.OTLPGRPCAddr is set (see docs/otel.md).
func init() {
	mounts = append(mounts, func(ctx context.Context, s *Server) error {
		h := otlp.NewHandler(s.API)
		h.Register(s.Mux())
		if s.Config.OTLPGRPCAddr == "" {
			return nil
		}
		ln, err := net.Listen("tcp", s.Config.OTLPGRPCAddr)
		if err != nil {
			return fmt.Errorf("--otlp-grpc-addr %s: %w", s.Config.OTLPGRPCAddr, err)
		}
		s.otlpGRPCAddr = ln.Addr().String()
		g := h.GRPCServer()
		go func() {
			if err := g.Serve(ln); err != nil {
				s.Config.Logger.Error("OTLP/gRPC server", "err", err)
			}
		}()
		s.Config.Logger.Info("OTLP/gRPC listening", "addr", s.otlpGRPCAddr)
		s.OnStop(func(ctx context.Context) {
			// Finish the exports in flight (each is committed before its
			// answer), unless shutdown runs out of time.
			done := make(chan struct{})
			go func() { g.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				g.Stop()
			}
		})
		return nil
	})
}

// OTLPGRPCAddr is the address the OTLP/gRPC receiver listens on ("" when off).
func (s *Server) OTLPGRPCAddr() string { return s.otlpGRPCAddr }
