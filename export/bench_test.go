package export_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/export"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/store"
)

// benchStore opens (and on first use fills) the benchmark's SQLite store:
// AGENTTRACE_BENCH_RUNS runs (default 10,000) of 10 steps each, kept in
// AGENTTRACE_BENCH_DIR when set so that later runs skip the fill.
func benchStore(b *testing.B) (store.Store, int) {
	b.Helper()
	runs := 10000
	if v := os.Getenv("AGENTTRACE_BENCH_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("AGENTTRACE_BENCH_RUNS: %v", err)
		}
		runs = n
	}
	dir := os.Getenv("AGENTTRACE_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		dir = filepath.Join(dir, strconv.Itoa(runs))
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	n, err := st.CountRuns(ctx, agenttrace.DefaultAccountID, nil)
	if err != nil {
		b.Fatal(err)
	}
	if int(n) != runs {
		if n == 0 {
			_ = st.CreateAccount(ctx, agenttrace.Account{ID: agenttrace.DefaultAccountID, Name: "Default"})
		}
		start := time.Now()
		ingestMany(b, st.Ingest, runs, 10)
		b.Logf("filled %d runs × 10 steps in %s", runs, time.Since(start).Round(time.Millisecond))
	}
	return st, runs
}

// peakRSS answers VmHWM of /proc/self/status in MiB (0 where unavailable).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// BenchmarkExportJSONL writes the whole store as JSONL to a file, as the job does.
//
//	AGENTTRACE_BENCH_RUNS=100000 AGENTTRACE_BENCH_DIR=/tmp/atbench go test ./export/ -run '^$' -bench ExportJSONL -benchtime 3x
func BenchmarkExportJSONL(b *testing.B) {
	st, runs := benchStore(b)
	ctx := context.Background()
	out := filepath.Join(b.TempDir(), "out.jsonl")
	workers, _ := strconv.Atoi(os.Getenv("AGENTTRACE_BENCH_WORKERS")) // 0: the default
	resetPeakRSS()
	b.ResetTimer()
	var size int64
	var counts export.Counts
	for b.Loop() {
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		counts, err = export.Writer{Format: export.FormatJSONL, Workers: workers}.Write(ctx, export.Source{Store: st, Account: agenttrace.DefaultAccountID}, bw)
		if err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		fi, _ := f.Stat()
		size = fi.Size()
		f.Close()
		b.SetBytes(size)
	}
	if counts.Runs != int64(runs) {
		b.Fatalf("wrote %d runs, want %d", counts.Runs, runs)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(peakRSS(), "peak-RSS-MiB")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MiB")
	b.ReportMetric(float64(size)/(1<<20), "file-MiB")
}

// BenchmarkExportEstimate measures the dry run on the same store and logs its error.
func BenchmarkExportEstimate(b *testing.B) {
	st, _ := benchStore(b)
	ctx := context.Background()
	src := export.Source{Store: st, Account: agenttrace.DefaultAccountID}
	var est export.Estimate
	for b.Loop() {
		var err error
		if est, err = export.EstimateSize(ctx, src, export.Writer{Format: export.FormatJSONL}, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(est.Bytes)/(1<<20), "estimate-MiB")
}
