package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agenttrace/agenttrace/postgres"
	"github.com/agenttrace/agenttrace/store"
	"github.com/agenttrace/agenttrace/store/storetest"
)

// openKept opens the benchmark store kept in the schema name of the test
// database: filling one takes minutes, so later runs reuse it (drop the
// schema to fill it again).
func openKept(b *testing.B, schema string) store.Store {
	b.Helper()
	ctx := context.Background()
	if _, err := admin(b).ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		b.Fatal(err)
	}
	st, err := postgres.Open(ctx, schemaURL(b, schema))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkSearchProse runs the full-text queries of SQLite's benchmark of
// the same name (storetest.BenchSearchProse) over 100,000 runs of 10 prose
// steps (AGENTTRACE_BENCH_PROSE_RUNS), kept in the schema
// agenttrace_bench_prose_RUNS.
//
//	go test -run XXX -bench SearchProse -benchtime 10x ./postgres/
func BenchmarkSearchProse(b *testing.B) {
	runs := storetest.ProseRuns()
	storetest.BenchSearchProse(b, openKept(b, fmt.Sprintf("agenttrace_bench_prose_%d", runs)), runs)
}

// BenchmarkListRunsFiltered is GET /api/v1/runs?q=agent:X status:failed
// (first page of 50) over 1,000,000 runs (AGENTTRACE_BENCH_RUNS), kept in
// the schema agenttrace_bench_RUNS.
//
//	go test -run XXX -bench ListRunsFiltered -benchtime 20x ./postgres/
func BenchmarkListRunsFiltered(b *testing.B) {
	n := storetest.BenchRuns()
	storetest.BenchListRuns(b, openKept(b, fmt.Sprintf("agenttrace_bench_%d", n)), n)
}

// BenchmarkGetRun200Steps reads one run with 200 steps (1 KiB payloads).
func BenchmarkGetRun200Steps(b *testing.B) {
	storetest.BenchGetRun200Steps(b, MustOpen(b))
}
