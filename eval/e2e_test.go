package eval_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/server"
)

const adminKey = "at_test_admin_key_0123456789"

type env struct {
	t   *testing.T
	url string
	srv *server.Server
}

func start(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), BootstrapKey: adminKey, JudgeAllow: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close(context.Background()) })
	return &env{t: t, url: hs.URL, srv: srv}
}

func (e *env) do(key, method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

func (e *env) mustDo(key, method, path string, body any, want int, out any) {
	e.t.Helper()
	var raw json.RawMessage
	if got := e.do(key, method, path, body, &raw); got != want {
		e.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		json.Unmarshal(raw, out)
	}
}

func run(id, agent, status, _ string) map[string]any {
	return map[string]any{"id": id, "agent_id": agent, "status": status, "output": "ok"}
}

func steps(runID, out3 string) []map[string]any {
	return []map[string]any{
		{"id": runID + "-1", "run_id": runID, "name": "plan", "type": "llm", "output": "thinking"},
		{"id": runID + "-2", "run_id": runID, "name": "lookup", "type": "tool", "output": "found"},
		{"id": runID + "-3", "run_id": runID, "name": "send_email", "type": "tool", "output": out3},
	}
}

func (e *env) wait(key, id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var j map[string]any
		e.mustDo(key, "GET", "/api/v1/evaluations/"+id, nil, 200, &j)
		if s := j["status"].(string); s != "queued" && s != "running" {
			if s != "completed" {
				e.t.Fatalf("job ended %s: %v", s, j["error"])
			}
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job not done: %v", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEvaluationsEndToEnd(t *testing.T) {
	e := start(t)
	// A rule that does not compile: 400 pointing at the place.
	var bad map[string]map[string]string
	if code := e.do(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "bad", "kind": "rule", "config": map[string]string{"expression": "run.credits <="}}, &bad); code != 400 || !strings.Contains(bad["error"]["message"], "1:") {
		t.Fatalf("bad rule: %d %v", code, bad)
	}
	var pii, cheap agenttrace.Evaluator
	e.mustDo(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "no-pii", "kind": "builtin", "config": map[string]string{"check": "pii"}}, 201, &pii)
	e.mustDo(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "cheap", "kind": "rule", "config": map[string]string{"expression": "run.credits <= 5.0"}}, 201, &cheap)
	e.mustDo(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "no-pii", "kind": "rule", "config": map[string]string{"expression": "true"}}, 409, nil)
	// A judge's key is kept but never shown.
	var judge map[string]any
	e.mustDo(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "judge", "kind": "judge", "config": map[string]any{"url": "http://127.0.0.1:1/v1", "model": "m", "api_key": "sk-secret-judge-key"}}, 201, &judge)
	var got json.RawMessage
	e.mustDo(adminKey, "GET", "/api/v1/evaluators/"+judge["id"].(string), nil, 200, &got)
	if strings.Contains(string(got), "sk-secret") || !strings.Contains(string(got), `"secret_set":true`) {
		t.Fatalf("judge GET shows: %s", got)
	}

	e.mustDo(adminKey, "POST", "/api/v1/ingest", map[string]any{
		"runs":  []any{run("r1", "bot", "completed", ""), run("r2", "bot", "completed", "")},
		"steps": append(steps("r1", "mailed jane@example.com"), steps("r2", "mailed the customer")...),
	}, 200, nil)

	var job map[string]any
	e.mustDo(adminKey, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{pii.ID, cheap.ID}, "run_ids": []string{"r1", "r2"}}, 202, &job)
	if job["total"].(float64) != 2 {
		t.Fatalf("job: %v", job)
	}
	done := e.wait(adminKey, job["id"].(string))
	if vs := done["verdicts"].(map[string]any)["data"].([]any); len(vs) != 4 {
		t.Fatalf("verdicts: %v", done["verdicts"])
	}
	// Verdicts in run reads (and so exports), and eval:NAME=… in queries.
	var r1 agenttrace.Run
	e.mustDo(adminKey, "GET", "/api/v1/runs/r1", nil, 200, &r1)
	var piiV *agenttrace.EvalResult
	for i := range r1.Evaluations {
		if r1.Evaluations[i].EvaluatorName == "no-pii" {
			piiV = &r1.Evaluations[i]
		}
	}
	if piiV == nil || piiV.Verdict != "fail" || piiV.StepID != "r1-3" || !strings.Contains(piiV.Reason, `step 3 "send_email"`) {
		t.Fatalf("r1 evaluations: %+v", r1.Evaluations)
	}
	var page struct{ Data []agenttrace.Run }
	e.mustDo(adminKey, "GET", "/api/v1/runs?q=eval:no-pii%3Dfail", nil, 200, &page)
	if len(page.Data) != 1 || page.Data[0].ID != "r1" || len(page.Data[0].Evaluations) != 2 {
		t.Fatalf("eval:no-pii=fail: %+v", page.Data)
	}
	e.mustDo(adminKey, "GET", "/api/v1/runs?q=eval:no-pii%3Dpass", nil, 200, &page)
	if len(page.Data) != 1 || page.Data[0].ID != "r2" {
		t.Fatalf("eval:no-pii=pass: %+v", page.Data)
	}
	// Re-running by query replaces the current verdict and keeps history.
	e.mustDo(adminKey, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{pii.ID}, "q": "agent:bot"}, 202, &job)
	e.wait(adminKey, job["id"].(string))
	e.mustDo(adminKey, "GET", "/api/v1/runs/r1", nil, 200, &r1)
	if len(r1.Evaluations) != 2 {
		t.Fatalf("after re-run: %+v", r1.Evaluations)
	}
	var stats struct{ Data []map[string]any }
	e.mustDo(adminKey, "GET", "/api/v1/evaluations/stats?interval=day", nil, 200, &stats)
	if len(stats.Data) != 2 {
		t.Fatalf("stats: %+v", stats.Data)
	}

	// Tenants: another account sees none of this.
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	e.mustDo(adminKey, "POST", "/api/v1/accounts", map[string]any{"name": "other"}, 201, &acct)
	other := acct.AdminKey
	e.mustDo(other, "GET", "/api/v1/evaluators/"+pii.ID, nil, 404, nil)
	e.mustDo(other, "PUT", "/api/v1/evaluators/"+pii.ID, map[string]any{"name": "x"}, 404, nil)
	e.mustDo(other, "DELETE", "/api/v1/evaluators/"+pii.ID, nil, 404, nil)
	e.mustDo(other, "GET", "/api/v1/evaluations/"+job["id"].(string), nil, 404, nil)
	e.mustDo(other, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{pii.ID}, "run_ids": []string{"r1"}}, 404, nil)
	// ids no evaluator or run can have are refused by name (PostgreSQL failed the look-up with a NUL)
	e.mustDo(other, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{"ev\x00"}, "run_ids": []string{"r1"}}, 400, nil)
	e.mustDo(other, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{pii.ID}, "run_ids": []string{"r1", "r\x00"}}, 400, nil)
	var mine agenttrace.Evaluator
	e.mustDo(other, "POST", "/api/v1/evaluators", map[string]any{"name": "no-pii", "kind": "builtin", "config": map[string]string{"check": "pii"}}, 201, &mine)
	e.mustDo(other, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{mine.ID}, "run_ids": []string{"r1", "r2"}}, 202, &job)
	j := e.wait(other, job["id"].(string))
	if vs := j["verdicts"].(map[string]any)["data"].([]any); len(vs) != 0 {
		t.Fatalf("other account evaluated acme's runs: %v", vs)
	}
}

