package store

import (
	"context"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
)

// EvalResultFilter selects verdicts.
type EvalResultFilter struct {
	JobID       string   // verdicts written by this job
	RunIDs      []string // of these runs (at most 1000)
	EvaluatorID string
	Verdict     string // pass, fail, error
	// All includes superseded verdicts (history); default: current ones only.
	All    bool
	Limit  int    // default 100, at most 1000
	Cursor string // from a previous page
}

// EvalResultPage is one page of verdicts, oldest first.
type EvalResultPage struct {
	Results    []agenttrace.EvalResult `json:"data"`
	NextCursor string                  `json:"next_cursor"`
}

// EvalCount counts the verdicts of one evaluator.
type EvalCount struct {
	EvaluatorID   string `json:"evaluator_id"`
	EvaluatorName string `json:"evaluator_name"`
	Pass          int64  `json:"pass"`
	Fail          int64  `json:"fail"`
	Error         int64  `json:"error"`
}

// EvalStatsOptions selects the buckets of pass rates over time.
type EvalStatsOptions struct {
	Query       *query.Query // runs to count (bucketed by the run's time)
	Interval    string       // "hour" or "day"
	From, To    time.Time
	EvaluatorID string // "" for all evaluators
}

// EvalStatsBucket counts the current verdicts of one evaluator on the runs of one bucket.
type EvalStatsBucket struct {
	Time time.Time `json:"time"`
	EvalCount
}

// Evals stores evaluators and their verdicts (implemented by sqlstore; the
// server finds it with a type assertion on its store.Store).
type Evals interface {
	// CreateEvaluator stores e; a name already used in the account is ECONFLICT.
	CreateEvaluator(ctx context.Context, accountID string, e agenttrace.Evaluator) error
	GetEvaluator(ctx context.Context, accountID, id string) (agenttrace.Evaluator, error)
	ListEvaluators(ctx context.Context, accountID string) ([]agenttrace.Evaluator, error)
	// UpdateEvaluator replaces name, description, kind, config, agent ids and secret.
	UpdateEvaluator(ctx context.Context, accountID string, e agenttrace.Evaluator) error
	// DeleteEvaluator removes the evaluator; its verdicts stay as history.
	DeleteEvaluator(ctx context.Context, accountID, id string) error

	// SaveEvalResults marks the current verdicts of the same (run, evaluator)
	// pairs not current and inserts the new ones (current), in one transaction.
	SaveEvalResults(ctx context.Context, accountID string, results []agenttrace.EvalResult) error
	ListEvalResults(ctx context.Context, accountID string, f EvalResultFilter) (EvalResultPage, error)
	// CountEvalResults counts a job's verdicts (current ones) per evaluator.
	CountEvalResults(ctx context.Context, accountID, jobID string) ([]EvalCount, error)
	// EvalStats counts current verdicts per evaluator and time bucket of the runs.
	EvalStats(ctx context.Context, accountID string, opts EvalStatsOptions) ([]EvalStatsBucket, error)

	// RunIDPage answers the ids of a page of the runs matching q, newest
	// first, in keyset order (cursor "" starts; next is "" after the last page).
	RunIDPage(ctx context.Context, accountID string, q *query.Query, cursor string, limit int) (ids []string, next string, err error)
	// RunsForEval loads runs with their steps (in seq order) in two queries;
	// unknown ids are left out. Evaluations and re-runs are not filled.
	// light leaves out the input, output and metadata of runs and steps.
	RunsForEval(ctx context.Context, accountID string, ids []string, light bool) ([]agenttrace.Run, error)
}
