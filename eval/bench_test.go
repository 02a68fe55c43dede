package eval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/eval"
	"github.com/agenttrace/agenttrace/sqlite"
)

// BenchmarkRuleEvaluator evaluates a rule over 100,000 runs of 10 steps
// stored in SQLite, loading them page by page as an evaluation job does,
// and saving the verdicts. It reports runs/s (see docs/benchmarks-eval.md):
//
//	go test ./eval/ -run '^$' -bench BenchmarkRuleEvaluator -benchtime 1x
func BenchmarkRuleEvaluator(b *testing.B) {
	ctx := context.Background()
	runs, stepsPer := benchRuns(), 10
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateAccount(ctx, agenttrace.Account{ID: "acme", Name: "acme"}); err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for off := 0; off < runs; off += 500 {
		var batch agenttrace.Batch
		for i := off; i < off+500; i++ {
			start := t0.Add(time.Duration(i) * time.Second)
			id := fmt.Sprintf("run-%06d", i)
			batch.Runs = append(batch.Runs, agenttrace.Run{ID: id, AgentID: "bot", Status: agenttrace.StatusCompleted, StartedAt: &start,
				Input: json.RawMessage(`{"question":"where is my order?"}`), Output: json.RawMessage(`"It ships tomorrow."`)})
			for k := range stepsPer {
				typ := agenttrace.StepLLM
				name := "think"
				if k%3 == 1 {
					typ, name = agenttrace.StepTool, "lookup_order"
				}
				batch.Steps = append(batch.Steps, agenttrace.Step{ID: fmt.Sprintf("%s-%d", id, k), RunID: id, Name: name, Type: typ,
					Status: agenttrace.StatusCompleted, Credits: 0.01 * float64(k%4), DurationMS: float64(100 + k*10),
					Input: json.RawMessage(`{"q":"order 123"}`), Output: json.RawMessage(`"order 123 ships tomorrow"`)})
			}
		}
		if err := batch.Normalize(); err != nil {
			b.Fatal(err)
		}
		if _, err := st.Ingest(ctx, "acme", &batch); err != nil {
			b.Fatal(err)
		}
	}
	ev := agenttrace.Evaluator{ID: "e1", Name: "safe", Kind: agenttrace.EvalRule,
		Config: json.RawMessage(`{"expression":"run.credits <= 5.0 && !run.steps.exists(s, s.type == 'tool' && s.name == 'delete_account') && run.steps.all(s, s.duration_ms < 30000)"}`)}
	if err := st.CreateEvaluator(ctx, "acme", ev); err != nil {
		b.Fatal(err)
	}
	svc, _ := eval.New(st, nil)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := svc.Run(ctx, "acme", fmt.Sprint("bench-", i), eval.JobParams{EvaluatorIDs: []string{"e1"}}, func(int64, int64) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		if res.Runs != int64(runs) {
			b.Fatalf("evaluated %d runs", res.Runs)
		}
	}
	b.ReportMetric(float64(runs*b.N)/time.Since(start).Seconds(), "runs/s")
}

// benchRuns is 100,000, or EVAL_BENCH_RUNS for quicker looks.
func benchRuns() int {
	if n, err := strconv.Atoi(os.Getenv("EVAL_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}
