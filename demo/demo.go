// Package demo generates realistic demo data for the agent tracing product:
// four agents (a support bot, a research assistant with a nested sub-agent,
// a SQL analyst and an invoice extractor) running over the last 14 days,
// with failures, retries, conversations, re-runs and runs still in flight.
package demo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/agenttrace/agenttrace"
)

// BatchSize is the most runs one generated batch holds.
const BatchSize = 100

// Span is how far back the generated runs reach.
const Span = 14 * 24 * time.Hour

// Shares of the main runs that fail for good and that recover after a
// failed retry.
const (
	failRate    = 0.18
	recoverRate = 0.06
)

// Generate returns runs demo runs (with their steps) spread over the 14 days
// before now, in batches of at most BatchSize runs, each run's steps in its
// run's batch. The same seed, now and runs give the same data. Every batch
// passes (*agenttrace.Batch).Normalize.
func Generate(now time.Time, seed int64, runs int) []agenttrace.Batch {
	if runs <= 0 {
		return nil
	}
	g := &gen{
		r:    rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		now:  now.UTC().Truncate(time.Millisecond),
		ids:  map[string]bool{},
		runs: make([]agenttrace.Run, 0, runs),
	}
	pending, processing, reruns := 0, 0, 0
	if runs >= 20 {
		pending, processing, reruns = 1+runs/200%2, 2+runs/100%2, max(1, runs/40)
	}
	g.main(runs - pending - processing - reruns)
	g.reruns(reruns)
	g.processing(processing)
	g.pending(pending)
	return g.batches()
}

// gen holds the state of one Generate call.
type gen struct {
	r     *rand.Rand
	now   time.Time
	ids   map[string]bool
	runs  []agenttrace.Run
	steps map[string][]agenttrace.Step // by run id
	done  []done                       // runs in the order they were made
}

// done remembers how a run was made, for re-runs.
type done struct {
	a   *agent
	job any
	run int // index in gen.runs
}

func (g *gen) newID(prefix string) string {
	for {
		id := fmt.Sprintf("%s%016x", prefix, g.r.Uint64())
		if !g.ids[id] {
			g.ids[id] = true
			return id
		}
	}
}

func (g *gen) pickAgent() *agent {
	total := 0
	for _, a := range agents {
		total += a.weight
	}
	n := g.r.IntN(total)
	for _, a := range agents {
		if n < a.weight {
			return a
		}
		n -= a.weight
	}
	return agents[0]
}

// when picks a start time in the window, busier in (European and American)
// working hours than at night.
func (g *gen) when() time.Time {
	first := g.now.Add(-Span)
	for {
		t := first.Add(time.Duration(g.r.Int64N(int64(Span - 20*time.Minute))))
		h := t.Hour()
		if h >= 7 && h <= 21 || g.r.IntN(10) < 3 {
			return t.Truncate(time.Millisecond)
		}
	}
}

// main makes n finished runs: completed, failed or recovered.
func (g *gen) main(n int) {
	for n > 0 {
		a := g.pickAgent()
		size, session := 1, ""
		if a.sessions && n >= 2 && g.r.IntN(4) == 0 {
			size = min(n, 2+g.r.IntN(3))
			session = g.newID("sess_")
		}
		at := g.when()
		trigger := pick(g.r, a.triggers)
		if trigger == "schedule" {
			at = at.Truncate(time.Hour).Add(time.Duration(g.r.IntN(3000)) * time.Millisecond)
		}
		var job any
		for i := 0; i < size; i++ {
			job = a.job(g.r, job)
			var plan *failure
			switch u := g.r.Float64(); {
			case u < failRate:
				f := pick(g.r, a.failures)
				plan = &f
			case u < failRate+recoverRate:
				var ok []failure
				for _, f := range a.failures {
					if f.retryable {
						ok = append(ok, f)
					}
				}
				f := pick(g.r, ok)
				f.recover = true
				plan = &f
			}
			idx := g.record(a, job, at, trigger, plan)
			g.runs[idx].SessionID = session
			at = g.runs[idx].EndedAt.Add(time.Duration(30+g.r.IntN(600)) * time.Second)
			if limit := g.now.Add(-10 * time.Minute); at.After(limit) {
				at = limit.Add(-time.Duration(g.r.IntN(60)) * time.Second)
			}
		}
		n -= size
	}
}

// record executes a job at a time and stores the run and its steps.
func (g *gen) record(a *agent, job any, start time.Time, trigger string, plan *failure) int {
	id := g.newID("run_")
	t := newTracer(g.r, id, start, plan)
	out := a.run(t, job)
	t.clock = t.clock.Add(t.ms(1, 25))
	run := agenttrace.Run{
		ID: id, AgentID: a.slug, Status: agenttrace.StatusCompleted, Trigger: trigger,
		Input: raw(a.input(job)), StartedAt: at(t.start), EndedAt: at(t.clock),
		Metadata: g.metadata(a, t.start),
	}
	if t.err != nil {
		run.Status, run.Error = agenttrace.StatusFailed, t.err
	} else {
		run.Output = raw(out)
	}
	g.runs = append(g.runs, run)
	if g.steps == nil {
		g.steps = map[string][]agenttrace.Step{}
	}
	g.steps[id] = t.steps
	g.done = append(g.done, done{a: a, job: job, run: len(g.runs) - 1})
	return len(g.runs) - 1
}

