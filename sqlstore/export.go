package sqlstore

import (
	"context"
	"database/sql"
	"io"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

var (
	_ store.Exports     = (*Store)(nil)
	_ store.ExportFiles = (*Store)(nil)
)

// StepsForRuns answers the steps of many runs in one query, in seq order.
func (s *Store) StepsForRuns(ctx context.Context, accountID string, runIDs []string) (map[string][]agenttrace.Step, error) {
	out := make(map[string][]agenttrace.Step, len(runIDs))
	const chunk = 500
	for len(runIDs) > 0 {
		ids := runIDs
		if len(ids) > chunk {
			ids = ids[:chunk]
		}
		runIDs = runIDs[len(ids):]
		args := make([]any, 0, len(ids)+1)
		args = append(args, accountID)
		for _, id := range ids {
			args = append(args, id)
		}
		ph := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
		rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+stepCols+` FROM steps WHERE account_id = ? AND run_id IN (`+ph+`) ORDER BY run_id, seq`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			st, err := scanStep(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[st.RunID] = append(out[st.RunID], st)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RunStats counts the runs matching q, sums their steps and finds their time range.
func (s *Store) RunStats(ctx context.Context, accountID string, q *query.Query) (store.RunStats, error) {
	where, args, err := s.where(ctx, accountID, q, false)
	if err != nil {
		return store.RunStats{}, err
	}
	var st store.RunStats
	var first, last sql.NullInt64
	err = s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(SUM(r.step_count), 0), MIN(r.sort_time), MAX(r.sort_time) FROM runs r WHERE `+where), args...).
		Scan(&st.Runs, &st.Steps, &first, &last)
	if err != nil {
		return st, err
	}
	if first.Valid {
		st.First = time.Unix(0, first.Int64).UTC()
	}
	if last.Valid {
		st.Last = time.Unix(0, last.Int64).UTC()
	}
	return st, nil
}

// DeleteJobsFinishedBefore removes finished jobs of a kind older than t,
// and their stored export files.
func (s *Store) DeleteJobsFinishedBefore(ctx context.Context, kind string, t time.Time) (int64, error) {
	const finished = `kind = ? AND status IN ('completed', 'failed', 'canceled') AND finished_at IS NOT NULL AND finished_at < ?`
	var n int64
	err := s.inStmtTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM export_files WHERE job_id IN (SELECT id FROM jobs WHERE `+finished+`)`, kind, t.UnixNano()); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM jobs WHERE `+finished, kind, t.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// exportFilePart is the size of the parts export files are stored in.
const exportFilePart = 1 << 20

// PutExportFile replaces a job's stored file by r, in 1 MiB parts.
func (s *Store) PutExportFile(ctx context.Context, jobID string, r io.Reader) (int64, error) {
	var size int64
	err := s.inStmtTx(ctx, func(tx *Tx) error {
		size = 0
		if _, err := tx.Exec(ctx, `DELETE FROM export_files WHERE job_id = ?`, jobID); err != nil {
			return err
		}
		buf := make([]byte, exportFilePart)
		for part := 0; ; part++ {
			n, err := io.ReadFull(r, buf)
			if n > 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO export_files (job_id, part, data) VALUES (?, ?, ?)`, jobID, part, buf[:n]); err != nil {
					return err
				}
				size += int64(n)
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	return size, err
}

// ExportFile writes a job's stored file to w, part by part.
func (s *Store) ExportFile(ctx context.Context, jobID string, w io.Writer) error {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT data FROM export_files WHERE job_id = ? ORDER BY part`), jobID)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := false
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return err
		}
		found = true
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if !found {
		return notFound("export file", jobID)
	}
	return nil
}
