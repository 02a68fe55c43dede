// Package postgres opens the PostgreSQL store, for several server replicas
// sharing one database: a pgx connection pool through database/sql, the
// schema migrations embedded in the binary (run under an advisory lock so
// that replicas starting together migrate once), and the PostgreSQL dialect
// of sqlstore ($n placeholders, tsvector full-text search).
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace/sqlstore"
	"github.com/agenttrace/agenttrace/store/sqlfilter"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Pool sizes; one pool serves reads and writes (PostgreSQL has no single
// writer), so sqlstore gets it twice.
const (
	maxOpenConns = 20
	maxIdleConns = 10
)

// Open connects to the database at url (postgres://… or a key=value DSN,
// anything pgx accepts, e.g. with search_path=SCHEMA), migrates it and
// returns the store.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return sqlstore.New(db, db, Dialect{}), nil
}

// migrate runs the embedded migrations while holding a session advisory lock
// on a dedicated connection, keyed by the current schema: replicas starting
// at once wait for each other, and the later ones find everything applied.
// The migrations themselves run on other connections of the pool (the lock
// is per session, not per connection that touches the tables).
func migrate(ctx context.Context, db *sql.DB) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	defer conn.Close()
	const key = `hashtext('agenttrace.migrate.' || current_schema())`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		return fmt.Errorf("postgres: migrations lock: %w", err)
	}
	defer func() {
		// Unlock with a context of its own: ctx may be cancelled. If the
		// unlock fails the connection is discarded, which releases the lock.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, uerr := conn.ExecContext(uctx, `SELECT pg_advisory_unlock(`+key+`)`); uerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if err := sqlstore.Migrate(ctx, db, migrations, "migrations", Dialect{}); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Dialect is sqlstore's dialect for PostgreSQL.
type Dialect struct{}

var _ sqlstore.Dialect = Dialect{}

// Rebind rewrites ? placeholders into $1, $2, … in order. A ? inside a
// single-quoted literal, a double-quoted identifier or a -- comment is left
// alone.
func (Dialect) Rebind(q string) string {
	if strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			// Copy through the closing quote; a doubled quote inside
			// ('it''s') closes and reopens, which comes out the same.
			j := strings.IndexByte(q[i+1:], c)
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+1])
			i += j
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Filter returns the query compiler's dialect for PostgreSQL.
func (Dialect) Filter() sqlfilter.Dialect { return Filter{} }

