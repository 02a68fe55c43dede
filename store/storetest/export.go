package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

func init() {
	extraTests = append(extraTests, namedTest{"Exports", testExports})
}

func testExports(t *testing.T, st store.Store) {
	ex, ok := st.(store.Exports)
	if !ok {
		t.Skip("store does not implement store.Exports")
	}
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	b := agenttrace.Batch{
		Runs: []agenttrace.Run{
			{ID: "ex1", AgentID: "bot", StartedAt: &t0},
			{ID: "ex2", AgentID: "bot", StartedAt: &t1, Status: agenttrace.StatusFailed},
			{ID: "ex3", AgentID: "other", StartedAt: &t1},
		},
		Steps: []agenttrace.Step{
			{RunID: "ex1", Name: "b", Type: agenttrace.StepTool},
			{RunID: "ex1", Name: "a", Type: agenttrace.StepLLM},
			{RunID: "ex2", Name: "c"},
		},
	}
	b.Steps[0].SetSeq(1)
	b.Steps[1].SetSeq(0)
	if err := b.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, "acme", &b); err != nil {
		t.Fatal(err)
	}
	got, err := ex.StepsForRuns(ctx, "acme", []string{"ex1", "ex2", "ex3", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got["ex1"]) != 2 || got["ex1"][0].Name != "a" || got["ex1"][1].Name != "b" || len(got["ex2"]) != 1 || len(got["ex3"]) != 0 {
		t.Fatalf("steps for runs: %+v", got)
	}
	if other, _ := ex.StepsForRuns(ctx, "globex", []string{"ex1", "ex2"}); len(other) != 0 {
		t.Fatalf("globex sees acme's steps: %+v", other)
	}
	q, _ := query.Parse("agent:bot")
	stats, err := ex.RunStats(ctx, "acme", q)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Runs != 2 || stats.Steps != 3 || !stats.First.Equal(t0) || !stats.Last.Equal(t1) {
		t.Fatalf("run stats: %+v", stats)
	}
	if s, _ := ex.RunStats(ctx, "globex", nil); s.Runs != 0 || s.Steps != 0 || !s.First.IsZero() {
		t.Fatalf("globex stats: %+v", s)
	}
	// Only finished jobs of the kind, older than the cut, are removed.
	for _, id := range []string{"xj1", "xj2"} {
		if err := st.CreateJob(ctx, agenttrace.Job{ID: id, AccountID: "acme", Kind: "export-test"}); err != nil {
			t.Fatal(err)
		}
	}
	j, ok, err := st.ClaimJob(ctx, []string{"export-test"}, "w", time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := st.FinishJob(ctx, j.ID, "w", agenttrace.JobCompleted, nil, ""); err != nil {
		t.Fatal(err)
	}
	files, hasFiles := st.(store.ExportFiles)
	if hasFiles {
		testExportFiles(t, files, j.ID)
	}
	if n, err := ex.DeleteJobsFinishedBefore(ctx, "export-test", time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("deleted recent jobs: %d %v", n, err)
	}
	if n, err := ex.DeleteJobsFinishedBefore(ctx, "export-test", time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("delete finished: %d %v", n, err)
	}
	if hasFiles {
		if err := files.ExportFile(ctx, j.ID, io.Discard); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
			t.Fatalf("the file of a removed job: %v, want ENOTFOUND", err)
		}
	}
	if list, _ := st.ListJobs(ctx, "acme", "export-test", 10); len(list) != 1 || list[0].Status != agenttrace.JobQueued {
		t.Fatalf("left jobs: %+v", list)
	}
}

// testExportFiles stores a file of several parts, reads it back, replaces
// it by a shorter one (no part of the first may remain) and checks that a
// failing reader stores nothing.
func testExportFiles(t *testing.T, files store.ExportFiles, jobID string) {
	ctx := context.Background()
	big := make([]byte, 2<<20+12345)
	for i := range big {
		big[i] = byte(i*7 + i>>11)
	}
	if n, err := files.PutExportFile(ctx, jobID, bytes.NewReader(big)); err != nil || n != int64(len(big)) {
		t.Fatalf("put: %d %v", n, err)
	}
	var got bytes.Buffer
	if err := files.ExportFile(ctx, jobID, &got); err != nil || !bytes.Equal(got.Bytes(), big) {
		t.Fatalf("read back %d bytes (%v), want the %d stored", got.Len(), err, len(big))
	}
	small := []byte(`{"id":"run-1"}` + "\n")
	if _, err := files.PutExportFile(ctx, jobID, bytes.NewReader(small)); err != nil {
		t.Fatal(err)
	}
	got.Reset()
	if err := files.ExportFile(ctx, jobID, &got); err != nil || !bytes.Equal(got.Bytes(), small) {
		t.Fatalf("after replacing: %q (%v)", got.Bytes(), err)
	}
	if _, err := files.PutExportFile(ctx, jobID, io.MultiReader(bytes.NewReader(big), iotest.ErrReader(errors.New("disk gone")))); err == nil {
		t.Fatal("a failing reader was stored")
	}
	got.Reset()
	if err := files.ExportFile(ctx, jobID, &got); err != nil || !bytes.Equal(got.Bytes(), small) {
		t.Fatalf("a failed put changed the file: %d bytes (%v)", got.Len(), err)
	}
	if err := files.ExportFile(ctx, "no-such-job", io.Discard); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("missing file: %v", err)
	}
}
