// Package server assembles agenttrace: it opens the store, bootstraps the
// default account and admin key, fills demo data, mounts every HTTP part
// (API, UI, OTLP, exports, MCP) on one mux and serves it with a graceful
// shutdown. cmd/agenttrace only turns flags into a Config.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/jobs"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what `agenttrace serve` is told.
type Config struct {
	Addr         string // listen address, default 127.0.0.1:7070
	DataDir      string // default ./agenttrace-data
	DatabaseURL  string // postgres://… to use PostgreSQL instead of SQLite
	Demo         bool   // fill an empty store with demo data
	BootstrapKey string // the first admin key; random when empty
	OTLPGRPCAddr string // listen address of the OTLP/gRPC receiver; off when empty
	// JudgeAllow lists the internal addresses ("host", "host:port", "*")
	// that judge evaluators may call; others are refused (eval.JudgeGuard).
	JudgeAllow []string
	Logger     *slog.Logger
	// Out receives the one-time messages for the person starting the server.
	Out io.Writer
}

// Server is a running agenttrace.
type Server struct {
	Config   Config
	Store    store.Store
	API      *api.Server
	Registry *prometheus.Registry
	// Jobs runs background jobs; parts register their kinds while mounting.
	Jobs  *jobs.Runner
	mux   *http.ServeMux
	ready atomic.Bool
	// Hooks to stop background workers on shutdown, in order.
	stoppers []func(context.Context)

	otlpGRPCAddr string
	// demoAgentDone is closed once the --demo agent's first run is stored.
	demoAgentDone chan struct{}
}

// OpenStore opens the store the config names.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		if openPostgres == nil {
			return nil, errors.New("--database-url: PostgreSQL support is not built into this binary")
		}
		return openPostgres(ctx, cfg.DatabaseURL)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data %s: %w", cfg.DataDir, err)
	}
	return sqlite.Open(ctx, cfg.DataDir)
}

// openPostgres is set by postgres.go when the PostgreSQL store is linked in.
var openPostgres func(ctx context.Context, url string) (store.Store, error)

// New opens the store, bootstraps it and builds the HTTP handler.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:7070"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "agenttrace-data"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{Config: cfg, Store: st, Registry: prometheus.NewRegistry(), mux: http.NewServeMux()}
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := s.bootstrap(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if cfg.Demo {
		if err := s.fillDemo(ctx); err != nil {
			st.Close()
			return nil, fmt.Errorf("demo data: %w", err)
		}
	}
	api.Logger = cfg.Logger
	s.API = api.New(st, cfg.Logger, s.Registry)
	s.API.Ready = s.ready.Load
	s.API.Register(s.mux)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	s.Jobs = &jobs.Runner{Store: st, Logger: cfg.Logger}
	for _, mount := range mounts {
		if err := mount(ctx, s); err != nil {
			st.Close()
			return nil, err
		}
	}
	if len(s.Jobs.Handlers) > 0 {
		// Workers outlive the request that started New; Close stops them.
		s.Jobs.Start(context.WithoutCancel(ctx))
		s.OnStop(s.Jobs.Stop)
	}
	s.ready.Store(true)
	return s, nil
}

// mounts are the optional parts (UI, OTLP, exports, MCP, …), each adding its
// routes and workers; each part registers itself from a file of this package.
var mounts []func(ctx context.Context, s *Server) error

// Mux is the server's router, for parts mounting routes.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// WaitDemoAgent waits until the in-process demo agent of --demo has stored
// its first run (at once without --demo). Until then the store changes by
// itself, which callers that count runs must not race with.
func (s *Server) WaitDemoAgent(ctx context.Context) error {
	if s.demoAgentDone == nil {
		return nil
	}
	select {
	case <-s.demoAgentDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// OnStop registers a function run at shutdown, after HTTP has drained.
func (s *Server) OnStop(f func(context.Context)) { s.stoppers = append(s.stoppers, f) }

// Handler is the whole HTTP surface, instrumented and logged.
func (s *Server) Handler() http.Handler {
	return s.API.Metrics.Instrument(s.logRequests(refuseNUL(s.mux)))
}

// refuseNUL answers 400 to a URL whose path or query holds a NUL character
// (%00): nothing stored holds one (the domain refuses it), and PostgreSQL
// cannot take one as a query parameter, so a run id or filter with one made
// every handler answer 500 there.
func refuseNUL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.IndexByte(r.URL.Path, 0) >= 0 || strings.Contains(r.URL.RawQuery, "%00") {
			api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "the URL holds a NUL character (%%00), which no id or value may contain"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		s.Config.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start))
	})
}

// bootstrap creates the default account and the first admin key on a fresh
// store, and makes sure AGENTTRACE_BOOTSTRAP_KEY (when given) is a valid key.
func (s *Server) bootstrap(ctx context.Context) error {
	if _, err := s.Store.GetAccount(ctx, agenttrace.DefaultAccountID); agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
		if err := s.Store.CreateAccount(ctx, agenttrace.Account{ID: agenttrace.DefaultAccountID, Name: "Default", CreatedAt: time.Now().UTC()}); err != nil && agenttrace.ErrorCode(err) != agenttrace.ECONFLICT {
			return err
		}
	} else if err != nil {
		return err
	}
	n, err := s.Store.CountAPIKeys(ctx)
	if err != nil {
		return err
	}
	secret := s.Config.BootstrapKey
	if secret != "" {
		if _, err := s.Store.APIKeyByHash(ctx, agenttrace.HashSecret(secret)); err == nil {
			return nil
		}
	} else if n > 0 {
		return nil
	} else {
		secret = agenttrace.NewSecret()
	}
	k := agenttrace.APIKey{
		ID: agenttrace.NewID("key_"), AccountID: agenttrace.DefaultAccountID, Name: "bootstrap admin",
		Prefix: agenttrace.SecretPrefix(secret), Hash: agenttrace.HashSecret(secret),
		Scopes: []agenttrace.Scope{agenttrace.ScopeAdmin}, ServerAdmin: true, CreatedAt: time.Now().UTC(),
	}
	if err := s.Store.CreateAPIKey(ctx, k); err != nil {
		return fmt.Errorf("bootstrap key: %w", err)
	}
	if s.Config.BootstrapKey == "" {
		path := filepath.Join(s.Config.DataDir, "admin.key")
		if err := os.MkdirAll(s.Config.DataDir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(s.Config.Out, "Created the default account and its admin API key (shown once; also saved to %s):\n\n    %s\n\n", path, secret)
	}
	return nil
}

// Serve listens on the configured address until ctx ends, then shuts down
// gracefully: readiness goes false, in-flight requests finish (every
// acknowledged write is committed before its response), workers stop, and
// the store closes.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Config.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", s.Config.Addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln until ctx ends.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	s.Config.Logger.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.Config.Logger.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	s.Close(shutCtx)
	return err
}

// Close stops the workers and closes the store.
func (s *Server) Close(ctx context.Context) {
	for _, stop := range s.stoppers {
		stop(ctx)
	}
	s.stoppers = nil
	if err := s.Store.Close(); err != nil {
		s.Config.Logger.Error("closing store", "err", err)
	}
}
