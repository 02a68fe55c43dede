// Package sqlstore implements store.Store over database/sql. The SQL is
// written once, in the subset SQLite and PostgreSQL share; a Dialect supplies
// what differs (placeholders, full-text indexing, the filter compiler).
// The sqlite and postgres packages open the databases and run migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
	"github.com/agenttrace/agenttrace/store/sqlfilter"
)

// Dialect is what differs between the SQL databases.
type Dialect interface {
	// Rebind rewrites ? placeholders into the database's own.
	Rebind(query string) string
	// Filter is the query-language compiler's dialect.
	Filter() sqlfilter.Dialect
	// IndexText (re)indexes the searchable text of one run (stepID "") or step.
	IndexText(ctx context.Context, tx *sql.Tx, accountID, runID, stepID, body string) error
	// DeleteText removes search entries of a run's steps and the run (unused by ingest, used by retention).
}

// Store is a store.Store over a SQL database.
type Store struct {
	read  *sql.DB // queries; may be the same pool as write
	write *sql.DB // transactions; SQLite gives it a single connection
	d     Dialect
	now   func() time.Time
}

var _ store.Store = (*Store)(nil)

// New returns a store over the two pools (they may be the same).
func New(read, write *sql.DB, d Dialect) *Store {
	return &Store{read: read, write: write, d: d, now: time.Now}
}

// DB returns the write pool, for packages that keep their own tables (jobs).
func (s *Store) DB() *sql.DB { return s.write }

// ReadDB returns the read pool.
func (s *Store) ReadDB() *sql.DB { return s.read }

// Dialect returns the store's dialect.
func (s *Store) Dialect() Dialect { return s.d }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.write.PingContext(ctx) }

// Close closes both pools.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		if e := s.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

func (s *Store) q(query string) string { return s.d.Rebind(query) }

// inTx runs fn in a write transaction, rolled back on error or panic.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Time columns hold Unix nanoseconds.

func nanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().UnixNano()
}

func fromNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := time.Unix(0, n.Int64).UTC()
	return &t
}

func rawOrNil(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func mdOrNil(md map[string]any) (any, error) {
	if len(md) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(md)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func strOrNil(s string, ok bool) any {
	if !ok {
		return nil
	}
	return s
}

func notFound(what, id string) error {
	return agenttrace.Errorf(agenttrace.ENOTFOUND, "%s %q not found", what, id)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
