package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/postgres"
	"github.com/agenttrace/agenttrace/store"
	"github.com/agenttrace/agenttrace/store/storetest"

	_ "github.com/jackc/pgx/v5/stdlib"
)

const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func baseURL() string {
	if u := os.Getenv("AGENTTRACE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultURL
}

var (
	adminOnce sync.Once
	adminDB   *sql.DB
	adminErr  error
)

// admin returns a pool on the test database, skipping the test (failing it
// when CI=true) when the database does not answer.
func admin(t testing.TB) *sql.DB {
	t.Helper()
	adminOnce.Do(func() {
		adminDB, adminErr = sql.Open("pgx", baseURL())
		if adminErr == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			adminErr = adminDB.PingContext(ctx)
		}
	})
	if adminErr != nil {
		msg := "PostgreSQL is not reachable at " + redact(baseURL()) + " (set AGENTTRACE_TEST_DATABASE_URL): " + adminErr.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return adminDB
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "the test database"
}

// freshSchema creates an empty, uniquely named schema, dropped when the test
// ends, and returns the database URL whose search_path is that schema.
func freshSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	db := admin(t)
	b := make([]byte, 8)
	rand.Read(b)
	schema = "agenttrace_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schemaURL(t, schema), schema
}

// schemaURL returns the test database's URL whose search_path is schema.
func schemaURL(t testing.TB, schema string) string {
	t.Helper()
	u, err := url.Parse(baseURL())
	if err != nil {
		t.Fatalf("AGENTTRACE_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MustOpen opens a store on a fresh schema of the test database.
func MustOpen(t testing.TB) store.Store {
	t.Helper()
	dsn, _ := freshSchema(t)
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // runs before the schema is dropped
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return MustOpen(t) })
}

// TestConcurrentMigrate opens several stores on one fresh schema at once,
// as replicas starting together do: all succeed and each migration is
// applied exactly once.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	dsn, schema := freshSchema(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				err = st.Ping(context.Background())
				st.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	files, err := fs.Glob(os.DirFS("migrations"), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	rows, err := admin(t).QueryContext(context.Background(), `SELECT name, COUNT(*) FROM `+schema+`.schema_migrations GROUP BY name ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var applied []string
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("migration %s recorded %d times", name, n)
		}
		applied = append(applied, name)
	}
	if len(applied) != len(files) {
		t.Fatalf("applied %v, want %v", applied, files)
	}
	for i := range files {
		if applied[i] != files[i] {
			t.Fatalf("applied %v, want %v", applied, files)
		}
	}
}

func TestRebind(t *testing.T) {
	cases := map[string]string{
		`SELECT 1`:          `SELECT 1`,
		`a = ? AND b = ?`:   `a = $1 AND b = $2`,
		`x = '?' AND y = ?`: `x = '?' AND y = $1`,
		`x = 'it''s ?' AND y = ? AND z IN (?, ?)`: `x = 'it''s ?' AND y = $1 AND z IN ($2, $3)`,
		`"we?ird" = ? -- is it?` + "\n" + `AND ?`: `"we?ird" = $1 -- is it?` + "\n" + `AND $2`,
		`x = 'unterminated ?`:                     `x = 'unterminated ?`,
	}
	for in, want := range cases {
		if got := (postgres.Dialect{}).Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConcurrentIngestSameRun ingests the steps of one run from several
// replicas at once: the run's totals must count every step, whatever order
// the transactions commit in.
func TestConcurrentIngestSameRun(t *testing.T) {
	t.Parallel()
	dsn, _ := freshSchema(t)
	ctx := context.Background()
	const replicas, steps = 4, 40
	stores := make([]store.Store, replicas)
	for i := range stores {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores[i] = st
	}
	if err := stores[0].CreateAccount(ctx, agenttrace.Account{ID: "acme", Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, steps)
	for i := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &agenttrace.Batch{Steps: []agenttrace.Step{{ID: fmt.Sprint("s", i), RunID: "shared", Name: "step", Credits: 1}}}
			b.Steps[0].SetSeq(int64(i + 1))
			if err := b.Normalize(); err != nil {
				errs <- err
				return
			}
			_, err := stores[i%replicas].Ingest(ctx, "acme", b)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := stores[0].GetRun(ctx, "acme", "shared")
	if err != nil {
		t.Fatal(err)
	}
	if r.StepCount != steps || r.Credits != steps || len(r.Steps) != steps {
		t.Fatalf("run totals after concurrent ingest: step_count %d, credits %v, %d steps; want %d", r.StepCount, r.Credits, len(r.Steps), steps)
	}
}
