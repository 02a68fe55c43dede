// Package compare compares two runs: their headers side by side with deltas,
// their steps aligned (an LCS over (name, type), level by level through the
// nesting, so that an inserted or missing step does not shift the others),
// per aligned pair the status change, the duration and credit deltas, a
// JSON-aware diff of inputs and outputs and the error change, and the first
// point where the runs diverge. It works across agents too.
package compare

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
)

// Changes of an aligned pair.
const (
	Same    = "same"    // aligned, nothing but timing and cost differs
	Changed = "changed" // aligned, status, model, input, output or error differ
	Removed = "removed" // only in A
	Added   = "added"   // only in B
)

// Result is the comparison of run A with run B; deltas are B − A.
type Result struct {
	A         Header `json:"a"`
	B         Header `json:"b"`
	SameAgent bool   `json:"same_agent"`
	Delta     Delta  `json:"delta"`
	// Input and Output diff the runs' own input and output.
	Input  []Diff `json:"input_diff"`
	Output []Diff `json:"output_diff"`
	// Steps are the aligned pairs in execution order (pre-order of the
	// nesting: a pair's children follow it, one Depth deeper).
	Steps []Pair `json:"steps"`
	// Divergence is the index in Steps of the first pair that differs in
	// status, output or error, or is on one side only; -1 when none does.
	Divergence int    `json:"divergence"`
	Summary    string `json:"summary"`
	Counts     Counts `json:"counts"`
}

// Header is one run's side of the header.
type Header struct {
	ID         string               `json:"id"`
	AgentID    string               `json:"agent_id"`
	Status     agenttrace.Status    `json:"status"`
	Trigger    string               `json:"trigger,omitempty"`
	StartedAt  *time.Time           `json:"started_at,omitempty"`
	DurationMS float64              `json:"duration_ms"`
	Credits    float64              `json:"credits"`
	Usage      agenttrace.Usage     `json:"usage"`
	Models     []string             `json:"models"`
	StepCount  int                  `json:"step_count"`
	Error      *agenttrace.RunError `json:"error"`
	RerunOf    string               `json:"rerun_of,omitempty"`
	Metadata   map[string]any       `json:"metadata,omitempty"`
}

// Delta is B − A of the header's numbers, and what changed.
type Delta struct {
	StatusChanged bool     `json:"status_changed"`
	DurationMS    float64  `json:"duration_ms"`
	DurationPct   float64  `json:"duration_pct"` // relative to A; 0 when A is 0
	Credits       float64  `json:"credits"`
	CreditsPct    float64  `json:"credits_pct"`
	InputTokens   int64    `json:"input_tokens"`
	OutputTokens  int64    `json:"output_tokens"`
	StepCount     int      `json:"step_count"`
	ModelsAdded   []string `json:"models_added,omitempty"`   // used by B, not by A
	ModelsRemoved []string `json:"models_removed,omitempty"` // used by A, not by B
	ErrorChanged  bool     `json:"error_changed"`
}

// Counts sums the pairs by change.
type Counts struct {
	Same    int `json:"same"`
	Changed int `json:"changed"`
	Removed int `json:"removed"`
	Added   int `json:"added"`
}

// StepSide is one step of a pair.
type StepSide struct {
	ID         string                `json:"id"`
	Seq        int64                 `json:"seq"`
	Name       string                `json:"name"`
	Type       agenttrace.StepType   `json:"type"`
	Status     agenttrace.Status     `json:"status"`
	DurationMS float64               `json:"duration_ms"`
	Credits    float64               `json:"credits"`
	Usage      agenttrace.Usage      `json:"usage"`
	Model      string                `json:"model,omitempty"`
	Error      *agenttrace.StepError `json:"error"`
}

// Pair is a step of A aligned with a step of B, or a step of one side only.
type Pair struct {
	Change string    `json:"change"`
	Depth  int       `json:"depth"`
	A      *StepSide `json:"a"`
	B      *StepSide `json:"b"`
	// Moved is set on a step of one side only when the other side has an
	// unaligned step of the same name and type at the same level (a reorder).
	Moved bool `json:"moved,omitempty"`
	// The rest is set on aligned pairs only.
	StatusChanged bool         `json:"status_changed,omitempty"`
	ModelChanged  bool         `json:"model_changed,omitempty"`
	DurationMS    float64      `json:"duration_delta_ms"`
	Credits       float64      `json:"credits_delta"`
	Input         []Diff       `json:"input_diff,omitempty"`
	Output        []Diff       `json:"output_diff,omitempty"`
	ErrorChange   *ErrorChange `json:"error_change,omitempty"`
	Divergent     bool         `json:"divergent,omitempty"` // the first divergence
	Reasons       []string     `json:"reasons,omitempty"`   // why the pair is not "same"
}

