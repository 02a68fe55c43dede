package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
)

// failure is an error planned for one step of a run: the first step with
// that name fails. When recover is set the agent retries it and goes on.
type failure struct {
	step    string
	typ     string
	message string // may hold %s, replaced by the step's model or name
	// retryable failures may be followed by a successful retry.
	retryable bool
	recover   bool
}

// tracer records the steps of one run as the agent "executes" them, moving a
// clock forward: sequential steps never overlap, children sit inside parents.
type tracer struct {
	r       *rand.Rand
	runID   string
	clock   time.Time
	start   time.Time
	steps   []agenttrace.Step
	open    []int // indexes of open agent steps, innermost last
	plan    *failure
	planned bool // the planned failure happened
	aborted bool
	err     *agenttrace.RunError
}

func newTracer(r *rand.Rand, runID string, start time.Time, plan *failure) *tracer {
	return &tracer{r: r, runID: runID, clock: start, start: start, plan: plan}
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// ms is a random duration between lo and hi milliseconds.
func (t *tracer) ms(lo, hi int) time.Duration {
	return time.Duration(lo+t.r.IntN(hi-lo+1)) * time.Millisecond
}

func (t *tracer) gap() { t.clock = t.clock.Add(time.Duration(2+t.r.IntN(30)) * time.Millisecond) }

func (t *tracer) parent() string {
	if len(t.open) == 0 {
		return ""
	}
	return t.steps[t.open[len(t.open)-1]].ID
}

func (t *tracer) add(s agenttrace.Step) *agenttrace.Step {
	s.RunID = t.runID
	s.ID = fmt.Sprintf("step_%02d", len(t.steps)+1)
	s.SetSeq(int64(len(t.steps)))
	s.ParentID = t.parent()
	t.steps = append(t.steps, s)
	return &t.steps[len(t.steps)-1]
}

func at(x time.Time) *time.Time { return &x }

// call is one leaf step.
type call struct {
	name    string
	typ     agenttrace.StepType
	model   string
	in, out any
	dur     time.Duration
	usage   agenttrace.Usage
	credits float64
	meta    map[string]any
	// fix, when the step fails and the run recovers, records the repair
	// steps (if any) and returns the call to retry; nil retries c as is.
	fix func() call
}

// do records a leaf step. It returns false when the run has failed and the
// agent must stop.
func (t *tracer) do(c call) bool {
	if t.aborted {
		return false
	}
	if t.plan != nil && !t.planned && t.plan.step == c.name {
		t.planned = true
		t.failStep(c)
		if !t.plan.recover {
			t.abort()
			return false
		}
		// back off, then retry
		t.clock = t.clock.Add(t.ms(400, 3000))
		if c.fix != nil {
			c = c.fix()
			if t.aborted {
				return false
			}
		}
		if c.meta == nil {
			c.meta = map[string]any{}
		}
		c.meta["attempt"] = 2
	}
	t.gap()
	st := t.clock
	t.clock = t.clock.Add(c.dur)
	t.add(agenttrace.Step{
		Name: c.name, Type: c.typ, Status: agenttrace.StatusCompleted, Model: c.model,
		Input: raw(c.in), Output: raw(c.out), StartedAt: at(st), EndedAt: at(t.clock),
		Usage: c.usage, Credits: c.credits, Metadata: c.meta,
	})
	return true
}

func (t *tracer) failStep(c call) {
	what := c.model
	if what == "" {
		what = c.name
	}
	msg := t.plan.message
	if strings.Contains(msg, "%s") {
		msg = fmt.Sprintf(msg, what)
	}
	dur := (c.dur / 3).Truncate(time.Millisecond)
	switch t.plan.typ {
	case "ToolTimeout", "QueryTimeout", "Timeout":
		dur = 30 * time.Second
	case "RateLimitError":
		dur = t.ms(80, 400)
	}
	t.gap()
	st := t.clock
	t.clock = t.clock.Add(dur)
	var usage agenttrace.Usage
	if c.typ == agenttrace.StepLLM && t.plan.typ != "RateLimitError" {
		usage = c.usage
	}
	meta := map[string]any{"attempt": 1}
	s := t.add(agenttrace.Step{
		Name: c.name, Type: c.typ, Status: agenttrace.StatusFailed, Model: c.model,
		Input: raw(c.in), StartedAt: at(st), EndedAt: at(t.clock), Usage: usage, Metadata: meta,
		Error: &agenttrace.StepError{Type: t.plan.typ, Message: msg},
	})
	if t.err == nil && !t.plan.recover {
		t.err = &agenttrace.RunError{Type: t.plan.typ, Message: fmt.Sprintf("step %q failed: %s", c.name, msg), StepID: s.ID}
	}
}

// abort closes the open agent steps as failed.
func (t *tracer) abort() {
	t.aborted = true
	for len(t.open) > 0 {
		t.end(nil)
	}
}

// begin opens a nested agent step; its children follow until end.
func (t *tracer) begin(name string, in any, meta map[string]any) bool {
	if t.aborted {
		return false
	}
	t.gap()
	t.add(agenttrace.Step{
		Name: name, Type: agenttrace.StepAgent, Status: agenttrace.StatusProcessing,
		Input: raw(in), StartedAt: at(t.clock), Metadata: meta,
	})
	t.open = append(t.open, len(t.steps)-1)
	return true
}

// end closes the innermost agent step with out, or as failed when aborted.
func (t *tracer) end(out any) bool {
	if len(t.open) == 0 {
		return !t.aborted
	}
	i := t.open[len(t.open)-1]
	t.open = t.open[:len(t.open)-1]
	t.clock = t.clock.Add(t.ms(1, 15))
	s := &t.steps[i]
	s.EndedAt = at(t.clock)
	if t.aborted {
		s.Status = agenttrace.StatusFailed
		s.Error = &agenttrace.StepError{Type: "SubAgentError", Message: "sub-agent failed: " + t.err.Message}
		return false
	}
	s.Status = agenttrace.StatusCompleted
	s.Output = raw(out)
	return true
}

// llm builds an llm call from chat messages and the assistant's answer.
func (t *tracer) llm(name, model, system, user, answer string, meta map[string]any) call {
	in := map[string]any{
		"messages": []map[string]string{
			{"role": "system", "content": system},
			{"role": "user", "content": user},
		},
		"temperature": 0.2,
	}
	u := agenttrace.Usage{
		InputTokens:  tokens(system) + tokens(user) + int64(20+t.r.IntN(400)),
		OutputTokens: tokens(answer) + int64(t.r.IntN(30)),
	}
	perTok := 8 + t.r.IntN(20) // ms per output token
	if strings.Contains(model, "mini") || strings.Contains(model, "haiku") || strings.Contains(model, "flash") {
		perTok = 4 + t.r.IntN(8)
	}
	dur := t.ms(250, 900) + time.Duration(u.OutputTokens)*time.Duration(perTok)*time.Millisecond
	return call{
		name: name, typ: agenttrace.StepLLM, model: model, in: in,
		out: map[string]any{"role": "assistant", "content": answer}, dur: dur, usage: u, meta: meta,
	}
}
