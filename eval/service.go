package eval

import (
	"context"
	"encoding/json"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/jobs"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// JobKind is the kind of the background jobs that evaluate runs.
const JobKind = "evaluation"

// Loaders is how many pages of runs are read from the store at once.
const Loaders = 2

// PageSize is how many runs a job loads, evaluates and saves at a time.
const PageSize = 500

// JobParams are the parameters of an evaluation job.
type JobParams struct {
	EvaluatorIDs []string `json:"evaluator_ids,omitempty"`
	RunIDs       []string `json:"run_ids,omitempty"`
	Q            string   `json:"q,omitempty"`
	// Auto: a job created for finished new runs; each run is evaluated by
	// the evaluators attached to its agent.
	Auto bool `json:"auto,omitempty"`
}

// JobResult is what a finished evaluation job answers.
type JobResult struct {
	Runs    int64             `json:"runs"`    // runs evaluated
	Skipped int64             `json:"skipped"` // already evaluated by this job before a restart
	Counts  []store.EvalCount `json:"counts"`  // verdicts per evaluator
}

// Service evaluates runs and serves the evaluation API.
type Service struct {
	Store  store.Store
	Evals  store.Evals
	Logger *slog.Logger
	Opts   Options
	// Wake is called after a job was created (the runner's Wake).
	Wake func()

	mu    sync.Mutex
	cache map[string]cachedEvaluators // account → evaluators attached to agents
}

type cachedEvaluators struct {
	at   time.Time
	list []agenttrace.Evaluator
}

// cacheTTL bounds how long another replica's evaluator change goes unseen by the ingest hook.
const cacheTTL = 5 * time.Second

// New returns a service over st, which must implement store.Evals.
func New(st store.Store, logger *slog.Logger) (*Service, bool) {
	ev, ok := st.(store.Evals)
	if !ok {
		return nil, false
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Service{Store: st, Evals: ev, Logger: logger, Wake: func() {}}, true
}

// Invalidate drops the cached list of evaluators attached to agents, after
// an evaluator of the account changed (the UI calls it after its edits).
func (s *Service) Invalidate(accountID string) { s.invalidate(accountID) }

func (s *Service) invalidate(accountID string) {
	s.mu.Lock()
	delete(s.cache, accountID)
	s.mu.Unlock()
}

// attached answers the account's evaluators that run on new runs (cached).
func (s *Service) attached(ctx context.Context, accountID string) ([]agenttrace.Evaluator, error) {
	s.mu.Lock()
	c, ok := s.cache[accountID]
	s.mu.Unlock()
	if ok && time.Since(c.at) < cacheTTL {
		return c.list, nil
	}
	all, err := s.Evals.ListEvaluators(ctx, accountID)
	if err != nil {
		return nil, err
	}
	list := []agenttrace.Evaluator{}
	for _, e := range all {
		if len(e.AgentIDs) > 0 {
			list = append(list, e)
		}
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedEvaluators{}
	}
	s.cache[accountID] = cachedEvaluators{at: time.Now(), list: list}
	s.mu.Unlock()
	return list, nil
}

// OnIngest is the api.Server hook: the runs of a batch that ended
// (completed or failed) and have attached evaluators become one job, and so
// do ended runs that only received steps (a late span, an SDK's last
// flush): their verdicts are redone with the new steps. It costs one cached
// lookup, plus, when evaluators are attached, one light read per run that
// got steps without its run, and one insert when there is work.
func (s *Service) OnIngest(ctx context.Context, accountID string, b *agenttrace.Batch) {
	var ended []agenttrace.Run
	inBatch := make(map[string]bool, len(b.Runs))
	for i := range b.Runs {
		inBatch[b.Runs[i].ID] = true
		if st := b.Runs[i].Status; st == agenttrace.StatusCompleted || st == agenttrace.StatusFailed {
			ended = append(ended, b.Runs[i])
		}
	}
	var late []string
	for i := range b.Steps {
		if id := b.Steps[i].RunID; !inBatch[id] {
			inBatch[id] = true
			late = append(late, id)
		}
	}
	if len(ended) == 0 && len(late) == 0 {
		return
	}
	evs, err := s.attached(ctx, accountID)
	if err != nil {
		s.Logger.Error("evaluations: listing evaluators", "account", accountID, "err", err)
		return
	}
	if len(evs) == 0 {
		return
	}
	for _, id := range late {
		r, err := s.lightRun(ctx, accountID, id)
		if err != nil {
			s.Logger.Error("evaluations: reading a run that got late steps", "account", accountID, "run", id, "err", err)
			continue
		}
		if r != nil && (r.Status == agenttrace.StatusCompleted || r.Status == agenttrace.StatusFailed) {
			ended = append(ended, *r)
		}
	}
	var ids []string
	for _, r := range ended {
		for i := range evs {
			if evs[i].AppliesTo(r.AgentID) {
				ids = append(ids, r.ID)
				break
			}
		}
	}
	if len(ids) == 0 {
		return
	}
	if _, err := s.CreateJob(context.WithoutCancel(ctx), accountID, JobParams{Auto: true, RunIDs: ids}, int64(len(ids))); err != nil {
		s.Logger.Error("evaluations: creating the job for new runs", "account", accountID, "runs", len(ids), "err", err)
	}
}

// lightRun reads a run without its steps (nil when there is none).
func (s *Service) lightRun(ctx context.Context, accountID, id string) (*agenttrace.Run, error) {
	p, err := s.Store.ListRuns(ctx, accountID, store.ListOptions{
		Query: &query.Query{Terms: []query.Term{{Field: query.FieldID, Op: query.OpEq, Value: id}}}, Limit: 1, Light: true})
	if err != nil || len(p.Runs) == 0 {
		return nil, err
	}
	return &p.Runs[0], nil
}

// CreateJob stores a queued evaluation job and wakes a worker.
func (s *Service) CreateJob(ctx context.Context, accountID string, p JobParams, total int64) (agenttrace.Job, error) {
	params, _ := json.Marshal(p)
	j := agenttrace.Job{ID: agenttrace.NewID("job_"), AccountID: accountID, Kind: JobKind, Status: agenttrace.JobQueued, Params: params, Total: total}
	if err := s.Store.CreateJob(ctx, j); err != nil {
		return j, err
	}
	s.Wake()
	return s.Store.GetJob(ctx, accountID, j.ID)
}

type compiled struct {
	e agenttrace.Evaluator
	c Checker
}

// Handle is the jobs.Handler of evaluation jobs.
func (s *Service) Handle(ctx context.Context, j agenttrace.Job, p *jobs.Progress) (any, error) {
	var params JobParams
	if err := json.Unmarshal(j.Params, &params); err != nil {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "params: %v", err)
	}
	return s.Run(ctx, j.AccountID, j.ID, params, func(done, total int64) error {
		if p == nil {
			return nil
		}
		return p.Set(ctx, done, total)
	})
}

// Run evaluates the selection of params for the account, saving verdicts
// tagged with jobID page by page, and reports progress. Verdicts the job
// already wrote (before a restart) are not redone, so re-running is idempotent.
func (s *Service) Run(ctx context.Context, accountID, jobID string, params JobParams, progress func(done, total int64) error) (*JobResult, error) {
	var evs []compiled
	if params.Auto {
		all, err := s.Evals.ListEvaluators(ctx, accountID)
		if err != nil {
			return nil, err
		}
		for _, e := range all {
			if len(e.AgentIDs) > 0 {
				evs = append(evs, compiled{e: e})
			}
		}
	} else {
		for _, id := range params.EvaluatorIDs {
			e, err := s.Evals.GetEvaluator(ctx, accountID, id)
			if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
				continue // deleted since the job was created
			}
			if err != nil {
				return nil, err
			}
			evs = append(evs, compiled{e: e})
		}
	}
	for i := range evs {
		c, err := Compile(evs[i].e, s.Opts)
		if err != nil {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "evaluator %s: %s", evs[i].e.Name, agenttrace.ErrorMessage(err))
		}
		evs[i].c = c
	}
	light := true
	for _, ev := range evs {
		if NeedsText(ev.c) {
			light = false
		}
	}
	res := &JobResult{Counts: []store.EvalCount{}}
	if len(evs) == 0 && !params.Auto {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "evaluator_ids: none of the evaluators exists any more")
	}
	var q *query.Query
	var total int64
	if params.RunIDs != nil {
		total = int64(len(params.RunIDs))
	} else {
		var err error
		if q, err = query.Parse(params.Q); err != nil {
			return nil, err
		}
		if total, err = s.Store.CountRuns(ctx, accountID, q); err != nil {
			return nil, err
		}
	}
	// A loader goroutine reads the next page (ids, then runs with steps)
	// while this one evaluates and saves the current page.
	type loaded struct {
		ids  []string
		runs []agenttrace.Run
		err  error
	}
	pages := make(chan loaded, 2)
	idPages := make(chan []string, 2)
	lctx, stopLoading := context.WithCancel(ctx)
	defer stopLoading()
	send := func(l loaded) bool {
		select {
		case pages <- l:
			return true
		case <-lctx.Done():
			return false
		}
	}
	go func() { // the ids of each page, in keyset order
		defer close(idPages)
		cursor := ""
		for off := 0; ; off += PageSize {
			var ids []string
			if params.RunIDs != nil {
				if off >= len(params.RunIDs) {
					return
				}
				ids = params.RunIDs[off:min(off+PageSize, len(params.RunIDs))]
			} else {
				var err error
				ids, cursor, err = s.Evals.RunIDPage(lctx, accountID, q, cursor, PageSize)
				if err != nil {
					send(loaded{err: err})
					return
				}
				if len(ids) == 0 {
					return
				}
			}
			select {
			case idPages <- ids:
			case <-lctx.Done():
				return
			}
			if params.RunIDs == nil && cursor == "" {
				return
			}
		}
	}()
	var loaders sync.WaitGroup
	for range Loaders {
		loaders.Add(1)
		go func() { // runs with steps, pages loaded in parallel
			defer loaders.Done()
			for ids := range idPages {
				runs, err := s.Evals.RunsForEval(lctx, accountID, ids, light)
				if !send(loaded{ids: ids, runs: runs, err: err}) || err != nil {
					return
				}
			}
		}()
	}
	go func() { loaders.Wait(); close(pages) }()
	var done int64
	for pg := range pages {
		if pg.err != nil {
			return nil, pg.err
		}
		n, skipped, err := s.evaluatePage(ctx, accountID, jobID, evs, params.Auto, pg.ids, pg.runs)
		if err != nil {
			return nil, err
		}
		res.Runs += n
		res.Skipped += skipped
		done += int64(len(pg.ids))
		if done > total {
			total = done
		}
		if err := progress(done, total); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if jobID != "" {
		counts, err := s.Evals.CountEvalResults(ctx, accountID, jobID)
		if err != nil {
			return nil, err
		}
		res.Counts = counts
	}
	return res, nil
}