// ErrorChange is a step's error on each side (nil: none).
type ErrorChange struct {
	A *agenttrace.StepError `json:"a"`
	B *agenttrace.StepError `json:"b"`
}

// Runs compares run A with run B (each with its steps).
func Runs(a, b agenttrace.Run) Result {
	res := Result{A: header(a), B: header(b), SameAgent: a.AgentID == b.AgentID, Divergence: -1}
	d := &res.Delta
	d.StatusChanged = a.Status != b.Status
	d.DurationMS = b.DurationMS - a.DurationMS
	d.DurationPct = pct(a.DurationMS, b.DurationMS)
	d.Credits = b.Credits - a.Credits
	d.CreditsPct = pct(a.Credits, b.Credits)
	d.InputTokens = b.Usage.InputTokens - a.Usage.InputTokens
	d.OutputTokens = b.Usage.OutputTokens - a.Usage.OutputTokens
	d.StepCount = res.B.StepCount - res.A.StepCount
	for _, m := range res.B.Models {
		if !slices.Contains(res.A.Models, m) {
			d.ModelsAdded = append(d.ModelsAdded, m)
		}
	}
	for _, m := range res.A.Models {
		if !slices.Contains(res.B.Models, m) {
			d.ModelsRemoved = append(d.ModelsRemoved, m)
		}
	}
	d.ErrorChanged = runErr(a.Error) != runErr(b.Error)
	res.Input = JSON(a.Input, b.Input)
	res.Output = JSON(a.Output, b.Output)

	res.Steps = Align(a.Steps, b.Steps)
	for i := range res.Steps {
		p := &res.Steps[i]
		switch p.Change {
		case Same:
			res.Counts.Same++
		case Changed:
			res.Counts.Changed++
		case Removed:
			res.Counts.Removed++
		case Added:
			res.Counts.Added++
		}
	}
	res.Divergence = firstDivergence(res.Steps)
	if res.Divergence >= 0 {
		res.Steps[res.Divergence].Divergent = true
	}
	if res.Steps == nil {
		res.Steps = []Pair{}
	}
	res.Summary = summary(&res)
	return res
}

func pct(a, b float64) float64 {
	if a == 0 {
		return 0
	}
	return (b - a) / a * 100
}

func runErr(e *agenttrace.RunError) string {
	if e == nil {
		return ""
	}
	return e.Type + "\x00" + e.Message
}

func stepErr(e *agenttrace.StepError) string {
	if e == nil {
		return ""
	}
	return e.Type + "\x00" + e.Message
}

func header(r agenttrace.Run) Header {
	h := Header{ID: r.ID, AgentID: r.AgentID, Status: r.Status, Trigger: r.Trigger, DurationMS: r.DurationMS,
		StartedAt: r.StartedAt, Credits: r.Credits, Usage: r.Usage, StepCount: r.StepCount, Error: r.Error, RerunOf: r.RerunOf, Metadata: r.Metadata,
		Models: []string{}}
	if h.StepCount == 0 {
		h.StepCount = len(r.Steps)
	}
	for _, s := range r.Steps {
		if s.Model != "" && !slices.Contains(h.Models, s.Model) {
			h.Models = append(h.Models, s.Model)
		}
	}
	return h
}

// firstDivergence finds the first divergent pair in execution order; when
// that pair's children diverge too (a parent fails because its child
// failed), it descends to the first divergent child: the cause.
func firstDivergence(ps []Pair) int {
	at := -1
	for i := range ps {
		if diverges(&ps[i]) {
			at = i
			break
		}
	}
	for at >= 0 {
		next := -1
		for k := at + 1; k < len(ps) && ps[k].Depth > ps[at].Depth; k++ {
			if diverges(&ps[k]) {
				next = k
				break
			}
		}
		if next < 0 {
			break
		}
		at = next
	}
	return at
}

// diverges: the pair differs in status, output or error, or is one-sided.
func diverges(p *Pair) bool {
	if p.Change == Added || p.Change == Removed {
		return true
	}
	return p.StatusChanged || len(p.Output) > 0 || p.ErrorChange != nil
}

