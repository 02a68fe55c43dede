// Package storetest is the conformance suite of store.Store: written once
// against the interface, run by every implementation's tests (SQLite,
// PostgreSQL) so that they behave the same. Fixtures live in testdata/.
package storetest

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

//go:embed testdata/*.json
var fixtures embed.FS

// Opener returns a fresh, empty store for one test; it must register its own cleanup.
type Opener func(t *testing.T) store.Store

type namedTest struct {
	name string
	fn   func(t *testing.T, st store.Store)
}

// extraTests are added by the suite's other files (one per capability).
var extraTests []namedTest

// Run runs every conformance test against stores from open.
func Run(t *testing.T, open Opener) {
	tests := []namedTest{
		{"AccountsAndKeys", testAccountsAndKeys},
		{"IngestAndRead", testIngestAndRead},
		{"IngestIsIdempotent", testIdempotent},
		{"StepsBeforeRun", testStepsBeforeRun},
		{"TotalsAcrossBatches", testTotalsAcrossBatches},
		{"RejectedBatchWritesNothing", testRejectedBatch},
		{"PricesFillCredits", testPrices},
		{"QueryFilters", testQueryFilters},
		{"SortAndPaginate", testSortAndPaginate},
		{"TenantIsolation", testTenantIsolation},
		{"Agents", testAgents},
		{"Usage", testUsage},
	}
	tests = append(tests, extraTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			for _, id := range []string{"acme", "globex"} {
				if err := st.CreateAccount(ctx, agenttrace.Account{ID: id, Name: id}); err != nil {
					t.Fatalf("create account %s: %v", id, err)
				}
			}
			tc.fn(t, st)
		})
	}
}

// Fixture loads and normalizes testdata/NAME.json.
func Fixture(t testing.TB, name string) *agenttrace.Batch {
	t.Helper()
	b, err := fixtures.ReadFile("testdata/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var batch agenttrace.Batch
	if err := json.Unmarshal(b, &batch); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if err := batch.Normalize(); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return &batch
}

func mustIngest(t *testing.T, st store.Store, account string, b *agenttrace.Batch) {
	t.Helper()
	if err := b.Normalize(); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	if _, err := st.Ingest(context.Background(), account, b); err != nil {
		t.Fatalf("ingest: %v", err)
	}
}

func mustRun(t *testing.T, st store.Store, account, id string) agenttrace.Run {
	t.Helper()
	r, err := st.GetRun(context.Background(), account, id)
	if err != nil {
		t.Fatalf("get run %s: %v", id, err)
	}
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func testAccountsAndKeys(t *testing.T, st store.Store) {
	ctx := context.Background()
	if err := st.CreateAccount(ctx, agenttrace.Account{ID: "acme", Name: "again"}); agenttrace.ErrorCode(err) != agenttrace.ECONFLICT {
		t.Fatalf("duplicate account: got %v, want conflict", err)
	}
	a, err := st.GetAccount(ctx, "acme")
	if err != nil || a.Name != "acme" {
		t.Fatalf("get account: %+v %v", a, err)
	}
	if _, err := st.GetAccount(ctx, "nope"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("missing account: %v", err)
	}
	secret := agenttrace.NewSecret()
	k := agenttrace.APIKey{ID: "k1", AccountID: "acme", Name: "ci", Prefix: agenttrace.SecretPrefix(secret),
		Hash: agenttrace.HashSecret(secret), Scopes: []agenttrace.Scope{agenttrace.ScopeRead, agenttrace.ScopeIngest}}
	if err := st.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := st.APIKeyByHash(ctx, agenttrace.HashSecret(secret))
	if err != nil || got.ID != "k1" || got.AccountID != "acme" || !slices.Equal(got.Scopes, k.Scopes) {
		t.Fatalf("key by hash: %+v %v", got, err)
	}
	if got.Hash == secret {
		t.Fatal("the secret itself is stored")
	}
	if _, err := st.APIKeyByHash(ctx, agenttrace.HashSecret("wrong")); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("wrong key: %v", err)
	}
	if keys, _ := st.ListAPIKeys(ctx, "globex"); len(keys) != 0 {
		t.Fatalf("globex sees acme's keys: %+v", keys)
	}
	if err := st.DeleteAPIKey(ctx, "globex", "k1"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("globex deleted acme's key: %v", err)
	}
	if n, _ := st.CountAPIKeys(ctx); n != 1 {
		t.Fatalf("count keys = %d", n)
	}
	if got.LastUsedAt != nil {
		t.Fatalf("a new key was used at %v", got.LastUsedAt)
	}
	used := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if err := st.TouchAPIKey(ctx, "k1", used); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchAPIKey(ctx, "k1", used.Add(-time.Hour)); err != nil { // an older use arriving late
		t.Fatal(err)
	}
	got, _ = st.APIKeyByHash(ctx, agenttrace.HashSecret(secret))
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Fatalf("last used at %v, want %v", got.LastUsedAt, used)
	}
	if err := st.DeleteAPIKey(ctx, "acme", "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.APIKeyByHash(ctx, agenttrace.HashSecret(secret)); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("deleted key still works: %v", err)
	}
}

