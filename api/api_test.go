package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/server"
)

const bootstrap = "at_test_bootstrap_key_0123456789"

type env struct {
	t   *testing.T
	srv *server.Server
	ts  *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), BootstrapKey: bootstrap})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close(context.Background()) })
	return &env{t: t, srv: srv, ts: ts}
}

// do sends a request and decodes the JSON answer into a generic map.
func (e *env) do(method, path, key string, body any) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, e.ts.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func errMsg(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// newAccount creates an account with the bootstrap key and answers its admin key.
func (e *env) newAccount(id string) string {
	code, body := e.do("POST", "/api/v1/accounts", bootstrap, map[string]any{"id": id, "name": id})
	if code != http.StatusCreated {
		e.t.Fatalf("create account: %d %v", code, body)
	}
	return body["admin_key"].(string)
}

func (e *env) runCount(key string) int {
	code, body := e.do("GET", "/api/v1/runs?limit=1000", key, nil)
	if code != 200 {
		e.t.Fatalf("list runs: %d %v", code, body)
	}
	return len(body["data"].([]any))
}

const goodBatch = `{"runs": [{"id": "run-1", "agent_id": "support-bot", "status": "failed",
  "started_at": "2026-11-20T10:00:00Z", "ended_at": "2026-11-20T10:00:05Z", "input": {"q": "refund"}}],
 "steps": [
  {"id": "s0", "run_id": "run-1", "seq": 0, "name": "plan", "type": "llm", "model": "gpt-4o", "status": "completed",
   "usage": {"input_tokens": 100, "output_tokens": 10}},
  {"id": "s1", "run_id": "run-1", "seq": 1, "name": "get_order", "type": "tool", "status": "failed",
   "error": {"type": "ToolTimeout", "message": "get_order timed out after 30s"}}]}`

func TestIngestThenQuery(t *testing.T) {
	e := newEnv(t)
	code, body := e.do("POST", "/api/v1/ingest", bootstrap, goodBatch)
	if code != 200 || body["runs"].(float64) != 1 || body["steps"].(float64) != 2 {
		t.Fatalf("ingest: %d %v", code, body)
	}
	q := url.QueryEscape(`status:failed agent:support-bot "timed out"`)
	code, body = e.do("GET", "/api/v1/runs?q="+q, bootstrap, nil)
	if code != 200 || len(body["data"].([]any)) != 1 {
		t.Fatalf("query: %d %v", code, body)
	}
	code, body = e.do("GET", "/api/v1/runs/run-1", bootstrap, nil)
	steps := body["steps"].([]any)
	if code != 200 || len(steps) != 2 || steps[0].(map[string]any)["id"] != "s0" {
		t.Fatalf("run: %d %v", code, body)
	}
	if body["error"].(map[string]any)["step_id"] != "s1" {
		t.Fatalf("first failed step not named: %v", body["error"])
	}
	code, body = e.do("GET", "/api/v1/runs/run-1/steps", bootstrap, nil)
	if code != 200 || len(body["data"].([]any)) != 2 {
		t.Fatalf("steps: %d %v", code, body)
	}
	code, body = e.do("GET", "/api/v1/agents/support-bot", bootstrap, nil)
	if code != 200 || body["runs"].(float64) != 1 || body["failed_runs"].(float64) != 1 {
		t.Fatalf("agent: %d %v", code, body)
	}
	code, body = e.do("GET", "/api/v1/usage?q=after:2026-11-19&group_by=model", bootstrap, nil)
	if code != 200 || len(body["data"].([]any)) != 1 {
		t.Fatalf("usage: %d %v", code, body)
	}
	// Idempotent: the same batch again changes nothing.
	before := e.snapshot("run-1")
	e.do("POST", "/api/v1/ingest", bootstrap, goodBatch)
	if after := e.snapshot("run-1"); after != before {
		t.Fatalf("re-ingest changed the run:\n%s\n%s", before, after)
	}
}

func (e *env) snapshot(id string) string {
	_, body := e.do("GET", "/api/v1/runs/"+id, bootstrap, nil)
	b, _ := json.Marshal(body)
	return string(b)
}

func TestBadInputIsRejectedAndNothingWritten(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 200)
	huge := `{"runs":[{"id":"big","agent_id":"a","input":"` + strings.Repeat("y", 11<<20) + `"}]}`
	var many strings.Builder
	many.WriteString(`{"runs":[`)
	for i := range 10001 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `{"id":"m%d","agent_id":"a"}`, i)
	}
	many.WriteString(`]}`)
	cases := []struct {
		name, body string
		status     int
		want       []string
	}{
		{"malformed JSON", `{"runs": [`, 400, []string{"malformed JSON"}},
		{"empty body", ``, 400, []string{"empty"}},
		{"unknown field", `{"runs": [{"id": "x", "agent_id": "a", "colour": 1}]}`, 400, []string{"colour"}},
		{"unknown status", `{"runs": [{"id": "ok", "agent_id": "a"}, {"id": "x", "agent_id": "a", "status": "exploded"}]}`, 400, []string{"runs[1].status", "exploded"}},
		{"missing agent", `{"runs": [{"id": "x"}]}`, 400, []string{"runs[0].agent_id", "required"}},
		{"repeated seq", `{"steps": [{"run_id": "r", "id": "a", "seq": 3}, {"run_id": "r", "id": "b", "seq": 3}]}`, 400, []string{"steps[1].seq", "repeats steps[0].seq"}},
		{"ended before started", `{"runs": [{"id": "x", "agent_id": "a", "started_at": "2026-11-20T10:00:00Z", "ended_at": "2026-11-20T09:00:00Z"}]}`, 400, []string{"runs[0].ended_at", "before started_at"}},
		{"body over the limit", huge, 413, []string{"10485760"}},
		{"too many items", many.String(), 413, []string{"10000"}},
		{"id too long", `{"runs": [{"id": "` + long + `", "agent_id": "a"}]}`, 400, []string{"runs[0].id", "limit is 128"}},
		{"invalid UTF-8", "{\"runs\": [{\"id\": \"x\xff\", \"agent_id\": \"a\"}]}", 400, []string{"invalid UTF-8", "byte 19"}},
		{"bad step type", `{"steps": [{"run_id": "r", "type": "magic"}]}`, 400, []string{"steps[0].type", "magic"}},
		{"wrong type", `{"runs": [{"id": 5, "agent_id": "a"}]}`, 400, []string{"runs.id"}},
		{"bad agent slug", `{"runs": [{"id": "x", "agent_id": "has space"}]}`, 400, []string{"runs[0].agent_id"}},
		{"NUL in a text field", `{"runs": [{"id": "x", "agent_id": "a", "status": "failed", "error": {"type": "T", "message": "boom\u0000"}}]}`, 400, []string{"runs[0].error.message", "NUL"}},
		{"time out of range", `{"runs": [{"id": "x", "agent_id": "a", "started_at": "3000-01-01T00:00:00Z"}]}`, 400, []string{"runs[0].started_at", "out of range", "2199-12-31"}},
		{"credits over the limit", `{"runs": [{"id": "x", "agent_id": "a"}], "steps": [{"run_id": "x", "credits": 1e308}]}`, 400, []string{"steps[0].credits", "the limit is 1e+09"}},
		{"tag too long", `{"runs": [{"id": "x", "agent_id": "a", "metadata": {"tags": ["prod", "` + strings.Repeat("t", 257) + `"]}}]}`, 400, []string{"runs[0].metadata.tags[1]", "limit is 256"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := e.do("POST", "/api/v1/ingest", bootstrap, c.body)
			if code != c.status {
				t.Fatalf("status %d, want %d: %v", code, c.status, body)
			}
			for _, w := range c.want {
				if !strings.Contains(errMsg(body), w) {
					t.Fatalf("error %q does not mention %q", errMsg(body), w)
				}
			}
			if n := e.runCount(bootstrap); n != 0 {
				t.Fatalf("a rejected batch wrote %d runs", n)
			}
		})
	}
}

