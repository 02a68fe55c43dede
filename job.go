package agenttrace

import (
	"encoding/json"
	"time"
)

// JobStatus is the state of a background job.
type JobStatus string

const (
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
	JobCanceled  JobStatus = "canceled"
)

// Done reports whether the job has finished, one way or another.
func (s JobStatus) Done() bool {
	return s == JobCompleted || s == JobFailed || s == JobCanceled
}

// Job is a background job (an export, an evaluation, a re-run) kept in the
// database so that it survives a restart and only one replica runs it.
type Job struct {
	ID         string          `json:"id"`
	AccountID  string          `json:"account_id"`
	Kind       string          `json:"kind"`
	Status     JobStatus       `json:"status"`
	Params     json.RawMessage `json:"params,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
	Progress   int64           `json:"progress"`
	Total      int64           `json:"total"`
	Attempts   int             `json:"attempts"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
}
