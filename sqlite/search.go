package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/sqlstore"
)

// The full-text index lives in a second file, SearchSuffix after the
// database's name, with its own writer: SQLite has one writer per file, and
// indexing (tokenizing every input and output) took 45 % of the ingest
// writer's time. A batch commits its rows in the main file; its text is then
// indexed in the search file by the indexer, while the main writer goes on
// with the next batch. Ingest answers once both are done, so whatever a
// client was told is stored can be found by search.
//
// Crash safety: the batch's transaction also writes a search_pending row
// naming the rows to index; the search file records, in the transaction that
// indexes them, the last pending row it has done. Opening the store indexes
// the rows of every later pending row again from the main file, and builds
// the whole index when the search file is new.
//
// Readers ATTACH the search file, so a query joins runs_fts and steps_fts
// (found there by their unqualified names) with the main tables.
const SearchSuffix = ".search"

const searchSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS runs_fts USING fts5(body, content = '', contentless_delete = 1, tokenize = 'unicode61');
CREATE VIRTUAL TABLE IF NOT EXISTS steps_fts USING fts5(body, content = '', contentless_delete = 1, tokenize = 'unicode61');
-- indexed_through: every search_pending row of the main file up to it is
-- indexed; filled: the index holds every row of the main file up to then.
CREATE TABLE IF NOT EXISTS search_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through INTEGER NOT NULL,
    filled          INTEGER NOT NULL
);
INSERT INTO search_state (id, indexed_through, filled) VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING;
-- Merge 16 segments of a level at a time (FTS5's default is 4), so that
-- each entry is rewritten fewer times: with a real vocabulary, merging was
-- 39 % of the indexer's time; ingest +15–32 %, full-text queries over 1M runs
-- unchanged (docs/benchmarks.md). Set at every open, for older files too.
INSERT INTO runs_fts (runs_fts, rank) VALUES ('automerge', 16);
INSERT INTO steps_fts (steps_fts, rank) VALUES ('automerge', 16);`

// searchFormat is the version of the search file's contents, kept in its
// user_version: 1 since the text of JSON escapes is decoded before it is
// indexed (sqlstore.SearchBody). The store builds an older index again when
// it opens, and serves once done (91 s for 1M steps of 2 KiB prose).
const searchFormat = 1

// searchReadDriver is the driver of the reader pools: it attaches the
// search file named for the connection's DSN in searchFiles.
const searchReadDriver = "agenttrace-sqlite-read"

var searchFiles sync.Map // reader DSN → search file path

func init() {
	d := &sqlite.Driver{}
	d.RegisterConnectionHook(func(conn sqlite.ExecQuerierContext, dsn string) error {
		path, ok := searchFiles.Load(dsn)
		if !ok {
			return nil
		}
		_, err := conn.ExecContext(context.Background(), `ATTACH DATABASE ? AS search`, []driver.NamedValue{{Ordinal: 1, Value: path}})
		return err
	})
	sql.Register(searchReadDriver, d)
}

// ftsRow is one entry of runs_fts or steps_fts: the rowid of its runs or
// steps row, and its text.
type ftsRow struct {
	rowid int64
	body  string
}

// indexJob is the search text of one transaction's runs and steps.
type indexJob struct {
	pending     int64 // its search_pending row
	runs, steps []ftsRow
	done        chan error
}

// indexer is the search file's writer. Jobs are indexed in the order they
// are queued, which is the order their transactions committed; jobs queued
// while it works are indexed together, in one transaction.
type indexer struct {
	db *sql.DB // one connection

	mu    sync.Mutex
	queue []*indexJob
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}

	indexed atomic.Int64 // every pending row up to it is indexed
	cleaned atomic.Int64 // pending rows up to it were deleted (or are being)
	// failed stops indexed from moving once a job could not be indexed, so
	// that the next open indexes that job's rows again.
	failed atomic.Bool
	// failWith, when set (tests), makes indexing fail with its error.
	failWith atomic.Pointer[error]
}

func openIndexer(ctx context.Context, path string) (*indexer, error) {
	if err := createFile(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(0)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, searchSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("search file %s: %w", path, err)
	}
	return &indexer{db: db, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// enqueue queues a job; it never blocks.
func (ix *indexer) enqueue(j *indexJob) {
	ix.mu.Lock()
	ix.queue = append(ix.queue, j)
	ix.mu.Unlock()
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// run indexes queued jobs until close, then what is left.
func (ix *indexer) run() {
	defer close(ix.done)
	for {
		select {
		case <-ix.wake:
		case <-ix.stop:
			ix.drain()
			return
		}
		ix.drain()
	}
}

func (ix *indexer) drain() {
	for {
		ix.mu.Lock()
		jobs := ix.queue
		ix.queue = nil
		ix.mu.Unlock()
		if len(jobs) == 0 {
			return
		}
		err := ix.index(context.Background(), jobs)
		if err != nil {
			ix.failed.Store(true)
			slog.Error("search index: rows stored but not indexed; they will be indexed when the store opens next", "err", err)
			// 503: clients and OTLP exporters retry it, and a retry
			// (idempotent) indexes the batch once indexing works again.
			err = agenttrace.Errorf(agenttrace.EUNAVAILABLE, "the batch is stored, but not yet indexed for search; sending it again is safe")
		}
		for _, j := range jobs {
			j.done <- err
		}
	}
}

// index writes jobs in one transaction.
func (ix *indexer) index(ctx context.Context, jobs []*indexJob) error {
	if err := ix.failWith.Load(); err != nil {
		return *err
	}
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, j := range jobs {
		if err := replaceRows(ctx, tx, "runs_fts", j.runs); err != nil {
			return err
		}
		if err := replaceRows(ctx, tx, "steps_fts", j.steps); err != nil {
			return err
		}
	}
	last := jobs[len(jobs)-1].pending
	if !ix.failed.Load() {
		if _, err := tx.ExecContext(ctx, `UPDATE search_state SET indexed_through = ? WHERE id = 1`, last); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if !ix.failed.Load() {
		ix.indexed.Store(last)
	}
	return nil
}

// ftsPerStatement bounds the multi-row FTS statements (2 parameters a row).
const ftsPerStatement = 400

// replaceRows replaces the entries of rows in table: a delete and an insert
// by rowid.
func replaceRows(ctx context.Context, tx *sql.Tx, table string, rows []ftsRow) error {
	for start := 0; start < len(rows); start += ftsPerStatement {
		chunk := rows[start:min(start+ftsPerStatement, len(rows))]
		del := make([]any, 0, len(chunk))
		ins := make([]any, 0, 2*len(chunk))
		var values strings.Builder
		for i, r := range chunk {
			del = append(del, r.rowid)
			ins = append(ins, r.rowid, r.body)
			if i > 0 {
				values.WriteString(", ")
			}
			values.WriteString("(?, ?)")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE rowid IN (`+marks(len(del))+`)`, del...); err != nil {
			return fmt.Errorf("index %s: %w", table, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (rowid, body) VALUES `+values.String(), ins...); err != nil {
			return fmt.Errorf("index %s: %w", table, err)
		}
	}
	return nil
}

// close indexes what is queued and closes the search file.
func (ix *indexer) close() {
	close(ix.stop)
	<-ix.done
	ix.db.Close()
}

// catchUp brings the index up to the main file, before the store serves:
// it indexes again the rows of the pending rows it had not done (a crash, or
// a failure, between a batch's commit and its indexing), and builds the
// whole index when the search file is new or does not match the main file.
// They do not match when the index is ahead of the main file's pending rows
// (the main file was restored from an older copy: its rowids will name other
// rows) or when pending rows it has not done are gone (the search file was
// restored from an older copy).
func (ix *indexer) catchUp(ctx context.Context, main *sql.DB, path string) error {
	var through int64
	var filled bool
	if err := ix.db.QueryRowContext(ctx, `SELECT indexed_through, filled FROM search_state WHERE id = 1`).Scan(&through, &filled); err != nil {
		return fmt.Errorf("search state: %w", err)
	}
	var format int
	if err := ix.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&format); err != nil {
		return fmt.Errorf("search file format: %w", err)
	}
	// seq: the last pending row ever written; first: the oldest one kept.
	var seq int64
	var first sql.NullInt64
	if err := main.QueryRowContext(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'search_pending'), 0),
		(SELECT MIN(id) FROM search_pending)`).Scan(&seq, &first); err != nil {
		return fmt.Errorf("search pending: %w", err)
	}
	cleanedThrough := seq
	if first.Valid {
		cleanedThrough = first.Int64 - 1
	}
	job := &indexJob{pending: seq}
	switch {
	case !filled || format < searchFormat || through > seq || cleanedThrough > through:
		switch {
		case filled && format < searchFormat:
			slog.Info("search index: building it again, with the text of JSON escapes decoded (a word after \\n was not found)", "file", path)
			if err := ix.clear(ctx); err != nil {
				return err
			}
		case filled:
			slog.Warn("search index: it does not match the database (was one of the two files restored from an older copy?); building it again",
				"file", path, "indexed_through", through, "pending_seq", seq, "pending_cleaned_through", cleanedThrough)
			if err := ix.clear(ctx); err != nil {
				return err
			}
		}
		runs, err := ix.fill(ctx, main, "runs", `SELECT rowid, input, output, reported_error_message FROM runs WHERE rowid > ? ORDER BY rowid LIMIT 2000`)
		if err != nil {
			return err
		}
		steps, err := ix.fill(ctx, main, "steps", `SELECT rowid, input, output, error_message FROM steps WHERE rowid > ? ORDER BY rowid LIMIT 2000`)
		if err != nil {
			return err
		}
		if runs+steps > 0 {
			slog.Info("search index: built from the stored runs and steps", "file", path, "runs", runs, "steps", steps)
		}
	case seq > through:
		var runIDs, stepIDs []int64
		rows, err := main.QueryContext(ctx, `SELECT run_rowids, step_rowids FROM search_pending WHERE id > ? ORDER BY id`, through)
		if err != nil {
			return fmt.Errorf("search pending: %w", err)
		}
		for rows.Next() {
			var r, s string
			if err := rows.Scan(&r, &s); err != nil {
				rows.Close()
				return err
			}
			runIDs, stepIDs = append(runIDs, parseRowids(r)...), append(stepIDs, parseRowids(s)...)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		slog.Info("search index: indexing the rows stored but not indexed before", "file", path, "runs", len(runIDs), "steps", len(stepIDs))
		if job.runs, err = bodiesOf(ctx, main, `SELECT rowid, input, output, reported_error_message FROM runs WHERE rowid IN `, runIDs); err != nil {
			return err
		}
		if job.steps, err = bodiesOf(ctx, main, `SELECT rowid, input, output, error_message FROM steps WHERE rowid IN `, stepIDs); err != nil {
			return err
		}
	default:
		ix.indexed.Store(through)
		return nil
	}
	if err := ix.index(ctx, []*indexJob{job}); err != nil {
		return err
	}
	if _, err := ix.db.ExecContext(ctx, `UPDATE search_state SET filled = 1 WHERE id = 1`); err != nil {
		return err
	}
	if _, err := ix.db.ExecContext(ctx, `PRAGMA user_version = `+strconv.Itoa(searchFormat)); err != nil {
		return err
	}
	if _, err := main.ExecContext(ctx, `DELETE FROM search_pending WHERE id <= ?`, seq); err != nil {
		return err
	}
	ix.cleaned.Store(seq)
	return nil
}

// clear empties the index, marked as not filled in the same transaction so
// that a crash before it is filled again rebuilds it.
func (ix *indexer) clear(ctx context.Context) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{
		`UPDATE search_state SET filled = 0, indexed_through = 0 WHERE id = 1`,
		`INSERT INTO runs_fts (runs_fts) VALUES ('delete-all')`,
		`INSERT INTO steps_fts (steps_fts) VALUES ('delete-all')`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("clear the search index: %w", err)
		}
	}
	return tx.Commit()
}

