package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace"
)

type compareIn struct {
	A string `json:"a" jsonschema:"the first run's id (e.g. the failed run)"`
	B string `json:"b" jsonschema:"the second run's id (e.g. its re-run)"`
}

// RunBrief is a run's header, for comparisons.
type RunBrief struct {
	ID         string           `json:"id"`
	AgentID    string           `json:"agent_id"`
	Status     string           `json:"status"`
	Trigger    string           `json:"trigger,omitempty"`
	StartedAt  *time.Time       `json:"started_at,omitempty"`
	DurationMS float64          `json:"duration_ms"`
	Credits    float64          `json:"credits"`
	Usage      agenttrace.Usage `json:"usage"`
	StepCount  int              `json:"step_count"`
	Error      string           `json:"error,omitempty"`
	RerunOf    string           `json:"rerun_of,omitempty"`
}

// FieldDiff is a header field whose values differ.
type FieldDiff struct {
	Field string `json:"field"`
	A     any    `json:"a"`
	B     any    `json:"b"`
}

// StepPair is a step of A aligned with a step of B (by name, in order).
type StepPair struct {
	Change      string     `json:"change" jsonschema:"same, changed, only_in_a or only_in_b"`
	A           *StepBrief `json:"a,omitempty"`
	B           *StepBrief `json:"b,omitempty"`
	Differences []string   `json:"differences,omitempty"`
}

type compareOut struct {
	Source            string         `json:"source" jsonschema:"api: the server's GET /api/v1/compare answered (in comparison); client: the server has no compare endpoint, so the comparison was computed by the MCP server from both runs"`
	Comparison        map[string]any `json:"comparison,omitempty" jsonschema:"the API's comparison, when source is api"`
	A                 *RunBrief      `json:"a,omitempty"`
	B                 *RunBrief      `json:"b,omitempty"`
	HeaderDifferences []FieldDiff    `json:"header_differences,omitempty"`
	Steps             []StepPair     `json:"steps,omitempty"`
	Summary           string         `json:"summary,omitempty"`
}

func (t *tools) compareRuns(ctx context.Context, b *Backend, in compareIn) (compareOut, error) {
	if in.A == "" || in.B == "" {
		return compareOut{}, errors.New("a and b: give two run ids")
	}
	raw, err := b.Client.Compare(ctx, in.A, in.B)
	if err == nil {
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			return compareOut{}, fmt.Errorf("the API's comparison is not a JSON object: %v", err)
		}
		return compareOut{Source: "api", Comparison: body}, nil
	}
	if !missingEndpoint(err) {
		return compareOut{}, err
	}
	ra, err := b.Client.GetRun(ctx, in.A)
	if err != nil {
		return compareOut{}, fmt.Errorf("a: %w", toolError(err))
	}
	rb, err := b.Client.GetRun(ctx, in.B)
	if err != nil {
		return compareOut{}, fmt.Errorf("b: %w", toolError(err))
	}
	return compareLocally(&ra, &rb), nil
}

func runBrief(r *agenttrace.Run) *RunBrief {
	b := &RunBrief{ID: r.ID, AgentID: r.AgentID, Status: string(r.Status), Trigger: r.Trigger, StartedAt: r.StartedAt,
		DurationMS: r.DurationMS, Credits: r.Credits, Usage: r.Usage, StepCount: r.StepCount, RerunOf: r.RerunOf}
	if r.Error != nil {
		b.Error = trimString(r.Error.Message, 500, "")
	}
	return b
}

