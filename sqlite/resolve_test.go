package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/sqlstore"
	"github.com/agenttrace/agenttrace/store"
	"github.com/agenttrace/agenttrace/store/sqlfilter"
)

// resolveData stores 40 runs in the default account, with words in their
// inputs and in their steps' outputs, and 5 runs holding every word in
// account "other". It answers, per word, the ids of the default account's
// runs that hold it.
func resolveData(t *testing.T, st *sqlstore.Store) map[string][]string {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateAccount(ctx, agenttrace.Account{ID: "other", Name: "other"}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var b agenttrace.Batch
	for i := range 40 {
		id := fmt.Sprintf("r%02d", i)
		input, output := "question", "answer"
		if i%5 == 0 {
			input += " zebra" // in the run itself
			want["zebra"] = append(want["zebra"], id)
		}
		if i%4 == 0 {
			output += " orbit zebra" // in a step only
			want["orbit"] = append(want["orbit"], id)
			if i%5 != 0 {
				want["zebra"] = append(want["zebra"], id)
			}
		}
		if i%7 == 0 {
			output += " quick fox"
			want["quick fox"] = append(want["quick fox"], id)
		}
		at := start.Add(time.Duration(i) * time.Minute)
		end := at.Add(time.Second)
		r := agenttrace.Run{ID: id, AgentID: []string{"a", "b"}[i%2], Status: agenttrace.StatusCompleted, StartedAt: &at, EndedAt: &end,
			Input: []byte(`"` + input + `"`)}
		if i%3 == 0 {
			r.Status = agenttrace.StatusFailed
		}
		b.Runs = append(b.Runs, r)
		s := agenttrace.Step{ID: "s", RunID: id, Name: "answer", Type: agenttrace.StepLLM, Status: agenttrace.StatusCompleted, Output: []byte(`"` + output + `"`)}
		b.Steps = append(b.Steps, s)
	}
	// a long run whose 30 steps all hold "needle"
	at := start.Add(time.Hour)
	b.Runs = append(b.Runs, agenttrace.Run{ID: "rlong", AgentID: "a", Status: agenttrace.StatusCompleted, StartedAt: &at, Input: []byte(`"question"`)})
	for i := range 30 {
		s := agenttrace.Step{ID: fmt.Sprint(i), RunID: "rlong", Name: "lookup", Type: agenttrace.StepTool, Status: agenttrace.StatusCompleted, Output: []byte(`"needle answer"`)}
		s.SetSeq(int64(i))
		b.Steps = append(b.Steps, s)
	}
	want["needle"] = []string{"rlong"}
	if err := ingest(st, b); err != nil {
		t.Fatal(err)
	}
	other := agenttrace.Batch{}
	for i := range 5 {
		id := fmt.Sprintf("o%02d", i)
		other.Runs = append(other.Runs, agenttrace.Run{ID: id, AgentID: "a", Status: agenttrace.StatusFailed, Input: []byte(`"zebra quick fox"`)})
		other.Steps = append(other.Steps, agenttrace.Step{ID: "s", RunID: id, Name: "answer", Type: agenttrace.StepLLM, Status: agenttrace.StatusCompleted, Output: []byte(`"orbit zebra"`)})
	}
	if err := other.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, "other", &other); err != nil {
		t.Fatal(err)
	}
	return want
}

