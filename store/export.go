package store

import (
	"context"
	"io"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
)

// RunStats summarises the runs matching a query in one pass: how many, their
// steps, and the range of their sort times (started_at, else first seen).
type RunStats struct {
	Runs  int64
	Steps int64
	First time.Time // zero when Runs == 0
	Last  time.Time
}

// Exports is what the export writer needs beyond store.Traces to be fast on
// millions of runs (implemented by sqlstore; the export package falls back
// to per-run queries for stores without it).
type Exports interface {
	// StepsForRuns answers the steps of the account's runs, per run id, each
	// list in seq order. Unknown ids are absent from the map.
	StepsForRuns(ctx context.Context, accountID string, runIDs []string) (map[string][]agenttrace.Step, error)
	// RunStats counts the runs matching q and sums their step counts.
	RunStats(ctx context.Context, accountID string, q *query.Query) (RunStats, error)
	// DeleteJobsFinishedBefore removes finished jobs of a kind (of every
	// account) that finished before t, with their stored export files, and
	// answers how many.
	DeleteJobsFinishedBefore(ctx context.Context, kind string, t time.Time) (int64, error)
}

// ExportFiles keeps finished export files in the database, so that every
// replica sharing it can serve a download (PostgreSQL with several servers).
type ExportFiles interface {
	// PutExportFile replaces the stored file of a job by all of r, in one
	// transaction (a failure stores nothing), and answers its size.
	PutExportFile(ctx context.Context, jobID string, r io.Reader) (int64, error)
	// ExportFile writes the stored file of a job to w (ENOTFOUND if none).
	ExportFile(ctx context.Context, jobID string, w io.Writer) error
}
