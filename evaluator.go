package agenttrace

import (
	"encoding/json"
	"slices"
	"time"
)

// EvaluatorKind says how an evaluator decides.
type EvaluatorKind string

const (
	// EvalRule is a CEL expression over the run that must be true to pass.
	EvalRule EvaluatorKind = "rule"
	// EvalBuiltin is one of the built-in checks (pii, secrets, max_credits, …).
	EvalBuiltin EvaluatorKind = "builtin"
	// EvalJudge asks an OpenAI-compatible chat-completions endpoint (LLM as judge).
	EvalJudge EvaluatorKind = "judge"
)

// Valid reports whether k is a known kind.
func (k EvaluatorKind) Valid() bool {
	return k == EvalRule || k == EvalBuiltin || k == EvalJudge
}

// Verdicts of an evaluation.
const (
	VerdictPass  = "pass"
	VerdictFail  = "fail"
	VerdictError = "error"
)

// Evaluator is a named check run on runs: retroactively on a selection, and
// on every new run of the agents in AgentIDs ("*" for all agents) when it ends.
type Evaluator struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"` // unique in the account; the NAME of eval:NAME=pass
	Description string        `json:"description,omitempty"`
	Kind        EvaluatorKind `json:"kind"`
	// Config depends on Kind (see docs/evaluations.md); secrets are not in it.
	Config   json.RawMessage `json:"config"`
	AgentIDs []string        `json:"agent_ids"`
	// Secret is kept server-side (the judge's API key) and never shown.
	Secret    string    `json:"-"`
	SecretSet bool      `json:"secret_set"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AppliesTo reports whether the evaluator runs on new runs of the agent.
func (e *Evaluator) AppliesTo(agentID string) bool {
	return slices.Contains(e.AgentIDs, "*") || slices.Contains(e.AgentIDs, agentID)
}
