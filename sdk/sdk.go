// Package sdk records runs of Go agents in agenttrace.
//
//	client := sdk.New(sdk.Options{URL: "http://127.0.0.1:7070", Key: os.Getenv("AGENTTRACE_KEY")})
//	defer client.Close(context.Background())
//
//	ctx, run := client.StartRun(ctx, "support-bot", sdk.WithInput(question))
//	ctx, step := sdk.StartStep(ctx, "chat gpt-4o", sdk.StepLLM, sdk.WithModel("gpt-4o"))
//	step.SetUsage(1200, 300)
//	step.SetOutput(answer)
//	step.End()
//	run.SetOutput(answer)
//	run.End()
//
// Steps nest through the context: a step started from a step's context is
// its child. Recording never blocks and never panics: runs and steps are
// queued in a bounded buffer and sent in batches to POST /api/v1/ingest by
// a background goroutine, which retries with exponential backoff on network
// errors and 5xx answers. What cannot be queued or sent is counted in
// Stats().Dropped. Every method is safe on a nil *Run or *Step (what
// StartStep returns outside a run), so instrumentation needs no checks.
package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agenttrace/agenttrace"
)

// StepType is the kind of work a step did.
type StepType = agenttrace.StepType

// The step types.
const (
	StepLLM       = agenttrace.StepLLM
	StepTool      = agenttrace.StepTool
	StepRetrieval = agenttrace.StepRetrieval
	StepAgent     = agenttrace.StepAgent
	StepCode      = agenttrace.StepCode
	StepHTTP      = agenttrace.StepHTTP
	StepOther     = agenttrace.StepOther
)

// Option sets a field of a run or a step when it starts. Options that do
// not apply (WithModel on a run, WithSessionID on a step) are ignored.
type Option func(*settings)

type settings struct {
	input     any
	hasInput  bool
	metadata  map[string]any
	sessionID string
	runID     string
	trigger   string
	rerunOf   string
	model     string
	tags      []string
}

// WithInput records the input of the run or step.
func WithInput(v any) Option { return func(s *settings) { s.input, s.hasInput = v, true } }

// WithMetadata adds free key/values.
func WithMetadata(md map[string]any) Option {
	return func(s *settings) {
		if s.metadata == nil {
			s.metadata = map[string]any{}
		}
		maps.Copy(s.metadata, md)
	}
}

// WithTags tags a run (metadata.tags).
func WithTags(tags ...string) Option { return func(s *settings) { s.tags = append(s.tags, tags...) } }

// WithSessionID groups the run with the other runs of a conversation.
func WithSessionID(id string) Option { return func(s *settings) { s.sessionID = id } }

// WithRunID gives the run its id (an idempotency key); by default one is generated.
func WithRunID(id string) Option { return func(s *settings) { s.runID = id } }

// WithTrigger says what started the run (default "api").
func WithTrigger(t string) Option { return func(s *settings) { s.trigger = t } }

// WithRerunOf marks the run as a re-run of another run (trigger "rerun"
// unless WithTrigger says otherwise), so the two are linked both ways.
func WithRerunOf(runID string) Option { return func(s *settings) { s.rerunOf = runID } }

// WithModel records the model of an LLM step.
func WithModel(m string) Option { return func(s *settings) { s.model = m } }

func apply(opts []Option) settings {
	var s settings
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return s
}

type ctxKey struct{}

// scope is what a context carries: the current run and, inside a step, that step.
type scope struct {
	run  *Run
	step *Step
}

// RunFrom returns the run ctx is inside, or nil.
func RunFrom(ctx context.Context) *Run {
	if sc, ok := ctx.Value(ctxKey{}).(scope); ok {
		return sc.run
	}
	return nil
}

// StepFrom returns the step ctx is inside, or nil.
func StepFrom(ctx context.Context) *Step {
	if sc, ok := ctx.Value(ctxKey{}).(scope); ok {
		return sc.step
	}
	return nil
}

// Run is one execution of an agent being recorded.
type Run struct {
	c     *Client
	seq   atomic.Int64
	mu    sync.Mutex
	r     agenttrace.Run
	ended bool
}

