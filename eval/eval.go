// Package eval runs evaluators on runs: rule (CEL expressions), builtin
// checks (PII, secrets, limits, JSON output, banned tools) and judge (an
// OpenAI-compatible chat-completions endpoint). It serves /api/v1/evaluators
// and /api/v1/evaluations, runs retroactive evaluations as background jobs
// of kind "evaluation", and evaluates new runs of attached agents when they
// end. See docs/evaluations.md.
package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace"
)

// Verdict is one evaluator's decision on one run.
type Verdict struct {
	Verdict string   // pass, fail, error
	Score   *float64 // optional, 0..1
	Reason  string   // points at the step and text that caused a failure
	StepID  string
}

// Checker evaluates runs (with their steps). It is safe for concurrent use.
type Checker interface {
	Check(ctx context.Context, run *agenttrace.Run) Verdict
}

// NeedsText reports whether a checker reads inputs, outputs or metadata
// (else runs are loaded without them, which is much faster).
func NeedsText(c Checker) bool {
	switch c := c.(type) {
	case *rule:
		return c.needAll || c.needInput || c.needOutput || c.needMetadata
	case *builtin:
		switch c.check {
		case "max_credits", "max_duration_ms", "no_failed_steps", "banned_tools":
			return false
		}
	}
	return true
}

// Options tune evaluators; the zero value is the production default.
type Options struct {
	HTTPClient *http.Client // judge calls; default has no overall timeout (each call has its own)
	// Guard, when set, refuses judge URLs that name internal addresses
	// when an evaluator is saved (its Client enforces it when dialling).
	Guard *JudgeGuard
}

// Compile validates an evaluator's configuration and prepares it to run.
// Configuration errors are EINVALID and name the field.
func Compile(e agenttrace.Evaluator, opts Options) (Checker, error) {
	switch e.Kind {
	case agenttrace.EvalRule:
		return compileRule(e.Config)
	case agenttrace.EvalBuiltin:
		return compileBuiltin(e.Config)
	case agenttrace.EvalJudge:
		return compileJudge(e.Config, e.Secret, opts)
	}
	return nil, agenttrace.Errorf(agenttrace.EINVALID, "kind: %q is not rule, builtin or judge", e.Kind)
}

// decodeConfig decodes a config object strictly.
func decodeConfig(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		raw = json.RawMessage(`{}`)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return agenttrace.Errorf(agenttrace.EINVALID, "config: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

func pass(reason string) Verdict { return Verdict{Verdict: agenttrace.VerdictPass, Reason: reason} }

func fail(stepID, format string, args ...any) Verdict {
	return Verdict{Verdict: agenttrace.VerdictFail, Reason: clip(fmt.Sprintf(format, args...), 500), StepID: stepID}
}

func errorVerdict(format string, args ...any) Verdict {
	return Verdict{Verdict: agenttrace.VerdictError, Reason: clip(fmt.Sprintf(format, args...), 500)}
}

// stepLabel names a step as people count them: `step 3 "send_email"`.
func stepLabel(i int, s *agenttrace.Step) string {
	if s.Name == "" {
		return fmt.Sprintf("step %d", i+1)
	}
	return fmt.Sprintf("step %d %q", i+1, s.Name)
}

// clip cuts a reason to n bytes on a character boundary; invalid UTF-8
// and NUL characters (a judge's answer may hold "\u0000") become U+FFFD, as
// PostgreSQL's text holds neither.
func clip(s string, n int) string {
	s = agenttrace.StorableText(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
