package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

func init() {
	extraTests = append(extraTests, namedTest{"Evaluators", testEvaluators}, namedTest{"EvalResults", testEvalResults})
}

func evalsOf(t *testing.T, st store.Store) store.Evals {
	ev, ok := st.(store.Evals)
	if !ok {
		t.Skip("store does not implement store.Evals")
	}
	return ev
}

func testEvaluators(t *testing.T, st store.Store) {
	ctx := context.Background()
	ev := evalsOf(t, st)
	e := agenttrace.Evaluator{ID: "e1", Name: "cheap", Kind: agenttrace.EvalRule, Config: json.RawMessage(`{"expression":"run.credits < 1.0"}`),
		AgentIDs: []string{"bot"}, Secret: "s3cret", CreatedAt: time.Unix(100, 0).UTC()}
	if err := ev.CreateEvaluator(ctx, "acme", e); err != nil {
		t.Fatal(err)
	}
	dup := e
	dup.ID = "e2"
	if err := ev.CreateEvaluator(ctx, "acme", dup); agenttrace.ErrorCode(err) != agenttrace.ECONFLICT {
		t.Fatalf("duplicate name: %v", err)
	}
	if err := ev.CreateEvaluator(ctx, "globex", dup); err != nil {
		t.Fatalf("same name in another account: %v", err)
	}
	got, err := ev.GetEvaluator(ctx, "acme", "e1")
	if err != nil || got.Name != "cheap" || got.Secret != "s3cret" || !got.SecretSet || len(got.AgentIDs) != 1 || string(got.Config) != `{"expression":"run.credits < 1.0"}` {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := ev.GetEvaluator(ctx, "globex", "e1"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("globex reads acme's evaluator: %v", err)
	}
	got.Name = "cheaper"
	if err := ev.UpdateEvaluator(ctx, "acme", got); err != nil {
		t.Fatal(err)
	}
	if err := ev.UpdateEvaluator(ctx, "globex", got); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("globex updates acme's evaluator: %v", err)
	}
	list, _ := ev.ListEvaluators(ctx, "acme")
	if len(list) != 1 || list[0].Name != "cheaper" {
		t.Fatalf("list: %+v", list)
	}
	if err := ev.DeleteEvaluator(ctx, "globex", "e1"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("globex deletes acme's evaluator: %v", err)
	}
	if err := ev.DeleteEvaluator(ctx, "acme", "e1"); err != nil {
		t.Fatal(err)
	}
	if list, _ := ev.ListEvaluators(ctx, "acme"); len(list) != 0 {
		t.Fatalf("deleted evaluator listed: %+v", list)
	}
}