// listAll answers the ids of the runs q matches, newest first, read in pages
// of 7 by cursor, and their count.
func listAll(t *testing.T, st *sqlstore.Store, q string) ([]string, int64) {
	t.Helper()
	ctx := context.Background()
	parsed, err := query.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	cursor := ""
	for {
		page, err := st.ListRuns(ctx, agenttrace.DefaultAccountID, store.ListOptions{Query: parsed, Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for _, r := range page.Runs {
			ids = append(ids, r.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	n, err := st.CountRuns(ctx, agenttrace.DefaultAccountID, parsed)
	if err != nil {
		t.Fatal(err)
	}
	return ids, n
}

// TestRareTextsFindWhatTheQueryFinds: a text the store compiles into its
// list of runs (rare), or asks FTS5 about each run (dense), finds the same
// runs, pages and counts as the query's own full-text condition
// (rareMatches below zero: nothing is rare), in
// runs and in steps, as phrases, negated, with other terms, matching
// nothing, and never another account's runs.
func TestRareTextsFindWhatTheQueryFinds(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), FileName))
	defer st.Close()
	want := resolveData(t, st)
	defer func(n int, share float64) { rareMatches, denseShare = n, share }(rareMatches, denseShare)

	// the words are rare at the default threshold; at 6, zebra (13 entries
	// in runs_fts) is not, quick fox (5 in runs_fts, 6 in steps_fts) is
	d, err := dialect{}.ResolveTexts(context.Background(), st.ReadDB(), []string{"zebra", "quick fox", "nothinghere"}, true)
	if err != nil {
		t.Fatal(err)
	}
	runs := d.(sqlfilter.SQLite).Runs
	// zebra: 8 + 10 runs of the default account, 5 of "other"
	nothing, resolved := runs["nothinghere"]
	if len(runs["zebra"]) != len(want["zebra"])+5 || len(runs["quick fox"]) != len(want["quick fox"])+5 || !resolved || len(nothing) != 0 {
		t.Fatalf("resolved: %v", runs)
	}
	rareMatches = 6
	d, err = dialect{}.ResolveTexts(context.Background(), st.ReadDB(), []string{"zebra", "quick fox"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if runs := d.(sqlfilter.SQLite).Runs; runs["zebra"] != nil || len(runs["quick fox"]) != len(want["quick fox"])+5 {
		t.Fatalf("at 6: zebra resolved or quick fox not: %v", runs)
	}

	// at 2, "quick fox" is not rare: the first 3 entries of runs_fts it
	// matches are the other account's runs 41-43, a share of 1; a single
	// word is never dense
	rareMatches = 2
	for _, c := range []struct {
		share float64
		dense bool
	}{{1.01, false}, {0.9, true}} {
		denseShare = c.share
		d, err = dialect{}.ResolveTexts(context.Background(), st.ReadDB(), []string{"quick fox", "zebra"}, true)
		if err != nil {
			t.Fatal(err)
		}
		if dense := d.(sqlfilter.SQLite).Dense; dense["quick fox"] != c.dense || dense["zebra"] || d.(sqlfilter.SQLite).Runs != nil {
			t.Fatalf("share %v: dense %v, runs %v", c.share, dense, d.(sqlfilter.SQLite).Runs)
		}
	}
	denseShare = 0.25
	// at 19, needle (30 steps) and answer (70) are not rare; the first 20
	// steps of needle are all of one run, so its steps are collected
	rareMatches = 19
	d, err = dialect{}.ResolveTexts(context.Background(), st.ReadDB(), []string{"needle", "answer"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if runs := d.(sqlfilter.SQLite).Runs; len(runs["needle"]) != 1 || runs["answer"] != nil {
		t.Fatalf("concentrated: %v", runs)
	}

	newestFirst := func(ids []string) []string {
		out := slices.Clone(ids)
		slices.Reverse(out)
		return out
	}
	queries := []string{`needle`, `needle answer`, `-needle`, `zebra`, `orbit`, `"quick fox"`, `"fox quick"`, `nothinghere`, `-zebra`, `-nothinghere`,
		`zebra agent:b`, `zebra status:failed`, `zebra "quick fox"`, `zebra -orbit`, `"orbit zebra" agent:a`}
	for _, q := range queries {
		rareMatches = 2000
		rare, rareN := listAll(t, st, q)
		rareMatches = -1
		common, commonN := listAll(t, st, q)
		rareMatches, denseShare = 0, 0 // every phrase that matches is dense
		dense, denseN := listAll(t, st, q)
		rareMatches, denseShare = 19, 0.25 // needle's steps are collected
		mid, midN := listAll(t, st, q)
		if !slices.Equal(rare, common) || rareN != commonN || rareN != int64(len(rare)) || !slices.Equal(dense, common) || denseN != commonN ||
			!slices.Equal(mid, common) || midN != commonN {
			t.Errorf("%s: rare %v (%d), common %v (%d), dense %v (%d), 19 %v (%d)", q, rare, rareN, common, commonN, dense, denseN, mid, midN)
		}
		for _, id := range rare {
			if id[0] != 'r' {
				t.Errorf("%s: another account's run %s", q, id)
			}
		}
		if w, ok := map[string][]string{"needle": want["needle"], "zebra": want["zebra"], "orbit": want["orbit"], `"quick fox"`: want["quick fox"], "nothinghere": nil, `"fox quick"`: nil}[q]; ok {
			slices.Sort(w)
			if !slices.Equal(rare, newestFirst(w)) {
				t.Errorf("%s: %v, want %v", q, rare, newestFirst(w))
			}
		}
	}
}
