package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
)

func mustCompile(t *testing.T, kind agenttrace.EvaluatorKind, config string) Checker {
	t.Helper()
	c, err := Compile(agenttrace.Evaluator{Name: "t", Kind: kind, Config: json.RawMessage(config)}, Options{})
	if err != nil {
		t.Fatalf("compile %s: %v", config, err)
	}
	return c
}

// craftedRun has four steps; step 3 "send_email" leaks PII when leak is set.
func craftedRun(out3 string) *agenttrace.Run {
	j := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	return &agenttrace.Run{ID: "r1", AgentID: "bot", Status: agenttrace.StatusCompleted, Credits: 2, DurationMS: 1200,
		Input: j("help me"), Output: json.RawMessage(`{"answer":"done"}`),
		Steps: []agenttrace.Step{
			{ID: "s1", Seq: 1, Name: "plan", Type: agenttrace.StepLLM, Status: agenttrace.StatusCompleted, Output: j("I will email the customer"), Credits: 1.5, DurationMS: 500},
			{ID: "s2", Seq: 2, Name: "lookup", Type: agenttrace.StepTool, Status: agenttrace.StatusCompleted, Output: j("order 12345 shipped on 2026-11-02"), DurationMS: 100},
			{ID: "s3", Seq: 3, Name: "send_email", Type: agenttrace.StepTool, Status: agenttrace.StatusCompleted, Output: j(out3), DurationMS: 300},
			{ID: "s4", Seq: 4, Name: "answer", Type: agenttrace.StepLLM, Status: agenttrace.StatusCompleted, Output: j("All set."), Credits: 0.5, DurationMS: 300},
		}}
}

func TestPIIFoundInStep3(t *testing.T) {
	c := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"pii"}`)
	v := c.Check(context.Background(), craftedRun("sent to john.doe@example.com"))
	if v.Verdict != "fail" || v.StepID != "s3" || v.Reason != `step 3 "send_email" output contains an email address: j***@example.com` {
		t.Fatalf("%+v", v)
	}
	for _, tc := range []struct{ text, want string }{
		{"card 4111 1111 1111 1111 charged", "a card number: ****1111"},
		{"ssn 123-45-6789 on file", "US SSN"},
		{"call me at +1 415-555-0132", "a phone number"},
		{"call (415) 555-0132", "a phone number"},
	} {
		v := c.Check(context.Background(), craftedRun(tc.text))
		if v.Verdict != "fail" || v.StepID != "s3" || !strings.Contains(v.Reason, tc.want) {
			t.Errorf("%q: %+v", tc.text, v)
		}
	}
	for _, clean := range []string{"card 4111 1111 1111 1112 declined", "ssn 000-12-3456", "order 12345 total 99.50", "nothing here"} {
		if v := c.Check(context.Background(), craftedRun(clean)); v.Verdict != "pass" {
			t.Errorf("%q: false positive %+v", clean, v)
		}
	}
	emailOnly := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"pii","params":{"types":["card"]}}`)
	if v := emailOnly.Check(context.Background(), craftedRun("john@example.com")); v.Verdict != "pass" {
		t.Errorf("types filter: %+v", v)
	}
}

func TestLuhn(t *testing.T) {
	for d, want := range map[string]bool{"4111111111111111": true, "4111111111111112": false, "5555555555554444": true, "378282246310005": true, "1234567812345678": false} {
		if luhn(d) != want {
			t.Errorf("luhn(%s) = %v", d, !want)
		}
	}
}