func testEvalResults(t *testing.T, st store.Store) {
	ctx := context.Background()
	ev := evalsOf(t, st)
	mustIngest(t, st, "acme", &agenttrace.Batch{
		Runs:  []agenttrace.Run{{ID: "r1", AgentID: "bot", Status: agenttrace.StatusCompleted, StartedAt: ts("2026-11-01T10:00:00Z")}, {ID: "r2", AgentID: "bot", Status: agenttrace.StatusFailed, StartedAt: ts("2026-11-02T10:00:00Z")}},
		Steps: []agenttrace.Step{{ID: "s1", RunID: "r1", Name: "a", Type: agenttrace.StepTool}, {ID: "s2", RunID: "r1", Name: "b", Type: agenttrace.StepLLM}},
	})
	save := func(job, run, verdict string) {
		t.Helper()
		if err := ev.SaveEvalResults(ctx, "acme", []agenttrace.EvalResult{{RunID: run, EvaluatorID: "e1", EvaluatorName: "safe", Verdict: verdict, JobID: job}}); err != nil {
			t.Fatal(err)
		}
	}
	save("j1", "r1", "fail")
	save("j1", "r2", "pass")
	save("j2", "r1", "pass") // re-run: replaces the current verdict, keeps history
	r1 := mustRun(t, st, "acme", "r1")
	if len(r1.Evaluations) != 1 || r1.Evaluations[0].Verdict != "pass" || r1.Evaluations[0].JobID != "j2" {
		t.Fatalf("current verdicts of r1: %+v", r1.Evaluations)
	}
	all, _ := ev.ListEvalResults(ctx, "acme", store.EvalResultFilter{RunIDs: []string{"r1"}, All: true})
	if len(all.Results) != 2 {
		t.Fatalf("history of r1: %+v", all.Results)
	}
	cur, _ := ev.ListEvalResults(ctx, "acme", store.EvalResultFilter{RunIDs: []string{"r1"}})
	if len(cur.Results) != 1 {
		t.Fatalf("current of r1: %+v", cur.Results)
	}
	q, _ := query.Parse("eval:safe=pass")
	if n, _ := st.CountRuns(ctx, "acme", q); n != 2 {
		t.Fatalf("eval:safe=pass matches %d runs, want 2", n)
	}
	q, _ = query.Parse("eval:safe=fail")
	if n, _ := st.CountRuns(ctx, "acme", q); n != 0 {
		t.Fatalf("eval:safe=fail matches %d runs, want 0 (the fail is history)", n)
	}
	counts, _ := ev.CountEvalResults(ctx, "acme", "j1")
	if len(counts) != 1 || counts[0].Pass != 1 || counts[0].Fail != 1 {
		t.Fatalf("counts of j1: %+v", counts)
	}
	// Pages.
	p1, err := ev.ListEvalResults(ctx, "acme", store.EvalResultFilter{All: true, Limit: 2})
	if err != nil || len(p1.Results) != 2 || p1.NextCursor == "" {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p2, _ := ev.ListEvalResults(ctx, "acme", store.EvalResultFilter{All: true, Limit: 2, Cursor: p1.NextCursor})
	if len(p2.Results) != 1 || p2.NextCursor != "" {
		t.Fatalf("page 2: %+v", p2)
	}
	stats, err := ev.EvalStats(ctx, "acme", store.EvalStatsOptions{Interval: "day", From: *ts("2026-10-30T00:00:00Z"), To: *ts("2026-11-05T00:00:00Z")})
	if err != nil || len(stats) != 2 || stats[0].Pass != 1 || !stats[0].Time.Equal(*ts("2026-11-01T00:00:00Z")) || stats[1].Pass != 1 {
		t.Fatalf("stats: %+v %v", stats, err)
	}
	// Tenants: globex sees nothing of acme's.
	if g, _ := ev.ListEvalResults(ctx, "globex", store.EvalResultFilter{All: true}); len(g.Results) != 0 {
		t.Fatalf("globex sees acme's verdicts: %+v", g.Results)
	}
	if g, _ := ev.RunsForEval(ctx, "globex", []string{"r1"}, false); len(g) != 0 {
		t.Fatalf("globex loads acme's run: %+v", g)
	}
	// Keyset pages of ids, newest first, and the query applies.
	ids, next, err := ev.RunIDPage(ctx, "acme", nil, "", 1)
	if err != nil || len(ids) != 1 || ids[0] != "r2" || next == "" {
		t.Fatalf("id page 1: %v %q %v", ids, next, err)
	}
	ids, next, _ = ev.RunIDPage(ctx, "acme", nil, next, 1)
	if len(ids) != 1 || ids[0] != "r1" {
		t.Fatalf("id page 2: %v", ids)
	}
	if ids, _, _ = ev.RunIDPage(ctx, "acme", nil, next, 1); len(ids) != 0 {
		t.Fatalf("id page 3: %v", ids)
	}
	q, _ = query.Parse("status:failed")
	if ids, _, _ = ev.RunIDPage(ctx, "acme", q, "", 10); len(ids) != 1 || ids[0] != "r2" {
		t.Fatalf("id page status:failed: %v", ids)
	}
	if ids, _, _ = ev.RunIDPage(ctx, "globex", nil, "", 10); len(ids) != 0 {
		t.Fatalf("globex pages acme's runs: %v", ids)
	}
	runs, err := ev.RunsForEval(ctx, "acme", []string{"r2", "nope", "r1"}, true)
	if err != nil || len(runs) != 2 || runs[0].ID != "r2" || runs[1].ID != "r1" || len(runs[1].Steps) != 2 || runs[1].Steps[0].ID != "s1" {
		t.Fatalf("runs for eval: %+v %v", runs, err)
	}
}
