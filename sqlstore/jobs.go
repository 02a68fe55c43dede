package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
)

const jobCols = `id, account_id, kind, status, params, result, error, progress, total, attempts, created_at, updated_at, finished_at`

func scanJob(sc scanner) (agenttrace.Job, error) {
	var j agenttrace.Job
	var status string
	var params, result sql.NullString
	var created, updated int64
	var finished sql.NullInt64
	if err := sc.Scan(&j.ID, &j.AccountID, &j.Kind, &status, &params, &result, &j.Error, &j.Progress, &j.Total, &j.Attempts,
		&created, &updated, &finished); err != nil {
		return j, err
	}
	j.Status = agenttrace.JobStatus(status)
	if params.Valid {
		j.Params = []byte(params.String)
	}
	if result.Valid {
		j.Result = []byte(result.String)
	}
	j.CreatedAt, j.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	j.FinishedAt = fromNanos(finished)
	return j, nil
}

// CreateJob stores a new job (queued unless its status says otherwise).
func (s *Store) CreateJob(ctx context.Context, j agenttrace.Job) error {
	now := s.now().UnixNano()
	if j.Status == "" {
		j.Status = agenttrace.JobQueued
	}
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO jobs (id, account_id, kind, status, params, result, error, progress, total, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		j.ID, j.AccountID, j.Kind, string(j.Status), rawOrNil(j.Params), rawOrNil(j.Result), j.Error, j.Progress, j.Total, now, now)
	return err
}

// GetJob answers one job of the account.
func (s *Store) GetJob(ctx context.Context, accountID, id string) (agenttrace.Job, error) {
	j, err := scanJob(s.read.QueryRowContext(ctx, s.q(`SELECT `+jobCols+` FROM jobs WHERE account_id = ? AND id = ?`), accountID, id))
	if isNoRows(err) {
		return j, notFound("job", id)
	}
	return j, err
}

// ListJobs answers the newest jobs of a kind.
func (s *Store) ListJobs(ctx context.Context, accountID, kind string, limit int) ([]agenttrace.Job, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+jobCols+` FROM jobs WHERE account_id = ? AND kind = ? ORDER BY created_at DESC, id DESC LIMIT ?`), accountID, kind, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []agenttrace.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// ClaimJob atomically takes a job. The outer WHERE repeats the condition so
// that on PostgreSQL, where two replicas may pick the same id in the
// subquery, the row lock makes the second UPDATE match nothing.
func (s *Store) ClaimJob(ctx context.Context, kinds []string, worker string, lease time.Duration) (agenttrace.Job, bool, error) {
	now := s.now().UnixNano()
	ph := strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ")
	args := []any{worker, now + int64(lease), now}
	for _, k := range kinds {
		args = append(args, k)
	}
	args = append(args, now, now)
	row := s.write.QueryRowContext(ctx, s.q(`UPDATE jobs SET status = 'running', worker = ?, lease_until = ?, attempts = attempts + 1, updated_at = ?
		WHERE id = (SELECT id FROM jobs WHERE kind IN (`+ph+`) AND (status = 'queued' OR (status = 'running' AND lease_until < ?))
		            ORDER BY created_at, id LIMIT 1)
		  AND (status = 'queued' OR (status = 'running' AND lease_until < ?))
		RETURNING `+jobCols), args...)
	j, err := scanJob(row)
	if isNoRows(err) {
		return j, false, nil
	}
	if err != nil {
		return j, false, err
	}
	return j, true, nil
}

// UpdateJob records progress and renews the lease of a job the worker holds.
func (s *Store) UpdateJob(ctx context.Context, id, worker string, progress, total int64, lease time.Duration) (bool, error) {
	now := s.now().UnixNano()
	var cancel int
	err := s.write.QueryRowContext(ctx, s.q(`UPDATE jobs SET progress = ?, total = ?, lease_until = ?, updated_at = ?
		WHERE id = ? AND worker = ? AND status = 'running' RETURNING cancel`),
		progress, total, now+int64(lease), now, id, worker).Scan(&cancel)
	if isNoRows(err) {
		return false, agenttrace.Errorf(agenttrace.ECONFLICT, "job %s: no longer held by worker %s", id, worker)
	}
	return cancel == 1, err
}

// FinishJob ends a job the worker holds.
func (s *Store) FinishJob(ctx context.Context, id, worker string, status agenttrace.JobStatus, result []byte, errMsg string) error {
	now := s.now().UnixNano()
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE jobs SET status = ?, result = ?, error = ?, updated_at = ?, finished_at = ?, lease_until = 0
		WHERE id = ? AND worker = ? AND status = 'running'`),
		string(status), rawOrNil(result), errMsg, now, now, id, worker)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return agenttrace.Errorf(agenttrace.ECONFLICT, "job %s: no longer held by worker %s", id, worker)
	}
	return nil
}

// CancelJob ends a queued job at once and flags a running one to stop.
func (s *Store) CancelJob(ctx context.Context, accountID, id string) (agenttrace.Job, error) {
	now := s.now().UnixNano()
	if _, err := s.write.ExecContext(ctx, s.q(`UPDATE jobs SET status = 'canceled', finished_at = ?, updated_at = ? WHERE account_id = ? AND id = ? AND status = 'queued'`),
		now, now, accountID, id); err != nil {
		return agenttrace.Job{}, err
	}
	if _, err := s.write.ExecContext(ctx, s.q(`UPDATE jobs SET cancel = 1, updated_at = ? WHERE account_id = ? AND id = ? AND status = 'running'`),
		now, accountID, id); err != nil {
		return agenttrace.Job{}, err
	}
	return s.GetJob(ctx, accountID, id)
}
