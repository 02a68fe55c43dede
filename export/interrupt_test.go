package export_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/export"
)

// ingestMany writes n runs of steps steps each into the default account.
func ingestMany(t testing.TB, ingest func(context.Context, string, *agenttrace.Batch) (agenttrace.IngestResult, error), n, steps int) {
	t.Helper()
	ctx := context.Background()
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	per := max(1, 5000/(steps+1))
	for i := 0; i < n; i += per {
		var b agenttrace.Batch
		for k := i; k < min(n, i+per); k++ {
			at := start.Add(time.Duration(k) * time.Second)
			end := at.Add(1500 * time.Millisecond)
			id := fmt.Sprintf("run-%07d", k)
			b.Runs = append(b.Runs, agenttrace.Run{ID: id, AgentID: fmt.Sprintf("agent-%d", k%5), StartedAt: &at, EndedAt: &end,
				Input:    []byte(fmt.Sprintf(`{"question":"How do I reset the password of account %d? It says the link expired."}`, k)),
				Output:   []byte(`{"answer":"Open Settings, then Security, and ask for a new reset link; it is valid for 24 hours."}`),
				Metadata: map[string]any{"tags": []any{"prod", "support"}, "customer": fmt.Sprintf("c-%d", k%97)}})
			for s := 0; s < steps; s++ {
				st := agenttrace.Step{RunID: id, Name: fmt.Sprintf("step-%d", s), Type: agenttrace.StepLLM, Model: "gpt-4o-mini",
					StartedAt: &at, EndedAt: &end, Usage: agenttrace.Usage{InputTokens: 812, OutputTokens: 94},
					Input:  []byte(`{"messages":[{"role":"system","content":"You are a helpful support agent. Answer briefly and cite the help center."},{"role":"user","content":"How do I reset my password? The link in the email expired."}]}`),
					Output: []byte(`{"content":"Open Settings → Security and ask for a new reset link. Links are valid for 24 hours.","finish_reason":"stop"}`)}
				st.SetSeq(int64(s))
				b.Steps = append(b.Steps, st)
			}
		}
		if err := b.Normalize(); err != nil {
			t.Fatal(err)
		}
		if _, err := ingest(ctx, agenttrace.DefaultAccountID, &b); err != nil {
			t.Fatal(err)
		}
	}
}

func countLines(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	var n int64
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInterruptedExport stops the server in the middle of an export and
// starts a new one on the same data folder: the job must end completed with
// a full file (it starts over) or failed, never completed with a short file,
// and no file that looks complete may exist before that.
func TestInterruptedExport(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the job lease to expire")
	}
	dir := t.TempDir()
	s := startServer(t, dir, false)
	const runs = 8000
	ingestMany(t, s.srv.Store.Ingest, runs, 2)
	ctx := context.Background()
	v, err := s.c.CreateExport(ctx, export.Request{ResourceType: "agent_traces", Format: "jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cur, err := s.c.GetExport(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Status == "completed" {
			t.Fatalf("the export completed before it could be interrupted (%d runs); raise the run count", runs)
		}
		if cur.Status == "running" {
			t.Logf("stopping the server at %d of %d runs", cur.Progress.RunsWritten, cur.Progress.RunsTotal)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("export never started: %+v", cur)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.close()
	exports := filepath.Join(dir, "exports")
	entries, _ := os.ReadDir(exports)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), v.ID) && !strings.HasSuffix(e.Name(), ".part") {
			t.Fatalf("an interrupted export left %s", e.Name())
		}
	}
	// What a crash (rather than a clean stop) would leave behind.
	if err := os.WriteFile(filepath.Join(exports, v.ID+".part"), []byte("{\"truncated\":"), 0o600); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, dir, false)
	done := waitDone(t, s2.c, v.ID, 90*time.Second) // the dead worker's lease (15 s) must run out first
	switch done.Status {
	case "completed":
		if done.Counts == nil || done.Counts.Runs != runs || done.Progress.RunsWritten != runs {
			t.Fatalf("completed with %+v, want %d runs", done.Counts, runs)
		}
		path := filepath.Join(t.TempDir(), "out.jsonl")
		if _, err := s2.c.DownloadExportFile(ctx, v.ID, path); err != nil {
			t.Fatal(err)
		}
		if n := countLines(t, path); n != runs {
			t.Fatalf("the completed file has %d runs, want %d", n, runs)
		}
		if _, err := os.Stat(filepath.Join(exports, v.ID+".part")); !os.IsNotExist(err) {
			t.Fatalf("the old .part is still there: %v", err)
		}
	case "failed":
		if _, err := s2.c.DownloadExportFile(ctx, v.ID, filepath.Join(t.TempDir(), "x")); err == nil {
			t.Fatal("a failed export downloads")
		}
	default:
		t.Fatalf("export ended %s", done.Status)
	}
}
