package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
)

func init() {
	extraTests = append(extraTests, namedTest{"Jobs", testJobs}, namedTest{"JobsClaimedOnce", testJobsClaimedOnce})
}

func testJobs(t *testing.T, st store.Store) {
	ctx := context.Background()
	j := agenttrace.Job{ID: "j1", AccountID: "acme", Kind: "export", Params: []byte(`{"format":"jsonl"}`)}
	if err := st.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetJob(ctx, "globex", "j1"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("globex reads acme's job: %v", err)
	}
	if _, ok, _ := st.ClaimJob(ctx, []string{"evaluation"}, "w1", time.Minute); ok {
		t.Fatal("claimed a job of another kind")
	}
	got, ok, err := st.ClaimJob(ctx, []string{"export"}, "w1", time.Minute)
	if err != nil || !ok || got.ID != "j1" || got.Status != agenttrace.JobRunning || got.Attempts != 1 || string(got.Params) != `{"format":"jsonl"}` {
		t.Fatalf("claim: %+v %v %v", got, ok, err)
	}
	if _, ok, _ := st.ClaimJob(ctx, []string{"export"}, "w2", time.Minute); ok {
		t.Fatal("a leased job was claimed twice")
	}
	if canceled, err := st.UpdateJob(ctx, "j1", "w1", 5, 10, time.Minute); err != nil || canceled {
		t.Fatalf("update: %v %v", canceled, err)
	}
	if _, err := st.UpdateJob(ctx, "j1", "w2", 5, 10, time.Minute); agenttrace.ErrorCode(err) != agenttrace.ECONFLICT {
		t.Fatalf("another worker updated the job: %v", err)
	}
	if _, err := st.CancelJob(ctx, "acme", "j1"); err != nil {
		t.Fatal(err)
	}
	if canceled, _ := st.UpdateJob(ctx, "j1", "w1", 6, 10, time.Minute); !canceled {
		t.Fatal("cancel not seen by the worker")
	}
	if err := st.FinishJob(ctx, "j1", "w1", agenttrace.JobCanceled, nil, "canceled"); err != nil {
		t.Fatal(err)
	}
	done, _ := st.GetJob(ctx, "acme", "j1")
	if done.Status != agenttrace.JobCanceled || done.Progress != 6 || done.FinishedAt == nil {
		t.Fatalf("finished job: %+v", done)
	}
	// An expired lease lets another worker take the job up again.
	if err := st.CreateJob(ctx, agenttrace.Job{ID: "j2", AccountID: "acme", Kind: "export"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.ClaimJob(ctx, []string{"export"}, "dead", time.Nanosecond); !ok {
		t.Fatal("claim j2")
	}
	time.Sleep(2 * time.Millisecond)
	again, ok, _ := st.ClaimJob(ctx, []string{"export"}, "w3", time.Minute)
	if !ok || again.ID != "j2" || again.Attempts != 2 {
		t.Fatalf("expired lease not reclaimed: %+v %v", again, ok)
	}
	if err := st.FinishJob(ctx, "j2", "dead", agenttrace.JobCompleted, nil, ""); agenttrace.ErrorCode(err) != agenttrace.ECONFLICT {
		t.Fatalf("the dead worker finished a job it lost: %v", err)
	}
	if err := st.FinishJob(ctx, "j2", "w3", agenttrace.JobCompleted, []byte(`{"bytes":3}`), ""); err != nil {
		t.Fatal(err)
	}
	list, _ := st.ListJobs(ctx, "acme", "export", 10)
	if len(list) != 2 || list[0].ID != "j2" || string(list[0].Result) != `{"bytes":3}` {
		t.Fatalf("list jobs: %+v", list)
	}
	// A queued job cancels at once.
	_ = st.CreateJob(ctx, agenttrace.Job{ID: "j3", AccountID: "acme", Kind: "export"})
	if c, _ := st.CancelJob(ctx, "acme", "j3"); c.Status != agenttrace.JobCanceled {
		t.Fatalf("queued cancel: %+v", c)
	}
}

func testJobsClaimedOnce(t *testing.T, st store.Store) {
	ctx := context.Background()
	const n = 20
	for i := range n {
		if err := st.CreateJob(ctx, agenttrace.Job{ID: agenttrace.NewID("j"), AccountID: "acme", Kind: "k"}); err != nil {
			t.Fatal(err)
		}
		_ = i
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, ok, err := st.ClaimJob(ctx, []string{"k"}, string(rune('a'+w)), time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				seen[j.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct jobs, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("job %s claimed %d times", id, c)
		}
	}
}
