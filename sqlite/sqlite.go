// Package sqlite opens the embedded SQLite store: a WAL-mode database file in
// the data folder, with one writer connection and a pool of readers, and the
// schema migrations embedded in the binary.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

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

// Page cache sizes. The writer keeps the hot B-tree pages of ingest; each
// reader (up to 2×CPUs of them) only needs the upper levels of the indexes,
// as the OS caches the file. 32 MiB per reader put an export's resident
// memory at 380 MiB, most of it SQLite's caches.
const (
	writeCacheKiB = "32000"
	readCacheKiB  = "2000"
)

// OpenFile opens the database at path and migrates it.
func OpenFile(ctx context.Context, path string) (*sqlstore.Store, error) {
	dsn := func(extra, cacheKiB string) string {
		v := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(on)", "cache_size(-" + cacheKiB + ")", "temp_store(memory)"} {
			v.Add("_pragma", p)
		}
		if extra != "" {
			v.Set("_txlock", extra)
		}
		return "file:" + path + "?" + v.Encode()
	}
	if err := createFile(path); err != nil {
		return nil, err
	}
	write, err := sql.Open("sqlite", dsn("immediate", writeCacheKiB)+"&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, err
	}
	// SQLite has one writer at a time; one connection avoids busy waits.
	write.SetMaxOpenConns(1)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	ix, err := openIndexer(ctx, path+SearchSuffix)
	if err != nil {
		write.Close()
		return nil, err
	}
	if err := ix.catchUp(ctx, write, path+SearchSuffix); err != nil {
		ix.db.Close()
		write.Close()
		return nil, err
	}
	go ix.run()
	readDSN := dsn("", readCacheKiB)
	searchFiles.Store(readDSN, path+SearchSuffix)
	read, err := sql.Open(searchReadDriver, readDSN)
	if err != nil {
		ix.close()
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(max(4, 2*runtime.NumCPU()))
	read.SetMaxIdleConns(max(4, 2*runtime.NumCPU()))
	st := sqlstore.New(read, write, dialect{ix: ix})
	stop := make(chan struct{})
	done := make(chan struct{})
	// The readers attach the search file, so the checkpointer's
	// wal_checkpoint copies the WALs of both files.
	go checkpointer(read, checkpointEvery, stop, done)
	st.OnClose(func() {
		ix.close()
		close(stop)
		<-done
	})
	return st, nil
}

// PageSize is the page size of a new database file. A step with 1 KiB of
// input and 1 KiB of output took a whole 4 KiB page (two do not fit), so
// ingest wrote twice its data to the WAL and again to the file; 16 KiB pages
// hold seven. Measured in docs/benchmarks.md (together with the faster
// decoding of ingest bodies): ingest +30–45 %, the indexed queries over
// 1,000,000 runs unchanged. An existing file keeps its page size.
const PageSize = 16384

// createFile creates the database file with PageSize pages, which must be
// set before its first page is written: the DSN's _pragma list is applied
// after journal_mode=WAL, which fixes the page size already.
func createFile(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA page_size = %d; PRAGMA journal_mode = WAL", PageSize)); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}

// checkpointEvery is how often the WAL is copied into the database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointer copies the WAL into the database file from a reader
// connection, on the other core, so that the writer's commits never do it:
// auto-checkpoint is off on the writer, where it took a sixth of ingest's
// time. A PASSIVE checkpoint neither blocks nor waits for the writer or the
// readers; once it has copied every frame, the writer's next transaction
// starts the WAL again from its beginning, so the WAL stays about as large
// as what is written between two checkpoints.
func checkpointer(db *sql.DB, every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			_, _ = db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			return
		case <-t.C:
			if _, err := db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				slog.Warn("sqlite checkpoint", "err", err)
			}
		}
	}
}

func migrate(ctx context.Context, db *sql.DB) error {
	return sqlstore.Migrate(ctx, db, migrations, "migrations", dialect{})
}

// dialect is the SQLite dialect; ix is the store's search indexer (nil
// while migrating).
type dialect struct {
	ix *indexer
}

