package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/loadgen"
	"github.com/agenttrace/agenttrace/store"
)

// BenchmarkSearchProse runs full-text queries (first page of 50, newest
// first) over a store filled by the load tool's batches: 100 runs × 10
// steps, 1 KiB prose input and output per step (loadgen.TextProse). The
// 1M-run store of BenchmarkListRunsFiltered holds short run inputs only;
// this one holds what agent transcripts look like, where the commonest
// words are in almost every step. AGENTTRACE_BENCH_PROSE_RUNS sets the
// number of runs (default 100,000: 1,000,000 steps); the filled store is
// kept in the temp folder and reused.
//
//	go test -run XXX -bench SearchProse -benchtime 20x ./sqlite/
func BenchmarkSearchProse(b *testing.B) {
	runs := 100_000
	if n, err := strconv.Atoi(os.Getenv("AGENTTRACE_BENCH_PROSE_RUNS")); err == nil && n > 0 {
		runs = n
	}
	st := openProse(b, runs)
	ctx := context.Background()
	batches := runs / 100
	// a reference token of one step's input halfway through (loadgen's
	// payload seeds: batch<<24 | payload number, 21 payloads a run)
	ref := "ref" + strconv.FormatUint(uint64(batches/2)<<24|uint64(5), 36)
	queries := []string{
		ref,                  // one step of one run
		"lo",                 // the commonest word: in almost every step
		`"lo mi"`,            // the two commonest words, as a phrase
		"renrenlo",           // a word of middling frequency (58,000 steps)
		"lokavo",             // 12,000 steps
		"lofenyor",           // 3,200 steps: just too many to be looked up first
		"lokavolo",           // 2,000 steps: looked up first
		`"lo mi ren tas vo"`, // five common words that rarely follow each other
		`status:failed "lo mi" agent:agent-0`,
		`"timed out" agent:agent-0`,
		`renrenlo agent:agent-3`,
	}
	for _, q := range queries {
		parsed := mustParse(b, q)
		b.Run(fmt.Sprintf("runs=%d/q=%s", runs, q), func(b *testing.B) {
			var found int
			for b.Loop() {
				page, err := st.ListRuns(ctx, "bench", store.ListOptions{Query: parsed, Limit: 50})
				if err != nil {
					b.Fatal(err)
				}
				found = len(page.Runs)
			}
			b.ReportMetric(float64(found), "runs/page")
		})
	}
	// counting reads every matching run (the evaluate form, export estimates)
	for _, q := range []string{"renrenlo", "lofenyor", `"timed out"`} {
		parsed := mustParse(b, q)
		b.Run(fmt.Sprintf("runs=%d/count/q=%s", runs, q), func(b *testing.B) {
			var n int64
			var err error
			for b.Loop() {
				if n, err = st.CountRuns(ctx, "bench", parsed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "runs")
		})
	}
}

func openProse(b *testing.B, runs int) store.Store {
	b.Helper()
	ctx := context.Background()
	st, have := openKept(b, fmt.Sprintf("agenttrace-bench-prose-%d", runs))
	if have >= runs {
		return st
	}
	b.Logf("filling with %d runs of 10 prose steps (once)", runs)
	o := loadgen.Options{RunsPerBatch: 100, StepsPerRun: 10, PayloadBytes: 1024, Text: loadgen.TextProse, Prefix: "prose"}
	for n := have / 100; n < runs/100; n++ {
		var batch agenttrace.Batch
		if err := json.Unmarshal(o.Batch(n), &batch); err != nil {
			b.Fatal(err)
		}
		if err := batch.Normalize(); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Ingest(ctx, "bench", &batch); err != nil {
			b.Fatal(err)
		}
	}
	return st
}