func testIngestAndRead(t *testing.T, st store.Store) {
	mustIngest(t, st, "acme", Fixture(t, "support"))
	r1 := mustRun(t, st, "acme", "r1")
	if r1.Status != agenttrace.StatusFailed || r1.AgentID != "support-bot" || r1.StepCount != 3 {
		t.Fatalf("r1 header: %+v", r1)
	}
	if ids := stepIDs(r1.Steps); !slices.Equal(ids, []string{"s1", "s2", "s3"}) {
		t.Fatalf("steps out of order: %v", ids)
	}
	if r1.Error == nil || r1.Error.StepID != "s2" || r1.Error.Message != "get_order timed out after 30s" {
		t.Fatalf("first failed step: %+v", r1.Error)
	}
	// gpt-4o at 2.5/10 per million: 1000 in, 200 out = 0.0045; plus the tool's 0.25.
	if !near(r1.Credits, 0.0045+0.25) {
		t.Fatalf("r1 credits = %v", r1.Credits)
	}
	if r1.Usage != (agenttrace.Usage{InputTokens: 1000, OutputTokens: 200}) {
		t.Fatalf("r1 usage = %+v", r1.Usage)
	}
	if !near(r1.DurationMS, 31500) {
		t.Fatalf("r1 duration = %v", r1.DurationMS)
	}
	if !slices.Equal(r1.Tags(), []string{"prod", "eu"}) || r1.Metadata["prompt_version"] != "v3" {
		t.Fatalf("r1 metadata = %+v", r1.Metadata)
	}
	if !slices.Equal(r1.Reruns, []string{"r2"}) {
		t.Fatalf("r1 reruns = %v", r1.Reruns)
	}
	s2 := r1.Steps[1]
	if s2.Error == nil || s2.Error.Type != "ToolTimeout" || string(s2.Input) != `{"order_id":"1234"}` || !near(s2.DurationMS, 30000) {
		t.Fatalf("s2 = %+v", s2)
	}
	r2 := mustRun(t, st, "acme", "r2")
	// Run's own 0.5 plus the steps' 0.01 (reported, not priced).
	if !near(r2.Credits, 0.51) || r2.RerunOf != "r1" || r2.Error != nil {
		t.Fatalf("r2 = %+v", r2)
	}
	if r2.Steps[1].ParentID != "a" {
		t.Fatalf("nesting lost: %+v", r2.Steps[1])
	}
	steps, err := st.ListSteps(context.Background(), "acme", "r2")
	if err != nil || len(steps) != 2 {
		t.Fatalf("list steps: %v %v", steps, err)
	}
	if _, err := st.ListSteps(context.Background(), "acme", "nope"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("steps of a missing run: %v", err)
	}
}

