package demoagent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/demoagent"
	"github.com/agenttrace/agenttrace/rerun"
	"github.com/agenttrace/agenttrace/server"
)

const bootstrap = "at_e2e_rerun_bootstrap_key"

func startServer(t *testing.T, demo bool) (*server.Server, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), BootstrapKey: bootstrap, Demo: demo})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close(context.Background())
	})
	return srv, ts
}

// waitRun polls until the run exists and has ended.
func waitRun(t *testing.T, c *client.Client, id string) agenttrace.Run {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := c.GetRun(context.Background(), id)
		if err == nil && (r.Status == agenttrace.StatusCompleted || r.Status == agenttrace.StatusFailed) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s did not arrive: %+v %v", id, r, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func apiStatus(err error) (int, string) {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce.Status, ce.Message
	}
	return 0, ""
}

func TestRerunLoopEndToEnd(t *testing.T) {
	ctx := context.Background()
	_, ts := startServer(t, false)
	c := client.New(ts.URL, bootstrap)

	agent := demoagent.New(demoagent.Config{URL: ts.URL, Key: bootstrap})
	t.Cleanup(func() { agent.Close(context.Background()) })
	hook, err := agent.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	// 1. The demo agent's default settings fail on a tool argument.
	failedID, runErr := agent.Run(ctx, demoagent.Task{})
	var ve *demoagent.ValidationError
	if !errors.As(runErr, &ve) {
		t.Fatalf("first run: %v", runErr)
	}
	failed := waitRun(t, c, failedID)
	if failed.Status != agenttrace.StatusFailed || failed.Error == nil || failed.Error.StepID == "" {
		t.Fatalf("failed run: %+v", failed)
	}
	var firstFailed agenttrace.Step
	for _, s := range failed.Steps {
		if s.ID == failed.Error.StepID {
			firstFailed = s
		}
	}
	if firstFailed.Name != "lookup_order" || !strings.Contains(firstFailed.Error.Message, "order_id") {
		t.Fatalf("first failed step: %+v", firstFailed)
	}

	// 2. Re-run with a model override: the agent runs again and reports
	// the new run with rerun_of.
	ans, err := c.Rerun(ctx, failedID, rerun.Overrides{Model: "gpt-4o", Metadata: map[string]any{"ticket": "T-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if ans.NewRunID == "" || ans.Rerun.Outcome != rerun.Accepted || ans.Rerun.StatusCode != http.StatusAccepted || ans.Rerun.URL != hook {
		t.Fatalf("answer: %+v", ans)
	}
	fixed := waitRun(t, c, ans.NewRunID)
	if fixed.Status != agenttrace.StatusCompleted || fixed.RerunOf != failedID || fixed.Trigger != "rerun" ||
		fixed.Metadata["model"] != "gpt-4o" || fixed.Metadata["ticket"] != "T-1" {
		t.Fatalf("re-run: %+v", fixed)
	}
	// 3. Lineage both ways.
	orig, err := c.GetRun(ctx, failedID)
	if err != nil || len(orig.Reruns) != 1 || orig.Reruns[0] != fixed.ID {
		t.Fatalf("original's reruns: %v %v", orig.Reruns, err)
	}
	// 4. Compare shows where they diverge: the plan (the model's tool
	// arguments), under which lookup_order failed in A only.
	res, err := c.CompareRuns(ctx, failedID, fixed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.Divergence < 0 {
		t.Fatalf("no divergence: %s", res.Summary)
	}
	div := res.Steps[res.Divergence]
	if div.A == nil || div.A.Name != "plan" || len(div.Output) == 0 || div.Output[0].Path != "$.tool_calls[0].arguments.order_id" {
		t.Fatalf("divergence: %+v (%s)", div, res.Summary)
	}
	if !res.Delta.StatusChanged || res.A.Status != agenttrace.StatusFailed || res.B.Status != agenttrace.StatusCompleted ||
		res.B.RerunOf != failedID || res.Delta.StepCount <= 0 {
		t.Fatalf("headers: %+v %+v", res.A, res.Delta)
	}
	// 5. The request is recorded, and its new run has arrived.
	list, err := c.ListReruns(ctx, failedID)
	if err != nil || len(list) != 1 || !list[0].NewRunArrived || list[0].NewRunStatus != "completed" ||
		list[0].KeyName != "bootstrap admin" || !strings.Contains(string(list[0].Overrides), "gpt-4o") {
		t.Fatalf("reruns: %+v %v", list, err)
	}
	// The re-run of a re-run keeps its settings (gpt-4o) unless overridden.
	again, err := c.Rerun(ctx, fixed.ID, rerun.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, c, again.NewRunID); r.Status != agenttrace.StatusCompleted || r.RerunOf != fixed.ID {
		t.Fatalf("re-run of the re-run: %+v", r)
	}

	// Another account sees none of it: 404 everywhere.
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/accounts", map[string]string{"id": "globex"}, &acct); err != nil {
		t.Fatal(err)
	}
	other := client.New(ts.URL, acct.AdminKey)
	if _, err := other.Rerun(ctx, failedID, rerun.Overrides{Model: "gpt-4o"}); func() int { s, _ := apiStatus(err); return s }() != 404 {
		t.Fatalf("another account's re-run: %v", err)
	}
	if _, err := other.CompareRuns(ctx, failedID, fixed.ID); func() int { s, _ := apiStatus(err); return s }() != 404 {
		t.Fatalf("another account's compare: %v", err)
	}
	if _, err := other.ListReruns(ctx, failedID); func() int { s, _ := apiStatus(err); return s }() != 404 {
		t.Fatalf("another account's re-run list: %v", err)
	}
	// A read-only key may compare but not re-run.
	var rk struct {
		Secret string `json:"secret"`
	}
	if err := c.Do(ctx, http.MethodPost, "/api/v1/keys", map[string]any{"name": "ro", "scopes": []string{"read"}}, &rk); err != nil {
		t.Fatal(err)
	}
	ro := client.New(ts.URL, rk.Secret)
	if _, err := ro.CompareRuns(ctx, failedID, fixed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Rerun(ctx, failedID, rerun.Overrides{}); func() int { s, _ := apiStatus(err); return s }() != 403 {
		t.Fatalf("read-only re-run: %v", err)
	}

	// An unreachable rerun_url: 502 with a clear message, and recorded.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/rerun"
	dead.Close()
	if err := c.Do(ctx, http.MethodPut, "/api/v1/agents/support-demo", map[string]string{"rerun_url": deadURL}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.Rerun(ctx, failedID, rerun.Overrides{Model: "gpt-4o"})
	status, msg := apiStatus(err)
	if status != 502 || !strings.Contains(msg, "unreachable") || !strings.Contains(msg, deadURL) || !strings.Contains(msg, "recorded") {
		t.Fatalf("unreachable: %d %q", status, msg)
	}
	list, _ = c.ListReruns(ctx, failedID)
	if len(list) != 2 || list[0].Outcome != rerun.Failed || !strings.Contains(list[0].Error, "unreachable") || list[0].NewRunArrived {
		t.Fatalf("failed attempt not recorded: %+v", list)
	}
	// An agent answering non-2xx: 502 naming the status.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer bad.Close()
	_ = c.Do(ctx, http.MethodPut, "/api/v1/agents/support-demo", map[string]string{"rerun_url": bad.URL}, nil)
	_, err = c.Rerun(ctx, failedID, rerun.Overrides{})
	if status, msg := apiStatus(err); status != 502 || !strings.Contains(msg, "500 Internal Server Error: boom") {
		t.Fatalf("non-2xx: %d %q", status, msg)
	}
	// No rerun_url: 409 telling how to set it.
	_ = c.Do(ctx, http.MethodPut, "/api/v1/agents/support-demo", map[string]string{"rerun_url": ""}, nil)
	_, err = c.Rerun(ctx, failedID, rerun.Overrides{})
	if status, msg := apiStatus(err); status != 409 || !strings.Contains(msg, "PUT /api/v1/agents/support-demo") {
		t.Fatalf("no rerun_url: %d %q", status, msg)
	}
	// Bad overrides: 400 naming the field.
	_, err = c.Rerun(ctx, failedID, rerun.Overrides{Model: strings.Repeat("m", 200)})
	if status, msg := apiStatus(err); status != 400 || !strings.HasPrefix(msg, "model:") {
		t.Fatalf("long model: %d %q", status, msg)
	}
}

func TestWebhookRejectsBadSignatures(t *testing.T) {
	ctx := context.Background()
	_, ts := startServer(t, false)
	agent := demoagent.New(demoagent.Config{URL: ts.URL, Key: bootstrap})
	t.Cleanup(func() { agent.Close(context.Background()) })
	hook, err := agent.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var sec struct {
		Secret string `json:"secret"`
	}
	if err := client.New(ts.URL, bootstrap).Do(ctx, http.MethodGet, "/api/v1/rerun-secret", nil, &sec); err != nil || !strings.HasPrefix(sec.Secret, "whsec_") {
		t.Fatalf("secret %q %v", sec.Secret, err)
	}
	now := time.Now().Unix()
	body := func(ts int64) []byte {
		b, _ := json.Marshal(rerun.Request{RerunID: "rr_x" + strconv.FormatInt(ts, 10), RerunOf: "run_a", RunID: "run_b" + strconv.FormatInt(ts, 10),
			AgentID: "support-demo", Trigger: "rerun", Input: json.RawMessage(`"where is A1042?"`), Timestamp: ts})
		return b
	}
	post := func(b []byte, sig string, ts int64) int {
		req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(b))
		if sig != "" {
			req.Header.Set(rerun.SignatureHeader, sig)
		}
		req.Header.Set(rerun.TimestampHeader, strconv.FormatInt(ts, 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	b := body(now)
	if got := post(b, rerun.Sign("whsec_wrong", b), now); got != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", got)
	}
	if got := post(b, "", now); got != http.StatusUnauthorized {
		t.Fatalf("no signature: %d", got)
	}
	tampered := bytes.Replace(b, []byte("A1042"), []byte("B2042"), 1)
	if got := post(tampered, rerun.Sign(sec.Secret, b), now); got != http.StatusUnauthorized {
		t.Fatalf("tampered body: %d", got)
	}
	old := now - 3600
	if got := post(body(old), rerun.Sign(sec.Secret, body(old)), old); got != http.StatusUnauthorized {
		t.Fatalf("stale timestamp: %d", got)
	}
	if got := post(b, rerun.Sign(sec.Secret, b), now+1); got != http.StatusUnauthorized {
		t.Fatalf("header timestamp differs from the signed one: %d", got)
	}
	if got := post(b, rerun.Sign(sec.Secret, b), now); got != http.StatusAccepted {
		t.Fatalf("valid request: %d", got)
	}
	if got := post(b, rerun.Sign(sec.Secret, b), now); got != http.StatusOK {
		t.Fatalf("replayed request: %d, want 200 (duplicate, not run twice)", got)
	}
	if !demoagent.ValidSignature(sec.Secret, b, rerun.Sign(sec.Secret, b)) {
		t.Fatal("the agent's verification disagrees with the server's signing")
	}
}

func TestFailureModes(t *testing.T) {
	ctx := context.Background()
	_, ts := startServer(t, false)
	agent := demoagent.New(demoagent.Config{URL: ts.URL, Key: bootstrap})
	t.Cleanup(func() { agent.Close(context.Background()) })
	c := client.New(ts.URL, bootstrap)

	_, err := agent.Run(ctx, demoagent.Task{Settings: demoagent.Settings{Model: "rate-limited-model"}})
	var rl *demoagent.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("rate limit: %v", err)
	}
	id, err := agent.Run(ctx, demoagent.Task{Settings: demoagent.Settings{Model: "gpt-4o", Prompt: "Be nice and helpful."}})
	var to *demoagent.ToolTimeoutError
	if !errors.As(err, &to) {
		t.Fatalf("timeout: %v", err)
	}
	r := waitRun(t, c, id)
	if r.Status != agenttrace.StatusFailed || !strings.Contains(r.Error.Message, "no answer within") {
		t.Fatalf("%+v", r.Error)
	}
	id, err = agent.Run(ctx, demoagent.Task{Settings: demoagent.Settings{Model: "claude-sonnet-4"}})
	if err != nil {
		t.Fatal(err)
	}
	r = waitRun(t, c, id)
	if r.Status != agenttrace.StatusCompleted || r.Credits <= 0 || r.StepCount != 6 {
		t.Fatalf("success: %s credits %v steps %d", r.Status, r.Credits, r.StepCount)
	}
}

// serve --demo: within seconds there is a failed support-demo run whose
// re-run with model gpt-4o succeeds.
func TestServeDemoRunsTheDemoAgent(t *testing.T) {
	ctx := context.Background()
	_, ts := startServer(t, true)
	c := client.New(ts.URL, bootstrap)
	deadline := time.Now().Add(20 * time.Second)
	var failedID string
	for failedID == "" {
		page, err := c.ListRuns(ctx, "agent:support-demo status:failed", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Runs) == 1 {
			failedID = page.Runs[0].ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no failed support-demo run")
		}
		time.Sleep(100 * time.Millisecond)
	}
	ans, err := c.Rerun(ctx, failedID, rerun.Overrides{Model: "gpt-4o"})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitRun(t, c, ans.NewRunID); r.Status != agenttrace.StatusCompleted || r.RerunOf != failedID {
		t.Fatalf("%+v", r)
	}
	res, err := c.CompareRuns(ctx, failedID, ans.NewRunID)
	if err != nil || res.Divergence < 0 || res.Steps[res.Divergence].A.Name != "plan" {
		t.Fatalf("%s %v", res.Summary, err)
	}
}