func TestSecrets(t *testing.T) {
	c := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"secrets"}`)
	for _, s := range []string{"key sk-proj-abcdefghijklmnopqrstuvwx", "AKIAIOSFODNN7EXAMPLE", "ghp_" + strings.Repeat("a", 36),
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abcdefgh", "-----BEGIN RSA PRIVATE KEY-----\nMIIE"} {
		v := c.Check(context.Background(), craftedRun(s))
		if v.Verdict != "fail" || v.StepID != "s3" {
			t.Errorf("%q: %+v", s, v)
		}
		if strings.Contains(v.Reason, s) {
			t.Errorf("reason shows the whole secret: %s", v.Reason)
		}
	}
	if v := c.Check(context.Background(), craftedRun("the sk- prefix is documented")); v.Verdict != "pass" {
		t.Errorf("false positive: %+v", v)
	}
}

func TestLimitsAndSteps(t *testing.T) {
	ctx := context.Background()
	r := craftedRun("ok")
	if v := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"max_credits","params":{"max":1}}`).Check(ctx, r); v.Verdict != "fail" || v.StepID != "s1" {
		t.Errorf("max_credits: %+v", v)
	}
	if v := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"max_duration_ms","params":{"max":5000}}`).Check(ctx, r); v.Verdict != "pass" {
		t.Errorf("max_duration_ms: %+v", v)
	}
	if v := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"banned_tools","params":{"tools":["send_email"]}}`).Check(ctx, r); v.Verdict != "fail" || v.StepID != "s3" || !strings.Contains(v.Reason, `step 3 "send_email" calls the banned tool`) {
		t.Errorf("banned_tools: %+v", v)
	}
	r.Steps[1].Status, r.Steps[1].Error = agenttrace.StatusFailed, &agenttrace.StepError{Message: "timeout"}
	if v := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"no_failed_steps"}`).Check(ctx, r); v.Verdict != "fail" || v.StepID != "s2" || !strings.Contains(v.Reason, "timeout") {
		t.Errorf("no_failed_steps: %+v", v)
	}
	if _, err := Compile(agenttrace.Evaluator{Kind: agenttrace.EvalBuiltin, Config: json.RawMessage(`{"check":"nope"}`)}, Options{}); agenttrace.ErrorCode(err) != agenttrace.EINVALID {
		t.Errorf("unknown check: %v", err)
	}
}

func TestOutputJSONAndSchema(t *testing.T) {
	ctx := context.Background()
	isJSON := mustCompile(t, agenttrace.EvalBuiltin, `{"check":"output_is_json","params":{"step":"send_email"}}`)
	if v := isJSON.Check(ctx, craftedRun(`{"sent": true}`)); v.Verdict != "pass" {
		t.Errorf("json string: %+v", v)
	}
	if v := isJSON.Check(ctx, craftedRun(`sent!`)); v.Verdict != "fail" || v.StepID != "s3" {
		t.Errorf("not json: %+v", v)
	}
	schema := `{"check":"output_matches_schema","params":{"schema":{"type":"object","required":["answer"],"properties":{"answer":{"type":"string"}}}}}`
	c := mustCompile(t, agenttrace.EvalBuiltin, schema)
	r := craftedRun("x")
	if v := c.Check(ctx, r); v.Verdict != "pass" {
		t.Errorf("schema ok: %+v", v)
	}
	r.Output = json.RawMessage(`{"answer": 3}`)
	if v := c.Check(ctx, r); v.Verdict != "fail" || !strings.Contains(v.Reason, "/answer") {
		t.Errorf("schema mismatch: %+v", v)
	}
	if _, err := Compile(agenttrace.Evaluator{Kind: agenttrace.EvalBuiltin, Config: json.RawMessage(`{"check":"output_matches_schema","params":{"schema":{"type":"nonsense"}}}`)}, Options{}); agenttrace.ErrorCode(err) != agenttrace.EINVALID {
		t.Errorf("bad schema: %v", err)
	}
}

func TestRules(t *testing.T) {
	ctx := context.Background()
	r := craftedRun("ok")
	for expr, want := range map[string]string{
		`run.credits <= 5.0`: "pass",
		`run.credits <= 1`:   "fail",
		`!run.steps.exists(s, s.type == "tool" && s.name == "send_email")`: "fail",
		`run.steps.all(s, s.duration_ms < 30000)`:                          "pass",
		`run.output.answer == "done"`:                                      "pass",
		`run.metadata.approved`:                                            "error",
	} {
		v := mustCompile(t, agenttrace.EvalRule, fmt.Sprintf(`{"expression":%q}`, expr)).Check(ctx, r)
		if v.Verdict != want {
			t.Errorf("%s: %+v, want %s", expr, v, want)
		}
	}
}

func TestRuleCompileErrorsShowWhere(t *testing.T) {
	for expr, want := range map[string]string{
		`run.credits <= `:    "1:",
		`runs.credits < 5.0`: "undeclared reference to 'runs'",
		`run.credit < 5.0`:   `1:4: run has no field "credit"`,
		`run.credits + 1.0`:  "must be a condition",
	} {
		_, err := Compile(agenttrace.Evaluator{Kind: agenttrace.EvalRule, Config: json.RawMessage(fmt.Sprintf(`{"expression":%q}`, expr))}, Options{})
		if agenttrace.ErrorCode(err) != agenttrace.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v (want %q)", expr, err, want)
		}
	}
}

func TestExpensiveRuleIsStopped(t *testing.T) {
	r := craftedRun("x")
	for i := range 2000 {
		r.Steps = append(r.Steps, agenttrace.Step{ID: fmt.Sprint("x", i), Name: "n", Type: agenttrace.StepCode})
	}
	c := mustCompile(t, agenttrace.EvalRule, `{"expression":"run.steps.all(a, run.steps.all(b, run.steps.all(c, a.name != 'zz')))"}`)
	start := time.Now()
	v := c.Check(context.Background(), r)
	if v.Verdict != "error" || !strings.Contains(v.Reason, "rule stopped") {
		t.Fatalf("%+v", v)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}

func fakeJudge(t *testing.T, answer func(n int64) (int, string)) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer k3y" {
			http.Error(w, "bad request", 400)
			return
		}
		status, content := answer(n)
		if status == 0 {
			time.Sleep(2 * time.Second)
			return
		}
		w.WriteHeader(status)
		if status == 200 {
			json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": content}}}})
		} else {
			fmt.Fprint(w, content)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func judgeOf(t *testing.T, url string, extra string) Checker {
	t.Helper()
	c, err := Compile(agenttrace.Evaluator{Kind: agenttrace.EvalJudge, Secret: "k3y",
		Config: json.RawMessage(`{"url":"` + url + `/v1","model":"m","timeout_ms":300` + extra + `}`)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestJudge(t *testing.T) {
	ctx := context.Background()
	r := craftedRun("x")
	cases := []struct {
		name    string
		answer  func(n int64) (int, string)
		verdict string
		calls   int64
	}{
		{"pass", func(int64) (int, string) { return 200, `{"verdict":"pass","score":0.9,"reason":"fine"}` }, "pass", 1},
		{"fail in fences", func(int64) (int, string) {
			return 200, "Here you go:\n```json\n{\"verdict\": \"FAIL\", \"score\": 0.2, \"reason\": \"step 3 leaked an address\"}\n```"
		}, "fail", 1},
		{"garbage", func(int64) (int, string) { return 200, "I think it is fine!" }, "error", 1},
		{"timeout", func(int64) (int, string) { return 0, "" }, "error", 2},
		{"500 then ok", func(n int64) (int, string) {
			if n == 1 {
				return 503, "busy"
			}
			return 200, `{"verdict":"pass"}`
		}, "pass", 2},
		{"always 500", func(int64) (int, string) { return 500, "down" }, "error", 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := fakeJudge(t, tc.answer)
			v := judgeOf(t, srv.URL, `,"max_retries":1`).Check(ctx, r)
			if v.Verdict != tc.verdict || calls.Load() != tc.calls {
				t.Fatalf("%+v after %d calls", v, calls.Load())
			}
			if tc.name == "fail in fences" && (v.StepID != "s3" || v.Score == nil || *v.Score != 0.2) {
				t.Fatalf("step or score lost: %+v", v)
			}
		})
	}
	if _, err := Compile(agenttrace.Evaluator{Kind: agenttrace.EvalJudge, Config: json.RawMessage(`{"url":"ftp://x","model":"m"}`)}, Options{}); agenttrace.ErrorCode(err) != agenttrace.EINVALID {
		t.Errorf("bad url: %v", err)
	}
	if _, err := Compile(agenttrace.Evaluator{Kind: agenttrace.EvalJudge, Config: json.RawMessage(`{"url":"http://x","model":"m","prompt":"{{.run.id"}`)}, Options{}); agenttrace.ErrorCode(err) != agenttrace.EINVALID {
		t.Errorf("bad prompt: %v", err)
	}
}
