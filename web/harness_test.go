package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/demo"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/sqlstore"
	"github.com/prometheus/client_golang/prometheus"
)

// newHarness serves the UI over a fresh SQLite store without the server
// package (benchmarks and the dev server use it).
func newHarness(tb testing.TB, dir string) (*UI, *sqlstore.Store, *http.ServeMux) {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	a := api.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	ui, err := New(Config{API: a, Store: st})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Register(mux)
	ui.Register(mux)
	return ui, st, mux
}

func fillDemo(tb testing.TB, st *sqlstore.Store, n int) {
	tb.Helper()
	for _, b := range demo.Generate(time.Now().UTC(), 1, n) {
		if err := b.Normalize(); err != nil {
			tb.Fatal(err)
		}
		if _, err := st.Ingest(context.Background(), agenttrace.DefaultAccountID, &b); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestDevServe serves a demo UI for manual looking when AGENTTRACE_WEB_DEV
// holds a listen address (key: at_dev_key). It is skipped otherwise.
func TestDevServe(t *testing.T) {
	addr := os.Getenv("AGENTTRACE_WEB_DEV")
	if addr == "" {
		t.Skip("set AGENTTRACE_WEB_DEV=127.0.0.1:7071 to serve a demo UI")
	}
	_, st, mux := newHarness(t, t.TempDir())
	ctx := context.Background()
	_ = st.CreateAccount(ctx, agenttrace.Account{ID: agenttrace.DefaultAccountID, Name: "Default"})
	_ = st.CreateAPIKey(ctx, agenttrace.APIKey{ID: "key_dev", AccountID: agenttrace.DefaultAccountID, Name: "dev", Prefix: "at_dev", Hash: agenttrace.HashSecret("at_dev_key"), Scopes: []agenttrace.Scope{agenttrace.ScopeAdmin}})
	fillDemo(t, st, 400)
	t.Log("serving on", addr)
	_ = http.ListenAndServe(addr, mux)
}
