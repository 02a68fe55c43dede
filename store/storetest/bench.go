package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/loadgen"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// BenchAccount is the account the benchmark stores are filled in.
const BenchAccount = "bench"

// BenchRuns is the number of runs of the query benchmark store
// (BenchListRuns): AGENTTRACE_BENCH_RUNS, default 1,000,000.
func BenchRuns() int {
	if n, err := strconv.Atoi(os.Getenv("AGENTTRACE_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// ProseRuns is the number of runs of the prose benchmark store:
// AGENTTRACE_BENCH_PROSE_RUNS, default 100,000 (1,000,000 steps).
func ProseRuns() int {
	if n, err := strconv.Atoi(os.Getenv("AGENTTRACE_BENCH_PROSE_RUNS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchSearchProse runs full-text queries (first page of 50, newest first,
// then counts) over st, first filling it up to runs with the load tool's
// batches: 100 runs × 10 steps, 1 KiB prose input and output per step
// (loadgen.TextProse). Stores of short run inputs hold nothing like agent
// transcripts, where the commonest words are in almost every step. The
// caller keeps st between runs, since filling it takes a while. Each store
// package runs it, so that their figures compare.
func BenchSearchProse(b *testing.B, st store.Store, runs int) {
	ctx := context.Background()
	fillProse(b, st, runs)
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
		"lofenyor",           // 3,200 steps
		"lokavolo",           // 2,000 steps
		`"lo mi ren tas vo"`, // five common words that rarely follow each other
		`status:failed "lo mi" agent:agent-0`,
		`"timed out" agent:agent-0`,
		`renrenlo agent:agent-3`,
	}
	for _, q := range queries {
		parsed := parseBench(b, q)
		b.Run(fmt.Sprintf("runs=%d/q=%s", runs, q), func(b *testing.B) {
			var found int
			for b.Loop() {
				page, err := st.ListRuns(ctx, BenchAccount, store.ListOptions{Query: parsed, Limit: 50})
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
		parsed := parseBench(b, q)
		b.Run(fmt.Sprintf("runs=%d/count/q=%s", runs, q), func(b *testing.B) {
			var n int64
			var err error
			for b.Loop() {
				if n, err = st.CountRuns(ctx, BenchAccount, parsed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "runs")
		})
	}
}

// fillProse ingests the load tool's prose batches into st until it holds
// runs runs, creating BenchAccount when the store is empty.
func fillProse(b *testing.B, st store.Store, runs int) {
	b.Helper()
	ctx := context.Background()
	have := countOrCreate(b, st)
	if have >= runs {
		return
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
		if _, err := st.Ingest(ctx, BenchAccount, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

func parseBench(b *testing.B, q string) *query.Query {
	b.Helper()
	parsed, err := query.Parse(q)
	if err != nil {
		b.Fatal(err)
	}
	return parsed
}

// BenchListRuns is GET /api/v1/runs?q=agent:X status:failed (first page of
// 50) and its neighbours over st, first filled up to n runs of short inputs
// (fillRuns). The caller keeps st between runs.
func BenchListRuns(b *testing.B, st store.Store, n int) {
	ctx := context.Background()
	fillRuns(b, st, n)
	for _, q := range []string{"agent:agent-3 status:failed", "", "status:failed credits>0.5", `"timed out" agent:agent-7`} {
		parsed := parseBench(b, q)
		b.Run(fmt.Sprintf("runs=%d/q=%s", n, q), func(b *testing.B) {
			for b.Loop() {
				page, err := st.ListRuns(ctx, BenchAccount, store.ListOptions{Query: parsed, Limit: 50})
				if err != nil || len(page.Runs) == 0 {
					b.Fatalf("%v %d", err, len(page.Runs))
				}
			}
		})
	}
	b.Run(fmt.Sprintf("runs=%d/page-at-middle", n), func(b *testing.B) {
		// The page halfway through the newest-first list, reached by its
		// cursor: keyset pagination must not get slower with depth.
		cursor := ""
		for seen := 0; seen < n/2; seen += 1000 {
			page, err := st.ListRuns(ctx, BenchAccount, store.ListOptions{Limit: 1000, Cursor: cursor, Light: true})
			if err != nil {
				b.Fatal(err)
			}
			cursor = page.NextCursor
		}
		for b.Loop() {
			page, err := st.ListRuns(ctx, BenchAccount, store.ListOptions{Limit: 50, Cursor: cursor})
			if err != nil || len(page.Runs) != 50 {
				b.Fatalf("%v %d", err, len(page.Runs))
			}
		}
	})
	b.Run(fmt.Sprintf("runs=%d/sort=credits", n), func(b *testing.B) {
		for b.Loop() {
			if _, err := st.ListRuns(ctx, BenchAccount, store.ListOptions{Sort: store.SortCredits, Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// fillRuns ingests runs of short inputs into st until it holds n: ten
// agents, one run in seven failed with "get_order timed out", two seconds
// apart from 2026-10-01.
func fillRuns(b *testing.B, st store.Store, n int) {
	b.Helper()
	ctx := context.Background()
	have := countOrCreate(b, st)
	if have >= n {
		return
	}
	b.Logf("filling with %d runs (once)", n)
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	const per = 5000
	for i := have; i < n; i += per {
		var batch agenttrace.Batch
		for j := i; j < i+per && j < n; j++ {
			t0 := start.Add(time.Duration(j) * 2 * time.Second)
			t1 := t0.Add(time.Duration(500+j%9000) * time.Millisecond)
			r := agenttrace.Run{ID: fmt.Sprintf("run-%08d", j), AgentID: fmt.Sprintf("agent-%d", j%10), StartedAt: &t0, EndedAt: &t1,
				Credits: float64(j%100) / 100, Input: []byte(fmt.Sprintf(`{"ticket":"order %d refund question"}`, j)),
				Metadata: map[string]any{"tags": []any{"prod"}}}
			r.Status = agenttrace.StatusCompleted
			if j%7 == 0 {
				r.Status, r.Error = agenttrace.StatusFailed, &agenttrace.RunError{Type: "ToolTimeout", Message: "get_order timed out"}
			}
			batch.Runs = append(batch.Runs, r)
		}
		if err := batch.Normalize(); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Ingest(ctx, BenchAccount, &batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchGetRun200Steps reads one run with 200 steps (1 KiB payloads) from
// st, an empty store.
func BenchGetRun200Steps(b *testing.B, st store.Store) {
	ctx := context.Background()
	countOrCreate(b, st)
	payload := []byte(`{"text":"` + fmt.Sprintf("%01000d", 0) + `"}`)
	batch := agenttrace.Batch{Runs: []agenttrace.Run{{ID: "big", AgentID: "a", Status: agenttrace.StatusCompleted}}}
	for i := range 200 {
		s := agenttrace.Step{ID: fmt.Sprint(i), RunID: "big", Name: "step", Type: agenttrace.StepTool, Input: payload, Output: payload}
		s.SetSeq(int64(i))
		batch.Steps = append(batch.Steps, s)
	}
	if err := batch.Normalize(); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Ingest(ctx, BenchAccount, &batch); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := st.GetRun(ctx, BenchAccount, "big")
		if err != nil || len(r.Steps) != 200 {
			b.Fatal(err)
		}
	}
}

// countOrCreate answers how many runs BenchAccount holds in st, creating
// the account when it holds none.
func countOrCreate(b *testing.B, st store.Store) int {
	b.Helper()
	ctx := context.Background()
	have, err := st.CountRuns(ctx, BenchAccount, nil)
	if err != nil || have == 0 {
		if err := st.CreateAccount(ctx, agenttrace.Account{ID: BenchAccount, Name: BenchAccount}); err != nil {
			b.Logf("create account %s: %v", BenchAccount, err)
		}
	}
	return int(have)
}
