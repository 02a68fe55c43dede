package export_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/export"
	"github.com/agenttrace/agenttrace/server"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const adminKey = "at_testadminkeyforexporttests0000000000"

type testServer struct {
	srv *server.Server
	ts  *httptest.Server
	c   *client.Client
}

func startServer(t *testing.T, dir string, demo bool) *testServer {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: dir, BootstrapKey: adminKey, Demo: demo})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	s := &testServer{srv: srv, ts: ts, c: client.New(ts.URL, adminKey)}
	t.Cleanup(s.close)
	return s
}

func (s *testServer) close() {
	if s.srv == nil {
		return
	}
	s.ts.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.srv.Close(ctx)
	s.srv = nil
}

func waitDone(t *testing.T, c *client.Client, id string, timeout time.Duration) export.View {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, err := c.GetExport(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status == "completed" || v.Status == "failed" || v.Status == "canceled" {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("export %s still %s after %s: %+v", id, v.Status, timeout, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func compileSchema(t *testing.T) (doc, run *jsonschema.Schema) {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(export.Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const url = "https://agenttrace.dev/schemas/export-agent-traces.json"
	if err := c.AddResource(url, v); err != nil {
		t.Fatal(err)
	}
	if doc, err = c.Compile(url); err != nil {
		t.Fatal(err)
	}
	if run, err = c.Compile(url + "#/$defs/run"); err != nil {
		t.Fatal(err)
	}
	return doc, run
}

// apiView answers GET /api/v1/runs/{id} as a generic JSON value, as the
// export shows it (reruns are not exported; evaluations always a list).
func apiView(t *testing.T, c *client.Client, id string) map[string]any {
	t.Helper()
	resp, err := c.Raw(context.Background(), http.MethodGet, "/api/v1/runs/"+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	delete(m, "reruns")
	for _, k := range []string{"steps", "evaluations"} {
		if _, ok := m[k]; !ok {
			m[k] = []any{}
		}
	}
	return m
}

func download(t *testing.T, s *testServer, v export.View) ([]byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.ts.URL+v.DownloadURL, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("download: %d %s", resp.StatusCode, body)
	}
	return body, resp.Header
}

func within25(t *testing.T, what string, est, real int64) {
	t.Helper()
	if real == 0 && est == 0 {
		return
	}
	ratio := float64(est) / float64(real)
	if ratio < 0.75 || ratio > 1.25 {
		t.Errorf("%s: estimate %d is %.0f%% of the real %d", what, est, ratio*100, real)
	}
	t.Logf("%s: estimate %d, real %d (%.1f%%)", what, est, real, ratio*100)
}

func TestRoundTrip(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	docSchema, runSchema := compileSchema(t)
	for _, tc := range []struct {
		format string
		gzip   bool
		q      string
		agent  string
	}{
		{format: "jsonl"},
		{format: "json"},
		{format: "jsonl", gzip: true, q: "has:error"},
		{format: "json", agent: "support-bot"},
	} {
		t.Run(fmt.Sprintf("%s-gzip=%v-q=%s-agent=%s", tc.format, tc.gzip, tc.q, tc.agent), func(t *testing.T) {
			// support-demo is fed live by the in-process demo agent: leave it
			// out so that the data holds still during the test.
			q := strings.TrimSpace(tc.q + " -agent:support-demo")
			req := export.Request{ResourceType: "agent_traces", Format: tc.format, Gzip: tc.gzip, AgentID: tc.agent, Filters: export.Filters{Q: q}}
			est, err := s.c.EstimateExport(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.c.CreateExport(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			// The byte estimate may move by a few bytes (the header's
			// exported_at has a varying number of digits); counts may not.
			sameBytes := v.Estimate.Bytes >= est.Bytes-64 && v.Estimate.Bytes <= est.Bytes+64
			if v.Estimate.Runs != est.Runs || v.Estimate.Steps != est.Steps || !sameBytes || v.ResourceType != "agent_traces" || v.Format != tc.format {
				t.Fatalf("created view: %+v (dry run %+v)", v, est)
			}
			v = waitDone(t, s.c, v.ID, 30*time.Second)
			if v.Status != "completed" || v.DownloadURL == "" || v.FinishedAt == nil {
				t.Fatalf("export: %+v", v)
			}
			body, h := download(t, s, v)
			if int64(len(body)) != v.Bytes {
				t.Errorf("downloaded %d bytes, the export says %d", len(body), v.Bytes)
			}
			within25(t, "bytes", est.Bytes, int64(len(body)))
			wantType := map[string]string{"json": "application/json", "jsonl": "application/x-ndjson"}[tc.format]
			if tc.gzip {
				wantType = "application/gzip"
			}
			if got := h.Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type %q, want %q", got, wantType)
			}
			if cd := h.Get("Content-Disposition"); !strings.Contains(cd, `filename="agent-traces-`) || !strings.Contains(cd, "."+tc.format) {
				t.Errorf("Content-Disposition %q", cd)
			}
			if tc.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			var runs []json.RawMessage
			if tc.format == "jsonl" {
				sc := bufio.NewScanner(bytes.NewReader(body))
				sc.Buffer(nil, 64<<20)
				for sc.Scan() {
					line := append([]byte(nil), sc.Bytes()...)
					inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
					if err != nil {
						t.Fatal(err)
					}
					if err := runSchema.Validate(inst); err != nil {
						t.Fatalf("line %d does not validate: %v", len(runs)+1, err)
					}
					runs = append(runs, line)
				}
			} else {
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if err := docSchema.Validate(inst); err != nil {
					t.Fatalf("document does not validate: %v", err)
				}
				var doc struct {
					ResourceType string            `json:"resource_type"`
					Runs         []json.RawMessage `json:"runs"`
					Counts       export.Counts     `json:"counts"`
					Filters      map[string]any    `json:"filters"`
				}
				if err := json.Unmarshal(body, &doc); err != nil {
					t.Fatal(err)
				}
				if doc.ResourceType != "agent_traces" || doc.Counts.Runs != int64(len(doc.Runs)) || doc.Filters["agent_id"] != nilIfEmpty(tc.agent) {
					t.Fatalf("document header: %s %+v %v", doc.ResourceType, doc.Counts, doc.Filters)
				}
				runs = doc.Runs
			}
			if int64(len(runs)) != v.Counts.Runs || int64(len(runs)) != est.Runs || len(runs) == 0 {
				t.Fatalf("%d runs in the file, export says %d, estimate %d", len(runs), v.Counts.Runs, est.Runs)
			}
			var steps int64
			var prev time.Time
			for i, raw := range runs {
				var got map[string]any
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				want := apiView(t, s.c, got["id"].(string))
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("run %d differs from the API:\nexport %s\napi    %v", i, raw, want)
				}
				if tc.agent != "" && got["agent_id"] != tc.agent {
					t.Fatalf("run of agent %v in an export of %s", got["agent_id"], tc.agent)
				}
				st := got["steps"].([]any)
				for j := 1; j < len(st); j++ {
					if st[j].(map[string]any)["seq"].(float64) <= st[j-1].(map[string]any)["seq"].(float64) {
						t.Fatalf("run %v: steps out of order", got["id"])
					}
				}
				steps += int64(len(st))
				if sa, ok := got["started_at"].(string); ok {
					at, _ := time.Parse(time.RFC3339Nano, sa)
					if at.Before(prev) {
						t.Fatalf("runs out of time order at %d", i)
					}
					prev = at
				}
			}
			if steps != v.Counts.Steps || steps != est.Steps {
				t.Errorf("steps: file %d, export %d, estimate %d", steps, v.Counts.Steps, est.Steps)
			}
		})
	}
	list, err := s.c.ListExports(ctx)
	if err != nil || len(list) != 4 {
		t.Fatalf("list: %d %v", len(list), err)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestBadInputs(t *testing.T) {
	s := startServer(t, t.TempDir(), true)
	ctx := context.Background()
	// Another account, with its own admin key.
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	if err := s.c.Do(ctx, http.MethodPost, "/api/v1/accounts", map[string]string{"id": "globex"}, &acct); err != nil {
		t.Fatal(err)
	}
	other := client.New(s.ts.URL, acct.AdminKey)
	var readKey struct {
		Secret string `json:"secret"`
	}
	if err := s.c.Do(ctx, http.MethodPost, "/api/v1/keys", map[string]any{"name": "reader", "scopes": []string{"read", "ingest"}}, &readKey); err != nil {
		t.Fatal(err)
	}
	reader := client.New(s.ts.URL, readKey.Secret)
	mine, err := s.c.CreateExport(ctx, export.Request{ResourceType: "agent_traces", Format: "jsonl", Filters: export.Filters{Q: "status:failed"}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(c *client.Client, body string) *client.Error {
		resp, err := c.Raw(ctx, http.MethodPost, "/authenticated/resource-exports", json.RawMessage(body))
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: accepted", body)
		}
		return err.(*client.Error)
	}
	for _, tc := range []struct {
		c      *client.Client
		body   string
		status int
		msg    string
	}{
		{s.c, `{"resource_type":"agent_logs","format":"jsonl","dry_run":true}`, 400, "supported: agent_traces"},
		{s.c, `{"format":"jsonl","dry_run":true}`, 400, "resource_type: required"},
		{s.c, `{"resource_type":"agent_traces","format":"csv","dry_run":true}`, 400, `format: unknown format "csv"`},
		{s.c, `{"resource_type":"agent_traces","format":"jsonl","filters":{"q":"status:failed colour:red"},"dry_run":true}`, 400, `filters.q: at position 14, "colour:red"`},
		{s.c, `{"resource_type":"agent_traces","format":"jsonl","filters":{"from":"yesterday"},"dry_run":true}`, 400, "filters.from"},
		{s.c, `{"resource_type":"agent_traces","format":"jsonl","filters":{"status":"broken"},"dry_run":true}`, 400, "filters.status"},
		{s.c, `{"resource_type":"agent_traces","format":"jsonl","bogus":1}`, 400, "bogus"},
		{s.c, `{"resource_type":"agent_traces","agent_id":"no-such-agent","format":"jsonl"}`, 404, "no-such-agent"},
		{other, `{"resource_type":"agent_traces","agent_id":"support-bot","format":"jsonl","dry_run":true}`, 404, "support-bot"},
		{reader, `{"resource_type":"agent_traces","format":"jsonl","dry_run":true}`, 403, `"export" scope`},
	} {
		e := post(tc.c, tc.body)
		if e.Status != tc.status || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.body, e.Status, e.Message, tc.status, tc.msg)
		}
	}
	// Another account sees none of this account's exports.
	for _, path := range []string{"/" + mine.ID, "/" + mine.ID + "/download"} {
		_, err := other.Raw(ctx, http.MethodGet, "/authenticated/resource-exports"+path, nil)
		if e, ok := err.(*client.Error); !ok || e.Status != 404 {
			t.Errorf("another account's GET %s: %v", path, err)
		}
	}
	if list, err := other.ListExports(ctx); err != nil || len(list) != 0 {
		t.Errorf("another account lists %d exports (%v)", len(list), err)
	}
	// The dry run created nothing: only the one real export exists.
	if list, _ := s.c.ListExports(ctx); len(list) != 1 {
		t.Errorf("%d exports after dry runs and rejections, want 1", len(list))
	}
	if _, err := s.c.GetExport(ctx, "exp_nope"); err == nil || err.(*client.Error).Status != 404 {
		t.Errorf("unknown export: %v", err)
	}
}