// metadata gives a run its tags, prompt version and environment. Prompt
// versions move on during the two weeks, as they do.
func (g *gen) metadata(a *agent, start time.Time) map[string]any {
	env := "production"
	if g.r.IntN(8) == 0 {
		env = "staging"
	}
	tags := []string{"prod"}
	if env == "staging" {
		tags = []string{"staging"}
	}
	for _, i := range g.r.Perm(len(a.tags))[:1+g.r.IntN(2)] {
		if tag := a.tags[i]; tag != tags[0] && tag != "prod" && tag != "staging" {
			tags = append(tags, tag)
		}
	}
	version := 12 + int(start.Sub(g.now.Add(-Span))/(5*24*time.Hour))
	return map[string]any{
		"tags":           tags,
		"prompt_version": fmt.Sprintf("%s-v%d", a.prompt, version),
		"environment":    env,
	}
}

// reruns re-runs n of the failed runs, a while after they failed, with
// success. Slots without a failed run left become ordinary runs.
func (g *gen) reruns(n int) {
	var failed []done
	for _, d := range g.done {
		if g.runs[d.run].Status == agenttrace.StatusFailed {
			failed = append(failed, d)
		}
	}
	for _, i := range g.r.Perm(len(failed)) {
		if n == 0 {
			break
		}
		d := failed[i]
		orig := g.runs[d.run]
		at := orig.EndedAt.Add(time.Duration(5+g.r.IntN(120)) * time.Minute)
		if limit := g.now.Add(-5 * time.Minute); at.After(limit) {
			continue
		}
		idx := g.record(d.a, d.job, at, "rerun", nil)
		g.runs[idx].RerunOf = orig.ID
		g.runs[idx].SessionID = orig.SessionID
		n--
	}
	g.main(n)
}

// processing makes the n most recent runs of the support bot, still
// running: their clock stops at now.
func (g *gen) processing(n int) {
	a := supportBot
	for i := 0; i < n; i++ {
		idx := g.record(a, a.job(g.r, nil), g.now, pick(g.r, a.triggers), nil)
		run := &g.runs[idx]
		steps := g.steps[run.ID]
		// shift the run back so that now falls inside it
		d := run.EndedAt.Sub(*run.StartedAt)
		elapsed := time.Duration(float64(d) * (0.2 + 0.6*g.r.Float64())).Truncate(time.Millisecond)
		if i > 0 {
			elapsed = min(d, elapsed+time.Duration(i)*20*time.Second) // started earlier, further along
		}
		shift := -elapsed
		cut := g.now
		var kept []agenttrace.Step
		for _, s := range steps {
			st := s.StartedAt.Add(shift)
			if st.After(cut) {
				break
			}
			s.StartedAt = &st
			if end := s.EndedAt.Add(shift); end.After(cut) {
				s.EndedAt, s.Output, s.Usage, s.Status = nil, nil, agenttrace.Usage{}, agenttrace.StatusProcessing
			} else {
				s.EndedAt = &end
			}
			kept = append(kept, s)
		}
		if len(kept) > 0 && kept[len(kept)-1].Status != agenttrace.StatusProcessing {
			last := &kept[len(kept)-1]
			last.EndedAt, last.Output, last.Usage, last.Status = nil, nil, agenttrace.Usage{}, agenttrace.StatusProcessing
		}
		g.steps[run.ID] = kept
		st := run.StartedAt.Add(shift)
		run.StartedAt, run.EndedAt, run.Output, run.Status = &st, nil, nil, agenttrace.StatusProcessing
	}
}

// pending makes n invoice runs that are queued: no steps, not started.
func (g *gen) pending(n int) {
	a := invoiceExtractor
	for i := 0; i < n; i++ {
		job := a.job(g.r, nil)
		md := g.metadata(a, g.now)
		md["queued_at"] = g.now.Add(-time.Duration(1+g.r.IntN(40)) * time.Second).Format(time.RFC3339Nano)
		g.runs = append(g.runs, agenttrace.Run{
			ID: g.newID("run_"), AgentID: a.slug, Status: agenttrace.StatusPending, Trigger: "webhook",
			Input: raw(a.input(job)), Metadata: md,
		})
	}
}

// batches orders the runs by start (pending last) and cuts them into
// batches, each run's steps with it.
func (g *gen) batches() []agenttrace.Batch {
	runs := g.runs
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i].StartedAt, runs[j].StartedAt
		if a == nil || b == nil {
			return a != nil && b == nil
		}
		return a.Before(*b)
	})
	var out []agenttrace.Batch
	for len(runs) > 0 {
		n := min(BatchSize, len(runs))
		b := agenttrace.Batch{Runs: runs[:n:n]}
		for _, r := range runs[:n] {
			b.Steps = append(b.Steps, g.steps[r.ID]...)
		}
		out = append(out, b)
		runs = runs[n:]
	}
	return out
}
