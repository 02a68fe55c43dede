package sqlite_test

import (
	"fmt"
	"testing"

	"github.com/agenttrace/agenttrace/store/storetest"
)

// BenchmarkSearchProse runs full-text queries over 100,000 runs of 10 prose
// steps (storetest.BenchSearchProse; AGENTTRACE_BENCH_PROSE_RUNS sets the
// number of runs). The filled store is kept in the temp folder and reused.
//
//	go test -run XXX -bench SearchProse -benchtime 20x ./sqlite/
func BenchmarkSearchProse(b *testing.B) {
	runs := storetest.ProseRuns()
	storetest.BenchSearchProse(b, openKept(b, fmt.Sprintf("agenttrace-bench-prose-%d", runs)), runs)
}
