// Package sqlite opens the embedded SQLite store: a WAL-mode database file in
// the data folder, with one writer connection and a pool of readers, and the
// schema migrations embedded in the binary.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/agenttrace/agenttrace/sqlstore"
	"github.com/agenttrace/agenttrace/store/sqlfilter"

	_ "modernc.org/sqlite" // pure-Go driver: see docs/storage.md for why
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data folder.
const FileName = "agenttrace.db"

// Open opens (creating if needed) the database in dir and migrates it.
func Open(ctx context.Context, dir string) (*sqlstore.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return OpenFile(ctx, filepath.Join(dir, FileName))
}

// OpenFile opens the database at path and migrates it.
func OpenFile(ctx context.Context, path string) (*sqlstore.Store, error) {
	dsn := func(extra string) string {
		v := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(on)", "cache_size(-32000)", "temp_store(memory)"} {
			v.Add("_pragma", p)
		}
		if extra != "" {
			v.Set("_txlock", extra)
		}
		return "file:" + path + "?" + v.Encode()
	}
	write, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, err
	}
	// SQLite has one writer at a time; one connection avoids busy waits.
	write.SetMaxOpenConns(1)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(max(4, 2*runtime.NumCPU()))
	read.SetMaxIdleConns(max(4, 2*runtime.NumCPU()))
	return sqlstore.New(read, write, dialect{}), nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	return sqlstore.Migrate(ctx, db, migrations, "migrations", dialect{})
}

type dialect struct{}

func (dialect) Rebind(q string) string { return q }

func (dialect) Filter() sqlfilter.Dialect { return sqlfilter.SQLite{} }

// IndexText replaces the FTS5 entry of a run or step; the FTS rowid is the
// rowid of its row, so replacing is a delete and an insert by key.
func (dialect) IndexText(ctx context.Context, tx *sqlstore.Tx, accountID, runID, stepID, body string) error {
	table, q, args := "runs_fts", `SELECT rowid FROM runs WHERE account_id = ? AND id = ?`, []any{accountID, runID}
	if stepID != "" {
		table, q, args = "steps_fts", `SELECT rowid FROM steps WHERE account_id = ? AND run_id = ? AND id = ?`, []any{accountID, runID, stepID}
	}
	var rowid int64
	if err := tx.QueryRow(ctx, q, args...).Scan(&rowid); err != nil {
		return fmt.Errorf("index text: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE rowid = ?`, rowid); err != nil {
		return fmt.Errorf("index text: %w", err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+table+` (rowid, body) VALUES (?, ?)`, rowid, body)
	return err
}