// fill indexes every row of a main table, a page at a time, and answers how
// many it indexed.
func (ix *indexer) fill(ctx context.Context, main *sql.DB, table, page string) (int, error) {
	after, n := int64(0), 0
	for {
		rows, err := scanBodies(ctx, main, page, after)
		if err != nil {
			return n, fmt.Errorf("index %s: %w", table, err)
		}
		if len(rows) == 0 {
			return n, nil
		}
		n += len(rows)
		j := &indexJob{pending: ix.indexed.Load()}
		if table == "runs" {
			j.runs = rows
		} else {
			j.steps = rows
		}
		if err := ix.index(ctx, []*indexJob{j}); err != nil {
			return n, err
		}
		after = rows[len(rows)-1].rowid
	}
}

// bodiesOf reads the search text of the rows with the given rowids.
func bodiesOf(ctx context.Context, main *sql.DB, query string, rowids []int64) ([]ftsRow, error) {
	var out []ftsRow
	for start := 0; start < len(rowids); start += ftsPerStatement {
		chunk := rowids[start:min(start+ftsPerStatement, len(rowids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := scanBodies(ctx, main, query+`(`+marks(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

func scanBodies(ctx context.Context, db *sql.DB, query string, args ...any) ([]ftsRow, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ftsRow
	for rows.Next() {
		var rowid int64
		var input, output []byte
		var msg sql.NullString
		if err := rows.Scan(&rowid, &input, &output, &msg); err != nil {
			return nil, err
		}
		out = append(out, ftsRow{rowid, sqlstore.SearchBody(input, output, msg.String)})
	}
	return out, rows.Err()
}

func formatRowids(rows []ftsRow) string {
	var sb strings.Builder
	for i, r := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatInt(r.rowid, 10))
	}
	return sb.String()
}

func parseRowids(s string) []int64 {
	var out []int64
	for f := range strings.SplitSeq(s, ",") {
		if n, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}
