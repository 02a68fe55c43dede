// Package loadgen generates ingest load: batches of runs with steps and
// payloads of a chosen size, sent over HTTP by concurrent workers. The
// `agenttrace load` command and the ingest benchmarks use it.
package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
)

// Options shape the load.
type Options struct {
	Batches      int    // batches to send in all
	RunsPerBatch int    // default 100
	StepsPerRun  int    // default 10
	PayloadBytes int    // size of each step's input and output, default 1024
	Concurrency  int    // parallel senders, default 4
	Agents       int    // distinct agent ids, default 5
	Text         string // TextProse (default) or TextRepeat
	Prefix       string
}

// Result is what a load run measured.
type Result struct {
	Runs, Steps int64
	Elapsed     time.Duration
	Errors      int64
	FirstError  string // the first failure, when Errors > 0
}

// StepsPerSecond is the ingest rate.
func (r Result) StepsPerSecond() float64 { return float64(r.Steps) / r.Elapsed.Seconds() }

func (o *Options) defaults() {
	if o.RunsPerBatch == 0 {
		o.RunsPerBatch = 100
	}
	if o.StepsPerRun == 0 {
		o.StepsPerRun = 10
	}
	if o.PayloadBytes == 0 {
		o.PayloadBytes = 1024
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.Agents == 0 {
		o.Agents = 5
	}
	if o.Prefix == "" {
		o.Prefix = agenttrace.NewID("load")
	}
}

// Batch builds batch number n as JSON.
func (o Options) Batch(n int) []byte {
	o.defaults()
	text := o.texts(n, o.PayloadBytes-11)
	payload := func() json.RawMessage { return json.RawMessage(`{"text":"` + text() + `"}`) }
	base := time.Now().Add(-time.Hour).UTC()
	b := agenttrace.Batch{}
	for r := 0; r < o.RunsPerBatch; r++ {
		id := fmt.Sprintf("%s-%d-%d", o.Prefix, n, r)
		start := base.Add(time.Duration(n*o.RunsPerBatch+r) * time.Millisecond)
		end := start.Add(time.Duration(o.StepsPerRun) * 100 * time.Millisecond)
		status := agenttrace.StatusCompleted
		if r%10 == 0 {
			status = agenttrace.StatusFailed
		}
		b.Runs = append(b.Runs, agenttrace.Run{ID: id, AgentID: fmt.Sprintf("agent-%d", r%o.Agents), Status: status,
			StartedAt: &start, EndedAt: &end, Input: payload()})
		for s := 0; s < o.StepsPerRun; s++ {
			ss := start.Add(time.Duration(s) * 100 * time.Millisecond)
			se := ss.Add(90 * time.Millisecond)
			st := agenttrace.Step{ID: fmt.Sprint(s), RunID: id, Name: fmt.Sprintf("step-%d", s), Type: agenttrace.StepTool,
				Status: agenttrace.StatusCompleted, Input: payload(), Output: payload(), StartedAt: &ss, EndedAt: &se}
			if s%3 == 0 {
				st.Type, st.Model, st.Usage = agenttrace.StepLLM, "gpt-4o-mini", agenttrace.Usage{InputTokens: 500, OutputTokens: 80}
			}
			if status == agenttrace.StatusFailed && s == o.StepsPerRun-1 {
				st.Status, st.Error = agenttrace.StatusFailed, &agenttrace.StepError{Type: "ToolTimeout", Message: "timed out after 30s"}
			}
			st.SetSeq(int64(s))
			b.Steps = append(b.Steps, st)
		}
	}
	raw, _ := json.Marshal(b)
	return raw
}

// Run sends o.Batches batches to the server and measures the rate. Bodies
// are built before the clock starts so that only ingest is measured.
func Run(ctx context.Context, c *client.Client, o Options) Result {
	o.defaults()
	bodies := make([]json.RawMessage, o.Batches)
	for i := range bodies {
		bodies[i] = o.Batch(i)
	}
	res := sendAll(ctx, len(bodies), o.Concurrency, func(i int) error {
		return c.Do(ctx, "POST", "/api/v1/ingest", bodies[i], nil)
	})
	n := int64(o.Batches) - res.Errors
	res.Runs, res.Steps = n*int64(o.RunsPerBatch), n*int64(o.RunsPerBatch*o.StepsPerRun)
	return res
}

// sendAll calls send for 0..n-1 from concurrency goroutines and answers the
// elapsed time and the failures (Runs and Steps are left to the caller).
func sendAll(ctx context.Context, n, concurrency int, send func(i int) error) Result {
	var next, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := send(i); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), Errors: errs.Load()}
	if msg, ok := firstErr.Load().(string); ok {
		res.FirstError = msg
	}
	return res
}