// LockRuns takes a transaction-scoped advisory lock per run, in ascending
// key order: batches touching the same runs then wait for each other instead
// of deadlocking on the rows of runs and steps, which they would otherwise
// lock in the order of their items. Keys are 64-bit hashes of account and
// run id; a collision only makes two batches wait for each other.
func (Dialect) LockRuns(ctx context.Context, tx *sqlstore.Tx, accountID string, runIDs []string) error {
	keys := make([]int64, 0, len(runIDs))
	for _, id := range runIDs {
		h := fnv.New64a()
		h.Write([]byte(accountID))
		h.Write([]byte{0})
		h.Write([]byte(id))
		keys = append(keys, int64(h.Sum64()))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	// unnest yields the sorted array's elements in order.
	var n int64
	return tx.QueryRow(ctx, `SELECT count(pg_advisory_xact_lock(k)) FROM unnest(?::bigint[]) AS k`, keys).Scan(&n)
}

// Retryable recognises the aborts that running the transaction again cures:
// deadlock_detected (40P01) and serialization_failure (40001).
func (Dialect) Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// textsPerStatement bounds the multi-row search-text updates (3 parameters a row).
const textsPerStatement = 500

// IndexTexts stores the tsvector of the searchable text of runs (StepID "")
// and steps in their rows' search column: one UPDATE … FROM (VALUES …) per
// chunk, not one per row. The text itself is not kept: the inputs, outputs
// and errors are in their own columns.
func (Dialect) IndexTexts(ctx context.Context, tx *sqlstore.Tx, accountID string, items []sqlstore.TextItem) error {
	runs, steps := sqlstore.SplitTexts(items)
	for start := 0; start < len(runs); start += textsPerStatement {
		chunk := runs[start:min(start+textsPerStatement, len(runs))]
		var args []any
		rows := make([]string, len(chunk))
		for i, it := range chunk {
			rows[i] = "(?, ?)"
			args = append(args, it.RunID, clean(it.Body))
		}
		if _, err := tx.Exec(ctx, `UPDATE runs SET search = agenttrace_tsvector(v.t) FROM (VALUES `+strings.Join(rows, ", ")+`) AS v(id, t)
			WHERE runs.account_id = ? AND runs.id = v.id`, append(args, accountID)...); err != nil {
			return fmt.Errorf("index text: %w", err)
		}
	}
	for start := 0; start < len(steps); start += textsPerStatement {
		chunk := steps[start:min(start+textsPerStatement, len(steps))]
		var args []any
		rows := make([]string, len(chunk))
		for i, it := range chunk {
			rows[i] = "(?, ?, ?)"
			args = append(args, it.RunID, it.StepID, clean(it.Body))
		}
		if _, err := tx.Exec(ctx, `UPDATE steps SET search = agenttrace_tsvector(v.t) FROM (VALUES `+strings.Join(rows, ", ")+`) AS v(run_id, id, t)
			WHERE steps.account_id = ? AND steps.run_id = v.run_id AND steps.id = v.id`, append(args, accountID)...); err != nil {
			return fmt.Errorf("index text: %w", err)
		}
	}
	return nil
}

// SearchColumn is where the step upsert writes a step's search text
// (sqlstore.InlineText): its tsvector, computed with the row by
// agenttrace_tsvector (migration 0008), which is to_tsvector('simple', …)
// of as much of the text as a tsvector holds.
func (Dialect) SearchColumn() (name, value string) { return "search", "agenttrace_tsvector(?)" }

// SearchText is a step's search text as SearchColumn takes it.
func (Dialect) SearchText(body string) string { return clean(body) }

// clean drops NUL characters, which PostgreSQL text cannot hold (JSON
// payloads carry them only as \u0000 escapes, but error messages may not).
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// Filter is the sqlfilter dialect of the PostgreSQL store. Its placeholders
// are "?" because sqlstore splices the WHERE into larger statements and
// rebinds each whole statement once.
type Filter struct {
	// Runs holds texts the store has already looked up because they match
	// few rows (an id, an email, a rare word): the ids of the account's
	// runs that match, themselves or by a step. The query then reads those
	// runs by id instead of testing run after run in sort order.
	Runs map[string][]string
	// Paged says the query reads runs in sort order and stops at the end of
	// a page: each run's steps are then tested through the steps' primary
	// key, which finds a page of a common text early, instead of collecting
	// the runs of every matching step first, which for a common word means
	// reading most of the steps table.
	Paged bool
}

// Placeholder returns "?".
func (Filter) Placeholder(int) string { return "?" }

// TextSearch matches text as a phrase (phraseto_tsquery, 'simple'
// configuration: lower-cased words, no stemming, no stop words) in the run's
// own search tsvector or in the search tsvector of any of its steps. search
// is never NULL, so the condition is never NULL and NOT (…) is exact.
func (f Filter) TextSearch(text, accountID string, arg func(v any) string) string {
	if ids, ok := f.Runs[text]; ok {
		if len(ids) == 0 {
			return "FALSE"
		}
		return "r.id = ANY(" + arg(ids) + "::text[])"
	}
	inRun := "r.search @@ phraseto_tsquery('simple', " + arg(text) + ")"
	if f.Paged {
		// OFFSET 0 keeps the planner from turning the EXISTS into a
		// hashed set of every matching step's run, built before the
		// first row
		return inRun + " OR EXISTS (SELECT 1 FROM steps s WHERE s.account_id = r.account_id AND s.run_id = r.id" +
			" AND s.search @@ phraseto_tsquery('simple', " + arg(text) + ") OFFSET 0)"
	}
	return inRun + " OR r.id IN (SELECT s.run_id FROM steps s WHERE s.account_id = " + arg(accountID) +
		" AND s.search @@ phraseto_tsquery('simple', " + arg(text) + "))"
}
