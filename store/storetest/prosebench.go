package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/loadgen"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// ProseAccount is the account the prose benchmark store is filled in.
const ProseAccount = "bench"

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
				page, err := st.ListRuns(ctx, ProseAccount, store.ListOptions{Query: parsed, Limit: 50})
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
				if n, err = st.CountRuns(ctx, ProseAccount, parsed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "runs")
		})
	}
}

// fillProse ingests the load tool's prose batches into st until it holds
// runs runs, creating ProseAccount when the store is empty.
func fillProse(b *testing.B, st store.Store, runs int) {
	b.Helper()
	ctx := context.Background()
	have, err := st.CountRuns(ctx, ProseAccount, nil)
	if err != nil || have == 0 {
		if err := st.CreateAccount(ctx, agenttrace.Account{ID: ProseAccount, Name: ProseAccount}); err != nil {
			b.Logf("create account %s: %v", ProseAccount, err)
		}
	}
	if int(have) >= runs {
		return
	}
	b.Logf("filling with %d runs of 10 prose steps (once)", runs)
	o := loadgen.Options{RunsPerBatch: 100, StepsPerRun: 10, PayloadBytes: 1024, Text: loadgen.TextProse, Prefix: "prose"}
	for n := int(have) / 100; n < runs/100; n++ {
		var batch agenttrace.Batch
		if err := json.Unmarshal(o.Batch(n), &batch); err != nil {
			b.Fatal(err)
		}
		if err := batch.Normalize(); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Ingest(ctx, ProseAccount, &batch); err != nil {
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
