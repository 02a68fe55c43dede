// Package jobs runs background jobs (exports, evaluations, re-runs) kept in
// the database: each worker claims one job at a time with a lease it renews
// while working, so a job whose worker died is taken up again by another
// worker (or after a restart), and with several replicas only one runs it.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
)

// ErrCanceled is returned by Progress.Set once the job was canceled.
var ErrCanceled = errors.New("job canceled")

// Handler does one job. It reports progress through p and answers the
// job's result (encoded as JSON) or an error (the job then fails with it).
type Handler func(ctx context.Context, j agenttrace.Job, p *Progress) (result any, err error)

// Runner polls the store for jobs of its kinds and runs them.
type Runner struct {
	Store    store.Jobs
	Handlers map[string]Handler
	Logger   *slog.Logger
	Worker   string        // unique per process
	Lease    time.Duration // default 15s
	Poll     time.Duration // default 500ms
	Workers  int           // jobs run at once, default 2

	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Register adds the handler of a kind; call before Start.
func (r *Runner) Register(kind string, h Handler) {
	if r.Handlers == nil {
		r.Handlers = map[string]Handler{}
	}
	r.Handlers[kind] = h
}

// Start launches the workers; they stop when Stop is called.
func (r *Runner) Start(ctx context.Context) {
	if r.Lease == 0 {
		r.Lease = 15 * time.Second
	}
	if r.Poll == 0 {
		r.Poll = 500 * time.Millisecond
	}
	if r.Workers == 0 {
		r.Workers = 2
	}
	if r.Worker == "" {
		r.Worker = agenttrace.NewID("w_")
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	r.wake = make(chan struct{}, r.Workers)
	ctx, r.cancel = context.WithCancel(ctx)
	for i := 0; i < r.Workers; i++ {
		r.wg.Add(1)
		go r.loop(ctx, fmt.Sprintf("%s-%d", r.Worker, i))
	}
}

// Wake makes an idle worker look for work now (after a job was created).
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Stop stops the workers and waits for them. A job interrupted by Stop
// stays running until its lease expires, then another worker restarts it.
func (r *Runner) Stop(ctx context.Context) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (r *Runner) kinds() []string {
	out := make([]string, 0, len(r.Handlers))
	for k := range r.Handlers {
		out = append(out, k)
	}
	return out
}

func (r *Runner) loop(ctx context.Context, worker string) {
	defer r.wg.Done()
	kinds := r.kinds()
	for {
		j, ok, err := r.Store.ClaimJob(ctx, kinds, worker, r.Lease)
		if err != nil && ctx.Err() == nil {
			r.Logger.Error("claim job", "err", err)
		}
		if ok {
			r.run(ctx, worker, j)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-time.After(r.Poll):
		}
	}
}

func (r *Runner) run(ctx context.Context, worker string, j agenttrace.Job) {
	log := r.Logger.With("job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
	log.Info("job started")
	p := &Progress{r: r, worker: worker, job: j, done: j.Progress, total: j.Total}
	result, err := r.Handlers[j.Kind](ctx, j, p)
	if ctx.Err() != nil {
		log.Info("job interrupted by shutdown; it will be taken up again")
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	status, msg := agenttrace.JobCompleted, ""
	var body []byte
	switch {
	case errors.Is(err, ErrCanceled):
		status, msg = agenttrace.JobCanceled, "canceled"
	case err != nil:
		status, msg = agenttrace.JobFailed, agenttrace.ErrorMessage(err)
		if agenttrace.ErrorCode(err) == agenttrace.EINTERNAL {
			msg = err.Error()
		}
	default:
		if result != nil {
			if body, err = json.Marshal(result); err != nil {
				status, msg = agenttrace.JobFailed, "encoding the result: "+err.Error()
			}
		}
	}
	if status == agenttrace.JobCompleted && p.total > 0 {
		_, _ = r.Store.UpdateJob(fctx, j.ID, worker, p.done, p.total, r.Lease)
	}
	if err := r.Store.FinishJob(fctx, j.ID, worker, status, body, msg); err != nil {
		log.Error("finishing job", "err", err)
		return
	}
	log.Info("job finished", "status", status, "error", msg)
}

// Progress reports a running job's progress and renews its lease.
type Progress struct {
	r       *Runner
	worker  string
	job     agenttrace.Job
	done    int64
	total   int64
	written time.Time
}

// Set records done of total; it writes to the store at most every 250 ms
// (and always when done == total), and answers ErrCanceled once the job was
// canceled or the worker lost it.
func (p *Progress) Set(ctx context.Context, done, total int64) error {
	p.done, p.total = done, total
	if done != total && time.Since(p.written) < 250*time.Millisecond {
		return nil
	}
	p.written = time.Now()
	canceled, err := p.r.Store.UpdateJob(ctx, p.job.ID, p.worker, done, total, p.r.Lease)
	if err != nil {
		if agenttrace.ErrorCode(err) == agenttrace.ECONFLICT {
			return ErrCanceled
		}
		return err
	}
	if canceled {
		return ErrCanceled
	}
	return nil
}