func TestBadQueries(t *testing.T) {
	e := newEnv(t)
	cases := map[string]string{
		"colour:red":             `unknown field "colour"`,
		"credits>abc":            `"abc"`,
		"status:failed steps>=x": "position 14",
		"status:exploded":        "exploded",
	}
	for q, want := range cases {
		code, body := e.do("GET", "/api/v1/runs?q="+url.QueryEscape(q), bootstrap, nil)
		if code != 400 || !strings.Contains(errMsg(body), want) || body["error"].(map[string]any)["code"] != "invalid" {
			t.Errorf("q=%s: %d %v (want 400 mentioning %s)", q, code, body, want)
		}
	}
	for _, p := range []string{"/api/v1/runs?limit=0", "/api/v1/runs?limit=x", "/api/v1/runs?sort=colour", "/api/v1/runs?cursor=zzz", "/api/v1/usage?interval=week"} {
		if code, body := e.do("GET", p, bootstrap, nil); code != 400 || errMsg(body) == "" {
			t.Errorf("%s: %d %v", p, code, body)
		}
	}
}

func TestAuthAndScopes(t *testing.T) {
	e := newEnv(t)
	if code, body := e.do("GET", "/api/v1/runs", "", nil); code != 401 || !strings.Contains(errMsg(body), "Bearer") {
		t.Fatalf("no key: %d %v", code, body)
	}
	if code, _ := e.do("GET", "/api/v1/runs", "at_wrong", nil); code != 401 {
		t.Fatalf("wrong key: %d", code)
	}
	code, body := e.do("POST", "/api/v1/keys", bootstrap, map[string]any{"name": "reader", "scopes": []string{"read"}})
	if code != 201 {
		t.Fatalf("create key: %d %v", code, body)
	}
	reader := body["secret"].(string)
	readerID := body["key"].(map[string]any)["id"].(string)
	if code, _ := e.do("GET", "/api/v1/runs", reader, nil); code != 200 {
		t.Fatalf("reader cannot read: %d", code)
	}
	if code, body := e.do("POST", "/api/v1/ingest", reader, goodBatch); code != 403 || !strings.Contains(errMsg(body), "ingest") {
		t.Fatalf("reader ingested: %d %v", code, body)
	}
	if code, _ := e.do("GET", "/api/v1/keys", reader, nil); code != 403 {
		t.Fatalf("reader listed keys: %d", code)
	}
	code, body = e.do("GET", "/api/v1/keys", bootstrap, nil)
	if code != 200 || len(body["data"].([]any)) != 2 {
		t.Fatalf("list keys: %d %v", code, body)
	}
	if strings.Contains(fmt.Sprint(body), reader) {
		t.Fatal("key list shows a secret")
	}
	if code, body := e.do("POST", "/api/v1/keys", bootstrap, map[string]any{"scopes": []string{"root"}}); code != 400 || !strings.Contains(errMsg(body), "root") {
		t.Fatalf("bad scope: %d %v", code, body)
	}
	if code, body := e.do("POST", "/api/v1/keys", bootstrap, map[string]any{"name": "a\x00b", "scopes": []string{"read"}}); code != 400 || !strings.Contains(errMsg(body), "name: contains a NUL") {
		t.Errorf("a NUL in the name: %d %v", code, body)
	}
	if code, _ := e.do("DELETE", "/api/v1/keys/"+readerID, bootstrap, nil); code != 204 {
		t.Fatalf("delete key: %d", code)
	}
	if code, _ := e.do("GET", "/api/v1/runs", reader, nil); code != 401 {
		t.Fatalf("revoked key still works: %d", code)
	}
	// Only the server admin creates accounts.
	other := e.newAccount("globex")
	if code, _ := e.do("POST", "/api/v1/accounts", other, map[string]any{"id": "evil"}); code != 403 {
		t.Fatalf("account admin created an account: %d", code)
	}
	if code, _ := e.do("POST", "/api/v1/accounts", bootstrap, map[string]any{"id": "globex"}); code != 409 {
		t.Fatalf("duplicate account: %d", code)
	}
	for name, want := range map[string]string{"a\x00b": "name: contains a NUL", strings.Repeat("n", 257): "name: 257 bytes, the limit is 256"} {
		if code, body := e.do("POST", "/api/v1/accounts", bootstrap, map[string]any{"id": "initech", "name": name}); code != 400 || !strings.Contains(errMsg(body), want) {
			t.Errorf("account name %.20q: %d %v", name, code, body)
		}
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/api/v1/ingest", bootstrap, goodBatch)
	other := e.newAccount("globex")
	if code, body := e.do("GET", "/api/v1/runs/run-1", other, nil); code != 404 || strings.Contains(fmt.Sprint(body), "support-bot") {
		t.Fatalf("other account reads the run: %d %v", code, body)
	}
	if code, _ := e.do("GET", "/api/v1/runs/run-1/steps", other, nil); code != 404 {
		t.Fatalf("other account reads the steps: %d", code)
	}
	if n := e.runCount(other); n != 0 {
		t.Fatalf("other account lists %d runs", n)
	}
	if code, _ := e.do("GET", "/api/v1/agents/support-bot", other, nil); code != 404 {
		t.Fatalf("other account reads the agent: %d", code)
	}
	code, body := e.do("GET", "/api/v1/keys", other, nil)
	if code != 200 || len(body["data"].([]any)) != 1 {
		t.Fatalf("other account's keys: %v", body)
	}
	_, mine := e.do("GET", "/api/v1/keys", bootstrap, nil)
	myKey := mine["data"].([]any)[0].(map[string]any)["id"].(string)
	if code, _ := e.do("DELETE", "/api/v1/keys/"+myKey, other, nil); code != 404 {
		t.Fatalf("other account deleted my key: %d", code)
	}
}

func TestAgentsPricesAndOps(t *testing.T) {
	e := newEnv(t)
	code, body := e.do("PUT", "/api/v1/agents/support-bot", bootstrap, map[string]any{"name": "Support Bot", "rerun_url": "http://127.0.0.1:9999/rerun"})
	if code != 200 || body["name"] != "Support Bot" {
		t.Fatalf("put agent: %d %v", code, body)
	}
	if code, body := e.do("PUT", "/api/v1/agents/support-bot", bootstrap, map[string]any{"rerun_url": "ftp://x"}); code != 400 || !strings.Contains(errMsg(body), "rerun_url") {
		t.Fatalf("bad rerun_url: %d %v", code, body)
	}
	code, body = e.do("PUT", "/api/v1/prices", bootstrap, map[string]any{"prices": []map[string]any{{"model": "gpt-4o", "input_per_million": 100, "output_per_million": 100}}})
	if code != 200 {
		t.Fatalf("put prices: %d %v", code, body)
	}
	e.do("POST", "/api/v1/ingest", bootstrap, goodBatch)
	_, run := e.do("GET", "/api/v1/runs/run-1", bootstrap, nil)
	// 110 tokens at 100 credits per million.
	if c := run["credits"].(float64); c < 0.01099 || c > 0.01101 {
		t.Fatalf("credits from the edited price table = %v", c)
	}
	if code, body := e.do("PUT", "/api/v1/prices", bootstrap, map[string]any{"prices": []map[string]any{{"model": "", "input_per_million": 1}}}); code != 400 || !strings.Contains(errMsg(body), "prices[0].model") {
		t.Fatalf("bad price: %d %v", code, body)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := e.do("GET", p, "", nil); code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
	}
	resp, err := http.Get(e.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `agenttrace_ingested_steps_total 2`) || !strings.Contains(string(raw), `route="POST /api/v1/ingest"`) {
		t.Fatalf("metrics lack ingest counters:\n%.2000s", raw)
	}
	if code, _ := e.do("GET", "/api/v1/nothing", bootstrap, nil); code != 404 {
		t.Fatalf("unknown endpoint: %d", code)
	}
}

// TestExplicitSeqZeroAndAbsentSeq: seq 0 sent explicitly is kept, and a step
// without seq is given one after the run's others, in the same body.
func TestExplicitSeqZeroAndAbsentSeq(t *testing.T) {
	e := newEnv(t)
	code, body := e.do("POST", "/api/v1/ingest", bootstrap, `{"runs":[{"id":"q","agent_id":"a"}],"steps":[
		{"run_id":"q","id":"late","seq":5,"name":"late"},
		{"run_id":"q","id":"auto","name":"auto"},
		{"run_id":"q","id":"first","seq":0,"name":"first"}]}`)
	if code != 200 {
		t.Fatalf("ingest: %d %v", code, body)
	}
	code, body = e.do("GET", "/api/v1/runs/q/steps", bootstrap, nil)
	if code != 200 {
		t.Fatalf("steps: %d %v", code, body)
	}
	seqs := map[string]float64{}
	for _, s := range body["data"].([]any) {
		m := s.(map[string]any)
		seqs[m["id"].(string)] = m["seq"].(float64)
	}
	if seqs["first"] != 0 || seqs["late"] != 5 || seqs["auto"] == 0 || seqs["auto"] == 5 {
		t.Fatalf("seqs = %v: want first 0, late 5, auto given another", seqs)
	}
}

// TestKeyLastUsed: a key's use shows in the key list as last_used_at.
func TestKeyLastUsed(t *testing.T) {
	e := newEnv(t)
	code, created := e.do("POST", "/api/v1/keys", bootstrap, map[string]any{"name": "reader", "scopes": []string{"read"}})
	if code != 201 && code != 200 {
		t.Fatalf("create key: %d %v", code, created)
	}
	secret, _ := created["secret"].(string)
	lastUsed := func() any {
		_, list := e.do("GET", "/api/v1/keys", bootstrap, nil)
		for _, k := range list["data"].([]any) {
			if m := k.(map[string]any); m["name"] == "reader" {
				return m["last_used_at"]
			}
		}
		t.Fatal("the key is not listed")
		return nil
	}
	if v := lastUsed(); v != nil {
		t.Fatalf("an unused key was used at %v", v)
	}
	before := time.Now().Add(-time.Second)
	if code, _ := e.do("GET", "/api/v1/runs", secret, nil); code != 200 {
		t.Fatalf("list runs: %d", code)
	}
	v, _ := lastUsed().(string)
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || at.Before(before) {
		t.Fatalf("last_used_at = %q (%v), want about now", v, err)
	}
}
