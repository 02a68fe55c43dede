package postgres_test

import (
	"context"
	"crypto/md5"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/postgres"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/sqlstore"
	"github.com/agenttrace/agenttrace/store/storetest"
)

// TestRareTextsFindWhatTheQueryFinds: a text the store compiles into the
// ids of its runs (rare) finds the same runs, pages and counts as the
// query's own full-text condition (RareMatches below zero: nothing is
// rare), in runs and in steps, as phrases, negated, with other terms,
// matching nothing, and never another account's runs.
func TestRareTextsFindWhatTheQueryFinds(t *testing.T) {
	t.Parallel()
	dsn, _ := freshSchema(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	want := storetest.TextFixture(t, st)
	rare, concentrated := *postgres.RareMatches, *postgres.ConcentratedMatches
	defer func() { *postgres.RareMatches, *postgres.ConcentratedMatches = rare, concentrated }()
	resolved := func(texts ...string) map[string][]string {
		t.Helper()
		d, err := postgres.Dialect{}.ResolveTexts(ctx, st.ReadDB(), agenttrace.DefaultAccountID, texts, true)
		if err != nil {
			t.Fatal(err)
		}
		return d.(postgres.Filter).Runs
	}
	sorted := func(ids []string) []string {
		ids = slices.Clone(ids)
		slices.Sort(ids)
		return ids
	}

	// at the default threshold each is rare: exactly the default account's
	// runs (the account "other" holds every word too)
	runs := resolved("zebra", "quick fox", "nothinghere")
	nothing, ok := runs["nothinghere"]
	if !slices.Equal(runs["zebra"], sorted(want["zebra"])) || !slices.Equal(runs["quick fox"], sorted(want["quick fox"])) || !ok || len(nothing) != 0 {
		t.Fatalf("resolved: %v", runs)
	}
	// at 6, zebra (8 runs, 10 steps) is not rare; quick fox (6 steps) is
	*postgres.RareMatches = 6
	if runs := resolved("zebra", "quick fox"); runs["zebra"] != nil || !slices.Equal(runs["quick fox"], sorted(want["quick fox"])) {
		t.Fatalf("at 6: %v", runs)
	}
	// at 19, needle (30 steps) and answer (70) are not rare; needle's
	// steps are all of one run, so they are collected, unless fewer than
	// 30 may be
	*postgres.RareMatches = 19
	if runs := resolved("needle", "answer"); !slices.Equal(runs["needle"], []string{"rlong"}) || runs["answer"] != nil {
		t.Fatalf("concentrated: %v", runs)
	}
	*postgres.ConcentratedMatches = 29
	if runs := resolved("needle"); runs != nil {
		t.Fatalf("over the concentrated limit: %v", runs)
	}
	*postgres.ConcentratedMatches = concentrated

	queries := []string{`needle`, `needle answer`, `-needle`, `zebra`, `orbit`, `"quick fox"`, `"fox quick"`, `nothinghere`, `-zebra`, `-nothinghere`,
		`zebra agent:b`, `zebra status:failed`, `zebra "quick fox"`, `zebra -orbit`, `"orbit zebra" agent:a`}
	for _, q := range queries {
		*postgres.RareMatches = 2000
		rare, rareN := storetest.ListAllRuns(t, st, q)
		*postgres.RareMatches = -1
		common, commonN := storetest.ListAllRuns(t, st, q)
		*postgres.RareMatches = 19 // needle's steps are collected
		mid, midN := storetest.ListAllRuns(t, st, q)
		if !slices.Equal(rare, common) || rareN != commonN || rareN != int64(len(rare)) || !slices.Equal(mid, common) || midN != commonN {
			t.Errorf("%s: rare %v (%d), common %v (%d), 19 %v (%d)", q, rare, rareN, common, commonN, mid, midN)
		}
		for _, id := range common {
			if id[0] != 'r' {
				t.Errorf("%s: another account's run %s", q, id)
			}
		}
		if w, ok := map[string][]string{"needle": want["needle"], "zebra": want["zebra"], "orbit": want["orbit"], `"quick fox"`: want["quick fox"], "nothinghere": nil, `"fox quick"`: nil}[q]; ok {
			w = slices.Clone(w)
			slices.Sort(w)
			slices.Reverse(w) // newest first: the fixture's ids grow with time
			if !slices.Equal(common, w) {
				t.Errorf("%s: %v, want %v", q, common, w)
			}
		}
	}
}

// TestTsvectorMigration: a database written before the search tsvector
// (migrations up to 0007) finds the text of its runs and steps after the
// store opens it and converts it, with JSON escapes decoded, as the store
// does for new rows (text that is not JSON is taken as it is).
func TestTsvectorMigration(t *testing.T) {
	t.Parallel()
	dsn, _ := freshSchema(t)
	ctx := context.Background()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := fstest.MapFS{}
	for i := 1; i <= 7; i++ {
		names, _ := fs.Glob(os.DirFS("migrations"), fmt.Sprintf("%04d_*.sql", i))
		if len(names) != 1 {
			t.Fatalf("migration %d: %v", i, names)
		}
		body, err := os.ReadFile(filepath.Join("migrations", names[0]))
		if err != nil {
			t.Fatal(err)
		}
		before["migrations/"+names[0]] = &fstest.MapFile{Data: body}
	}
	if err := sqlstore.Migrate(ctx, db, before, "migrations", postgres.Dialect{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (id, name, created_at) VALUES ('default', 'Default', 0)`,
		`INSERT INTO runs (account_id, id, agent_id, status, sort_time, input, reported_error_message) VALUES
			('default', 'r1', 'a', 'completed', 1, '"refund for order 42"', NULL),
			('default', 'r2', 'a', 'failed', 2, '{"q":"caf\u00e9 question","n":7}', 'budget exceeded'),
			('default', 'r3', 'a', 'completed', 3, 'not json\nat all', NULL)`,
		`INSERT INTO steps (account_id, run_id, id, seq, type, status, output, error_message) VALUES
			('default', 'r2', 's', 0, 'tool', 'failed', '{"log":"get_order\ntimed out \"twice\""}', 'upstream 504')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for q, want := range map[string][]string{`"order 42"`: {"r1"}, `"timed out"`: {"r2"}, `-refund`: {"r3", "r2"}, `"42 order"`: nil,
		`café`: {"r2"}, `twice`: {"r2"}, `"upstream 504"`: {"r2"}, `budget`: {"r2"}, `ntimed`: nil, `u00e9`: nil, `"nat all"`: {"r3"}} {
		if got, n := storetest.ListAllRuns(t, st, q); !slices.Equal(got, want) || n != int64(len(want)) {
			t.Errorf("%s: %v (%d), want %v", q, got, n, want)
		}
	}
}

// TestTextOverATsvectorIsIndexedInPart: a run input and a step output of
// ~1 MB of distinct words each (within the 1 MiB a payload may take, over
// the 1 MB a tsvector holds) are stored, and the start of each is found.
func TestTextOverATsvectorIsIndexedInPart(t *testing.T) {
	t.Parallel()
	st := MustOpen(t)
	words := func(prefix string) (text, first, last string) {
		var sb strings.Builder
		for i := 0; sb.Len() < 1_000_000; i++ {
			last = fmt.Sprintf("%s%x", prefix, md5.Sum([]byte(strconv.Itoa(i))))
			if i == 0 {
				first = last
			}
			sb.WriteString(last + " ")
		}
		return `"` + sb.String() + `"`, first, last
	}
	input, runFirst, runLast := words("r")
	output, stepFirst, stepLast := words("s")
	b := agenttrace.Batch{Runs: []agenttrace.Run{{ID: "big", AgentID: "a", Status: agenttrace.StatusCompleted, Input: []byte(input)}},
		Steps: []agenttrace.Step{{ID: "s", RunID: "big", Name: "dump", Type: agenttrace.StepTool, Status: agenttrace.StatusCompleted, Output: []byte(output)}}}
	if err := b.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(context.Background(), agenttrace.DefaultAccountID, &b); err != nil {
		t.Fatalf("ingest: %v", err)
	}
	for q, want := range map[string]int64{runFirst: 1, stepFirst: 1, runLast: 0, stepLast: 0} {
		parsed, err := query.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := st.CountRuns(context.Background(), agenttrace.DefaultAccountID, parsed); err != nil || n != want {
			t.Errorf("%s: %d runs (%v), want %d", q, n, err, want)
		}
	}
}
