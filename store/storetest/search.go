package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// The stores look the full-text terms of a query up before it runs and pick
// a form of the condition by what they find (sqlite/resolve.go,
// postgres/resolve.go); their tests check on this fixture that every form
// finds the same runs.

// TextFixture stores 40 runs in the default account, with words in their
// inputs and in their steps' outputs, and 5 runs holding every word in
// account "other". It answers, per word, the ids of the default account's
// runs that hold it.
func TextFixture(t *testing.T, st store.Store) map[string][]string {
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
	if err := b.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, agenttrace.DefaultAccountID, &b); err != nil {
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

// ListAllRuns answers the ids of the runs q matches, newest first, read in pages
// of 7 by cursor, and their count.
func ListAllRuns(t *testing.T, st store.Store, q string) ([]string, int64) {
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

func init() {
	extraTests = append(extraTests, namedTest{"SearchReadsJSONEscapes", testSearchReadsJSONEscapes})
}

// testSearchReadsJSONEscapes: words after a JSON escape (\n, \t) and
// letters written as \u escapes are found, in run and step payloads, and
// the escapes' letters glued to the next word ("nsecond") are not.
func testSearchReadsJSONEscapes(t *testing.T, st store.Store) {
	ctx := context.Background()
	b := agenttrace.Batch{
		Runs: []agenttrace.Run{
			{ID: "escaped", AgentID: "a", Status: agenttrace.StatusCompleted, Input: []byte(`{"ticket":"refund\nplease caf\u00e9"}`)},
			{ID: "plain", AgentID: "a", Status: agenttrace.StatusCompleted, Input: []byte(`"nothing to see"`)},
		},
		Steps: []agenttrace.Step{{ID: "s", RunID: "escaped", Name: "answer", Type: agenttrace.StepLLM, Status: agenttrace.StatusCompleted,
			Output: []byte(`{"content":"first line\nsecond line\ttabbed \"quoted\" \ud83d\ude00 smile"}`)}},
	}
	if err := b.Normalize(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ingest(ctx, "acme", &b); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int64{
		"please": 1, "café": 1, "second": 1, "tabbed": 1, `"line second line"`: 1, "quoted": 1, `"smile"`: 1, "refund": 1,
		"nplease": 0, "nsecond": 0, "ttabbed": 0, "u00e9": 0, "ud83d": 0, "nothing": 1,
	} {
		parsed, err := query.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		n, err := st.CountRuns(ctx, "acme", parsed)
		if err != nil || n != want {
			t.Errorf("%s: %d runs (%v), want %d", q, n, err, want)
		}
	}
}

func init() {
	extraTests = append(extraTests, namedTest{"CraftedCursorsRefused", testCraftedCursors})
}

// testCraftedCursors: a cursor the server did not give out, holding an id
// no run can have (a NUL, invalid UTF-8), is refused as invalid on every
// store (PostgreSQL failed the query with it: a 500).
func testCraftedCursors(t *testing.T, st store.Store) {
	ctx := context.Background()
	// (JSON decoding already turns invalid UTF-8 into U+FFFD)
	for _, raw := range []string{`{"s":"time","id":"a\u0000b"}`, `{"s":"duration","n":1,"id":"\u0000"}`} {
		_, err := st.ListRuns(ctx, "acme", store.ListOptions{Cursor: base64.RawURLEncoding.EncodeToString([]byte(raw))})
		if agenttrace.ErrorCode(err) != agenttrace.EINVALID {
			t.Errorf("runs cursor %q: %v", raw, err)
		}
	}
	for _, raw := range []string{"1:a\x00b", "1:a\xffb"} {
		_, err := evalsOf(t, st).ListEvalResults(ctx, "acme", store.EvalResultFilter{Cursor: base64.RawURLEncoding.EncodeToString([]byte(raw))})
		if agenttrace.ErrorCode(err) != agenttrace.EINVALID {
			t.Errorf("eval cursor %q: %v", raw, err)
		}
	}
}
