package sdk_test

import (
	"context"
	"errors"
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/sdk"
	"github.com/agenttrace/agenttrace/server"
)

const testKey = "at_test_sdk_0123456789abcdef"

func newServer(t *testing.T) (*server.Server, string) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), BootstrapKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close(context.Background())
	})
	return srv, ts.URL
}

func TestRunWithNestedAndFailingSteps(t *testing.T) {
	srv, url := newServer(t)
	client := sdk.New(sdk.Options{URL: url, Key: testKey, FlushInterval: time.Hour})
	ctx := context.Background()

	rctx, run := client.StartRun(ctx, "support-bot", sdk.WithInput("hello"), sdk.WithSessionID("s1"), sdk.WithTags("beta"))
	actx, agent := sdk.StartStep(rctx, "plan", sdk.StepAgent)
	_, llm := sdk.StartStep(actx, "chat", sdk.StepLLM, sdk.WithModel("gpt-4o"), sdk.WithInput([]string{"hi"}))
	llm.SetUsage(1000, 500)
	llm.SetOutput(map[string]string{"content": "hello!"})
	llm.End()
	agent.End()
	_, tool := sdk.StartStep(rctx, "search", sdk.StepTool)
	tool.Fail(errors.New("search backend down"))
	tool.End() // a second end is a no-op
	_, paid := sdk.StartStep(rctx, "paid", sdk.StepTool)
	paid.SetCredits(0.5)
	paid.End()
	run.SetOutput("bye")
	run.End()

	if err := client.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := srv.Store.GetRun(ctx, agenttrace.DefaultAccountID, run.ID())
	if err != nil {
		t.Fatal(err)
	}
	if r.AgentID != "support-bot" || r.Status != agenttrace.StatusCompleted || r.SessionID != "s1" || string(r.Input) != `"hello"` || string(r.Output) != `"bye"` {
		t.Fatalf("run %+v", r)
	}
	if len(r.Steps) != 4 {
		t.Fatalf("%d steps", len(r.Steps))
	}
	plan, chat, search, paidStep := r.Steps[0], r.Steps[1], r.Steps[2], r.Steps[3]
	if plan.Name != "plan" || chat.Name != "chat" || search.Name != "search" || paidStep.Name != "paid" {
		t.Fatalf("order: %s %s %s %s", plan.Name, chat.Name, search.Name, paidStep.Name)
	}
	if chat.ParentID != plan.ID || plan.ParentID != "" || search.ParentID != "" {
		t.Errorf("parents: chat %q (want %q), plan %q, search %q", chat.ParentID, plan.ID, plan.ParentID, search.ParentID)
	}
	if math.Abs(chat.Credits-0.0075) > 1e-9 || chat.Model != "gpt-4o" || string(chat.Output) != `{"content":"hello!"}` {
		t.Errorf("chat: credits %v model %q output %s", chat.Credits, chat.Model, chat.Output)
	}
	if search.Status != agenttrace.StatusFailed || search.Error == nil || search.Error.Message != "search backend down" {
		t.Errorf("search: %q %+v", search.Status, search.Error)
	}
	if math.Abs(r.Credits-0.5075) > 1e-9 || r.Error == nil || r.Error.StepID != search.ID {
		t.Errorf("run credits %v error %+v", r.Credits, r.Error)
	}
	if err := client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := client.Stats()
	if st.Dropped != 0 || st.Sent == 0 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	// After Close: dropped, not sent, no panic.
	_, late := client.StartRun(ctx, "support-bot")
	late.End()
	if client.Stats().Dropped != 2 {
		t.Errorf("after close: %+v", client.Stats())
	}
}

func TestFailedRun(t *testing.T) {
	srv, url := newServer(t)
	client := sdk.New(sdk.Options{URL: url, Key: testKey})
	ctx := context.Background()
	_, run := client.StartRun(ctx, "batch-job", sdk.WithRunID("job-1"))
	run.Fail(errors.New("out of memory"))
	if err := client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := srv.Store.GetRun(ctx, agenttrace.DefaultAccountID, "job-1")
	if err != nil || r.Status != agenttrace.StatusFailed || r.Error == nil || r.Error.Message != "out of memory" {
		t.Fatalf("run %+v %v", r, err)
	}
}

// TestServerDown: nothing blocks or panics; what cannot be sent is counted.
func TestServerDown(t *testing.T) {
	ts := httptest.NewServer(nil)
	url := ts.URL
	ts.Close()
	client := sdk.New(sdk.Options{URL: url, Key: testKey, BufferSize: 10, BatchSize: 5, MaxRetries: 2, MinBackoff: time.Millisecond})
	ctx := context.Background()
	rctx, run := client.StartRun(ctx, "agent")
	for range 100 {
		_, s := sdk.StartStep(rctx, "step", sdk.StepTool)
		s.SetInput(make(chan int)) // not encodable: recorded as text
		s.End()
	}
	run.End()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = client.Close(cctx)
	st := client.Stats()
	if st.Sent != 0 || st.Dropped != 102 || st.LastError == "" {
		t.Fatalf("stats %+v, want 102 dropped", st)
	}
}

func TestRejectedKeyAndNil(t *testing.T) {
	_, url := newServer(t)
	client := sdk.New(sdk.Options{URL: url, Key: "wrong"})
	ctx := context.Background()
	_, run := client.StartRun(ctx, "agent")
	run.End()
	_ = client.Close(ctx)
	if st := client.Stats(); st.Dropped != 2 || st.Retries != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Outside a run, and on nil values, everything is a no-op.
	c2, step := sdk.StartStep(ctx, "x", sdk.StepLLM)
	if step != nil || c2 != ctx {
		t.Fatal("a step outside a run")
	}
	step.SetUsage(1, 2)
	step.Fail(errors.New("x"))
	var nilRun *sdk.Run
	nilRun.SetOutput(1)
	nilRun.End()
	var nilClient *sdk.Client
	_, r := nilClient.StartRun(ctx, "a")
	r.End()
	// An invalid agent id is refused at once, not sent.
	c3 := sdk.New(sdk.Options{URL: url, Key: testKey})
	_, bad := c3.StartRun(ctx, "bad agent id")
	bad.End()
	_ = c3.Close(ctx)
	if st := c3.Stats(); st.Dropped != 2 || st.Sent != 0 {
		t.Fatalf("invalid agent: %+v", st)
	}
}
