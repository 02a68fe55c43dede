package store

import (
	"context"
	"time"

	"github.com/agenttrace/agenttrace"
)

// Jobs stores background jobs. Claiming is atomic: with several replicas on
// one database, a job is run by one worker at a time.
type Jobs interface {
	CreateJob(ctx context.Context, j agenttrace.Job) error
	GetJob(ctx context.Context, accountID, id string) (agenttrace.Job, error)
	// ListJobs answers the account's jobs of a kind, newest first.
	ListJobs(ctx context.Context, accountID, kind string, limit int) ([]agenttrace.Job, error)
	// ClaimJob takes the oldest queued job of the kinds, or a running one
	// whose lease expired, for worker until now+lease. ok is false if none.
	ClaimJob(ctx context.Context, kinds []string, worker string, lease time.Duration) (j agenttrace.Job, ok bool, err error)
	// UpdateJob records progress and renews the lease; it answers whether
	// the job was canceled, and ENOTFOUND/ECONFLICT if the worker lost it.
	UpdateJob(ctx context.Context, id, worker string, progress, total int64, lease time.Duration) (canceled bool, err error)
	// FinishJob ends a job the worker holds with a final status.
	FinishJob(ctx context.Context, id, worker string, status agenttrace.JobStatus, result []byte, errMsg string) error
	// CancelJob asks for a job to stop (queued jobs end at once).
	CancelJob(ctx context.Context, accountID, id string) (agenttrace.Job, error)
}
