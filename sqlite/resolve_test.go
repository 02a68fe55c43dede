package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store/sqlfilter"
	"github.com/agenttrace/agenttrace/store/storetest"
)

// TestRareTextsFindWhatTheQueryFinds: a text the store compiles into its
// list of runs (rare), or asks FTS5 about each run (dense), finds the same
// runs, pages and counts as the query's own full-text condition
// (rareMatches below zero: nothing is rare), in
// runs and in steps, as phrases, negated, with other terms, matching
// nothing, and never another account's runs.
func TestRareTextsFindWhatTheQueryFinds(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), FileName))
	defer st.Close()
	want := storetest.TextFixture(t, st)
	defer func(n int, share float64) { rareMatches, denseShare = n, share }(rareMatches, denseShare)

	// the words are rare at the default threshold; at 6, zebra (13 entries
	// in runs_fts) is not, quick fox (5 in runs_fts, 6 in steps_fts) is
	d, err := dialect{}.ResolveTexts(context.Background(), st.ReadDB(), agenttrace.DefaultAccountID, []string{"zebra", "quick fox", "nothinghere"}, true)
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
	d, err = dialect{}.ResolveTexts(context.Background(), st.ReadDB(), agenttrace.DefaultAccountID, []string{"zebra", "quick fox"}, false)
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
		d, err = dialect{}.ResolveTexts(context.Background(), st.ReadDB(), agenttrace.DefaultAccountID, []string{"quick fox", "zebra"}, true)
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
	d, err = dialect{}.ResolveTexts(context.Background(), st.ReadDB(), agenttrace.DefaultAccountID, []string{"needle", "answer"}, true)
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
		rare, rareN := storetest.ListAllRuns(t, st, q)
		rareMatches = -1
		common, commonN := storetest.ListAllRuns(t, st, q)
		rareMatches, denseShare = 0, 0 // every phrase that matches is dense
		dense, denseN := storetest.ListAllRuns(t, st, q)
		rareMatches, denseShare = 19, 0.25 // needle's steps are collected
		mid, midN := storetest.ListAllRuns(t, st, q)
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
