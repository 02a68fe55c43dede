package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
)

func init() {
	extraTests = append(extraTests, namedTest{"ConcurrentBatchesOppositeOrder", testConcurrentOppositeOrder})
}

// testConcurrentOppositeOrder ingests, from several goroutines at once,
// batches that touch the same runs in opposite orders (runs, steps, and the
// runs' totals). On a database with row locks this is the classic deadlock;
// every batch must still be written, and every total be right.
func testConcurrentOppositeOrder(t *testing.T, st store.Store) {
	ctx := context.Background()
	const runs, rounds, workers = 12, 8, 4
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	batch := func(worker, round int) *agenttrace.Batch {
		b := &agenttrace.Batch{}
		for i := range runs {
			r := i
			if worker%2 == 1 {
				r = runs - 1 - i // the opposite order
			}
			id := fmt.Sprintf("race-%02d", r)
			at := start.Add(time.Duration(r) * time.Minute)
			b.Runs = append(b.Runs, agenttrace.Run{ID: id, AgentID: "racer", Status: agenttrace.StatusCompleted, StartedAt: &at})
			st := agenttrace.Step{ID: fmt.Sprintf("w%d", worker), RunID: id, Name: "work", Type: agenttrace.StepTool,
				Status: agenttrace.StatusCompleted, Credits: float64(worker + 1), StartedAt: &at}
			st.SetSeq(int64(worker))
			b.Steps = append(b.Steps, st)
		}
		if err := b.Normalize(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range rounds {
				if _, err := st.Ingest(ctx, "acme", batch(w, round)); err != nil {
					errs <- fmt.Errorf("worker %d round %d: %w", w, round, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range runs {
		r, err := st.GetRun(ctx, "acme", fmt.Sprintf("race-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(r.Steps))
		for k, s := range r.Steps {
			ids[k] = s.ID
		}
		// one step per worker; credits 1+2+3+4
		if r.StepCount != workers || !slices.Equal(ids, []string{"w0", "w1", "w2", "w3"}) || r.Credits != 10 {
			t.Fatalf("run %s: %d steps %v, credits %v", r.ID, r.StepCount, ids, r.Credits)
		}
	}
}
