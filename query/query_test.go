package query

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
)

var testNow = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseTerms(t *testing.T) {
	tests := []struct {
		in   string
		want Term // Pos, Len and Raw are checked separately
		str  string
	}{
		// Full-text search.
		{`timeout`, Term{Field: FieldText, Op: OpEq, Value: "timeout"}, `timeout`},
		{`"rate limit"`, Term{Field: FieldText, Op: OpEq, Value: "rate limit"}, `"rate limit"`},
		{`"say \"hi\" \\o/"`, Term{Field: FieldText, Op: OpEq, Value: `say "hi" \o/`}, `"say \"hi\" \\o/"`},
		{`"a\b"`, Term{Field: FieldText, Op: OpEq, Value: `a\b`}, `a\b`},
		{`"a \b"`, Term{Field: FieldText, Op: OpEq, Value: `a \b`}, `"a \\b"`},
		{`"timeout"`, Term{Field: FieldText, Op: OpEq, Value: "timeout"}, `timeout`},
		{`"-x"`, Term{Field: FieldText, Op: OpEq, Value: "-x"}, `"-x"`},
		{`"a:b"`, Term{Field: FieldText, Op: OpEq, Value: "a:b"}, `"a:b"`},
		{`-timeout`, Term{Negated: true, Field: FieldText, Op: OpEq, Value: "timeout"}, `-timeout`},
		{`-"rate limit"`, Term{Negated: true, Field: FieldText, Op: OpEq, Value: "rate limit"}, `-"rate limit"`},
		{`--x`, Term{Negated: true, Field: FieldText, Op: OpEq, Value: "-x"}, `-"-x"`},
		{`naïve`, Term{Field: FieldText, Op: OpEq, Value: "naïve"}, `naïve`},

		// String fields.
		{`agent:support-bot`, Term{Field: FieldAgent, Op: OpEq, Value: "support-bot"}, `agent:support-bot`},
		{`agent:"my agent"`, Term{Field: FieldAgent, Op: OpEq, Value: "my agent"}, `agent:"my agent"`},
		{`agent=bot`, Term{Field: FieldAgent, Op: OpEq, Value: "bot"}, `agent:bot`},
		{`AGENT:Bot`, Term{Field: FieldAgent, Op: OpEq, Value: "Bot"}, `agent:Bot`},
		{`agent:"x' OR 1=1 --"`, Term{Field: FieldAgent, Op: OpEq, Value: "x' OR 1=1 --"}, `agent:"x' OR 1=1 --"`},
		{`agent:"<x"`, Term{Field: FieldAgent, Op: OpEq, Value: "<x"}, `agent:"<x"`},
		{`agent:a:b`, Term{Field: FieldAgent, Op: OpEq, Value: "a:b"}, `agent:a:b`},
		{`-agent:bot`, Term{Negated: true, Field: FieldAgent, Op: OpEq, Value: "bot"}, `-agent:bot`},
		{`model:gpt-4o`, Term{Field: FieldModel, Op: OpEq, Value: "gpt-4o"}, `model:gpt-4o`},
		{`trigger:cron`, Term{Field: FieldTrigger, Op: OpEq, Value: "cron"}, `trigger:cron`},
		{`tag:prod`, Term{Field: FieldTag, Op: OpEq, Value: "prod"}, `tag:prod`},
		{`session:s-1`, Term{Field: FieldSession, Op: OpEq, Value: "s-1"}, `session:s-1`},
		{`rerun_of:run_1`, Term{Field: FieldRerunOf, Op: OpEq, Value: "run_1"}, `rerun_of:run_1`},
		{`id:run_9`, Term{Field: FieldID, Op: OpEq, Value: "run_9"}, `id:run_9`},

		// Status.
		{`status:failed`, Term{Field: FieldStatus, Op: OpEq, Value: "failed"}, `status:failed`},
		{`status:Completed`, Term{Field: FieldStatus, Op: OpEq, Value: "completed"}, `status:completed`},
		{`status:pending`, Term{Field: FieldStatus, Op: OpEq, Value: "pending"}, `status:pending`},
		{`status:"processing"`, Term{Field: FieldStatus, Op: OpEq, Value: "processing"}, `status:processing`},
		{`-status:completed`, Term{Negated: true, Field: FieldStatus, Op: OpEq, Value: "completed"}, `-status:completed`},

		// Credits.
		{`credits>0.5`, Term{Field: FieldCredits, Op: OpGT, Number: 0.5}, `credits>0.5`},
		{`credits>=1`, Term{Field: FieldCredits, Op: OpGE, Number: 1}, `credits>=1`},
		{`credits<2`, Term{Field: FieldCredits, Op: OpLT, Number: 2}, `credits<2`},
		{`credits<=2.25`, Term{Field: FieldCredits, Op: OpLE, Number: 2.25}, `credits<=2.25`},
		{`credits=3`, Term{Field: FieldCredits, Op: OpEq, Number: 3}, `credits:3`},
		{`credits:3`, Term{Field: FieldCredits, Op: OpEq, Number: 3}, `credits:3`},
		{`credits:>3`, Term{Field: FieldCredits, Op: OpGT, Number: 3}, `credits>3`},
		{`credits:<=3`, Term{Field: FieldCredits, Op: OpLE, Number: 3}, `credits<=3`},
		{`credits>1e-3`, Term{Field: FieldCredits, Op: OpGT, Number: 0.001}, `credits>0.001`},
		{`-credits>5`, Term{Negated: true, Field: FieldCredits, Op: OpGT, Number: 5}, `-credits>5`},

		// Steps.
		{`steps>=3`, Term{Field: FieldSteps, Op: OpGE, Int: 3}, `steps>=3`},
		{`steps:0`, Term{Field: FieldSteps, Op: OpEq, Int: 0}, `steps:0`},
		{`steps<10`, Term{Field: FieldSteps, Op: OpLT, Int: 10}, `steps<10`},

		// Duration.
		{`duration>30s`, Term{Field: FieldDuration, Op: OpGT, Number: 30000}, `duration>30s`},
		{`duration>1500`, Term{Field: FieldDuration, Op: OpGT, Number: 1500}, `duration>1500ms`},
		{`duration<250ms`, Term{Field: FieldDuration, Op: OpLT, Number: 250}, `duration<250ms`},
		{`duration>=2m`, Term{Field: FieldDuration, Op: OpGE, Number: 120000}, `duration>=2m`},
		{`duration<=1h`, Term{Field: FieldDuration, Op: OpLE, Number: 3600000}, `duration<=1h`},
		{`duration>90s`, Term{Field: FieldDuration, Op: OpGT, Number: 90000}, `duration>90s`},
		{`duration>1.5s`, Term{Field: FieldDuration, Op: OpGT, Number: 1500}, `duration>1500ms`},
		{`duration>60000`, Term{Field: FieldDuration, Op: OpGT, Number: 60000}, `duration>1m`},
		{`duration:0`, Term{Field: FieldDuration, Op: OpEq, Number: 0}, `duration:0ms`},

		// Times.
		{`after:2026-11-01`, Term{Field: FieldAfter, Op: OpEq, Time: mustTime("2026-11-01T00:00:00Z")}, `after:2026-11-01`},
		{`before:2026-11-01T09:30:00Z`, Term{Field: FieldBefore, Op: OpEq, Time: mustTime("2026-11-01T09:30:00Z")}, `before:2026-11-01T09:30:00Z`},
		{`before:2026-11-01T09:30:00.5+02:00`, Term{Field: FieldBefore, Op: OpEq, Time: mustTime("2026-11-01T07:30:00.5Z")}, `before:2026-11-01T07:30:00.5Z`},
		{`after:30m`, Term{Field: FieldAfter, Op: OpEq, Time: mustTime("2026-11-15T11:30:00Z")}, `after:2026-11-15T11:30:00Z`},
		{`after:24h`, Term{Field: FieldAfter, Op: OpEq, Time: mustTime("2026-11-14T12:00:00Z")}, `after:2026-11-14T12:00:00Z`},
		{`after:7d`, Term{Field: FieldAfter, Op: OpEq, Time: mustTime("2026-11-08T12:00:00Z")}, `after:2026-11-08T12:00:00Z`},
		{`before:2w`, Term{Field: FieldBefore, Op: OpEq, Time: mustTime("2026-11-01T12:00:00Z")}, `before:2026-11-01T12:00:00Z`},
		{`after:12h`, Term{Field: FieldAfter, Op: OpEq, Time: mustTime("2026-11-15T00:00:00Z")}, `after:2026-11-15`},

		// has:
		{`has:error`, Term{Field: FieldHas, Op: OpEq, Value: "error"}, `has:error`},
		{`has:input`, Term{Field: FieldHas, Op: OpEq, Value: "input"}, `has:input`},
		{`has:output`, Term{Field: FieldHas, Op: OpEq, Value: "output"}, `has:output`},
		{`has:rerun`, Term{Field: FieldHas, Op: OpEq, Value: "rerun"}, `has:rerun`},
		{`-has:session`, Term{Negated: true, Field: FieldHas, Op: OpEq, Value: "session"}, `-has:session`},

		// eval:
		{`eval:helpful=pass`, Term{Field: FieldEval, Op: OpEq, Value: "helpful", Verdict: "pass"}, `eval:helpful=pass`},
		{`eval:helpful=FAIL`, Term{Field: FieldEval, Op: OpEq, Value: "helpful", Verdict: "fail"}, `eval:helpful=fail`},
		{`eval:"is polite"=error`, Term{Field: FieldEval, Op: OpEq, Value: "is polite", Verdict: "error"}, `eval:"is polite"=error`},
		{`eval:"is polite=pass"`, Term{Field: FieldEval, Op: OpEq, Value: "is polite", Verdict: "pass"}, `eval:"is polite"=pass`},
		{`eval:a=b=pass`, Term{Field: FieldEval, Op: OpEq, Value: "a=b", Verdict: "pass"}, `eval:a=b=pass`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseAt(tt.in, testNow)
			if err != nil {
				t.Fatalf("ParseAt(%q): %v", tt.in, err)
			}
			if len(q.Terms) != 1 {
				t.Fatalf("got %d terms, want 1", len(q.Terms))
			}
			got := q.Terms[0]
			if !got.Equal(tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
			if got.Pos != 0 || got.Len != len(tt.in) || got.Raw != tt.in {
				t.Errorf("position: got Pos=%d Len=%d Raw=%q", got.Pos, got.Len, got.Raw)
			}
			if s := q.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
			q2, err := ParseAt(q.String(), testNow)
			if err != nil || !q2.Equal(q) {
				t.Errorf("reparse of %q: %v, %+v", q.String(), err, q2)
			}
		})
	}
}

