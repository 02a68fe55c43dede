package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/export"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/store"
	"github.com/prometheus/client_golang/prometheus"
)

func TestSchemaPublishedCopy(t *testing.T) {
	docs, err := os.ReadFile("../docs/export-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, export.Schema) {
		t.Fatal("docs/export-schema.json differs from export/schema.json: copy export/schema.json over it")
	}
	var v map[string]any
	if err := json.Unmarshal(export.Schema, &v); err != nil || v["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("schema: %v %v", err, v["$schema"])
	}
}

func TestRequestComposesFilters(t *testing.T) {
	r := export.Request{ResourceType: "agent_traces", AgentID: "support-bot",
		Filters: export.Filters{Q: "has:error", From: "2026-11-01T00:00:00Z", To: "2026-11-25", Status: "FAILED"}}
	q, err := r.Validate(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := q.String(), "has:error agent:support-bot after:2026-11-01 before:2026-11-25 status:failed"; got != want {
		t.Fatalf("composed %q, want %q", got, want)
	}
	if r.Format != "jsonl" {
		t.Fatalf("default format %q", r.Format)
	}
	bad := export.Request{ResourceType: "agent_traces", Filters: export.Filters{From: "2026-11-02", To: "2026-11-01"}}
	if _, err := bad.Validate(time.Now()); err == nil || !strings.Contains(err.Error(), "filters.to") {
		t.Fatalf("to before from: %v", err)
	}
}

func TestFilename(t *testing.T) {
	at := time.Date(2026, 11, 25, 12, 3, 0, 0, time.UTC)
	p := export.Params{Request: export.Request{AgentID: "support-bot", Format: "jsonl"}}
	if got := export.Filename(p, at); got != "agent-traces-support-bot-20261125-1203.jsonl" {
		t.Fatal(got)
	}
	p = export.Params{Request: export.Request{Format: "json", Gzip: true}}
	if got := export.Filename(p, at); got != "agent-traces-all-20261125-1203.json.gz" {
		t.Fatal(got)
	}
}

// newService is the export part alone, without a job runner, so jobs stay queued.
func newService(t *testing.T) (*export.Service, *httptest.Server, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAccount(ctx, agenttrace.Account{ID: "acme", Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	k := agenttrace.APIKey{ID: "k1", AccountID: "acme", Prefix: "x", Hash: agenttrace.HashSecret("secret"), Scopes: []agenttrace.Scope{agenttrace.ScopeExport}}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	b := agenttrace.Batch{Runs: []agenttrace.Run{{ID: "r1", AgentID: "bot"}}}
	_ = b.Normalize()
	if _, err := st.Ingest(ctx, "acme", &b); err != nil {
		t.Fatal(err)
	}
	svc := &export.Service{Store: st, API: api.New(st, nil, prometheus.NewRegistry()), Dir: filepath.Join(t.TempDir(), "exports")}
	mux := http.NewServeMux()
	svc.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return svc, ts, st
}

func do(t *testing.T, method, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestDownloadBeforeCompletion(t *testing.T) {
	_, ts, _ := newService(t)
	resp, v := do(t, "POST", ts.URL+"/authenticated/resource-exports", `{"resource_type":"agent_traces","format":"json"}`)
	if resp.StatusCode != 202 || v["status"] != "queued" || v["download_url"] != nil {
		t.Fatalf("create: %d %v", resp.StatusCode, v)
	}
	if est := v["estimate"].(map[string]any); est["runs"] != 1.0 || est["bytes"].(float64) < 100 {
		t.Fatalf("estimate: %v", est)
	}
	if p := v["progress"].(map[string]any); p["runs_written"] != 0.0 || p["runs_total"] != 1.0 {
		t.Fatalf("progress: %v", p)
	}
	id := v["id"].(string)
	resp, e := do(t, "GET", ts.URL+"/authenticated/resource-exports/"+id+"/download", "")
	msg, _ := e["error"].(map[string]any)["message"].(string)
	if resp.StatusCode != 409 || !strings.Contains(msg, "once its status is completed") {
		t.Fatalf("download of a queued export: %d %v", resp.StatusCode, e)
	}
	resp, c := do(t, "DELETE", ts.URL+"/authenticated/resource-exports/"+id, "")
	if resp.StatusCode != 200 || c["status"] != "canceled" {
		t.Fatalf("cancel: %d %v", resp.StatusCode, c)
	}
	resp, _ = do(t, "GET", ts.URL+"/authenticated/resource-exports/schema.json", "")
	if resp.StatusCode != 200 {
		t.Fatalf("schema: %d", resp.StatusCode)
	}
}

func TestSweep(t *testing.T) {
	svc, _, st := newService(t)
	ctx := context.Background()
	now := time.Now()
	svc.Now = func() time.Time { return now }
	if err := os.MkdirAll(svc.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]time.Duration{
		"old.jsonl": 8 * 24 * time.Hour, "new.jsonl": time.Hour,
		"old.part": 2 * time.Hour, "new.part": time.Minute,
	}
	for name, age := range files {
		p := filepath.Join(svc.Dir, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	_ = st.CreateJob(ctx, agenttrace.Job{ID: "j1", AccountID: "acme", Kind: export.Kind})
	j, _, _ := st.ClaimJob(ctx, []string{export.Kind}, "w", time.Minute)
	_ = st.FinishJob(ctx, j.ID, "w", agenttrace.JobCompleted, nil, "")
	svc.Sweep(ctx) // the job finished just now: kept
	if _, err := st.GetJob(ctx, "acme", "j1"); err != nil {
		t.Fatalf("recent job removed: %v", err)
	}
	left, _ := os.ReadDir(svc.Dir)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "new.jsonl,new.part" {
		t.Fatalf("left after sweep: %v", names)
	}
	now = now.Add(8 * 24 * time.Hour)
	svc.Sweep(ctx)
	if _, err := st.GetJob(ctx, "acme", "j1"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("old finished job kept: %v", err)
	}
}
