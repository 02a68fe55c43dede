package agenttrace

import (
	"encoding/json"
	"time"
)

// StepType is the kind of work a step did.
type StepType string

const (
	StepLLM       StepType = "llm"
	StepTool      StepType = "tool"
	StepRetrieval StepType = "retrieval"
	StepAgent     StepType = "agent"
	StepCode      StepType = "code"
	StepHTTP      StepType = "http"
	StepOther     StepType = "other"
)

// StepTypes lists the valid step types.
var StepTypes = []StepType{StepLLM, StepTool, StepRetrieval, StepAgent, StepCode, StepHTTP, StepOther}

// Valid reports whether t is a known step type.
func (t StepType) Valid() bool {
	for _, v := range StepTypes {
		if v == t {
			return true
		}
	}
	return false
}

// StepError says what went wrong in a step.
type StepError struct {
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
}

// Step is one unit of work inside a run, ordered by Seq.
type Step struct {
	ID         string          `json:"id"`
	RunID      string          `json:"run_id"`
	ParentID   string          `json:"parent_id,omitempty"`
	Seq        int64           `json:"seq"`
	Name       string          `json:"name"`
	Type       StepType        `json:"type"`
	Status     Status          `json:"status"`
	Input      json.RawMessage `json:"input,omitempty"`
	Output     json.RawMessage `json:"output,omitempty"`
	Error      *StepError      `json:"error"`
	StartedAt  *time.Time      `json:"started_at,omitempty"`
	EndedAt    *time.Time      `json:"ended_at,omitempty"`
	DurationMS float64         `json:"duration_ms"`
	// Credits is what the client reported, or else the price of Usage for Model.
	Credits float64 `json:"credits"`
	// CreditsReported is false when Credits came from the price table.
	CreditsReported bool           `json:"-"`
	Usage           Usage          `json:"usage"`
	Model           string         `json:"model,omitempty"`
	Metadata        map[string]any `json:"metadata,omitempty"`

	seqSet bool // seq was given explicitly (see UnmarshalJSON)
}

// SetSeq sets the step's execution order explicitly.
func (s *Step) SetSeq(n int64) { s.Seq, s.seqSet = n, true }

// Batch is one ingest request: runs and steps, written in one transaction.
type Batch struct {
	Runs  []Run  `json:"runs"`
	Steps []Step `json:"steps"`
}

// IngestResult says what a batch did.
type IngestResult struct {
	Runs  int `json:"runs"`
	Steps int `json:"steps"`
}