func TestParseQuery(t *testing.T) {
	in := `  status:failed agent:support-bot  "rate limit" -model:gpt-4o`
	q, err := ParseAt(in, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		pos int
		raw string
	}{{2, "status:failed"}, {16, "agent:support-bot"}, {35, `"rate limit"`}, {48, "-model:gpt-4o"}}
	if len(q.Terms) != len(want) {
		t.Fatalf("got %d terms: %+v", len(q.Terms), q.Terms)
	}
	for i, w := range want {
		tm := q.Terms[i]
		if tm.Pos != w.pos || tm.Raw != w.raw || tm.Len != len(w.raw) || in[tm.Pos:tm.Pos+tm.Len] != w.raw {
			t.Errorf("term %d: Pos=%d Len=%d Raw=%q, want %d %q", i, tm.Pos, tm.Len, tm.Raw, w.pos, w.raw)
		}
	}
	if got, want := q.String(), `status:failed agent:support-bot "rate limit" -model:gpt-4o`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if q.IsEmpty() || !q.Has(FieldModel) || q.Has(FieldTag) {
		t.Errorf("IsEmpty/Has wrong")
	}
}

func TestParseEmpty(t *testing.T) {
	for _, in := range []string{"", "   ", "\t\n"} {
		q, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if !q.IsEmpty() || q.String() != "" {
			t.Errorf("Parse(%q) = %+v, want empty", in, q)
		}
	}
	var nilQ *Query
	if !nilQ.IsEmpty() || nilQ.String() != "" || nilQ.Has(FieldText) {
		t.Error("nil query should be empty")
	}
}