func TestEvaluationOnNewRun(t *testing.T) {
	e := start(t)
	var ev agenttrace.Evaluator
	e.mustDo(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "no-tools", "kind": "builtin", "agent_ids": []string{"bot"},
		"config": map[string]any{"check": "banned_tools", "params": map[string]any{"tools": []string{"send_email"}}}}, 201, &ev)
	e.mustDo(adminKey, "POST", "/api/v1/ingest", map[string]any{
		"runs":  []any{run("n1", "bot", "processing", ""), run("n2", "other", "completed", "")},
		"steps": append(steps("n1", "x"), steps("n2", "x")...),
	}, 200, nil)
	// the ingest request decides synchronously whether a job is due: none is
	// (n1 is still running, n2's agent has no evaluator attached)
	var jobs struct {
		Data []map[string]any `json:"data"`
	}
	e.mustDo(adminKey, "GET", "/api/v1/evaluations", nil, 200, &jobs)
	if len(jobs.Data) != 0 {
		t.Fatalf("jobs for a running run and an unattached agent's run: %v", jobs.Data)
	}
	var r agenttrace.Run
	e.mustDo(adminKey, "GET", "/api/v1/runs/n1", nil, 200, &r)
	if len(r.Evaluations) != 0 {
		t.Fatalf("a running run was evaluated: %+v", r.Evaluations)
	}
	e.mustDo(adminKey, "POST", "/api/v1/ingest", map[string]any{"runs": []any{run("n1", "bot", "completed", "")}}, 200, nil)
	deadline := time.Now().Add(20 * time.Second)
	for len(r.Evaluations) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		e.mustDo(adminKey, "GET", "/api/v1/runs/n1", nil, 200, &r)
	}
	if len(r.Evaluations) != 1 || r.Evaluations[0].Verdict != "fail" || r.Evaluations[0].StepID != "n1-3" {
		t.Fatalf("n1 evaluations: %+v", r.Evaluations)
	}
	e.mustDo(adminKey, "GET", "/api/v1/evaluations", nil, 200, &jobs)
	if len(jobs.Data) != 1 || jobs.Data[0]["auto"] != true {
		t.Fatalf("jobs after n1 ended: %v", jobs.Data)
	}
	r = agenttrace.Run{}
	e.mustDo(adminKey, "GET", "/api/v1/runs/n2", nil, 200, &r)
	if len(r.Evaluations) != 0 {
		t.Fatalf("an unattached agent's run was evaluated: %+v", r.Evaluations)
	}
}

