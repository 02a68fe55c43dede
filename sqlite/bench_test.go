package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/store"
	"github.com/agenttrace/agenttrace/store/storetest"
)

// openKept opens the benchmark store kept in the temp folder under name:
// filling one takes minutes, so later runs reuse it.
func openKept(b *testing.B, name string) store.Store {
	b.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(os.TempDir(), name))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkListRunsFiltered is GET /api/v1/runs?q=agent:X status:failed
// (first page of 50) over the whole store (storetest.BenchListRuns), kept in
// the temp folder.
func BenchmarkListRunsFiltered(b *testing.B) {
	n := storetest.BenchRuns()
	storetest.BenchListRuns(b, openKept(b, fmt.Sprintf("agenttrace-bench-%d", n)), n)
}

// BenchmarkGetRun200Steps reads one run with 200 steps (1 KiB payloads).
func BenchmarkGetRun200Steps(b *testing.B) {
	st, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storetest.BenchGetRun200Steps(b, st)
}
