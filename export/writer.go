package export

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"runtime"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
	"github.com/klauspost/compress/gzip"
)

// Run is one run as exported: every field of the run model with its steps
// (in execution order) and its current evaluations always present.
type Run struct {
	agenttrace.Run
	// Reruns is not exported (it is derivable from rerun_of across the file).
	Reruns      []string                `json:"reruns,omitempty"`
	Steps       []agenttrace.Step       `json:"steps"`
	Evaluations []agenttrace.EvalResult `json:"evaluations"`
}

// Header is what a JSON document says before its runs.
type Header struct {
	ResourceType string        `json:"resource_type"`
	ExportedAt   time.Time     `json:"exported_at"`
	Filters      HeaderFilters `json:"filters"`
}

// HeaderFilters are the request's filters and the query they compose to.
type HeaderFilters struct {
	AgentID string `json:"agent_id,omitempty"`
	Filters
	Query string `json:"query"`
}

// DefaultPageSize is how many runs the writer reads per store query.
const DefaultPageSize = 250

// Source reads the runs of one export from a store, page by page.
type Source struct {
	Store    store.Traces
	Account  string
	Query    *query.Query
	PageSize int // default DefaultPageSize
}

// listPage reads one page of runs (without their steps), oldest first.
func (s Source) listPage(ctx context.Context, q *query.Query, limit int, cursor string) ([]Run, string, error) {
	p, err := s.Store.ListRuns(ctx, s.Account, store.ListOptions{Query: q, Sort: store.SortTime, Asc: true, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", err
	}
	runs := make([]Run, len(p.Runs))
	for i, r := range p.Runs {
		runs[i] = Run{Run: r, Evaluations: r.Evaluations}
		runs[i].Run.Steps, runs[i].Run.Evaluations, runs[i].Run.Reruns = nil, nil, nil
		if runs[i].Evaluations == nil {
			runs[i].Evaluations = []agenttrace.EvalResult{}
		}
	}
	return runs, p.NextCursor, nil
}

// fillSteps reads the steps of a page of runs, in execution order.
func (s Source) fillSteps(ctx context.Context, runs []Run) error {
	if ex, ok := s.Store.(store.Exports); ok {
		ids := make([]string, len(runs))
		for i := range runs {
			ids[i] = runs[i].ID
		}
		steps, err := ex.StepsForRuns(ctx, s.Account, ids)
		if err != nil {
			return err
		}
		for i := range runs {
			runs[i].Steps = steps[runs[i].ID]
		}
	} else {
		for i := range runs {
			st, err := s.Store.ListSteps(ctx, s.Account, runs[i].ID)
			if err != nil && agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
				return err
			}
			runs[i].Steps = st
		}
	}
	for i := range runs {
		if runs[i].Steps == nil {
			runs[i].Steps = []agenttrace.Step{}
		}
	}
	return nil
}