func (dialect) Rebind(q string) string { return q }

func (dialect) Filter() sqlfilter.Dialect { return sqlfilter.SQLite{} }

// IndexTexts queues the search text of rows written in tx for the indexer
// (see SearchSuffix): it records their rowids in a search_pending row of tx,
// has the text queued when tx commits, and makes the commit wait until it is
// indexed.
func (d dialect) IndexTexts(ctx context.Context, tx *sqlstore.Tx, accountID string, items []sqlstore.TextItem) error {
	runs, steps := sqlstore.SplitTexts(items)
	job := &indexJob{done: make(chan error, 1)}
	for start := 0; start < len(runs); start += ftsPerStatement {
		chunk := runs[start:min(start+ftsPerStatement, len(runs))]
		args := []any{accountID}
		for _, it := range chunk {
			args = append(args, it.RunID)
		}
		rowids, err := lookupRowids(ctx, tx, `SELECT rowid, id, '' FROM runs WHERE account_id = ? AND id IN (`+marks(len(chunk))+`)`, args)
		if err != nil {
			return err
		}
		if job.runs, err = withRowids(job.runs, chunk, rowids); err != nil {
			return err
		}
	}
	// Steps are looked up by their runs (one indexed range per run).
	byRun := map[string]bool{}
	var runIDs []any
	for _, it := range steps {
		if !byRun[it.RunID] {
			byRun[it.RunID] = true
			runIDs = append(runIDs, it.RunID)
		}
	}
	rowids := map[[2]string]int64{}
	for start := 0; start < len(runIDs); start += ftsPerStatement {
		chunk := runIDs[start:min(start+ftsPerStatement, len(runIDs))]
		got, err := lookupRowids(ctx, tx, `SELECT rowid, run_id, id FROM steps WHERE account_id = ? AND run_id IN (`+marks(len(chunk))+`)`, append([]any{accountID}, chunk...))
		if err != nil {
			return err
		}
		for k, v := range got {
			rowids[k] = v
		}
	}
	var err error
	if job.steps, err = withRowids(nil, steps, rowids); err != nil {
		return err
	}
	ix := d.ix
	if err := tx.QueryRow(ctx, `INSERT INTO search_pending (run_rowids, step_rowids) VALUES (?, ?) RETURNING id`,
		formatRowids(job.runs), formatRowids(job.steps)).Scan(&job.pending); err != nil {
		return fmt.Errorf("search pending: %w", err)
	}
	// Forget the pending rows already indexed.
	if done := ix.indexed.Load(); done > ix.cleaned.Load() {
		if _, err := tx.Exec(ctx, `DELETE FROM search_pending WHERE id <= ?`, done); err != nil {
			return fmt.Errorf("search pending: %w", err)
		}
		ix.cleaned.Store(done)
	}
	tx.OnCommit(func() { ix.enqueue(job) })
	tx.AfterCommit(func(ctx context.Context) error {
		select {
		case err := <-job.done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	return nil
}

// withRowids appends items to rows with the rowids of their rows.
func withRowids(rows []ftsRow, items []sqlstore.TextItem, rowids map[[2]string]int64) ([]ftsRow, error) {
	for _, it := range items {
		rowid, ok := rowids[[2]string{it.RunID, it.StepID}]
		if !ok {
			return nil, fmt.Errorf("index text: no row for run %q step %q", it.RunID, it.StepID)
		}
		rows = append(rows, ftsRow{rowid, it.Body})
	}
	return rows, nil
}

func marks(n int) string { return sqlstore.Marks(n) }

// lookupRowids answers rowid by (first, second) key column.
func lookupRowids(ctx context.Context, tx *sqlstore.Tx, q string, args []any) (map[[2]string]int64, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("index text: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]int64{}
	for rows.Next() {
		var rowid int64
		var a, b string
		if err := rows.Scan(&rowid, &a, &b); err != nil {
			return nil, err
		}
		if b == "" {
			out[[2]string{a, ""}] = rowid
		} else {
			out[[2]string{a, b}] = rowid
		}
	}
	return out, rows.Err()
}
