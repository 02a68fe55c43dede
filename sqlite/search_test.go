package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/sqlstore"
	"github.com/agenttrace/agenttrace/store"
)

func openAt(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	st, err := OpenFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// ingestText stores run id with a step whose output is text.
func ingestText(st *sqlstore.Store, runID, text string) error {
	b := agenttrace.Batch{
		Runs:  []agenttrace.Run{{ID: runID, AgentID: "a", Status: agenttrace.StatusCompleted, Input: []byte(`"question"`)}},
		Steps: []agenttrace.Step{{ID: "s", RunID: runID, Name: "answer", Type: agenttrace.StepLLM, Status: agenttrace.StatusCompleted, Output: []byte(`"` + text + `"`)}},
	}
	return ingest(st, b)
}

func ingest(st *sqlstore.Store, b agenttrace.Batch) error {
	if err := b.Normalize(); err != nil {
		return err
	}
	_, err := st.Ingest(context.Background(), agenttrace.DefaultAccountID, &b)
	return err
}

// storedThenCopied opens a store at dir/agenttrace.db, stores run id with
// word, closes it and copies file (a path in dir) to dir/backup.
func storedThenCopied(t *testing.T, dir, id, word, file string) (path, backup string) {
	t.Helper()
	path, backup = filepath.Join(dir, FileName), filepath.Join(dir, "backup")
	st := openAt(t, path)
	if err := ingestText(st, id, word); err != nil {
		t.Fatal(err)
	}
	st.Close()
	copyFile(t, filepath.Join(dir, file), backup)
	return path, backup
}

// searchRuns answers the ids of the runs whose text contains word.
func searchRuns(t *testing.T, st *sqlstore.Store, word string) []string {
	t.Helper()
	q, err := query.Parse(`"` + word + `"`)
	if err != nil {
		t.Fatal(err)
	}
	page, err := st.ListRuns(context.Background(), agenttrace.DefaultAccountID, store.ListOptions{Query: q, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range page.Runs {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}

func pendingRows(t *testing.T, st *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT COUNT(*) FROM search_pending`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSearchCatchesUpAfterFailedIndexing: a batch whose text could not be
// indexed is stored, its ingest says so, and the next open indexes it.
func TestSearchCatchesUpAfterFailedIndexing(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	st := openAt(t, path)
	if err := ingestText(st, "before", "aardvark"); err != nil {
		t.Fatal(err)
	}
	diskFull := errors.New("disk full")
	st.Dialect().(dialect).ix.failWith.Store(&diskFull)
	err := ingestText(st, "lost", "zebra")
	if agenttrace.ErrorCode(err) != agenttrace.EUNAVAILABLE || !strings.Contains(err.Error(), "not yet indexed") {
		t.Fatalf("ingest while indexing fails: %v", err)
	}
	if _, err := st.GetRun(context.Background(), agenttrace.DefaultAccountID, "lost"); err != nil {
		t.Fatalf("the run is not stored: %v", err)
	}
	if got := searchRuns(t, st, "zebra"); len(got) != 0 {
		t.Fatalf("found %v before it was indexed", got)
	}
	st.Dialect().(dialect).ix.failWith.Store(nil)
	// Later batches are indexed, but the failed one is not forgotten.
	if err := ingestText(st, "after", "yak"); err != nil {
		t.Fatal(err)
	}
	if got := searchRuns(t, st, "yak"); fmt.Sprint(got) != "[after]" {
		t.Fatalf("yak: %v", got)
	}
	st.Close()

	st = openAt(t, path)
	defer st.Close()
	for word, want := range map[string]string{"zebra": "[lost]", "aardvark": "[before]", "yak": "[after]", "question": "[after before lost]"} {
		if got := searchRuns(t, st, word); fmt.Sprint(got) != want {
			t.Errorf("after reopening, %q finds %v, want %s", word, got, want)
		}
	}
	if n := pendingRows(t, st); n != 0 {
		t.Errorf("%d search_pending rows left after catching up", n)
	}
}

// TestSearchFileRebuilt: without its search file (deleted, or a database
// from before it existed) the store builds the index from the main file.
func TestSearchFileRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	st := openAt(t, path)
	for i := range 450 { // more than one statement's worth of rows
		if err := ingestText(st, fmt.Sprintf("run-%03d", i), fmt.Sprintf("word%d shared", i)); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + SearchSuffix + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	st = openAt(t, path)
	defer st.Close()
	if got := searchRuns(t, st, "word449"); fmt.Sprint(got) != "[run-449]" {
		t.Fatalf("word449: %v", got)
	}
	if got := searchRuns(t, st, "question"); len(got) != 100 { // the page limit
		t.Fatalf("question: %d runs", len(got))
	}
	n, err := st.CountRuns(context.Background(), agenttrace.DefaultAccountID, mustParse(t, `"shared"`))
	if err != nil || n != 450 {
		t.Fatalf("shared: %d runs (%v), want 450", n, err)
	}
}

// TestSearchFileOfAnOlderFormatRebuilt: a search file written before the
// text of JSON escapes was decoded (user_version 0) is built again when
// the store opens, and a current one is not.
func TestSearchFileOfAnOlderFormatRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	st := openAt(t, path)
	if err := ingestText(st, "r", `first line\nsecond line`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// what an older build indexed: the raw JSON, "nsecond" for "second"
	search, err := sql.Open("sqlite", path+SearchSuffix)
	if err != nil {
		t.Fatal(err)
	}
	defer search.Close()
	damage := func(version int) {
		t.Helper()
		for _, q := range []string{
			`INSERT INTO steps_fts (steps_fts) VALUES ('delete-all')`,
			`INSERT INTO steps_fts (rowid, body) SELECT 1, 'first line\nsecond line'`,
			`PRAGMA user_version = ` + strconv.Itoa(version),
		} {
			if _, err := search.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		version int
		second  string
	}{{searchFormat, "[]"}, {0, "[r]"}} {
		damage(c.version)
		st = openAt(t, path)
		if got := searchRuns(t, st, "second"); fmt.Sprint(got) != c.second {
			t.Errorf("format %d: second found in %v, want %s", c.version, got, c.second)
		}
		if got := searchRuns(t, st, "nsecond"); fmt.Sprint(got) != map[bool]string{true: "[r]", false: "[]"}[c.version == searchFormat] {
			t.Errorf("format %d: nsecond found in %v", c.version, got)
		}
		st.Close()
	}
}

func mustParse(t *testing.T, q string) *query.Query {
	t.Helper()
	p, err := query.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSearchFollowsCommitOrder: concurrent batches rewriting the same step
// are indexed in the order they committed, so the index ends up with the
// text the row ends up with.
func TestSearchFollowsCommitOrder(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), FileName))
	defer st.Close()
	words := []string{"kiwi", "mango", "papaya", "quince", "guava", "lychee", "durian", "feijoa"}
	for round := range 5 {
		var wg sync.WaitGroup
		for _, w := range words {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := ingestText(st, "same", w); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		steps, err := st.ListSteps(context.Background(), agenttrace.DefaultAccountID, "same")
		if err != nil || len(steps) != 1 {
			t.Fatalf("steps: %v %v", steps, err)
		}
		stored := strings.Trim(string(steps[0].Output), `"`)
		for _, w := range words {
			got := searchRuns(t, st, w)
			if (w == stored) != (len(got) == 1) {
				t.Fatalf("round %d: the step's output is %q, and %q finds %v", round, stored, w, got)
			}
		}
	}
}

// copyFile copies a closed database file (its WAL is checkpointed on close).
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(to + suffix)
	}
}

// TestSearchFileMatchesRestoredCopies: restoring either file from an older
// copy must not leave the index naming the wrong rows or missing some.
func TestSearchFileMatchesRestoredCopies(t *testing.T) {
	t.Run("older main file", func(t *testing.T) {
		path, backup := storedThenCopied(t, t.TempDir(), "kept", "apple", FileName)
		st := openAt(t, path)
		lost := agenttrace.Batch{Runs: []agenttrace.Run{{ID: "lost", AgentID: "a", Status: agenttrace.StatusCompleted, Input: []byte(`"zebra"`)}}}
		if err := ingest(st, lost); err != nil {
			t.Fatal(err)
		}
		st.Close()
		copyFile(t, backup, path) // the search file still indexes "lost"
		st = openAt(t, path)
		defer st.Close()
		// A step before its run: the run's row, with the rowid "lost" had,
		// is created without text of its own to index.
		fresh := agenttrace.Batch{Steps: []agenttrace.Step{{ID: "s", RunID: "fresh", Name: "n", Type: agenttrace.StepTool, Status: agenttrace.StatusCompleted, Output: []byte(`"grape"`)}}}
		if err := ingest(st, fresh); err != nil {
			t.Fatal(err)
		}
		for word, want := range map[string]string{"zebra": "[]", "grape": "[fresh]", "apple": "[kept]"} {
			if got := searchRuns(t, st, word); fmt.Sprint(got) != want {
				t.Errorf("%q finds %v, want %s", word, got, want)
			}
		}
	})
	t.Run("older search file", func(t *testing.T) {
		path, backup := storedThenCopied(t, t.TempDir(), "first", "apple", FileName+SearchSuffix)
		st := openAt(t, path)
		for i := range 3 { // later batches delete the pending rows indexed before them
			if err := ingestText(st, fmt.Sprintf("later-%d", i), "zebra"); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
		copyFile(t, backup, path+SearchSuffix)
		st = openAt(t, path)
		defer st.Close()
		if got := searchRuns(t, st, "zebra"); fmt.Sprint(got) != "[later-0 later-1 later-2]" {
			t.Errorf("zebra finds %v", got)
		}
		if got := searchRuns(t, st, "apple"); fmt.Sprint(got) != "[first]" {
			t.Errorf("apple finds %v", got)
		}
	})
}

// TestSearchAutomerge: the search file's FTS5 tables merge 16 segments at a
// time, in new files and in files made before the setting (FTS5's default,
// 4, is set here to stand for them).
func TestSearchAutomerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	automerge := func() (runs, steps int) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+path+SearchSuffix)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for table, v := range map[string]*int{"runs_fts": &runs, "steps_fts": &steps} {
			if err := db.QueryRow(`SELECT v FROM ` + table + `_config WHERE k = 'automerge'`).Scan(v); err != nil {
				t.Fatalf("%s automerge: %v", table, err)
			}
		}
		return runs, steps
	}
	openAt(t, path).Close()
	if runs, steps := automerge(); runs != 16 || steps != 16 {
		t.Fatalf("new file: automerge %d (runs), %d (steps), want 16", runs, steps)
	}
	db, err := sql.Open("sqlite", "file:"+path+SearchSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO runs_fts (runs_fts, rank) VALUES ('automerge', 4); INSERT INTO steps_fts (steps_fts, rank) VALUES ('automerge', 4)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	openAt(t, path).Close()
	if runs, steps := automerge(); runs != 16 || steps != 16 {
		t.Fatalf("older file: automerge %d (runs), %d (steps), want 16", runs, steps)
	}
}