// StartRun starts recording a run of agentID and returns a context that
// carries it (for StartStep). The run is sent at once as processing, so it
// shows while it runs.
func (c *Client) StartRun(ctx context.Context, agentID string, opts ...Option) (context.Context, *Run) {
	if c == nil {
		return ctx, nil
	}
	s := apply(opts)
	if s.rerunOf != "" && s.trigger == "" {
		s.trigger = "rerun"
	}
	now := time.Now().UTC()
	r := &Run{c: c, r: agenttrace.Run{
		ID: s.runID, AgentID: agentID, Status: agenttrace.StatusProcessing, Trigger: s.trigger,
		StartedAt: &now, Metadata: s.metadata, SessionID: s.sessionID, RerunOf: s.rerunOf,
	}}
	if r.r.ID == "" {
		r.r.ID = agenttrace.NewID("run_")
	}
	if len(s.tags) > 0 {
		if r.r.Metadata == nil {
			r.r.Metadata = map[string]any{}
		}
		r.r.Metadata["tags"] = s.tags
	}
	if s.hasInput {
		r.r.Input = c.encode(s.input)
	}
	c.enqueueRun(r.r)
	return context.WithValue(ctx, ctxKey{}, scope{run: r}), r
}

// ID is the run's id ("" on a nil run).
func (r *Run) ID() string {
	if r == nil {
		return ""
	}
	return r.r.ID
}

// SetInput records the run's input.
func (r *Run) SetInput(v any) {
	if r == nil {
		return
	}
	b := r.c.encode(v)
	r.mu.Lock()
	r.r.Input = b
	r.mu.Unlock()
}

// SetOutput records the run's output.
func (r *Run) SetOutput(v any) {
	if r == nil {
		return
	}
	b := r.c.encode(v)
	r.mu.Lock()
	r.r.Output = b
	r.mu.Unlock()
}

// SetMetadata sets one metadata key of the run.
func (r *Run) SetMetadata(key string, v any) {
	if r == nil {
		return
	}
	r.mu.Lock()
	md := maps.Clone(r.r.Metadata)
	if md == nil {
		md = map[string]any{}
	}
	md[key] = v
	r.r.Metadata = md
	r.mu.Unlock()
}

// SetCredits records credits the run spent itself (its steps add theirs).
func (r *Run) SetCredits(c float64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.r.Credits = c
	r.mu.Unlock()
}

// End finishes the run as completed (or failed after Fail). Only the first
// End counts.
func (r *Run) End() { r.finish(nil) }

// Fail finishes the run as failed with err.
func (r *Run) Fail(err error) {
	if err == nil {
		err = errors.New("failed")
	}
	r.finish(err)
}

func (r *Run) finish(err error) {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	now := time.Now().UTC()
	r.r.EndedAt = &now
	r.r.Status = agenttrace.StatusCompleted
	if err != nil {
		r.r.Status = agenttrace.StatusFailed
		r.r.Error = &agenttrace.RunError{Type: errType(err), Message: err.Error()}
	}
	cp := r.r
	r.mu.Unlock()
	r.c.enqueueRun(cp)
}

// Step is one unit of work inside a run being recorded.
type Step struct {
	run   *Run
	mu    sync.Mutex
	s     agenttrace.Step
	ended bool
}

// StartStep starts a step of the run in ctx, as a child of the step in ctx
// if any, and returns a context carrying it. Outside a run it returns ctx
// and a nil *Step, whose methods do nothing.
func StartStep(ctx context.Context, name string, typ StepType, opts ...Option) (context.Context, *Step) {
	sc, ok := ctx.Value(ctxKey{}).(scope)
	if !ok || sc.run == nil {
		return ctx, nil
	}
	s := apply(opts)
	now := time.Now().UTC()
	st := &Step{run: sc.run, s: agenttrace.Step{
		ID: agenttrace.NewID("step_"), RunID: sc.run.r.ID, Name: name, Type: typ,
		Status: agenttrace.StatusProcessing, StartedAt: &now, Model: s.model, Metadata: s.metadata,
	}}
	st.s.SetSeq(sc.run.seq.Add(1) - 1)
	if sc.step != nil {
		st.s.ParentID = sc.step.s.ID
	}
	if s.hasInput {
		st.s.Input = sc.run.c.encode(s.input)
	}
	return context.WithValue(ctx, ctxKey{}, scope{run: sc.run, step: st}), st
}

