package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/store"
)

// benchRuns is the store size of the query benchmarks: AGENTTRACE_BENCH_RUNS
// (default 1,000,000). The filled database is kept in the temp folder and
// reused by later runs, since filling it takes a while.
func benchRuns() int {
	if n, err := strconv.Atoi(os.Getenv("AGENTTRACE_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// openKept opens the benchmark store kept in the temp folder under name,
// with its account "bench", and answers how many runs it holds.
func openKept(b *testing.B, name string) (store.Store, int) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(os.TempDir(), name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	have, _ := st.CountRuns(ctx, "bench", nil)
	if have == 0 {
		_ = st.CreateAccount(ctx, agenttrace.Account{ID: "bench", Name: "bench"})
	}
	return st, int(have)
}

// mustParse parses a query of the benchmarks.
func mustParse(b *testing.B, q string) *query.Query {
	b.Helper()
	parsed, err := query.Parse(q)
	if err != nil {
		b.Fatal(err)
	}
	return parsed
}

func openFilled(b *testing.B, n int) store.Store {
	b.Helper()
	ctx := context.Background()
	st, have := openKept(b, fmt.Sprintf("agenttrace-bench-%d", n))
	if have >= n {
		return st
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
		if _, err := st.Ingest(ctx, "bench", &batch); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// BenchmarkListRunsFiltered is GET /api/v1/runs?q=agent:X status:failed
// (first page of 50) over the whole store.
func BenchmarkListRunsFiltered(b *testing.B) {
	n := benchRuns()
	st := openFilled(b, n)
	ctx := context.Background()
	for _, q := range []string{"agent:agent-3 status:failed", "", "status:failed credits>0.5", `"timed out" agent:agent-7`} {
		parsed, err := query.Parse(q)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("runs=%d/q=%s", n, q), func(b *testing.B) {
			for b.Loop() {
				page, err := st.ListRuns(ctx, "bench", store.ListOptions{Query: parsed, Limit: 50})
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
			page, err := st.ListRuns(ctx, "bench", store.ListOptions{Limit: 1000, Cursor: cursor, Light: true})
			if err != nil {
				b.Fatal(err)
			}
			cursor = page.NextCursor
		}
		for b.Loop() {
			page, err := st.ListRuns(ctx, "bench", store.ListOptions{Limit: 50, Cursor: cursor})
			if err != nil || len(page.Runs) != 50 {
				b.Fatalf("%v %d", err, len(page.Runs))
			}
		}
	})
	b.Run(fmt.Sprintf("runs=%d/sort=credits", n), func(b *testing.B) {
		for b.Loop() {
			if _, err := st.ListRuns(ctx, "bench", store.ListOptions{Sort: store.SortCredits, Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetRun200Steps reads one run with 200 steps (1 KiB payloads).
func BenchmarkGetRun200Steps(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	_ = st.CreateAccount(ctx, agenttrace.Account{ID: "bench", Name: "bench"})
	payload := []byte(`{"text":"` + string(make([]byte, 0)) + fmt.Sprintf("%01000d", 0) + `"}`)
	batch := agenttrace.Batch{Runs: []agenttrace.Run{{ID: "big", AgentID: "a", Status: agenttrace.StatusCompleted}}}
	for i := range 200 {
		s := agenttrace.Step{ID: fmt.Sprint(i), RunID: "big", Name: "step", Type: agenttrace.StepTool, Input: payload, Output: payload}
		s.SetSeq(int64(i))
		batch.Steps = append(batch.Steps, s)
	}
	if err := batch.Normalize(); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Ingest(ctx, "bench", &batch); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		r, err := st.GetRun(ctx, "bench", "big")
		if err != nil || len(r.Steps) != 200 {
			b.Fatal(err)
		}
	}
}
