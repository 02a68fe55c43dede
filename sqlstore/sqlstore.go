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
	"sync"
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
	// IndexTexts (re)indexes the searchable text of runs (StepID "") and
	// steps already written in tx.
	IndexTexts(ctx context.Context, tx *Tx, accountID string, items []TextItem) error
}

// TextResolver is implemented by dialects that look up the full-text terms
// of a query before it runs, to compile rare ones into a list of runs (see
// sqlfilter.SQLite, postgres.Filter). It answers the filter dialect to
// compile with; paged says the query stops at the end of a page of runs in
// sort order.
type TextResolver interface {
	ResolveTexts(ctx context.Context, read *sql.DB, accountID string, texts []string, paged bool) (sqlfilter.Dialect, error)
}

// InlineText is implemented by dialects whose search index is a column of
// the steps rows (PostgreSQL's search tsvector): the step upsert then writes
// it with the row instead of indexing it afterwards, so each row is written
// once. SearchColumn names the column and the SQL expression of its value,
// whose one placeholder takes SearchText(body).
type InlineText interface {
	SearchColumn() (name, value string)
	SearchText(body string) string
}

// Retryable is implemented by dialects whose transactions can fail for a
// reason that running them again cures (PostgreSQL: a deadlock between
// concurrent batches, or a serialization failure). Ingest is idempotent, so
// the store retries it.
type Retryable interface {
	Retryable(err error) bool
}

// RunLocker is implemented by dialects with several writers (PostgreSQL):
// Ingest calls LockRuns first with every run a batch touches, so that
// concurrent batches about the same runs take their locks in one order,
// whatever the order of their items, instead of deadlocking, and so that
// run totals are computed with every committed step. A dialect with several
// writers must implement it.
type RunLocker interface {
	LockRuns(ctx context.Context, tx *Tx, accountID string, runIDs []string) error
}

// TextItem is the searchable text of one run (StepID "") or step.
type TextItem struct {
	RunID, StepID, Body string
}

// SplitTexts separates the texts of runs from those of steps.
func SplitTexts(items []TextItem) (runs, steps []TextItem) {
	for _, it := range items {
		if it.StepID == "" {
			runs = append(runs, it)
		} else {
			steps = append(steps, it)
		}
	}
	return runs, steps
}

// Tx is a write transaction whose statements are prepared once per store
// and reused: preparing dominated ingest time before.
type Tx struct {
	*sql.Tx
	s *Store

	onCommit    []func()
	afterCommit []func(context.Context) error
}

// OnCommit registers f to run right after the transaction commits, in
// commit order: transactions with OnCommit functions commit and run them
// one at a time. f must not block (the SQLite store queues the batch's
// search text there, in the order its rows were written).
func (t *Tx) OnCommit(f func()) { t.onCommit = append(t.onCommit, f) }

// AfterCommit registers f to run once the transaction has committed and its
// OnCommit functions have run; the transaction's caller gets f's error
// (the SQLite store waits there for the batch's search text to be indexed).
func (t *Tx) AfterCommit(f func(context.Context) error) { t.afterCommit = append(t.afterCommit, f) }

func (t *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	query = t.s.d.Rebind(query)
	if st, ok := t.s.stmts.Load(query); ok {
		return t.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	// Preparing on the pool now could wait forever for the connection this
	// transaction holds (SQLite has one writer connection), so prepare in
	// the transaction and let the store cache it once the transaction ends.
	t.s.wanted.Store(query, true)
	return t.Tx.PrepareContext(ctx, query)
}

// prepareWanted caches, on the pool, the statements transactions asked for.
func (s *Store) prepareWanted(ctx context.Context) {
	s.wanted.Range(func(k, _ any) bool {
		q := k.(string)
		s.wanted.Delete(q)
		if _, ok := s.stmts.Load(q); ok {
			return true
		}
		if st, err := s.write.PrepareContext(ctx, q); err == nil {
			if _, loaded := s.stmts.LoadOrStore(q, st); loaded {
				st.Close()
			}
		}
		return true
	})
}

// Exec runs a cached statement (written with ? placeholders) in the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// Query runs a cached query in the transaction.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRow runs a cached single-row query in the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.stmt(ctx, query)
	if err != nil {
		// A failed prepare surfaces on Scan through a query that cannot run.
		return t.Tx.QueryRowContext(ctx, t.s.d.Rebind(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Store is a store.Store over a SQL database.
type Store struct {
	read   *sql.DB // queries; may be the same pool as write
	write  *sql.DB // transactions; SQLite gives it a single connection
	d      Dialect
	now    func() time.Time
	stmts  sync.Map // query text → *sql.Stmt prepared on the write pool
	wanted sync.Map // query texts to prepare once no transaction is open

	onClose []func() // run by Close before the pools close

	// commitOrder makes the commits of transactions with OnCommit functions
	// and the running of those functions one step, so that they run in
	// commit order.
	commitOrder sync.Mutex
}

// OnClose registers f to run when the store closes, before its pools do
// (the SQLite checkpointer stops this way).
func (s *Store) OnClose(f func()) { s.onClose = append(s.onClose, f) }

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
	for _, f := range s.onClose {
		f()
	}
	s.stmts.Range(func(_, v any) bool { v.(*sql.Stmt).Close(); return true })
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
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.inStmtTx(ctx, func(tx *Tx) error { return fn(tx.Tx) })
}

// inStmtTx is inTx with cached prepared statements (the ingest path).
func (s *Store) inStmtTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, s: s}
	// Runs last, after commit or rollback freed the connection.
	defer s.prepareWanted(context.WithoutCancel(ctx))
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
	if len(tx.onCommit) > 0 {
		s.commitOrder.Lock()
		err = tx.Commit()
		if err == nil {
			for _, f := range tx.onCommit {
				f()
			}
		}
		s.commitOrder.Unlock()
	} else {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, f := range tx.afterCommit {
		if err := f(ctx); err != nil {
			return err
		}
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
