package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/store"
)

func init() {
	extraTests = append(extraTests, namedTest{"Reruns", testReruns})
}

func testReruns(t *testing.T, st store.Store) {
	rs, ok := st.(store.Reruns)
	if !ok {
		t.Skip("the store does not implement store.Reruns")
	}
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for i, r := range []store.Rerun{
		{ID: "rr1", AccountID: "acme", RunID: "run1", NewRunID: "run2", AgentID: "bot", URL: "http://127.0.0.1:9/rerun",
			KeyID: "key_1", KeyName: "admin", Overrides: []byte(`{"model":"gpt-4o"}`), Outcome: "failed",
			Error: "connection refused", DurationMS: 1.5, CreatedAt: t0},
		{ID: "rr2", AccountID: "acme", RunID: "run1", NewRunID: "run3", AgentID: "bot", URL: "http://127.0.0.1:9/rerun",
			KeyID: "key_1", Outcome: "accepted", StatusCode: 202, CreatedAt: t0.Add(time.Minute)},
		{ID: "rr3", AccountID: "globex", RunID: "run1", NewRunID: "run4", AgentID: "bot", URL: "http://x/", Outcome: "accepted", CreatedAt: t0},
	} {
		if err := rs.CreateRerun(ctx, r); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	got, err := rs.ListReruns(ctx, "acme", "run1", 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("list: %+v %v", got, err)
	}
	if got[0].ID != "rr2" || got[0].StatusCode != 202 || got[0].Overrides != nil || !got[0].CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("newest first: %+v", got[0])
	}
	if r := got[1]; r.NewRunID != "run2" || r.Outcome != "failed" || r.Error != "connection refused" || string(r.Overrides) != `{"model":"gpt-4o"}` ||
		r.DurationMS != 1.5 || r.KeyName != "admin" || r.AccountID != "acme" {
		t.Fatalf("fields: %+v", r)
	}
	if none, err := rs.ListReruns(ctx, "acme", "other", 10); err != nil || len(none) != 0 || none == nil {
		t.Fatalf("other run: %+v %v", none, err)
	}

	s1, err := rs.RerunSecret(ctx, "acme", "secret-one")
	if err != nil || s1 != "secret-one" {
		t.Fatalf("first secret: %q %v", s1, err)
	}
	if s, _ := rs.RerunSecret(ctx, "acme", "secret-two"); s != "secret-one" {
		t.Fatalf("secret replaced by a later get: %q", s)
	}
	if s, _ := rs.RerunSecret(ctx, "globex", "globex-secret"); s != "globex-secret" {
		t.Fatalf("globex: %q", s)
	}
	if err := rs.SetRerunSecret(ctx, "acme", "rotated"); err != nil {
		t.Fatal(err)
	}
	if s, _ := rs.RerunSecret(ctx, "acme", "x"); s != "rotated" {
		t.Fatalf("after rotation: %q", s)
	}
}
