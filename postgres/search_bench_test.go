package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agenttrace/agenttrace/postgres"
	"github.com/agenttrace/agenttrace/store/storetest"
)

// BenchmarkSearchProse runs the full-text queries of SQLite's benchmark of
// the same name (storetest.BenchSearchProse) over 100,000 runs of 10 prose
// steps in the test database. The filled store is kept, in the schema
// agenttrace_bench_prose_RUNS, and reused; drop the schema to fill it again.
//
//	go test -run XXX -bench SearchProse -benchtime 10x ./postgres/
func BenchmarkSearchProse(b *testing.B) {
	runs := storetest.ProseRuns()
	schema := fmt.Sprintf("agenttrace_bench_prose_%d", runs)
	ctx := context.Background()
	if _, err := admin(b).ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
		b.Fatal(err)
	}
	st, err := postgres.Open(ctx, schemaURL(b, schema))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	storetest.BenchSearchProse(b, st, runs)
}
