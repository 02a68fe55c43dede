package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/agenttrace/agenttrace"
)

// trendDays is how many days of daily run counts an agent summary carries.
const trendDays = 14

// ListAgents answers every agent of the account with its run statistics.
func (s *Store) ListAgents(ctx context.Context, accountID string) ([]agenttrace.AgentSummary, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT id, name, description, rerun_url, created_at FROM agents WHERE account_id = ? ORDER BY id`), accountID)
	if err != nil {
		return nil, err
	}
	var out []agenttrace.AgentSummary
	for rows.Next() {
		var a agenttrace.AgentSummary
		var created int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Description, &a.RerunURL, &created); err != nil {
			rows.Close()
			return nil, err
		}
		a.CreatedAt = time.Unix(0, created).UTC()
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := s.agentStats(ctx, accountID, &out[i]); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []agenttrace.AgentSummary{}
	}
	return out, nil
}

// GetAgent answers one agent with its statistics.
func (s *Store) GetAgent(ctx context.Context, accountID, id string) (agenttrace.AgentSummary, error) {
	var a agenttrace.AgentSummary
	var created int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT id, name, description, rerun_url, created_at FROM agents WHERE account_id = ? AND id = ?`), accountID, id).
		Scan(&a.ID, &a.Name, &a.Description, &a.RerunURL, &created)
	if isNoRows(err) {
		return a, notFound("agent", id)
	}
	if err != nil {
		return a, err
	}
	a.CreatedAt = time.Unix(0, created).UTC()
	return a, s.agentStats(ctx, accountID, &a)
}

func (s *Store) agentStats(ctx context.Context, accountID string, a *agenttrace.AgentSummary) error {
	var last sql.NullInt64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0), COALESCE(SUM(credits), 0), MAX(sort_time)
		FROM runs WHERE account_id = ? AND agent_id = ?`), accountID, a.ID).Scan(&a.Runs, &a.FailedRuns, &a.Credits, &last)
	if err != nil {
		return err
	}
	a.LastRunAt = fromNanos(last)
	var failed string
	err = s.read.QueryRowContext(ctx, s.q(`SELECT id FROM runs WHERE account_id = ? AND agent_id = ? AND status = 'failed' ORDER BY sort_time DESC, id DESC LIMIT 1`),
		accountID, a.ID).Scan(&failed)
	if err != nil && !isNoRows(err) {
		return err
	}
	a.LatestFailed = failed
	day := int64(24 * time.Hour)
	today := s.now().UTC().Truncate(24 * time.Hour).UnixNano()
	from := today - (trendDays-1)*day
	// GROUP BY the alias: repeating the expression would give PostgreSQL
	// other parameters ($5, $6), which it does not see as the same expression.
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT (sort_time - ?) / ? AS d, COUNT(*) FROM runs WHERE account_id = ? AND agent_id = ? AND sort_time >= ?
		GROUP BY d`), from, day, accountID, a.ID, from)
	if err != nil {
		return err
	}
	defer rows.Close()
	a.DailyRuns = make([]int64, trendDays)
	for rows.Next() {
		var i, n int64
		if err := rows.Scan(&i, &n); err != nil {
			return err
		}
		if i >= 0 && i < trendDays {
			a.DailyRuns[i] = n
		}
	}
	return rows.Err()
}

// PutAgent creates or updates an agent's descriptive fields.
func (s *Store) PutAgent(ctx context.Context, accountID string, a agenttrace.Agent) (agenttrace.Agent, error) {
	if a.Name == "" {
		a.Name = a.ID
	}
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO agents (account_id, id, name, description, rerun_url, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name, description = excluded.description, rerun_url = excluded.rerun_url`),
		accountID, a.ID, a.Name, a.Description, a.RerunURL, s.now().UnixNano())
	if err != nil {
		return a, err
	}
	got, err := s.GetAgent(ctx, accountID, a.ID)
	return got.Agent, err
}