func summary(r *Result) string {
	s := fmt.Sprintf("%s (%s, %d steps) vs %s (%s, %d steps): %d same, %d changed, %d only in A, %d only in B.",
		r.A.ID, r.A.Status, r.A.StepCount, r.B.ID, r.B.Status, r.B.StepCount,
		r.Counts.Same, r.Counts.Changed, r.Counts.Removed, r.Counts.Added)
	if r.Divergence < 0 {
		return s + " The steps do not diverge."
	}
	p := r.Steps[r.Divergence]
	side := p.A
	if side == nil {
		side = p.B
	}
	return s + fmt.Sprintf(" First divergence at step %q (%s): %s.", side.Name, side.Type, strings.Join(p.Reasons, ", "))
}

func side(s *agenttrace.Step) *StepSide {
	return &StepSide{ID: s.ID, Seq: s.Seq, Name: s.Name, Type: s.Type, Status: s.Status, DurationMS: s.DurationMS,
		Credits: s.Credits, Usage: s.Usage, Model: s.Model, Error: s.Error}
}

// node is a step with its children, in seq order.
type node struct {
	s    *agenttrace.Step
	kids []*node
}

// forest builds the nesting: steps whose parent is missing are roots.
func forest(steps []agenttrace.Step) []*node {
	sorted := make([]*agenttrace.Step, len(steps))
	for i := range steps {
		sorted[i] = &steps[i]
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	byID := make(map[string]*node, len(sorted))
	nodes := make([]*node, len(sorted))
	for i, s := range sorted {
		nodes[i] = &node{s: s}
		if _, dup := byID[s.ID]; !dup {
			byID[s.ID] = nodes[i]
		}
	}
	var roots []*node
	for _, n := range nodes {
		p, ok := byID[n.s.ParentID]
		if n.s.ParentID == "" || !ok || p == n || isAncestor(n, p, byID) {
			roots = append(roots, n)
			continue
		}
		p.kids = append(p.kids, n)
	}
	return roots
}

// isAncestor guards against parent cycles: is n an ancestor of p?
func isAncestor(n, p *node, byID map[string]*node) bool {
	for i, cur := 0, p; cur != nil && i < len(byID); i++ {
		if cur == n {
			return true
		}
		cur = byID[cur.s.ParentID]
	}
	return false
}

// Align pairs the steps of two runs level by level: at each level the
// children of aligned parents are aligned by the longest common subsequence
// of (name, type), then the children of each aligned pair likewise. The
// result is in pre-order with depths.
func Align(a, b []agenttrace.Step) []Pair {
	var out []Pair
	alignLevel(forest(a), forest(b), 0, &out)
	return out
}

type key struct {
	name string
	typ  agenttrace.StepType
}

func keyOf(n *node) key { return key{n.s.Name, n.s.Type} }

func alignLevel(as, bs []*node, depth int, out *[]Pair) {
	matches := lcs(as, bs)
	// Unaligned steps of one side with a twin on the other side moved.
	unA, unB := map[key]int{}, map[key]int{}
	ma, mb := make([]bool, len(as)), make([]bool, len(bs))
	for _, m := range matches {
		ma[m[0]], mb[m[1]] = true, true
	}
	for i, n := range as {
		if !ma[i] {
			unA[keyOf(n)]++
		}
	}
	for j, n := range bs {
		if !mb[j] {
			unB[keyOf(n)]++
		}
	}
	i, j := 0, 0
	emitA := func(n *node) {
		*out = append(*out, Pair{Change: Removed, Depth: depth, A: side(n.s), Moved: unB[keyOf(n)] > 0, Reasons: []string{"only in A"}})
		subtree(n.kids, depth+1, true, out)
	}
	emitB := func(n *node) {
		*out = append(*out, Pair{Change: Added, Depth: depth, B: side(n.s), Moved: unA[keyOf(n)] > 0, Reasons: []string{"only in B"}})
		subtree(n.kids, depth+1, false, out)
	}
	for _, m := range append(matches, [2]int{len(as), len(bs)}) {
		// Between two aligned pairs, keep execution order: interleave the
		// one-sided steps by seq.
		for i < m[0] || j < m[1] {
			if j >= m[1] || (i < m[0] && as[i].s.Seq <= bs[j].s.Seq) {
				emitA(as[i])
				i++
			} else {
				emitB(bs[j])
				j++
			}
		}
		if m[0] == len(as) && m[1] == len(bs) {
			break
		}
		*out = append(*out, pairOf(as[m[0]].s, bs[m[1]].s, depth))
		alignLevel(as[m[0]].kids, bs[m[1]].kids, depth+1, out)
		i, j = m[0]+1, m[1]+1
	}
}

func subtree(ns []*node, depth int, isA bool, out *[]Pair) {
	for _, n := range ns {
		if isA {
			*out = append(*out, Pair{Change: Removed, Depth: depth, A: side(n.s), Reasons: []string{"only in A"}})
		} else {
			*out = append(*out, Pair{Change: Added, Depth: depth, B: side(n.s), Reasons: []string{"only in B"}})
		}
		subtree(n.kids, depth+1, isA, out)
	}
}

// maxCells bounds the LCS table; longer levels align greedily.
const maxCells = 4_000_000

// lcs answers the index pairs of a longest common subsequence of the keys,
// in order.
func lcs(as, bs []*node) [][2]int {
	n, m := len(as), len(bs)
	if n == 0 || m == 0 {
		return nil
	}
	if n*m > maxCells {
		return greedy(as, bs)
	}
	// Strip the common prefix and suffix first: the usual case is two runs
	// that differ in a few steps.
	var head, tail [][2]int
	for len(head) < n && len(head) < m && keyOf(as[len(head)]) == keyOf(bs[len(head)]) {
		head = append(head, [2]int{len(head), len(head)})
	}
	p := len(head)
	for len(tail) < n-p && len(tail) < m-p && keyOf(as[n-1-len(tail)]) == keyOf(bs[m-1-len(tail)]) {
		tail = append(tail, [2]int{n - 1 - len(tail), m - 1 - len(tail)})
	}
	ea, eb := n-len(tail), m-len(tail)
	ka, kb := as[p:ea], bs[p:eb]
	rows, cols := len(ka), len(kb)
	mid := [][2]int{}
	if rows > 0 && cols > 0 {
		// t[i][j] = LCS length of ka[i:], kb[j:].
		t := make([]int32, (rows+1)*(cols+1))
		w := cols + 1
		for i := rows - 1; i >= 0; i-- {
			for j := cols - 1; j >= 0; j-- {
				if keyOf(ka[i]) == keyOf(kb[j]) {
					t[i*w+j] = t[(i+1)*w+j+1] + 1
				} else {
					t[i*w+j] = max(t[(i+1)*w+j], t[i*w+j+1])
				}
			}
		}
		for i, j := 0, 0; i < rows && j < cols; {
			switch {
			case keyOf(ka[i]) == keyOf(kb[j]):
				mid = append(mid, [2]int{p + i, p + j})
				i++
				j++
			case t[(i+1)*w+j] >= t[i*w+j+1]:
				i++
			default:
				j++
			}
		}
	}
	out := append(head, mid...)
	for k := len(tail) - 1; k >= 0; k-- {
		out = append(out, tail[k])
	}
	return out
}

// greedy aligns each step of A with the next unused step of B with its key.
func greedy(as, bs []*node) [][2]int {
	var out [][2]int
	j := 0
	for i := range as {
		for k := j; k < len(bs) && k < j+64; k++ {
			if keyOf(as[i]) == keyOf(bs[k]) {
				out = append(out, [2]int{i, k})
				j = k + 1
				break
			}
		}
	}
	return out
}

func pairOf(a, b *agenttrace.Step, depth int) Pair {
	p := Pair{Change: Same, Depth: depth, A: side(a), B: side(b),
		DurationMS: b.DurationMS - a.DurationMS, Credits: b.Credits - a.Credits}
	if a.Status != b.Status {
		p.StatusChanged = true
		p.Reasons = append(p.Reasons, fmt.Sprintf("status %s → %s", a.Status, b.Status))
	}
	if stepErr(a.Error) != stepErr(b.Error) {
		p.ErrorChange = &ErrorChange{A: a.Error, B: b.Error}
		p.Reasons = append(p.Reasons, "error changed")
	}
	if a.Model != b.Model {
		p.ModelChanged = true
		p.Reasons = append(p.Reasons, fmt.Sprintf("model %s → %s", orDash(a.Model), orDash(b.Model)))
	}
	p.Input = JSON(a.Input, b.Input)
	if len(p.Input) > 0 {
		p.Reasons = append(p.Reasons, "input differs")
	}
	p.Output = JSON(a.Output, b.Output)
	if len(p.Output) > 0 {
		p.Reasons = append(p.Reasons, "output differs")
	}
	if len(p.Reasons) > 0 {
		p.Change = Changed
	}
	return p
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