// evaluatePage evaluates a page of runs (with their steps) in parallel and
// saves the verdicts in one transaction, leaving out what the job already did.
func (s *Service) evaluatePage(ctx context.Context, accountID, jobID string, evs []compiled, auto bool, ids []string, runs []agenttrace.Run) (evaluated, skipped int64, err error) {
	have := map[[2]string]bool{}
	if jobID != "" {
		f := store.EvalResultFilter{JobID: jobID, RunIDs: ids, All: true, Limit: 1000}
		for {
			page, err := s.Evals.ListEvalResults(ctx, accountID, f)
			if err != nil {
				return 0, 0, err
			}
			for _, r := range page.Results {
				have[[2]string{r.RunID, r.EvaluatorID}] = true
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
	}
	type task struct {
		run *agenttrace.Run
		ev  *compiled
	}
	var tasks []task
	for i := range runs {
		r := &runs[i]
		did := false
		for k := range evs {
			ev := &evs[k]
			if auto && !ev.e.AppliesTo(r.AgentID) {
				continue
			}
			if have[[2]string{r.ID, ev.e.ID}] {
				skipped++
				continue
			}
			tasks = append(tasks, task{r, ev})
			did = true
		}
		if did {
			evaluated++
		}
	}
	if len(tasks) == 0 {
		return evaluated, skipped, nil
	}
	results := make([]agenttrace.EvalResult, len(tasks))
	workers := runtime.GOMAXPROCS(0)
	for _, ev := range evs {
		if ev.e.Kind == agenttrace.EvalJudge {
			workers = max(workers, 8) // judges wait on the network
		}
	}
	var wg sync.WaitGroup
	next := make(chan int)
	now := time.Now().UTC()
	for range min(workers, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := tasks[i]
				v := safeCheck(ctx, t.ev.c, t.run)
				results[i] = agenttrace.EvalResult{
					ID: agenttrace.NewID("ev_"), RunID: t.run.ID, EvaluatorID: t.ev.e.ID, EvaluatorName: t.ev.e.Name,
					Verdict: v.Verdict, Score: v.Score, Reason: v.Reason, StepID: v.StepID, JobID: jobID, CreatedAt: now,
				}
			}
		}()
	}
	for i := range tasks {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	return evaluated, skipped, s.Evals.SaveEvalResults(ctx, accountID, results)
}

// safeCheck turns a panicking checker into an error verdict.
func safeCheck(ctx context.Context, c Checker, run *agenttrace.Run) (v Verdict) {
	defer func() {
		if p := recover(); p != nil {
			v = errorVerdict("evaluator crashed: %v", p)
		}
	}()
	return c.Check(ctx, run)
}
