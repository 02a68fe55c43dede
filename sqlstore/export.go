package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

var _ store.Exports = (*Store)(nil)

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
	where, args := s.where(accountID, q)
	var st store.RunStats
	var first, last sql.NullInt64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(SUM(r.step_count), 0), MIN(r.sort_time), MAX(r.sort_time) FROM runs r WHERE `+where), args...).
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

// DeleteJobsFinishedBefore removes finished jobs of a kind older than t.
func (s *Store) DeleteJobsFinishedBefore(ctx context.Context, kind string, t time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM jobs WHERE kind = ? AND status IN ('completed', 'failed', 'canceled') AND finished_at IS NOT NULL AND finished_at < ?`),
		kind, t.UnixNano())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
