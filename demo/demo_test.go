package demo

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
)

var testNow = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func TestGenerateNormalizes(t *testing.T) {
	const n = 600
	batches := Generate(testNow, 42, n)
	var (
		runs, failedRuns, recovered, reruns, sessions, pending, processing, nested int
		first, last                                                                time.Time
		failedSteps                                                                = map[string]bool{}
		agentsSeen                                                                 = map[string]bool{}
	)
	sessionRuns := map[string]int{}
	for bi := range batches {
		b := &batches[bi]
		if len(b.Runs) > BatchSize {
			t.Fatalf("batch %d has %d runs", bi, len(b.Runs))
		}
		if err := b.Normalize(); err != nil {
			t.Fatalf("batch %d: %v", bi, err)
		}
		inBatch := map[string]*agenttrace.Run{}
		for i := range b.Runs {
			r := &b.Runs[i]
			inBatch[r.ID] = r
			runs++
			agentsSeen[r.AgentID] = true
			switch r.Status {
			case agenttrace.StatusFailed:
				failedRuns++
				if r.Error == nil || r.Error.Message == "" {
					t.Errorf("run %s failed without an error", r.ID)
				}
			case agenttrace.StatusPending:
				pending++
			case agenttrace.StatusProcessing:
				processing++
				if r.EndedAt != nil {
					t.Errorf("processing run %s has ended_at", r.ID)
				}
			}
			if r.RerunOf != "" {
				reruns++
				if r.Trigger != "rerun" || r.Status != agenttrace.StatusCompleted {
					t.Errorf("rerun %s: trigger %q status %q", r.ID, r.Trigger, r.Status)
				}
			}
			if r.SessionID != "" {
				sessionRuns[r.SessionID]++
			}
			if r.StartedAt != nil {
				if first.IsZero() || r.StartedAt.Before(first) {
					first = *r.StartedAt
				}
				if r.StartedAt.After(last) {
					last = *r.StartedAt
				}
				if r.StartedAt.After(testNow) {
					t.Errorf("run %s starts after now", r.ID)
				}
			}
		}
		byRun := map[string]map[string]*agenttrace.Step{}
		failedIn := map[string]bool{}
		for i := range b.Steps {
			s := &b.Steps[i]
			r := inBatch[s.RunID]
			if r == nil {
				t.Fatalf("step %s of run %s is not in the run's batch", s.ID, s.RunID)
			}
			if byRun[s.RunID] == nil {
				byRun[s.RunID] = map[string]*agenttrace.Step{}
			}
			if int64(len(byRun[s.RunID])) != s.Seq {
				t.Errorf("run %s step %s: seq %d, want %d", s.RunID, s.ID, s.Seq, len(byRun[s.RunID]))
			}
			byRun[s.RunID][s.ID] = s
			if s.Status == agenttrace.StatusFailed {
				failedSteps[s.Name] = true
				failedIn[s.RunID] = true
				if s.Error == nil {
					t.Errorf("failed step %s/%s without error", s.RunID, s.ID)
				}
			}
			if s.Type == agenttrace.StepLLM && (s.Model == "" || s.Credits != 0) {
				t.Errorf("llm step %s/%s: model %q credits %v", s.RunID, s.ID, s.Model, s.Credits)
			}
			if !json.Valid(s.Input) || s.Output != nil && !json.Valid(s.Output) {
				t.Errorf("step %s/%s: invalid JSON", s.RunID, s.ID)
			}
			if s.StartedAt.Before(*r.StartedAt) || s.EndedAt != nil && r.EndedAt != nil && s.EndedAt.After(*r.EndedAt) {
				t.Errorf("step %s/%s outside its run", s.RunID, s.ID)
			}
			if s.ParentID != "" {
				p := byRun[s.RunID][s.ParentID]
				if p == nil || p.Type != agenttrace.StepAgent {
					t.Fatalf("step %s/%s: parent %q missing or not an agent step", s.RunID, s.ID, s.ParentID)
				}
				if s.StartedAt.Before(*p.StartedAt) || p.EndedAt != nil && s.EndedAt != nil && s.EndedAt.After(*p.EndedAt) {
					t.Errorf("step %s/%s outside its parent", s.RunID, s.ID)
				}
				nested++
			}
		}
		for id := range failedIn {
			if inBatch[id].Status == agenttrace.StatusCompleted {
				recovered++
			}
		}
	}
	for _, c := range sessionRuns {
		if c >= 2 {
			sessions++
		}
	}
	if runs != n {
		t.Errorf("%d runs, want %d", runs, n)
	}
	if len(agentsSeen) != 4 {
		t.Errorf("agents: %v", agentsSeen)
	}
	if rate := float64(failedRuns) / float64(runs); rate < 0.12 || rate > 0.25 {
		t.Errorf("failure rate %.2f", rate)
	}
	if len(failedSteps) < 3 {
		t.Errorf("failures in steps %v, want at least 3 names", failedSteps)
	}
	if span := last.Sub(first); span < 13*24*time.Hour || span > Span {
		t.Errorf("time span %v", span)
	}
	if nested == 0 || recovered == 0 || reruns == 0 || sessions == 0 || pending == 0 || processing < 2 {
		t.Errorf("nested %d recovered %d reruns %d sessions %d pending %d processing %d",
			nested, recovered, reruns, sessions, pending, processing)
	}
	t.Logf("runs %d failed %d recovered %d reruns %d sessions %d nested %d failed steps %v",
		runs, failedRuns, recovered, reruns, sessions, nested, failedSteps)
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(testNow, 7, 250), Generate(testNow, 7, 250)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different data")
	}
	ja, _ := json.Marshal(a)
	jc, _ := json.Marshal(Generate(testNow, 8, 250))
	if string(ja) == string(jc) {
		t.Fatal("different seeds gave the same data")
	}
}

func TestGenerateSearchable(t *testing.T) {
	j, _ := json.Marshal(Generate(testNow, 1, 400))
	s := strings.ToLower(string(j))
	for _, w := range []string{"refund", "rate limit", "timeout", "syntax error", "invalid json", "timed out after 30s"} {
		if !strings.Contains(s, w) {
			t.Errorf("no %q in the data", w)
		}
	}
}

func TestGenerateSmall(t *testing.T) {
	for _, n := range []int{0, 1, 3, 19, 20, 101} {
		got := 0
		for _, b := range Generate(testNow, 3, n) {
			if err := b.Normalize(); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			got += len(b.Runs)
		}
		if got != n {
			t.Errorf("Generate(%d) made %d runs", n, got)
		}
	}
}