func stepIDs(steps []agenttrace.Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.ID)
	}
	return out
}

func testIdempotent(t *testing.T, st store.Store) {
	mustIngest(t, st, "acme", Fixture(t, "support"))
	before := snapshot(t, st, "acme")
	mustIngest(t, st, "acme", Fixture(t, "support"))
	after := snapshot(t, st, "acme")
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("second ingest of the same batch changed the store:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot renders every run of the account with steps, for comparisons.
func snapshot(t *testing.T, st store.Store, account string) string {
	t.Helper()
	page, err := st.ListRuns(context.Background(), account, store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var runs []agenttrace.Run
	for _, r := range page.Runs {
		runs = append(runs, mustRun(t, st, account, r.ID))
	}
	b, _ := json.Marshal(runs)
	return string(b)
}

func testStepsBeforeRun(t *testing.T, st store.Store) {
	full := Fixture(t, "support")
	steps := &agenttrace.Batch{Steps: full.Steps[:3]}
	mustIngest(t, st, "acme", steps)
	r := mustRun(t, st, "acme", "r1")
	if r.Status != agenttrace.StatusProcessing || r.StepCount != 3 {
		t.Fatalf("run known only from steps: %+v", r)
	}
	mustIngest(t, st, "acme", &agenttrace.Batch{Runs: full.Runs[:1]})
	r = mustRun(t, st, "acme", "r1")
	if r.Status != agenttrace.StatusFailed || r.AgentID != "support-bot" || r.StepCount != 3 || !near(r.Credits, 0.2545) || r.Error.StepID != "s2" {
		t.Fatalf("after the run arrived: %+v", r)
	}
}

func testTotalsAcrossBatches(t *testing.T, st store.Store) {
	run := agenttrace.Run{ID: "x", AgentID: "a", Status: agenttrace.StatusProcessing, StartedAt: ts("2026-11-20T10:00:00Z")}
	mustIngest(t, st, "acme", &agenttrace.Batch{Runs: []agenttrace.Run{run}})
	for i := range 3 {
		s := agenttrace.Step{RunID: "x", Name: fmt.Sprint("step", i), Credits: 1, Usage: agenttrace.Usage{InputTokens: 10, OutputTokens: 5},
			StartedAt: ts(fmt.Sprintf("2026-11-20T10:00:0%dZ", i)), EndedAt: ts(fmt.Sprintf("2026-11-20T10:00:0%dZ", i+1))}
		s.SetSeq(int64(i))
		mustIngest(t, st, "acme", &agenttrace.Batch{Steps: []agenttrace.Step{s}})
	}
	r := mustRun(t, st, "acme", "x")
	if r.StepCount != 3 || !near(r.Credits, 3) || r.Usage.InputTokens != 30 || r.Status != agenttrace.StatusProcessing || r.Error != nil {
		t.Fatalf("totals: %+v", r)
	}
	run.Status, run.EndedAt = agenttrace.StatusCompleted, ts("2026-11-20T10:00:03Z")
	mustIngest(t, st, "acme", &agenttrace.Batch{Runs: []agenttrace.Run{run}})
	r = mustRun(t, st, "acme", "x")
	if r.Status != agenttrace.StatusCompleted || !near(r.DurationMS, 3000) || !near(r.Credits, 3) {
		t.Fatalf("after completion: %+v", r)
	}
}

func testRejectedBatch(t *testing.T, st store.Store) {
	mustIngest(t, st, "acme", Fixture(t, "support"))
	before := snapshot(t, st, "acme")
	// A new run and a step whose seq is taken by another step of r1: the whole batch must fail.
	bad := &agenttrace.Batch{
		Runs:  []agenttrace.Run{{ID: "new", AgentID: "support-bot", Status: agenttrace.StatusCompleted}},
		Steps: []agenttrace.Step{{ID: "s9", RunID: "r1", Name: "dup"}},
	}
	bad.Steps[0].SetSeq(1)
	if err := bad.Normalize(); err != nil {
		t.Fatal(err)
	}
	_, err := st.Ingest(context.Background(), "acme", bad)
	if agenttrace.ErrorCode(err) != agenttrace.EINVALID {
		t.Fatalf("seq clash: got %v, want invalid", err)
	}
	if msg := agenttrace.ErrorMessage(err); msg == "" || !containsAll(msg, "steps[0].seq", "s2") {
		t.Fatalf("error does not name the item and field: %q", msg)
	}
	if after := snapshot(t, st, "acme"); after != before {
		t.Fatalf("rejected batch changed the store")
	}
	if _, err := st.GetRun(context.Background(), "acme", "new"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("run of a rejected batch exists: %v", err)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !contains(s, p) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func testPrices(t *testing.T, st store.Store) {
	ctx := context.Background()
	if err := st.PutPrices(ctx, "acme", []agenttrace.Price{{Model: "house-model", InputPerMillion: 1000, OutputPerMillion: 2000}}); err != nil {
		t.Fatal(err)
	}
	prices, _ := st.Prices(ctx, "acme")
	if p, ok := agenttrace.PriceFor(prices, "house-model"); !ok || p.InputPerMillion != 1000 {
		t.Fatalf("price not stored: %+v", prices)
	}
	if p, _ := st.Prices(ctx, "globex"); len(p) != len(agenttrace.DefaultPrices) {
		t.Fatalf("globex sees acme's prices")
	}
	b := &agenttrace.Batch{Steps: []agenttrace.Step{
		{ID: "p1", RunID: "pr", Model: "house-model", Usage: agenttrace.Usage{InputTokens: 1000, OutputTokens: 1000}},
		{ID: "p2", RunID: "pr", Model: "gpt-4o-2024-08-06", Usage: agenttrace.Usage{InputTokens: 1_000_000}},
		{ID: "p3", RunID: "pr", Model: "house-model", Credits: 7, Usage: agenttrace.Usage{InputTokens: 1000}},
	}}
	mustIngest(t, st, "acme", b)
	r := mustRun(t, st, "acme", "pr")
	if !near(r.Steps[0].Credits, 3) || !near(r.Steps[1].Credits, 2.5) || !near(r.Steps[2].Credits, 7) || !near(r.Credits, 12.5) {
		t.Fatalf("priced credits: %v %v %v total %v", r.Steps[0].Credits, r.Steps[1].Credits, r.Steps[2].Credits, r.Credits)
	}
}

func listIDs(t *testing.T, st store.Store, account, q string) []string {
	t.Helper()
	query.Now = func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) }
	parsed, err := query.Parse(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	page, err := st.ListRuns(context.Background(), account, store.ListOptions{Query: parsed, Limit: 100})
	if err != nil {
		t.Fatalf("list %q: %v", q, err)
	}
	n, err := st.CountRuns(context.Background(), account, parsed)
	if err != nil || int(n) != len(page.Runs) {
		t.Fatalf("count %q = %d (%v), list has %d", q, n, err, len(page.Runs))
	}
	ids := []string{}
	for _, r := range page.Runs {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func testQueryFilters(t *testing.T, st store.Store) {
	mustIngest(t, st, "acme", Fixture(t, "support"))
	cases := map[string][]string{
		"":                                {"r1", "r2", "r3"},
		"agent:support-bot":               {"r1", "r2"},
		"status:failed":                   {"r1"},
		"-status:failed":                  {"r2", "r3"},
		"status:failed agent:support-bot": {"r1"},
		`"timed out"`:                     {"r1"},
		"zebra":                           {"r2"},
		`"weekly revenue"`:                {"r3"},
		"model:gpt-4o":                    {"r1"},
		"model:claude-3-5-haiku":          {"r2"},
		"tag:eu":                          {"r1"},
		"tag:prod":                        {"r1", "r2"},
		"trigger:schedule":                {"r3"},
		"session:sess-1":                  {"r1"},
		"rerun_of:r1":                     {"r2"},
		"credits>0.3":                     {"r2"},
		"-credits>0.3":                    {"r1", "r3"},
		"duration>30s":                    {"r1"},
		"steps>=3":                        {"r1"},
		"steps<2":                         {"r3"},
		"after:2026-11-21":                {"r3"},
		"before:2026-11-21":               {"r1", "r2"},
		"has:error":                       {"r1"},
		"has:output":                      {"r2", "r3"},
		"has:rerun":                       {"r2"},
		"id:r3":                           {"r3"},
		`status:failed agent:support-bot "timed out"`: {"r1"},
		"agent:nobody": {},
	}
	for q, want := range cases {
		if got := listIDs(t, st, "acme", q); !slices.Equal(got, want) {
			t.Errorf("query %q = %v, want %v", q, got, want)
		}
	}
}

func testSortAndPaginate(t *testing.T, st store.Store) {
	var b agenttrace.Batch
	for i := range 57 {
		start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%13) * time.Hour)
		end := start.Add(time.Duration(i%7) * time.Second)
		b.Runs = append(b.Runs, agenttrace.Run{ID: fmt.Sprintf("run-%02d", i), AgentID: "a", Status: agenttrace.StatusCompleted,
			StartedAt: &start, EndedAt: &end, Credits: float64(i % 5)})
	}
	mustIngest(t, st, "acme", &b)
	for _, sort := range []string{store.SortTime, store.SortDuration, store.SortCredits} {
		for _, asc := range []bool{false, true} {
			seen := map[string]bool{}
			var prev *agenttrace.Run
			cursor := ""
			for pages := 0; ; pages++ {
				page, err := st.ListRuns(context.Background(), "acme", store.ListOptions{Sort: sort, Asc: asc, Limit: 10, Cursor: cursor})
				if err != nil {
					t.Fatalf("%s: %v", sort, err)
				}
				for i := range page.Runs {
					r := page.Runs[i]
					if seen[r.ID] {
						t.Fatalf("%s asc=%v: run %s twice", sort, asc, r.ID)
					}
					seen[r.ID] = true
					if prev != nil && !ordered(sort, asc, *prev, r) {
						t.Fatalf("%s asc=%v: %s before %s", sort, asc, prev.ID, r.ID)
					}
					prev = &r
				}
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if len(seen) != 57 {
				t.Fatalf("%s asc=%v: paginated %d runs, want 57", sort, asc, len(seen))
			}
		}
	}
	if _, err := st.ListRuns(context.Background(), "acme", store.ListOptions{Cursor: "garbage"}); agenttrace.ErrorCode(err) != agenttrace.EINVALID {
		t.Fatalf("bad cursor: %v", err)
	}
}

func ordered(sort string, asc bool, a, b agenttrace.Run) bool {
	var x, y float64
	switch sort {
	case store.SortTime:
		x, y = float64(a.StartedAt.UnixNano()), float64(b.StartedAt.UnixNano())
	case store.SortDuration:
		x, y = a.DurationMS, b.DurationMS
	case store.SortCredits:
		x, y = a.Credits, b.Credits
	}
	if x == y {
		if asc {
			return a.ID < b.ID
		}
		return a.ID > b.ID
	}
	if asc {
		return x < y
	}
	return x > y
}

func testTenantIsolation(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustIngest(t, st, "acme", Fixture(t, "support"))
	if _, err := st.GetRun(ctx, "globex", "r1"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("globex reads acme's run: %v", err)
	}
	if ids := listIDs(t, st, "globex", ""); len(ids) != 0 {
		t.Fatalf("globex lists acme's runs: %v", ids)
	}
	if ids := listIDs(t, st, "globex", "zebra"); len(ids) != 0 {
		t.Fatalf("globex finds acme's text: %v", ids)
	}
	if agents, _ := st.ListAgents(ctx, "globex"); len(agents) != 0 {
		t.Fatalf("globex lists acme's agents: %v", agents)
	}
	// The same ids in another account are other runs.
	mustIngest(t, st, "globex", &agenttrace.Batch{Runs: []agenttrace.Run{{ID: "r1", AgentID: "other", Status: agenttrace.StatusCompleted}}})
	if r := mustRun(t, st, "acme", "r1"); r.AgentID != "support-bot" || r.StepCount != 3 {
		t.Fatalf("globex's r1 overwrote acme's: %+v", r)
	}
	if r := mustRun(t, st, "globex", "r1"); r.AgentID != "other" || r.StepCount != 0 {
		t.Fatalf("globex's r1: %+v", r)
	}
	if u, _ := st.Usage(ctx, "globex", store.UsageOptions{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Now().Add(time.Hour)}); len(u) != 1 || u[0].Runs != 1 {
		t.Fatalf("globex usage: %+v", u)
	}
}

func testAgents(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustIngest(t, st, "acme", Fixture(t, "support"))
	agents, err := st.ListAgents(ctx, "acme")
	if err != nil || len(agents) != 2 {
		t.Fatalf("agents: %+v %v", agents, err)
	}
	sb := agents[slices.IndexFunc(agents, func(a agenttrace.AgentSummary) bool { return a.ID == "support-bot" })]
	if sb.Runs != 2 || sb.FailedRuns != 1 || sb.LatestFailed != "r1" {
		t.Fatalf("support-bot summary: %+v", sb)
	}
	a, err := st.PutAgent(ctx, "acme", agenttrace.Agent{ID: "support-bot", Name: "Support Bot", Description: "answers tickets", RerunURL: "http://127.0.0.1:9/rerun"})
	if err != nil || a.Name != "Support Bot" || a.RerunURL == "" {
		t.Fatalf("put agent: %+v %v", a, err)
	}
	got, err := st.GetAgent(ctx, "acme", "support-bot")
	if err != nil || got.Description != "answers tickets" || got.Runs != 2 {
		t.Fatalf("get agent: %+v %v", got, err)
	}
	if _, err := st.GetAgent(ctx, "globex", "support-bot"); agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		t.Fatalf("globex sees acme's agent: %v", err)
	}
}

func testUsage(t *testing.T, st store.Store) {
	ctx := context.Background()
	mustIngest(t, st, "acme", Fixture(t, "support"))
	from, to := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	byAgent, err := st.Usage(ctx, "acme", store.UsageOptions{Interval: "day", GroupBy: "agent", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.UsageBucket{
		{Time: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Group: "support-bot", Runs: 2, FailedRuns: 1, Credits: 0.2545 + 0.51, InputTokens: 1500, OutputTokens: 300},
		{Time: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), Group: "sql-analyst", Runs: 1, Credits: 0.002},
	}
	if len(byAgent) != len(want) {
		t.Fatalf("usage by agent: %+v", byAgent)
	}
	for i := range want {
		g := byAgent[i]
		if !g.Time.Equal(want[i].Time) || g.Group != want[i].Group || g.Runs != want[i].Runs || g.FailedRuns != want[i].FailedRuns ||
			!near(g.Credits, want[i].Credits) || g.InputTokens != want[i].InputTokens {
			t.Fatalf("usage[%d] = %+v, want %+v", i, g, want[i])
		}
	}
	byModel, err := st.Usage(ctx, "acme", store.UsageOptions{Interval: "hour", GroupBy: "model", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]store.UsageBucket{}
	for _, b := range byModel {
		models[b.Group] = b
	}
	if m := models["gpt-4o"]; m.Runs != 1 || m.FailedRuns != 1 || m.InputTokens != 1000 || !near(m.Credits, 0.0045) || !m.Time.Equal(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("gpt-4o usage: %+v", m)
	}
	if _, err := st.Usage(ctx, "acme", store.UsageOptions{Interval: "week", From: from, To: to}); agenttrace.ErrorCode(err) != agenttrace.EINVALID {
		t.Fatalf("bad interval: %v", err)
	}
}
