package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/sqlstore"
)

// benchRuns is how many runs BenchmarkAllTracesPage stores:
// AGENTTRACE_BENCH_RUNS, default 100000 (set 1000000 for the full-size figure).
func benchRuns() int {
	if n, err := strconv.Atoi(os.Getenv("AGENTTRACE_BENCH_RUNS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

var benchKey = agenttrace.APIKey{ID: "key_bench", AccountID: agenttrace.DefaultAccountID, Scopes: []agenttrace.Scope{agenttrace.ScopeRead}}

// cpuTime is the process's user+system CPU time: the machine may be shared,
// so the benchmarks report CPU ms per page beside wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration, n int) {
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(n), "cpu-ms/op")
}

func benchRequest(target string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	return r.WithContext(api.WithKey(r.Context(), benchKey))
}

// fillRuns writes n synthetic runs (no steps) in batches.
func fillRuns(tb testing.TB, st *sqlstore.Store, n int) {
	ctx := context.Background()
	agents := []string{"support-bot", "research-assistant", "sql-analyst", "invoice-extractor", "triage", "summarizer", "coder", "planner"}
	start := time.Now().UTC().Add(-30 * 24 * time.Hour)
	step := 30 * 24 * time.Hour / time.Duration(n)
	const batch = 2000
	for i := 0; i < n; i += batch {
		b := agenttrace.Batch{}
		for j := i; j < min(n, i+batch); j++ {
			t0 := start.Add(time.Duration(j) * step)
			t1 := t0.Add(time.Duration(500+j%9000) * time.Millisecond)
			r := agenttrace.Run{ID: fmt.Sprintf("run_%08d", j), AgentID: agents[j%len(agents)], StartedAt: &t0, EndedAt: &t1,
				Credits: float64(j%997) / 1000, Input: json.RawMessage(fmt.Sprintf(`{"ticket":"T-%d","message":"customer asks about order %d"}`, j, j*7)),
				Metadata: map[string]any{"tags": []any{"prod"}}}
			if j%7 == 0 {
				r.Error = &agenttrace.RunError{Type: "RateLimitError", Message: "429 rate limit exceeded"}
			}
			b.Runs = append(b.Runs, r)
		}
		if err := b.Normalize(); err != nil {
			tb.Fatal(err)
		}
		if _, err := st.Ingest(ctx, agenttrace.DefaultAccountID, &b); err != nil {
			tb.Fatal(err)
		}
	}
}

func BenchmarkAllTracesPage(b *testing.B) {
	ui, st, _ := newHarness(b, b.TempDir())
	ctx := context.Background()
	_ = st.CreateAccount(ctx, agenttrace.Account{ID: agenttrace.DefaultAccountID, Name: "Default"})
	n := benchRuns()
	t0 := time.Now()
	fillRuns(b, st, n)
	b.Logf("stored %d runs in %s", n, time.Since(t0).Round(time.Millisecond))
	for _, c := range []struct{ name, q string }{
		{"newest", ""},
		{"status_failed", "q=status:failed"},
		{"agent_failed_7d", "q=" + url.QueryEscape("agent:sql-analyst status:failed after:7d")},
		{"by_credits", "sort=credits"},
		{"by_duration_asc", "sort=duration&order=asc"},
		{"fulltext", "q=" + url.QueryEscape(`"rate limit"`)},
	} {
		b.Run(fmt.Sprintf("runs=%d/%s", n, c.name), func(b *testing.B) {
			// page 2 too: the cursor must keep it as fast as page 1
			w := httptest.NewRecorder()
			ui.allTraces(w, benchRequest("/?"+c.q))
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body.String())
			}
			c0, n := cpuTime(), 0
			for b.Loop() {
				w := httptest.NewRecorder()
				ui.allTraces(w, benchRequest("/?"+c.q))
				if w.Code != 200 || !strings.Contains(w.Body.String(), "runtable") {
					b.Fatalf("status %d", w.Code)
				}
				n++
			}
			reportCPU(b, c0, n)
		})
	}
}

func BenchmarkTracePage500Steps(b *testing.B) {
	ui, st, _ := newHarness(b, b.TempDir())
	ctx := context.Background()
	_ = st.CreateAccount(ctx, agenttrace.Account{ID: agenttrace.DefaultAccountID, Name: "Default"})
	start := time.Now().UTC().Add(-time.Hour)
	batch := agenttrace.Batch{Runs: []agenttrace.Run{{ID: "big", AgentID: "research-assistant", StartedAt: &start,
		Input: json.RawMessage(`{"question":"compare the quarterly reports"}`)}}}
	for i := 0; i < 500; i++ {
		s0 := start.Add(time.Duration(i) * 200 * time.Millisecond)
		s1 := s0.Add(time.Duration(50+i%300) * time.Millisecond)
		s := agenttrace.Step{RunID: "big", ID: fmt.Sprintf("s%03d", i), Name: fmt.Sprintf("call_%d", i), Type: agenttrace.StepTool,
			StartedAt: &s0, EndedAt: &s1, Model: "gpt-4o-mini", Usage: agenttrace.Usage{InputTokens: 800, OutputTokens: 120},
			Input:  json.RawMessage(fmt.Sprintf(`{"query":"step %d","documents":[%s]}`, i, strings.Repeat(`"lorem ipsum dolor sit amet consectetur",`, 20)+`"end"`)),
			Output: json.RawMessage(fmt.Sprintf(`{"answer":"result %d","text":%q}`, i, strings.Repeat("The quick brown fox jumps over the lazy dog. ", 30)))}
		s.SetSeq(int64(i))
		if i%10 != 0 {
			s.ParentID = fmt.Sprintf("s%03d", i-i%10)
		}
		if i == 377 {
			s.Error = &agenttrace.StepError{Type: "Timeout", Message: "tool call timed out after 30s"}
		}
		batch.Steps = append(batch.Steps, s)
	}
	end := start.Add(101 * time.Second)
	batch.Runs[0].EndedAt = &end
	if err := batch.Normalize(); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Ingest(ctx, agenttrace.DefaultAccountID, &batch); err != nil {
		b.Fatal(err)
	}
	req := func() *http.Request {
		r := benchRequest("/runs/big")
		r.SetPathValue("id", "big")
		return r
	}
	w := httptest.NewRecorder()
	ui.runPage(w, req())
	if w.Code != 200 || strings.Count(w.Body.String(), `class="step`) < 500 {
		b.Fatalf("status %d", w.Code)
	}
	b.SetBytes(int64(w.Body.Len()))
	c0, n := cpuTime(), 0
	for b.Loop() {
		w := httptest.NewRecorder()
		ui.runPage(w, req())
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
		n++
	}
	reportCPU(b, c0, n)
}