func TestParseUsesNow(t *testing.T) {
	old := Now
	defer func() { Now = old }()
	Now = func() time.Time { return testNow }
	q, err := Parse("after:1d")
	if err != nil {
		t.Fatal(err)
	}
	if want := testNow.Add(-24 * time.Hour); !q.Terms[0].Time.Equal(want) {
		t.Errorf("got %v, want %v", q.Terms[0].Time, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		pos     int
		term    string
		message string // the full agenttrace.ErrorMessage, or a part of it
	}{
		{`status:failed colour:red`, 14, "colour:red",
			`q: at position 14, "colour:red": unknown field "colour" (fields: agent, status, model, trigger, tag, session, rerun_of, id, credits, steps, duration, after, before, has, eval)`},
		{`credits>abc`, 0, "credits>abc", `q: at position 0, "credits>abc": "abc" is not a number`},
		{`credits>NaN`, 0, "credits>NaN", `"NaN" is not a number`},
		{`credits>1e999`, 0, "credits>1e999", `"1e999" is not a number`},
		{`credits>`, 0, "credits>", `empty value for "credits"`},
		{`steps>2.5`, 0, "steps>2.5", `"2.5" is not a whole number`},
		{`steps>x`, 0, "steps>x", `"x" is not a number`},
		{`duration>5x`, 0, "duration>5x", `"5x" is not a duration`},
		{`duration>infs`, 0, "duration>infs", `is not a duration`},
		{`duration>1e308h`, 0, "duration>1e308h", `is not a duration`},
		{`status:done`, 0, "status:done", `q: at position 0, "status:done": unknown status "done" (statuses: pending, processing, completed, failed)`},
		{`a "rate limit`, 2, `"rate limit`, `q: at position 2, "\"rate limit": unterminated quote (close it with ")`},
		{`agent:"my agent`, 0, `agent:"my agent`, `unterminated quote`},
		{`"a\"`, 0, `"a\"`, `unterminated quote`},
		{`agent:`, 0, "agent:", `q: at position 0, "agent:": empty value for "agent" (write agent:VALUE or agent:"a value")`},
		{`agent:""`, 0, `agent:""`, `empty value for "agent"`},
		{`x -`, 2, "-", `nothing after "-"`},
		{"tag:a\x00b", 5, "\x00", `a NUL character (\u0000) is not allowed`},
		{`""`, 0, `""`, `empty search text`},
		{`"  "`, 0, `"  "`, `empty search text`},
		{`"a"b`, 0, `"a"b`, `unexpected "b" after the closing quote`},
		{`agent:"a"b`, 0, `agent:"a"b`, `unexpected "b" after the closing quote`},
		{`ab"c"`, 0, `ab"c"`, `a quote may only start a term or a value`},
		{`agent:a"b"`, 0, `agent:a"b"`, `a quote may only start a value`},
		{`:x`, 0, ":x", `missing field name before ":"`},
		{`>5`, 0, ">5", `missing field name before ">"`},
		{`after:yesterday`, 0, "after:yesterday", `"yesterday" is not a date (write 2026-11-01`},
		{`after:2026-13-01`, 0, "after:2026-13-01", `"2026-13-01" is not a date`},
		{`before:2026-11-01T25:00:00Z`, 0, "before:2026-11-01T25:00:00Z", `is not a date`},
		{`after:99999999999999d`, 0, "after:99999999999999d", `is too long ago`},
		{`after:0000-01-01`, 0, "after:0000-01-01", `time out of range`},
		{`after>2026-11-01`, 0, "after>2026-11-01", `field "after" does not take ">"`},
		{`agent>3`, 0, "agent>3", `q: at position 0, "agent>3": field "agent" does not take ">" (write agent:VALUE)`},
		{`status:>failed`, 0, "status:>failed", `field "status" does not take ":>"`},
		{`has:errors`, 0, "has:errors", `unknown has: value "errors" (has: error, input, output, rerun, session)`},
		{`eval:helpful`, 0, "eval:helpful", `expected eval:NAME=VERDICT (verdicts: pass, fail, error)`},
		{`eval:=pass`, 0, "eval:=pass", `empty evaluator name`},
		{`eval:helpful=maybe`, 0, "eval:helpful=maybe", `unknown verdict "maybe" (verdicts: pass, fail, error)`},
		{`eval:"helpful"x`, 0, `eval:"helpful"x`, `unexpected "x" after the closing quote`},
		{`-colour:red`, 0, "-colour:red", `unknown field "colour"`},
		{strings.Repeat("a ", MaxTerms) + "b", 2 * MaxTerms, "b", `too many terms (at most 50)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := ParseAt(tt.in, testNow)
			if err == nil {
				t.Fatalf("ParseAt(%q) = %v, want an error", tt.in, q)
			}
			if code := agenttrace.ErrorCode(err); code != agenttrace.EINVALID {
				t.Errorf("code = %q, want %q", code, agenttrace.EINVALID)
			}
			msg := agenttrace.ErrorMessage(err)
			if !strings.Contains(msg, tt.message) {
				t.Errorf("message = %q\nwant it to contain %q", msg, tt.message)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("error %T is not a *query.Error", err)
			}
			if qe.Pos != tt.pos || qe.Term != tt.term || qe.Len != len(tt.term) {
				t.Errorf("Pos=%d Len=%d Term=%q, want %d %q", qe.Pos, qe.Len, qe.Term, tt.pos, tt.term)
			}
			if err.Error() != "invalid: "+msg {
				t.Errorf("Error() = %q", err.Error())
			}
			var ae *agenttrace.Error
			if !errors.As(err, &ae) || ae.Code != agenttrace.EINVALID {
				t.Errorf("errors.As to *agenttrace.Error failed")
			}
		})
	}
}

func TestErrorTruncatesLongTerm(t *testing.T) {
	_, err := Parse("colour:" + strings.Repeat("x", 200))
	msg := agenttrace.ErrorMessage(err)
	if len(msg) > 300 || !strings.Contains(msg, "…") {
		t.Errorf("message not truncated: %q", msg)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		``, `timeout`, `"rate limit"`, `-"a \" b"`, `status:failed agent:support-bot "rate limit"`,
		`credits>0.5 after:7d`, `-status:completed model:gpt-4o`, `steps>=3`, `duration>30s`,
		`duration<1.5h`, `before:2026-11-01T09:30:00.123+02:00`, `has:error -has:rerun`,
		`eval:"is polite"=pass`, `eval:a=b=fail`, `agent:"x' OR 1=1 --"`, `tag:"<x"`, `credits:>=1e-9`,
		`"unterminated`, `colour:red`, `agent>3`, `--x`, `a\b "c\\d"`, `session:"" id:=x`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseAt(s, testNow)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || agenttrace.ErrorCode(err) != agenttrace.EINVALID {
				t.Fatalf("ParseAt(%q): error %v is not a query error", s, err)
			}
			if qe.Pos < 0 || qe.Pos+qe.Len > len(s) || s[qe.Pos:qe.Pos+qe.Len] != qe.Term {
				t.Fatalf("ParseAt(%q): error position %d+%d does not match term %q", s, qe.Pos, qe.Len, qe.Term)
			}
			return
		}
		for _, tm := range q.Terms {
			if s[tm.Pos:tm.Pos+tm.Len] != tm.Raw {
				t.Fatalf("ParseAt(%q): term %+v does not match its position", s, tm)
			}
		}
		out := q.String()
		q2, err := ParseAt(out, testNow.Add(time.Hour)) // times are absolute once rendered
		if err != nil {
			t.Fatalf("ParseAt(%q) ok, but its String %q fails: %v", s, out, err)
		}
		if !q2.Equal(q) {
			t.Fatalf("ParseAt(%q) = %#v\nString %q parses to %#v", s, q.Terms, out, q2.Terms)
		}
		if out2 := q2.String(); out2 != out {
			t.Fatalf("String not stable: %q then %q", out, out2)
		}
	})
}
