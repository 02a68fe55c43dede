// Package store defines the storage interface of agenttrace. The sqlstore
// package implements it over SQLite and PostgreSQL; storetest holds the
// conformance suite every implementation must pass.
package store

import (
	"context"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
)

// Sort orders of run lists.
const (
	SortTime     = "time"
	SortDuration = "duration"
	SortCredits  = "credits"
)

// ListOptions selects and orders a page of runs.
type ListOptions struct {
	Query  *query.Query // nil: all runs of the account
	Sort   string       // SortTime (default), SortDuration, SortCredits
	Asc    bool         // ascending instead of the default descending
	Limit  int          // default 50, at most 1000
	Cursor string       // from a previous page's NextCursor
	// Light leaves input, output and metadata out (for tables that show none).
	Light bool
}

// RunPage is one page of runs.
type RunPage struct {
	Runs       []agenttrace.Run `json:"data"`
	NextCursor string           `json:"next_cursor"`
}

// UsageOptions selects the runs and buckets of a usage report.
type UsageOptions struct {
	Query    *query.Query
	Interval string // "hour" or "day"
	GroupBy  string // "agent", "model" or "" (one series)
	From, To time.Time
}

// UsageBucket is one point of a usage series.
type UsageBucket struct {
	Time         time.Time `json:"time"`
	Group        string    `json:"group,omitempty"`
	Runs         int64     `json:"runs"`
	FailedRuns   int64     `json:"failed_runs"`
	Credits      float64   `json:"credits"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
}

// Accounts stores tenants and their API keys.
type Accounts interface {
	CreateAccount(ctx context.Context, a agenttrace.Account) error
	GetAccount(ctx context.Context, id string) (agenttrace.Account, error)
	CreateAPIKey(ctx context.Context, k agenttrace.APIKey) error
	ListAPIKeys(ctx context.Context, accountID string) ([]agenttrace.APIKey, error)
	DeleteAPIKey(ctx context.Context, accountID, id string) error
	// APIKeyByHash finds a key by the hash of its secret (ENOTFOUND if none).
	APIKeyByHash(ctx context.Context, hash string) (agenttrace.APIKey, error)
	// CountAPIKeys counts all keys of all accounts (0 on a fresh store).
	CountAPIKeys(ctx context.Context) (int64, error)
	// TouchAPIKey records that the key was used at t (a later use is kept).
	TouchAPIKey(ctx context.Context, id string, t time.Time) error
}

// Traces stores and queries agents, runs and steps.
type Traces interface {
	// Ingest validates nothing (call Batch.Normalize first) and writes the
	// batch in one transaction: all of it or, on error, none of it.
	Ingest(ctx context.Context, accountID string, b *agenttrace.Batch) (agenttrace.IngestResult, error)
	ListAgents(ctx context.Context, accountID string) ([]agenttrace.AgentSummary, error)
	GetAgent(ctx context.Context, accountID, id string) (agenttrace.AgentSummary, error)
	// PutAgent creates or updates an agent's name, description and rerun_url.
	PutAgent(ctx context.Context, accountID string, a agenttrace.Agent) (agenttrace.Agent, error)
	ListRuns(ctx context.Context, accountID string, opts ListOptions) (RunPage, error)
	CountRuns(ctx context.Context, accountID string, q *query.Query) (int64, error)
	// GetRun returns the run with its steps (in seq order), current
	// evaluations and the ids of runs that re-run it.
	GetRun(ctx context.Context, accountID, id string) (agenttrace.Run, error)
	ListSteps(ctx context.Context, accountID, runID string) ([]agenttrace.Step, error)
	Usage(ctx context.Context, accountID string, opts UsageOptions) ([]UsageBucket, error)
	// Prices returns the account's price table: built-in defaults overridden
	// by the account's own entries.
	Prices(ctx context.Context, accountID string) ([]agenttrace.Price, error)
	PutPrices(ctx context.Context, accountID string, prices []agenttrace.Price) error
}

// Store is everything agenttrace keeps.
type Store interface {
	Accounts
	Traces
	Jobs
	Ping(ctx context.Context) error
	Close() error
}
