package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/store"
	"github.com/agenttrace/agenttrace/store/storetest"
)

// MustOpen opens a fresh store in a temporary folder.
func MustOpen(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return MustOpen(t) })
}

// TestPageSize: a new file gets PageSize pages and WAL; a file made with
// another page size keeps it, and its data, when opened again.
func TestPageSize(t *testing.T) {
	ctx := context.Background()
	pageSize := func(path string) (size int, mode string) {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return size, mode
	}
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if size, mode := pageSize(filepath.Join(dir, sqlite.FileName)); size != sqlite.PageSize || mode != "wal" {
		t.Fatalf("new file: page size %d, journal %s; want %d, wal", size, mode, sqlite.PageSize)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA page_size = 4096; PRAGMA journal_mode = WAL`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err = sqlite.OpenFile(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccount(ctx, agenttrace.Account{ID: "kept", Name: "kept"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if size, _ := pageSize(old); size != 4096 {
		t.Fatalf("existing file: page size %d, want 4096 kept", size)
	}
	st, err = sqlite.OpenFile(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.GetAccount(ctx, "kept"); err != nil {
		t.Fatalf("reopened: %v", err)
	}
}
