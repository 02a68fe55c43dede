package eval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/eval"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/store"
)

// A job taken up again after a restart skips what it already wrote: one
// verdict per run and evaluator per job.
func TestJobRestartIsIdempotent(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.CreateAccount(ctx, agenttrace.Account{ID: "a", Name: "a"})
	var b agenttrace.Batch
	for i := range 1200 {
		b.Runs = append(b.Runs, agenttrace.Run{ID: fmt.Sprint("r", i), AgentID: "bot", Status: agenttrace.StatusCompleted})
	}
	b.Normalize()
	if _, err := st.Ingest(ctx, "a", &b); err != nil {
		t.Fatal(err)
	}
	st.CreateEvaluator(ctx, "a", agenttrace.Evaluator{ID: "e", Name: "e", Kind: agenttrace.EvalRule, Config: json.RawMessage(`{"expression":"run.status == 'completed'"}`)})
	svc, _ := eval.New(st, nil)
	// The first attempt dies after its first page.
	stop := fmt.Errorf("worker died")
	_, err = svc.Run(ctx, "a", "job1", eval.JobParams{EvaluatorIDs: []string{"e"}}, func(done, total int64) error { return stop })
	if err != stop {
		t.Fatal(err)
	}
	res, err := svc.Run(ctx, "a", "job1", eval.JobParams{EvaluatorIDs: []string{"e"}}, func(int64, int64) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != eval.PageSize || res.Runs != 1200-eval.PageSize || len(res.Counts) != 1 || res.Counts[0].Pass != 1200 {
		t.Fatalf("second attempt: %+v", res)
	}
	all, _ := st.ListEvalResults(ctx, "a", store.EvalResultFilter{JobID: "job1", All: true, Limit: 1000})
	cur, _ := st.ListEvalResults(ctx, "a", store.EvalResultFilter{Limit: 1000})
	if len(all.Results) != 1000 || all.NextCursor == "" || len(cur.Results) != 1000 {
		t.Fatalf("verdicts: %d all, %d current", len(all.Results), len(cur.Results))
	}
}
