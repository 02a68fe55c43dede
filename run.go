package agenttrace

import (
	"encoding/json"
	"time"
)

// Status is the state of a run or a step: the seed's four, no others.
type Status string

const (
	StatusPending    Status = "pending"
	StatusProcessing Status = "processing"
	StatusCompleted  Status = "completed"
	StatusFailed     Status = "failed"
)

// Statuses lists the valid statuses.
var Statuses = []Status{StatusPending, StatusProcessing, StatusCompleted, StatusFailed}

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusProcessing, StatusCompleted, StatusFailed:
		return true
	}
	return false
}

// Usage counts tokens.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
}

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{InputTokens: u.InputTokens + o.InputTokens, OutputTokens: u.OutputTokens + o.OutputTokens}
}

// RunError says why a run failed and which step failed first.
type RunError struct {
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
	StepID  string `json:"step_id,omitempty"`
}

// Agent is the thing that runs. It is created on first sight of a run naming it.
type Agent struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	RerunURL    string    `json:"rerun_url,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// AgentSummary is an agent with its run statistics, for lists.
type AgentSummary struct {
	Agent
	Runs         int64      `json:"runs"`
	FailedRuns   int64      `json:"failed_runs"`
	Credits      float64    `json:"credits"`
	LastRunAt    *time.Time `json:"last_run_at,omitempty"`
	LatestFailed string     `json:"latest_failed_run_id,omitempty"`
	DailyRuns    []int64    `json:"daily_runs,omitempty"` // the last 14 days, oldest first
}

// Run is one execution of one agent: a trace.
type Run struct {
	ID         string          `json:"id"`
	AgentID    string          `json:"agent_id"`
	Status     Status          `json:"status"`
	Trigger    string          `json:"trigger,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      *RunError       `json:"error"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	EndedAt    *time.Time      `json:"ended_at,omitempty"`
	DurationMS float64         `json:"duration_ms"`
	// Credits is the run total: its steps' credits plus OwnCredits.
	Credits    float64        `json:"credits"`
	OwnCredits float64        `json:"-"`
	Usage      Usage          `json:"usage"`
	Metadata   map[string]any `json:"metadata,omitempty"`
	SessionID  string         `json:"session_id,omitempty"`
	RerunOf    string         `json:"rerun_of,omitempty"`
	StepCount  int            `json:"step_count"`
	// Reruns lists the runs that re-run this one (filled on single-run reads).
	Reruns      []string     `json:"reruns,omitempty"`
	Steps       []Step       `json:"steps,omitempty"`
	Evaluations []EvalResult `json:"evaluations,omitempty"`
}

// Tags returns metadata.tags as strings.
func (r *Run) Tags() []string {
	return tagsOf(r.Metadata)
}

func tagsOf(md map[string]any) []string {
	raw, ok := md["tags"]
	if !ok {
		return nil
	}
	switch v := raw.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, t := range v {
			if s, ok := t.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// EvalResult is an evaluator's verdict on one run.
type EvalResult struct {
	ID            string    `json:"id"`
	RunID         string    `json:"run_id"`
	EvaluatorID   string    `json:"evaluator_id"`
	EvaluatorName string    `json:"evaluator_name"`
	Verdict       string    `json:"verdict"` // pass, fail, error
	Score         *float64  `json:"score,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	StepID        string    `json:"step_id,omitempty"`
	JobID         string    `json:"job_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// Price is the cost of a model in credits per million tokens.
type Price struct {
	Model            string  `json:"model"`
	InputPerMillion  float64 `json:"input_per_million"`
	OutputPerMillion float64 `json:"output_per_million"`
}

// Credits returns the price of the usage.
func (p Price) Credits(u Usage) float64 {
	return (float64(u.InputTokens)*p.InputPerMillion + float64(u.OutputTokens)*p.OutputPerMillion) / 1e6
}

// DefaultPrices are the built-in prices every account starts with
// (credits = US dollars per million tokens, list prices of common models).
var DefaultPrices = []Price{
	{"gpt-4o", 2.5, 10},
	{"gpt-4o-mini", 0.15, 0.6},
	{"gpt-4.1", 2, 8},
	{"gpt-4.1-mini", 0.4, 1.6},
	{"o3-mini", 1.1, 4.4},
	{"claude-3-5-sonnet", 3, 15},
	{"claude-3-5-haiku", 0.8, 4},
	{"claude-sonnet-4", 3, 15},
	{"claude-opus-4", 15, 75},
	{"gemini-1.5-pro", 1.25, 5},
	{"gemini-2.0-flash", 0.1, 0.4},
	{"text-embedding-3-small", 0.02, 0},
	{"text-embedding-3-large", 0.13, 0},
}

// PriceFor finds the price of a model: an exact match, else the longest
// entry that prefixes it ("gpt-4o-2024-08-06" is priced as "gpt-4o").
func PriceFor(prices []Price, model string) (Price, bool) {
	var best Price
	found := false
	for _, p := range prices {
		if p.Model == model {
			return p, true
		}
		if len(p.Model) > len(best.Model) && len(model) > len(p.Model) && model[:len(p.Model)] == p.Model {
			best, found = p, true
		}
	}
	return best, found
}