// ID is the step's id ("" on a nil step).
func (s *Step) ID() string {
	if s == nil {
		return ""
	}
	return s.s.ID
}

func (s *Step) set(f func(*agenttrace.Step)) {
	if s == nil {
		return
	}
	s.mu.Lock()
	f(&s.s)
	s.mu.Unlock()
}

// SetInput records the step's input.
func (s *Step) SetInput(v any) {
	if s == nil {
		return
	}
	b := s.run.c.encode(v)
	s.set(func(st *agenttrace.Step) { st.Input = b })
}

// SetOutput records the step's output.
func (s *Step) SetOutput(v any) {
	if s == nil {
		return
	}
	b := s.run.c.encode(v)
	s.set(func(st *agenttrace.Step) { st.Output = b })
}

// SetModel records the model an LLM step used.
func (s *Step) SetModel(m string) { s.set(func(st *agenttrace.Step) { st.Model = m }) }

// SetUsage records token usage. Without SetCredits, the server prices it
// from its price table when the model is known.
func (s *Step) SetUsage(inputTokens, outputTokens int64) {
	s.set(func(st *agenttrace.Step) {
		st.Usage = agenttrace.Usage{InputTokens: inputTokens, OutputTokens: outputTokens}
	})
}

// SetCredits records what the step cost, overriding the price table.
func (s *Step) SetCredits(c float64) { s.set(func(st *agenttrace.Step) { st.Credits = c }) }

// SetMetadata sets one metadata key of the step.
func (s *Step) SetMetadata(key string, v any) {
	s.set(func(st *agenttrace.Step) {
		md := maps.Clone(st.Metadata)
		if md == nil {
			md = map[string]any{}
		}
		md[key] = v
		st.Metadata = md
	})
}

// End finishes the step as completed. Only the first End or Fail counts.
func (s *Step) End() { s.finish(nil) }

// Fail finishes the step as failed with err.
func (s *Step) Fail(err error) {
	if err == nil {
		err = errors.New("failed")
	}
	s.finish(err)
}

func (s *Step) finish(err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	now := time.Now().UTC()
	s.s.EndedAt = &now
	s.s.Status = agenttrace.StatusCompleted
	if err != nil {
		s.s.Status = agenttrace.StatusFailed
		s.s.Error = &agenttrace.StepError{Type: errType(err), Message: err.Error()}
	}
	cp := s.s
	s.mu.Unlock()
	s.run.c.enqueueStep(cp)
}

// ErrorTyper lets an error name its own type in traces (e.g. "RateLimitError").
type ErrorTyper interface{ ErrorType() string }

func errType(err error) string {
	var typed ErrorTyper
	if errors.As(err, &typed) {
		return typed.ErrorType()
	}
	t := fmt.Sprintf("%T", err)
	if t == "*errors.errorString" || t == "*fmt.wrapError" || t == "*fmt.wrapErrors" {
		return ""
	}
	return t
}

// encode turns a value into a JSON payload under the server's limit; a value
// that cannot be encoded is recorded as its printed form. It never panics.
func (c *Client) encode(v any) (out json.RawMessage) {
	defer func() {
		if p := recover(); p != nil {
			out, _ = json.Marshal(fmt.Sprintf("<unencodable %T: %v>", v, p))
		}
	}()
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprintf("%+v", v))
	}
	if len(b) > agenttrace.MaxPayloadBytes {
		keep := agenttrace.MaxPayloadBytes / 2
		b, _ = json.Marshal(string(b[:keep]) + fmt.Sprintf("…[truncated %d bytes]", len(b)-keep))
	}
	return b
}
