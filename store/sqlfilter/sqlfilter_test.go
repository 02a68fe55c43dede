package sqlfilter

import (
	"database/sql"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/agenttrace/agenttrace/query"
)

var testNow = time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)

type testRun struct {
	account, id, agent, status, trigger string
	input, output, errMsg               any // nil or string
	sortTime                            time.Time
	durationMS, credits                 float64
	steps                               int
	session, rerunOf                    string
	fts                                 string // body of the run's runs_fts row
}

type testStep struct {
	account, run, id, model, output string
	fts                             string
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	t.Cleanup(func() { db.Close() })
	schema, err := os.ReadFile("../../sqlite/migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatal(err)
	}

	d := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	runs := []testRun{
		{account: "acc1", id: "r1", agent: "support-bot", status: "failed", trigger: "api",
			input: `{"q":"hello"}`, errMsg: "rate limit exceeded", sortTime: d("2026-11-10T08:00:00Z"),
			durationMS: 45000, credits: 0.8, steps: 3, session: "s1", fts: `{"q":"hello"} rate limit exceeded`},
		{account: "acc1", id: "r2", agent: "support-bot", status: "completed", trigger: "cron",
			input: `"x"`, output: `"y"`, sortTime: d("2026-11-01T00:00:00Z"),
			durationMS: 1200, credits: 0.2, steps: 1, rerunOf: "r1", fts: `x y`},
		{account: "acc1", id: "r3", agent: "x' OR 1=1 --", status: "processing",
			sortTime: d("2026-10-20T10:00:00Z"), credits: 5, steps: 0},
		{account: "acc1", id: "r4", agent: "my agent", status: "pending", trigger: "api",
			output: `"done"`, sortTime: d("2026-11-14T12:00:00Z"), durationMS: 30000, credits: 5.5, steps: 10,
			session: "s2", fts: `done`},
		// Another account, with colliding ids and matching everything.
		{account: "acc2", id: "r1", agent: "support-bot", status: "failed", trigger: "api",
			input: `"hello"`, output: `"y"`, errMsg: "rate limit", sortTime: d("2026-11-12T00:00:00Z"),
			durationMS: 99000, credits: 100, steps: 50, session: "s1", rerunOf: "r2", fts: `hello rate limit`},
		{account: "acc2", id: "r9", agent: "my agent", status: "completed", sortTime: d("2026-11-12T00:00:00Z"),
			credits: 0.1, fts: `sunny weather`},
	}
	for _, r := range runs {
		res, err := db.Exec(`INSERT INTO runs (account_id, id, agent_id, status, trigger, input, output,
			error_message, sort_time, duration_ms, credits, step_count, session_id, rerun_of)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.account, r.id, r.agent, r.status, r.trigger, r.input, r.output, r.errMsg,
			r.sortTime.UnixNano(), r.durationMS, r.credits, r.steps, r.session, r.rerunOf)
		if err != nil {
			t.Fatal(err)
		}
		if r.fts != "" {
			rowid, _ := res.LastInsertId()
			if _, err := db.Exec(`INSERT INTO runs_fts (rowid, body) VALUES (?, ?)`, rowid, r.fts); err != nil {
				t.Fatal(err)
			}
		}
	}
	steps := []testStep{
		{account: "acc1", run: "r1", id: "s1", model: "gpt-4o-mini", output: `"thinking"`, fts: "thinking"},
		{account: "acc1", run: "r2", id: "s1", model: "gpt-4o", output: `"the weather is sunny"`, fts: "the weather is sunny"},
		{account: "acc1", run: "r2", id: "s2", model: "", output: `"ok"`, fts: "ok"},
		{account: "acc1", run: "r4", id: "s1", model: "claude", output: `"he said ""quote"" twice"`, fts: `he said "quote" twice`},
		{account: "acc2", run: "r1", id: "s1", model: "gpt-4o", output: `"sunny"`, fts: "sunny thinking"},
	}
	for i, s := range steps {
		res, err := db.Exec(`INSERT INTO steps (account_id, run_id, id, seq, type, status, output, model)
			VALUES (?, ?, ?, ?, 'llm', 'completed', ?, ?)`, s.account, s.run, s.id, i, s.output, s.model)
		if err != nil {
			t.Fatal(err)
		}
		rowid, _ := res.LastInsertId()
		if _, err := db.Exec(`INSERT INTO steps_fts (rowid, body) VALUES (?, ?)`, rowid, s.fts); err != nil {
			t.Fatal(err)
		}
	}
	tags := [][3]string{{"acc1", "r1", "prod"}, {"acc1", "r4", "prod"}, {"acc1", "r4", "staging"}, {"acc2", "r1", "prod"}, {"acc2", "r9", "staging"}}
	for _, tg := range tags {
		if _, err := db.Exec(`INSERT INTO run_tags (account_id, run_id, tag) VALUES (?, ?, ?)`, tg[0], tg[1], tg[2]); err != nil {
			t.Fatal(err)
		}
	}
	evals := []struct {
		id, account, run, name, verdict string
		current                         int
	}{
		{"e1", "acc1", "r1", "helpful", "fail", 1},
		{"e2", "acc1", "r2", "helpful", "pass", 1},
		{"e3", "acc1", "r3", "helpful", "fail", 0}, // superseded by e4
		{"e4", "acc1", "r3", "helpful", "pass", 1},
		{"e5", "acc1", "r4", "is polite", "error", 1},
		{"e6", "acc2", "r1", "helpful", "fail", 1},
	}
	for _, e := range evals {
		if _, err := db.Exec(`INSERT INTO eval_results (id, account_id, run_id, evaluator_id, evaluator_name, verdict, current, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 0)`, e.id, e.account, e.run, "ev-"+e.name, e.name, e.verdict, e.current); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func runIDs(t *testing.T, db *sql.DB, q string, account string) []string {
	t.Helper()
	parsed, err := query.ParseAt(q, testNow)
	if err != nil {
		t.Fatalf("ParseAt(%q): %v", q, err)
	}
	where, args := Where(parsed, SQLite{}, account)
	rows, err := db.Query("SELECT r.id FROM runs r WHERE "+where+" ORDER BY r.id", args...)
	if err != nil {
		t.Fatalf("query %q: %v\nSQL: %s\nargs: %#v", q, err, where, args)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestWhereSQLite(t *testing.T) {
	db := openDB(t)
	tests := []struct {
		q    string
		want string // space-separated run ids of acc1, sorted
	}{
		{``, "r1 r2 r3 r4"},

		// Text search: runs_fts and steps_fts, as a phrase.
		{`"rate limit"`, "r1"},
		{`RATE`, "r1"},
		{`"Rate-Limit!"`, "r1"},
		{`sunny`, "r2"},              // only in a step's output
		{`"weather is sunny"`, "r2"}, // a phrase in a step
		{`"sunny weather"`, ""},      // acc2's run only; and not a phrase of acc1's step
		{`thinking`, "r1"},           // acc2's step also has it
		{`-sunny`, "r1 r3 r4"},       // negation keeps runs with no text at all
		{`"rate OR sunny"`, ""},      // FTS5 operators are just words
		{`"said \"quote\""`, "r4"},   // quotes in the phrase
		{`NEAR(rate`, ""},            // no FTS5 syntax error
		{`"!!!"`, ""},                // no tokens at all
		{`hello "rate limit"`, "r1"}, // both must hold
		{`hello sunny`, ""},          // both must hold
		{`"x' OR 1=1 --"`, ""},       // just a phrase
		{`status:failed "rate limit"`, "r1"},

		// String fields.
		{`agent:support-bot`, "r1 r2"},
		{`agent:"my agent"`, "r4"},
		{`-agent:support-bot`, "r3 r4"},
		{`agent:"x' OR 1=1 --"`, "r3"},
		{`agent:"x' OR 1=1"`, ""},
		{`agent:nobody`, ""},
		{`status:failed`, "r1"},
		{`-status:completed`, "r1 r3 r4"},
		{`status:pending`, "r4"},
		{`status:processing`, "r3"},
		{`trigger:api`, "r1 r4"},
		{`-trigger:api`, "r2 r3"},
		{`session:s1`, "r1"},
		{`rerun_of:r1`, "r2"},
		{`rerun_of:r2`, ""},
		{`id:r3`, "r3"},
		{`-id:r3`, "r1 r2 r4"},
		{`id:r9`, ""},

		// model, tag, eval: in other tables.
		{`model:gpt-4o`, "r2"},
		{`model:gpt-4o-mini`, "r1"},
		{`-model:gpt-4o`, "r1 r3 r4"},
		{`model:claude`, "r4"},
		{`tag:prod`, "r1 r4"},
		{`tag:staging`, "r4"},
		{`-tag:prod`, "r2 r3"},
		{`tag:prod tag:staging`, "r4"},
		{`eval:helpful=pass`, "r2 r3"},
		{`eval:helpful=fail`, "r1"}, // r3's fail is not current
		{`-eval:helpful=fail`, "r2 r3 r4"},
		{`eval:"is polite"=error`, "r4"},
		{`eval:"is polite"=pass`, ""},

		// Numbers.
		{`credits>0.5`, "r1 r3 r4"},
		{`credits>5`, "r4"},
		{`credits>=5`, "r3 r4"},
		{`credits<0.5`, "r2"},
		{`credits<=0.8`, "r1 r2"},
		{`credits:5`, "r3"},
		{`credits=5`, "r3"},
		{`-credits>5`, "r1 r2 r3"},
		{`-credits:5`, "r1 r2 r4"},
		{`steps>=3`, "r1 r4"},
		{`steps:0`, "r3"},
		{`steps<3`, "r2 r3"},
		{`-steps>=3`, "r2 r3"},
		{`duration>30s`, "r1"},
		{`duration>=30s`, "r1 r4"},
		{`duration<1500`, "r2 r3"},
		{`duration<1.5s`, "r2 r3"},
		{`duration>1m`, ""},
		{`-duration>30s`, "r2 r3 r4"},

		// Times.
		{`after:2026-11-01`, "r1 r2 r4"}, // r2 is at 2026-11-01T00:00Z exactly
		{`before:2026-11-01`, "r3"},
		{`-after:2026-11-01`, "r3"},
		{`after:2026-11-01 before:2026-11-12`, "r1 r2"},
		{`after:7d`, "r1 r4"},
		{`after:24h`, "r4"},
		{`after:1d`, "r4"},
		{`before:2026-11-14T12:00:00Z`, "r1 r2 r3"},
		{`before:2026-11-14T12:00:00.000000001Z`, "r1 r2 r3 r4"},
		{`after:0001-01-01`, "r1 r2 r3 r4"}, // clamped to the int64 range
		{`before:9999-01-01`, "r1 r2 r3 r4"},

		// has:
		{`has:error`, "r1"},
		{`-has:error`, "r2 r3 r4"},
		{`has:input`, "r1 r2"},
		{`has:output`, "r2 r4"},
		{`-has:output`, "r1 r3"},
		{`has:rerun`, "r2"},
		{`has:session`, "r1 r4"},
		{`-has:session`, "r2 r3"},

		// The examples of docs/query.md.
		{`status:failed agent:support-bot "rate limit"`, "r1"},
		{`credits>0.5 after:7d`, "r1 r4"},
		{`-status:completed model:gpt-4o`, ""},
		{`-status:failed model:gpt-4o`, "r2"},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			got := runIDs(t, db, tt.q, "acc1")
			want := strings.Fields(tt.want)
			if want == nil {
				want = []string{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%q: got %v, want %v", tt.q, got, want)
			}
		})
	}
}

func TestWhereOtherAccount(t *testing.T) {
	db := openDB(t)
	for q, want := range map[string][]string{
		``:                  {"r1", "r9"},
		`"rate limit"`:      {"r1"},
		`sunny`:             {"r1", "r9"},
		`model:gpt-4o`:      {"r1"},
		`eval:helpful=fail`: {"r1"},
		`tag:staging`:       {"r9"},
		`id:r2`:             {},
	} {
		if got := runIDs(t, db, q, "acc2"); !slices.Equal(got, want) {
			t.Errorf("acc2 %q: got %v, want %v", q, got, want)
		}
	}
	if got := runIDs(t, db, `sunny`, "nobody"); len(got) != 0 {
		t.Errorf("unknown account: got %v", got)
	}
}

func TestWhereValuesAreArguments(t *testing.T) {
	evil := `x' OR 1=1 --`
	q, err := query.ParseAt(`agent:"x' OR 1=1 --" "x' OR 1=1 --" eval:"a' --"=pass credits>1 after:2026-11-01`, testNow)
	if err != nil {
		t.Fatal(err)
	}
	where, args := Where(q, SQLite{}, "acc'1")
	for _, bad := range []string{evil, "acc'1", "a'", "2026", "OR 1=1"} {
		if strings.Contains(where, bad) {
			t.Errorf("value %q written into SQL: %s", bad, where)
		}
	}
	if n := strings.Count(where, "?"); n != len(args) {
		t.Errorf("%d placeholders, %d args: %s", n, len(args), where)
	}
	wantArgs := []any{"acc'1", evil, FTS5Phrase(evil), "acc'1", FTS5Phrase(evil), "a' --", "pass", 1.0,
		time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).UnixNano()}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("args = %#v\nwant %#v", args, wantArgs)
	}
	if !strings.HasPrefix(where, "r.account_id = ? AND ") {
		t.Errorf("where does not start with the account: %s", where)
	}

	db := openDB(t)
	if got := runIDs(t, db, `agent:"x' OR 1=1 --"`, "acc1"); !slices.Equal(got, []string{"r3"}) {
		t.Errorf("got %v, want [r3]", got)
	}
	if got := runIDs(t, db, `id:"r1' OR '1'='1"`, "acc1"); len(got) != 0 {
		t.Errorf("got %v, want none", got)
	}
}

func TestWhereShape(t *testing.T) {
	q, err := query.ParseAt(`status:failed -credits>5 has:error`, testNow)
	if err != nil {
		t.Fatal(err)
	}
	where, args := Where(q, SQLite{}, "acc1")
	want := "r.account_id = ? AND (r.status = ?) AND NOT (+r.credits > ?) AND (r.error_message IS NOT NULL)"
	if where != want {
		t.Errorf("where =\n%s\nwant\n%s", where, want)
	}
	if !reflect.DeepEqual(args, []any{"acc1", "failed", 5.0}) {
		t.Errorf("args = %#v", args)
	}

	where, args = Where(nil, SQLite{}, "acc1")
	if where != "r.account_id = ?" || !reflect.DeepEqual(args, []any{"acc1"}) {
		t.Errorf("nil query: %s %#v", where, args)
	}
}

func TestPostgresDialect(t *testing.T) {
	q, err := query.ParseAt(`agent:bot "rate limit" steps>=3`, testNow)
	if err != nil {
		t.Fatal(err)
	}
	var gotText, gotAccount string
	pg := Postgres{Text: func(text, accountID string, arg func(any) string) string {
		gotText, gotAccount = text, accountID
		return "r.search @@ phraseto_tsquery('simple', " + arg(text) + ")"
	}}
	where, args := Where(q, pg, "acc1")
	want := "r.account_id = $1 AND (r.agent_id = $2) AND (r.search @@ phraseto_tsquery('simple', $3)) AND (+r.step_count >= $4)"
	if where != want {
		t.Errorf("where =\n%s\nwant\n%s", where, want)
	}
	if !reflect.DeepEqual(args, []any{"acc1", "bot", "rate limit", int64(3)}) {
		t.Errorf("args = %#v", args)
	}
	if gotText != "rate limit" || gotAccount != "acc1" {
		t.Errorf("Text got %q, %q", gotText, gotAccount)
	}

	// The fallback search passes the text once and reuses its placeholder.
	where, args = Where(q, Postgres{}, "acc1")
	if strings.Contains(where, "rate limit") || len(args) != 4 || strings.Count(where, "$3") != 6 || !strings.Contains(where, "$4") {
		t.Errorf("fallback: %s %#v", where, args)
	}
}