// page reads one page of runs with their steps and evaluations, oldest first.
func (s Source) page(ctx context.Context, q *query.Query, limit int, cursor string) ([]Run, string, error) {
	runs, next, err := s.listPage(ctx, q, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	return runs, next, s.fillSteps(ctx, runs)
}

func (s Source) pageSize() int {
	if s.PageSize <= 0 {
		return DefaultPageSize
	}
	return s.PageSize
}

// Pages calls fn with every page of runs in order. The next page is read
// while fn handles the current one; at most two pages are held in memory.
func (s Source) Pages(ctx context.Context, fn func([]Run) error) error {
	type result struct {
		runs []Run
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan result, 1)
	go func() {
		defer close(ch)
		cursor := ""
		for {
			runs, next, err := s.page(ctx, s.Query, s.pageSize(), cursor)
			select {
			case ch <- result{runs, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || next == "" {
				return
			}
			cursor = next
		}
	}()
	for res := range ch {
		if res.err != nil {
			return res.err
		}
		if len(res.runs) == 0 {
			continue
		}
		if err := fn(res.runs); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// chunk is one page of runs, encoded: the runs joined by the format's
// separator, without a leading or trailing one.
type chunk struct {
	data  []byte
	runs  int64
	steps int64
	err   error
}

// encodedPages calls fn with every page of runs, encoded, in order. Reading
// steps and encoding is the costly part, so several workers do it for
// consecutive pages at once while fn writes; the run pages themselves are
// listed in one goroutine (keyset pagination is sequential) and cut into
// jobs of at most stepsPerJob steps. At most workers+2 jobs are in memory.
func (s Source) encodedPages(ctx context.Context, sep []byte, workers int, fn func(chunk) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		runs []Run
		done chan chunk
	}
	jobs := make(chan job)
	order := make(chan job, workers+1)
	var listErr error
	go func() {
		defer close(jobs)
		defer close(order)
		cursor := ""
		for {
			runs, next, err := s.listPage(ctx, s.Query, s.pageSize(), cursor)
			if err != nil {
				listErr = err
				return
			}
			for _, part := range splitBySteps(runs, stepsPerJob) {
				j := job{runs: part, done: make(chan chunk, 1)}
				select {
				case order <- j:
				case <-ctx.Done():
					return
				}
				select {
				case jobs <- j:
				case <-ctx.Done():
					return
				}
			}
			if next == "" {
				return
			}
			cursor = next
		}
	}()
	for range workers {
		go func() {
			enc := newRunEncoder()
			for j := range jobs {
				j.done <- encodePage(ctx, s, enc, j.runs, sep)
			}
		}()
	}
	for j := range order {
		var c chunk
		select {
		case c = <-j.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if c.err != nil {
			return c.err
		}
		if c.runs == 0 {
			continue
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	if listErr != nil {
		return listErr
	}
	return ctx.Err()
}

// stepsPerJob bounds the steps one worker reads and encodes at a time, so
// that a page of long runs does not hold hundreds of MB.
const stepsPerJob = 2500

// splitBySteps cuts runs into consecutive groups of at most max steps each
// (a run with more steps than that is a group of its own).
func splitBySteps(runs []Run, max int) [][]Run {
	var out [][]Run
	start, steps := 0, 0
	for i := range runs {
		if i > start && steps+runs[i].StepCount > max {
			out = append(out, runs[start:i])
			start, steps = i, 0
		}
		steps += runs[i].StepCount
	}
	if start < len(runs) {
		out = append(out, runs[start:])
	}
	return out
}

// encodePage reads the steps of runs and encodes them into one chunk.
func encodePage(ctx context.Context, s Source, enc *runEncoder, runs []Run, sep []byte) chunk {
	if err := s.fillSteps(ctx, runs); err != nil {
		return chunk{err: err}
	}
	var c chunk
	for i := range runs {
		b, err := enc.encode(&runs[i])
		if err != nil {
			return chunk{err: err}
		}
		if i == 0 {
			c.data = make([]byte, 0, len(b)*len(runs)*11/10)
		} else {
			c.data = append(c.data, sep...)
		}
		c.data = append(c.data, b...)
		c.runs++
		c.steps += int64(len(runs[i].Steps))
	}
	return c
}

// Writer writes one export file in a format.
type Writer struct {
	Format string // FormatJSON or FormatJSONL
	Header Header // for FormatJSON
	// Progress, when set, is called after each page with the runs written so far.
	Progress func(runs int64) error
	// Workers read and encode pages in parallel (default GOMAXPROCS).
	Workers int
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Write streams the runs of src to w and answers what it wrote.
func (wr Writer) Write(ctx context.Context, src Source, w io.Writer) (Counts, error) {
	var c Counts
	sep := []byte("\n")
	if wr.Format == FormatJSON {
		sep = []byte(",\n")
		h, err := json.Marshal(wr.Header)
		if err != nil {
			return c, err
		}
		// The header's fields, then "runs": the counts come last because the
		// file is written in one pass.
		if _, err := w.Write(append(h[:len(h)-1], []byte(",\"runs\":[\n")...)); err != nil {
			return c, err
		}
	}
	workers := wr.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	err := src.encodedPages(ctx, sep, workers, func(ch chunk) error {
		if wr.Format == FormatJSON && c.Runs > 0 {
			if _, err := w.Write(sep); err != nil {
				return err
			}
		}
		if _, err := w.Write(ch.data); err != nil {
			return err
		}
		if wr.Format == FormatJSONL {
			if _, err := w.Write(sep); err != nil {
				return err
			}
		}
		c.Runs += ch.runs
		c.Steps += ch.steps
		if wr.Progress != nil {
			return wr.Progress(c.Runs)
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	if wr.Format == FormatJSON {
		cb, _ := json.Marshal(c)
		tail := "]"
		if c.Runs > 0 {
			tail = "\n]"
		}
		if _, err := io.WriteString(w, tail+`,"counts":`+string(cb)+"}\n"); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Sampling parameters of Estimate.
const (
	sampleAll     = 200 // up to this many runs, the estimate measures them all
	sampleWindows = 20  // else this many windows spread over the time range,
	samplePer     = 10  // of this many runs each
)

// GzipLevel is the compression level of gzipped exports: speed first.
const GzipLevel = gzip.BestSpeed

// NewGzipWriter answers the writer of gzipped exports, at GzipLevel.
func NewGzipWriter(w io.Writer) *gzip.Writer {
	z, _ := gzip.NewWriterLevel(w, GzipLevel) // the level is valid
	return z
}

// EstimateSize answers the expected runs, steps and bytes of an export
// without writing it: it counts the runs and sums their steps (one
// aggregate query), then serializes a sample of runs (all of them when
// few, else sampleWindows × samplePer runs spread evenly over the time range
// of the selection, read through the time index) exactly as the writer
// would, and scales the mean size of a run and of a step by the totals.
func EstimateSize(ctx context.Context, src Source, wr Writer, gz bool) (Estimate, error) {
	var est Estimate
	var stats store.RunStats
	if ex, ok := src.Store.(store.Exports); ok {
		s, err := ex.RunStats(ctx, src.Account, src.Query)
		if err != nil {
			return est, err
		}
		stats = s
	} else {
		n, err := src.Store.CountRuns(ctx, src.Account, src.Query)
		if err != nil {
			return est, err
		}
		stats.Runs = n
	}
	est.Runs, est.Steps = stats.Runs, stats.Steps

	var sample []Run
	exact := stats.Runs <= sampleAll
	if exact {
		src.PageSize = sampleAll
		if err := src.Pages(ctx, func(runs []Run) error { sample = append(sample, runs...); return nil }); err != nil {
			return est, err
		}
	} else {
		seen := map[string]bool{}
		first, last := stats.First, stats.Last
		if first.IsZero() || last.IsZero() {
			// Without a time range (a store without RunStats), sample the start.
			first, last = time.Time{}, time.Time{}
		}
		span := last.Sub(first)
		for k := 0; k < sampleWindows; k++ {
			q := &query.Query{}
			if src.Query != nil {
				q.Terms = append(q.Terms, src.Query.Terms...)
			}
			if !first.IsZero() {
				at := first.Add(time.Duration(float64(span) * float64(k) / sampleWindows))
				q.Terms = append(q.Terms, query.Term{Field: query.FieldAfter, Op: query.OpEq, Time: at})
			}
			runs, _, err := src.page(ctx, q, samplePer, "")
			if err != nil {
				return est, err
			}
			for _, r := range runs {
				if !seen[r.ID] {
					seen[r.ID] = true
					sample = append(sample, r)
				}
			}
			if first.IsZero() {
				break
			}
		}
	}
	enc := newRunEncoder()
	var runBytes, stepBytes, sampleSteps, total int64
	var raw bytes.Buffer
	for i := range sample {
		r := sample[i]
		b, err := enc.encode(&r)
		if err != nil {
			return est, err
		}
		total += int64(len(b)) + 1
		if gz {
			raw.Write(b)
			raw.WriteByte('\n')
		}
		var sb int64
		for j := range r.Steps {
			s, err := enc.encodeStep(&r.Steps[j])
			if err != nil {
				return est, err
			}
			sb += int64(len(s)) + 1
		}
		sampleSteps += int64(len(r.Steps))
		stepBytes += sb
		runBytes += int64(len(b)) + 1 - sb
	}
	if stats.Steps == 0 && !exact && len(sample) > 0 {
		// No step totals from the store: scale the sample's steps per run.
		est.Steps = int64(float64(sampleSteps) / float64(len(sample)) * float64(stats.Runs))
	}
	if exact {
		est.Steps = sampleSteps
		est.Runs = int64(len(sample))
		est.Bytes = total
	} else if len(sample) > 0 {
		est.Bytes = int64(float64(runBytes) / float64(len(sample)) * float64(est.Runs))
		if sampleSteps > 0 {
			est.Bytes += int64(float64(stepBytes) / float64(sampleSteps) * float64(est.Steps))
		}
	}
	if wr.Format == FormatJSON {
		// ",\n" instead of "\n" between runs, plus the header and the counts.
		h, _ := json.Marshal(wr.Header)
		cb, _ := json.Marshal(Counts{Runs: est.Runs, Steps: est.Steps})
		est.Bytes += est.Runs + int64(len(h)) + int64(len(`,"runs":[`)) + 3 + int64(len(`,"counts":`)+len(cb)+2)
	}
	if gz && raw.Len() > 0 {
		var zb countingWriter
		zb.w = io.Discard
		z := NewGzipWriter(&zb)
		_, _ = z.Write(raw.Bytes())
		_ = z.Close()
		est.Bytes = int64(float64(est.Bytes) * float64(zb.n) / float64(raw.Len()))
	} else if gz {
		est.Bytes += 20 // an empty gzip stream
	}
	return est, nil
}
