package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/agenttrace/agenttrace/store"
)

var _ store.Reruns = (*Store)(nil)

// CreateRerun records a re-run request.
func (s *Store) CreateRerun(ctx context.Context, r store.Rerun) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO reruns (id, account_id, run_id, new_run_id, agent_id, url, key_id, key_name,
		overrides, outcome, status_code, error, duration_ns, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.AccountID, r.RunID, r.NewRunID, r.AgentID, r.URL, r.KeyID, r.KeyName, rawOrNil(r.Overrides), r.Outcome,
		r.StatusCode, r.Error, int64(r.DurationMS*1e6), r.CreatedAt.UTC().UnixNano())
	return err
}

// ListReruns answers the requests to re-run one run, newest first.
func (s *Store) ListReruns(ctx context.Context, accountID, runID string, limit int) ([]store.Rerun, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT id, run_id, new_run_id, agent_id, url, key_id, key_name, overrides, outcome,
		status_code, error, duration_ns, created_at FROM reruns WHERE account_id = ? AND run_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`), accountID, runID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Rerun{}
	for rows.Next() {
		r := store.Rerun{AccountID: accountID}
		var overrides sql.NullString
		var dur, created int64
		if err := rows.Scan(&r.ID, &r.RunID, &r.NewRunID, &r.AgentID, &r.URL, &r.KeyID, &r.KeyName, &overrides, &r.Outcome,
			&r.StatusCode, &r.Error, &dur, &created); err != nil {
			return nil, err
		}
		if overrides.Valid {
			r.Overrides = []byte(overrides.String)
		}
		r.DurationMS = float64(dur) / 1e6
		r.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// RerunSecret answers the account's signing secret, storing newSecret when
// there is none.
func (s *Store) RerunSecret(ctx context.Context, accountID, newSecret string) (string, error) {
	var secret string
	err := s.read.QueryRowContext(ctx, s.q(`SELECT secret FROM rerun_secrets WHERE account_id = ?`), accountID).Scan(&secret)
	if err == nil || !isNoRows(err) {
		return secret, err
	}
	if _, err := s.write.ExecContext(ctx, s.q(`INSERT INTO rerun_secrets (account_id, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO NOTHING`), accountID, newSecret, s.now().UnixNano()); err != nil {
		return "", err
	}
	err = s.write.QueryRowContext(ctx, s.q(`SELECT secret FROM rerun_secrets WHERE account_id = ?`), accountID).Scan(&secret)
	return secret, err
}

// SetRerunSecret replaces the account's signing secret.
func (s *Store) SetRerunSecret(ctx context.Context, accountID, secret string) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO rerun_secrets (account_id, secret, created_at) VALUES (?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at`),
		accountID, secret, s.now().UnixNano())
	return err
}