func TestJobOver10000Runs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := start(t)
	for b := range 10 {
		runs := make([]any, 1000)
		for i := range runs {
			runs[i] = map[string]any{"id": fmt.Sprintf("r%05d", b*1000+i), "agent_id": "bot", "status": "completed", "credits": float64(i % 10)}
		}
		e.mustDo(adminKey, "POST", "/api/v1/ingest", map[string]any{"runs": runs}, 200, nil)
	}
	var ev agenttrace.Evaluator
	e.mustDo(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "cheap", "kind": "rule", "config": map[string]string{"expression": "run.credits < 5.0"}}, 201, &ev)
	for range 2 { // twice: one current verdict per run, history kept
		var job map[string]any
		e.mustDo(adminKey, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{ev.ID}, "q": ""}, 202, &job)
		j := e.wait(adminKey, job["id"].(string))
		if j["progress"].(float64) != 10000 || j["total"].(float64) != 10000 {
			t.Fatalf("job: %v %v", j["progress"], j["total"])
		}
	}
	count := func(q string) int {
		total, cursor := 0, ""
		for {
			var p struct {
				Data       []agenttrace.Run
				NextCursor string `json:"next_cursor"`
			}
			e.mustDo(adminKey, "GET", "/api/v1/runs?limit=1000&q="+q+"&cursor="+cursor, nil, 200, &p)
			for _, r := range p.Data {
				if len(r.Evaluations) != 1 {
					t.Fatalf("run %s has %d current verdicts", r.ID, len(r.Evaluations))
				}
			}
			total += len(p.Data)
			if p.NextCursor == "" {
				return total
			}
			cursor = p.NextCursor
		}
	}
	if p, f := count("eval:cheap%3Dpass"), count("eval:cheap%3Dfail"); p != 5000 || f != 5000 {
		t.Fatalf("pass %d fail %d", p, f)
	}
}

// TestLateStepsReevaluate: an ended run that receives a step afterwards (a
// late span, an SDK's last flush) is evaluated again with it.
func TestLateStepsReevaluate(t *testing.T) {
	e := start(t)
	var ev agenttrace.Evaluator
	e.mustDo(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "no-email", "kind": "builtin", "agent_ids": []string{"bot"},
		"config": map[string]any{"check": "banned_tools", "params": map[string]any{"tools": []string{"send_email"}}}}, 201, &ev)
	verdict := func(want string) agenttrace.EvalResult {
		t.Helper()
		var r agenttrace.Run
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			r = agenttrace.Run{}
			e.mustDo(adminKey, "GET", "/api/v1/runs/late", nil, 200, &r)
			if len(r.Evaluations) == 1 && r.Evaluations[0].Verdict == want {
				return r.Evaluations[0]
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("run late: evaluations %+v, want one %q", r.Evaluations, want)
		return agenttrace.EvalResult{}
	}
	e.mustDo(adminKey, "POST", "/api/v1/ingest", map[string]any{
		"runs":  []any{run("late", "bot", "completed", "")},
		"steps": []any{map[string]any{"id": "late-1", "run_id": "late", "seq": 0, "name": "lookup", "type": "tool", "output": "found"}},
	}, 200, nil)
	verdict("pass")
	e.mustDo(adminKey, "POST", "/api/v1/ingest", map[string]any{
		"steps": []any{map[string]any{"id": "late-2", "run_id": "late", "seq": 1, "name": "send_email", "type": "tool", "output": "sent"}},
	}, 200, nil)
	if v := verdict("fail"); v.StepID != "late-2" {
		t.Fatalf("the failing verdict points at step %q, want late-2", v.StepID)
	}
}
