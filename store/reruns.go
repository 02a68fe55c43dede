package store

import (
	"context"
	"encoding/json"
	"time"
)

// Rerun is one re-run request sent to an agent's rerun_url: who asked, when,
// with which overrides, and what the agent answered.
type Rerun struct {
	ID        string `json:"id"`
	AccountID string `json:"-"`
	RunID     string `json:"run_id"`     // the run re-run
	NewRunID  string `json:"new_run_id"` // the id the agent must report the new run under
	AgentID   string `json:"agent_id"`
	URL       string `json:"url"`
	// KeyID and KeyName are the API key that asked (a web session acts as its key).
	KeyID      string          `json:"key_id"`
	KeyName    string          `json:"key_name,omitempty"`
	Overrides  json.RawMessage `json:"overrides,omitempty"`
	Outcome    string          `json:"outcome"`               // "accepted" (2xx) or "failed"
	StatusCode int             `json:"status_code,omitempty"` // the agent's HTTP status, 0 if it did not answer
	Error      string          `json:"error,omitempty"`
	DurationMS float64         `json:"duration_ms"` // how long the agent took to answer
	CreatedAt  time.Time       `json:"created_at"`
}

// Reruns stores re-run requests and each account's webhook signing secret
// (implemented by sqlstore; the server finds it by type assertion).
type Reruns interface {
	CreateRerun(ctx context.Context, r Rerun) error
	// ListReruns answers the requests to re-run one run, newest first.
	ListReruns(ctx context.Context, accountID, runID string, limit int) ([]Rerun, error)
	// RerunSecret answers the account's signing secret, storing newSecret
	// first when the account has none yet (atomically: with several
	// replicas, every one answers the same secret).
	RerunSecret(ctx context.Context, accountID, newSecret string) (string, error)
	// SetRerunSecret replaces the account's secret (rotation).
	SetRerunSecret(ctx context.Context, accountID, secret string) error
}
