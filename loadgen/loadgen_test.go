package loadgen_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/loadgen"
	"github.com/agenttrace/agenttrace/server"
	"github.com/agenttrace/agenttrace/store"
)

const key = "at_load_test_key_0123"

func start(tb testing.TB) (*server.Server, *client.Client) {
	srv, err := server.New(context.Background(), server.Config{DataDir: tb.TempDir(), BootstrapKey: key})
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() { ts.Close(); srv.Close(context.Background()) })
	return srv, client.New(ts.URL, key)
}

func TestLoadWritesEverything(t *testing.T) {
	srv, c := start(t)
	res := loadgen.Run(context.Background(), c, loadgen.Options{Batches: 3, RunsPerBatch: 10, StepsPerRun: 4, PayloadBytes: 256, Concurrency: 2})
	if res.Errors != 0 || res.Steps != 120 {
		t.Fatalf("result: %+v", res)
	}
	n, _ := srv.Store.CountRuns(context.Background(), agenttrace.DefaultAccountID, nil)
	if n != 30 {
		t.Fatalf("runs stored = %d", n)
	}
}

// BenchmarkIngestHTTP measures ingest over HTTP into SQLite: batches of
// 100 runs × 10 steps with 1 KiB payloads, 4 concurrent senders.
func BenchmarkIngestHTTP(b *testing.B) {
	_, c := start(b)
	o := loadgen.Options{Batches: b.N, Concurrency: 4}
	b.ResetTimer()
	res := loadgen.Run(context.Background(), c, o)
	if res.Errors > 0 {
		b.Fatalf("%d batches failed", res.Errors)
	}
	b.ReportMetric(res.StepsPerSecond(), "steps/s")
}

// TestOTLPLoadBecomesRuns sends the OTLP load to the real /v1/traces: every
// trace must become a run of its agent with its spans as ordered steps, and
// every tenth one fail at its last step.
func TestOTLPLoadBecomesRuns(t *testing.T) {
	srv, c := start(t)
	ctx := context.Background()
	o := loadgen.Options{Batches: 3, RunsPerBatch: 10, StepsPerRun: 4, PayloadBytes: 256, Concurrency: 2, Prefix: "otlpload"}
	res := loadgen.RunOTLP(ctx, loadgen.OTLPTarget{URL: c.BaseURL + "/v1/traces", Headers: map[string]string{"Authorization": "Bearer " + key}}, o)
	if res.Errors != 0 || res.Steps != 150 {
		t.Fatalf("result: %+v", res)
	}
	page, err := srv.Store.ListRuns(ctx, agenttrace.DefaultAccountID, store.ListOptions{Limit: 100})
	if err != nil || len(page.Runs) != 30 {
		t.Fatalf("runs stored = %d (%v)", len(page.Runs), err)
	}
	failed := 0
	for _, r := range page.Runs {
		if r.StepCount != 4 || r.Usage.InputTokens != 1000 || r.SessionID == "" {
			t.Fatalf("run %s: %d steps, usage %+v, session %q", r.ID, r.StepCount, r.Usage, r.SessionID)
		}
		if r.Status == agenttrace.StatusFailed {
			failed++
			steps, _ := srv.Store.ListSteps(ctx, agenttrace.DefaultAccountID, r.ID)
			if last := steps[len(steps)-1]; last.Status != agenttrace.StatusFailed || last.Error == nil {
				t.Fatalf("failed run %s: last step %+v", r.ID, last)
			}
		}
	}
	if failed != 3 {
		t.Fatalf("%d failed runs, want 3", failed)
	}
}
