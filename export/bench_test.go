package export_test

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"context"
	"encoding/json"
	"io"
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
func BenchmarkExportJSONL(b *testing.B) { benchExport(b, false) }

// BenchmarkExportJSONLGzip does the same through the job's gzip writer;
// b.SetBytes counts the JSONL written (before compression), so MB/s compare
// with BenchmarkExportJSONL.
func BenchmarkExportJSONLGzip(b *testing.B) { benchExport(b, true) }

func benchExport(b *testing.B, gzipped bool) {
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
		var sink io.Writer = bw
		var zw io.WriteCloser
		if gzipped {
			zw = export.NewGzipWriter(bw)
			sink = zw
		}
		plain := export.NewCountingWriter(sink)
		counts, err = export.Writer{Format: export.FormatJSONL, Workers: workers}.Write(ctx, export.Source{Store: st, Account: agenttrace.DefaultAccountID}, plain)
		if err != nil {
			b.Fatal(err)
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				b.Fatal(err)
			}
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		fi, _ := f.Stat()
		size = fi.Size()
		f.Close()
		b.SetBytes(plain.N())
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

// BenchmarkGzipWriter compresses 32 MiB of JSONL whose payloads are real
// text (this repository's Go source, which compresses about as well as
// agent transcripts do, unlike the export benchmark's repeated payloads),
// with the standard library's gzip and with the exports' NewGzipWriter,
// both at BestSpeed. It is the part of a gzipped export that runs on one core.
//
//	go test ./export/ -run '^$' -bench GzipWriter -count 3
func BenchmarkGzipWriter(b *testing.B) {
	files, _ := filepath.Glob("../*/*.go")
	var text bytes.Buffer
	for text.Len() < 32<<20 && len(files) > 0 {
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			line, _ := json.Marshal(map[string]any{"run": f, "steps": []any{map[string]any{
				"input": string(src[:min(len(src), 1500)]), "output": string(src[max(0, len(src)-1500):])}}})
			text.Write(line)
			text.WriteByte('\n')
		}
	}
	for _, tc := range []struct {
		name string
		w    func(io.Writer) io.WriteCloser
	}{
		{"stdlib", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, stdgzip.BestSpeed); return z }},
		{"export", func(w io.Writer) io.WriteCloser { return export.NewGzipWriter(w) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(text.Len()))
			var written int64
			for b.Loop() {
				out := export.NewCountingWriter(io.Discard)
				z := tc.w(out)
				for p := text.Bytes(); len(p) > 0; p = p[min(len(p), 1<<20):] {
					if _, err := z.Write(p[:min(len(p), 1<<20)]); err != nil {
						b.Fatal(err)
					}
				}
				if err := z.Close(); err != nil {
					b.Fatal(err)
				}
				written = out.N()
			}
			b.ReportMetric(float64(written)/float64(text.Len()), "ratio")
		})
	}
}