// compareLocally compares two runs: header fields, and steps aligned by the
// longest common subsequence of their names (so an inserted or removed step
// does not shift every later one).
func compareLocally(a, b *agenttrace.Run) compareOut {
	out := compareOut{Source: "client", A: runBrief(a), B: runBrief(b)}
	diff := func(field string, va, vb any) {
		if va != vb {
			out.HeaderDifferences = append(out.HeaderDifferences, FieldDiff{Field: field, A: va, B: vb})
		}
	}
	ba, bb := out.A, out.B
	diff("agent_id", ba.AgentID, bb.AgentID)
	diff("status", ba.Status, bb.Status)
	diff("trigger", ba.Trigger, bb.Trigger)
	diff("error", ba.Error, bb.Error)
	diff("step_count", ba.StepCount, bb.StepCount)
	diff("duration_ms", ba.DurationMS, bb.DurationMS)
	diff("credits", ba.Credits, bb.Credits)
	diff("input_tokens", ba.Usage.InputTokens, bb.Usage.InputTokens)
	diff("output_tokens", ba.Usage.OutputTokens, bb.Usage.OutputTokens)
	if !sameJSON(a.Input, b.Input) {
		out.HeaderDifferences = append(out.HeaderDifferences, FieldDiff{Field: "input", A: "differs", B: "differs"})
	}
	if !sameJSON(a.Output, b.Output) {
		out.HeaderDifferences = append(out.HeaderDifferences, FieldDiff{Field: "output", A: "differs", B: "differs"})
	}

	changed := 0
	for _, p := range alignSteps(a.Steps, b.Steps) {
		var pair StepPair
		switch {
		case p[0] < 0:
			sb := briefOf(b.Steps[p[1]])
			pair = StepPair{Change: "only_in_b", B: &sb}
		case p[1] < 0:
			sa := briefOf(a.Steps[p[0]])
			pair = StepPair{Change: "only_in_a", A: &sa}
		default:
			sa, sb := a.Steps[p[0]], b.Steps[p[1]]
			ba, bb := briefOf(sa), briefOf(sb)
			pair = StepPair{Change: "same", A: &ba, B: &bb, Differences: stepDifferences(sa, sb)}
			if len(pair.Differences) > 0 {
				pair.Change = "changed"
			}
		}
		if pair.Change != "same" {
			changed++
		}
		out.Steps = append(out.Steps, pair)
	}
	out.Summary = fmt.Sprintf("%s (%s, %d steps) vs %s (%s, %d steps): %d header fields and %d steps differ.",
		a.ID, a.Status, len(a.Steps), b.ID, b.Status, len(b.Steps), len(out.HeaderDifferences), changed)
	return out
}

func stepDifferences(a, b agenttrace.Step) []string {
	var d []string
	if a.Type != b.Type {
		d = append(d, fmt.Sprintf("type: %s → %s", a.Type, b.Type))
	}
	if a.Status != b.Status {
		d = append(d, fmt.Sprintf("status: %s → %s", a.Status, b.Status))
	}
	if a.Model != b.Model {
		d = append(d, fmt.Sprintf("model: %q → %q", a.Model, b.Model))
	}
	ea, eb := "", ""
	if a.Error != nil {
		ea = a.Error.Message
	}
	if b.Error != nil {
		eb = b.Error.Message
	}
	if ea != eb {
		d = append(d, fmt.Sprintf("error: %q → %q", trimString(ea, 200, ""), trimString(eb, 200, "")))
	}
	if !sameJSON(a.Input, b.Input) {
		d = append(d, "input differs")
	}
	if !sameJSON(a.Output, b.Output) {
		d = append(d, "output differs")
	}
	return d
}

// sameJSON compares two payloads ignoring insignificant whitespace.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// alignSteps pairs the indexes of a and b: [i, j] for aligned steps, [i, -1]
// and [-1, j] for steps of one side only, in execution order. Steps align
// when they have the same name and type; long runs fall back to pairing by
// position.
func alignSteps(a, b []agenttrace.Step) [][2]int {
	n, m := len(a), len(b)
	var pairs [][2]int
	if n*m > 1_000_000 {
		for i := 0; i < max(n, m); i++ {
			p := [2]int{-1, -1}
			if i < n {
				p[0] = i
			}
			if i < m {
				p[1] = i
			}
			pairs = append(pairs, p)
		}
		return pairs
	}
	same := func(i, j int) bool { return a[i].Name == b[j].Name && a[i].Type == b[j].Type }
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if same(i, j) {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && same(i, j):
			pairs = append(pairs, [2]int{i, j})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			pairs = append(pairs, [2]int{-1, j})
			j++
		default:
			pairs = append(pairs, [2]int{i, -1})
			i++
		}
	}
	return pairs
}
