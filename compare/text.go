package compare

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agenttrace/agenttrace"
)

// Markers of the step table.
const (
	MarkSame       = "="
	MarkChanged    = "~"
	MarkRemoved    = "-"
	MarkAdded      = "+"
	MarkDivergence = ">"
)

// WriteText prints the comparison for a terminal: the headers side by side
// with deltas, the aligned steps with markers, then the differences of the
// first divergent step.
func WriteText(w io.Writer, r Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	a, b, d := r.A, r.B, r.Delta
	fmt.Fprintf(tw, "\tA\tB\tΔ (B − A)\n")
	fmt.Fprintf(tw, "Run\t%s\t%s\t\n", a.ID, b.ID)
	agentNote := ""
	if !r.SameAgent {
		agentNote = "different agents"
	}
	fmt.Fprintf(tw, "Agent\t%s\t%s\t%s\n", a.AgentID, b.AgentID, agentNote)
	statusNote := ""
	if d.StatusChanged {
		statusNote = fmt.Sprintf("%s → %s", a.Status, b.Status)
	}
	fmt.Fprintf(tw, "Status\t%s\t%s\t%s\n", a.Status, b.Status, statusNote)
	if a.Trigger != "" || b.Trigger != "" {
		fmt.Fprintf(tw, "Trigger\t%s\t%s\t\n", dash(a.Trigger), dash(b.Trigger))
	}
	fmt.Fprintf(tw, "Duration\t%s\t%s\t%s\n", Duration(a.DurationMS), Duration(b.DurationMS), signedDur(d.DurationMS)+pctNote(d.DurationPct, a.DurationMS))
	fmt.Fprintf(tw, "Credits\t%.6f\t%.6f\t%+.6f%s\n", a.Credits, b.Credits, d.Credits, pctNote(d.CreditsPct, a.Credits))
	fmt.Fprintf(tw, "Tokens\t%d in / %d out\t%d in / %d out\t%+d / %+d\n", a.Usage.InputTokens, a.Usage.OutputTokens,
		b.Usage.InputTokens, b.Usage.OutputTokens, d.InputTokens, d.OutputTokens)
	fmt.Fprintf(tw, "Models\t%s\t%s\t\n", dash(strings.Join(a.Models, ", ")), dash(strings.Join(b.Models, ", ")))
	fmt.Fprintf(tw, "Steps\t%d\t%d\t%+d\n", a.StepCount, b.StepCount, d.StepCount)
	fmt.Fprintf(tw, "Error\t%s\t%s\t\n", clip(runErrText(a.Error), 50), clip(runErrText(b.Error), 50))
	if b.RerunOf == a.ID && a.ID != "" {
		fmt.Fprintf(tw, "Lineage\t\tre-run of A\t\n")
	} else if a.RerunOf == b.ID && b.ID != "" {
		fmt.Fprintf(tw, "Lineage\tre-run of B\t\t\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Input) > 0 {
		fmt.Fprintln(w, "\nRun input differs:")
		writeDiffs(w, "  ", r.Input)
	}

	fmt.Fprintf(w, "\nSteps (%s same, %s changed, %s only in A, %s only in B, %s first divergence)\n",
		MarkSame, MarkChanged, MarkRemoved, MarkAdded, MarkDivergence)
	if len(r.Steps) == 0 {
		fmt.Fprintln(w, "  (neither run has steps)")
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(r.Steps) > 0 {
		fmt.Fprintln(tw, "  \tSTEP\tTYPE\tA\tB\tΔDURATION\tΔCREDITS\tNOTES")
	}
	for _, p := range r.Steps {
		s := p.A
		if s == nil {
			s = p.B
		}
		mark := " " + Marker(p.Change)
		if p.Divergent {
			mark = MarkDivergence + Marker(p.Change)
		}
		sa, sb, dd, dc := "", "", "", ""
		if p.A != nil {
			sa = string(p.A.Status)
		}
		if p.B != nil {
			sb = string(p.B.Status)
		}
		if p.A != nil && p.B != nil {
			dd, dc = signedDur(p.DurationMS), fmt.Sprintf("%+.6f", p.Credits)
		}
		notes := strings.Join(p.Reasons, "; ")
		if p.Moved {
			notes += " (moved)"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, strings.Repeat("  ", p.Depth), s.Name, s.Type,
			dash(sa), dash(sb), dash(dd), dash(dc), clip(notes, 70))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Divergence < 0 {
		fmt.Fprintln(w, "\nThe steps do not diverge.")
		if len(r.Output) > 0 {
			fmt.Fprintln(w, "Run output differs:")
			writeDiffs(w, "  ", r.Output)
		}
		return nil
	}
	p := r.Steps[r.Divergence]
	s := p.A
	if s == nil {
		s = p.B
	}
	fmt.Fprintf(w, "\nFirst divergence: step %q (%s) — %s\n", s.Name, s.Type, strings.Join(p.Reasons, "; "))
	if p.A != nil {
		fmt.Fprintf(w, "  A: %s step %s (seq %d)\n", p.A.Status, p.A.ID, p.A.Seq)
	}
	if p.B != nil {
		fmt.Fprintf(w, "  B: %s step %s (seq %d)\n", p.B.Status, p.B.ID, p.B.Seq)
	}
	if p.ErrorChange != nil {
		fmt.Fprintf(w, "  error: %s → %s\n", stepErrText(p.ErrorChange.A), stepErrText(p.ErrorChange.B))
	}
	if len(p.Input) > 0 {
		fmt.Fprintln(w, "  input:")
		writeDiffs(w, "    ", p.Input)
	}
	if len(p.Output) > 0 {
		fmt.Fprintln(w, "  output:")
		writeDiffs(w, "    ", p.Output)
	}
	if len(r.Output) > 0 {
		fmt.Fprintln(w, "Run output differs:")
		writeDiffs(w, "  ", r.Output)
	}
	return nil
}

// Marker is the table marker of a change.
func Marker(change string) string {
	switch change {
	case Changed:
		return MarkChanged
	case Removed:
		return MarkRemoved
	case Added:
		return MarkAdded
	}
	return MarkSame
}

func writeDiffs(w io.Writer, indent string, diffs []Diff) {
	for _, d := range diffs {
		switch {
		case d.Op == "truncated":
			fmt.Fprintf(w, "%s… more differences left out\n", indent)
		case d.Op == OpAdded:
			fmt.Fprintf(w, "%s+ %s: %s\n", indent, d.Path, clip(string(d.B), 200))
		case d.Op == OpRemoved:
			fmt.Fprintf(w, "%s- %s: %s\n", indent, d.Path, clip(string(d.A), 200))
		case d.TextUnit == "line":
			fmt.Fprintf(w, "%s~ %s (lines):\n", indent, d.Path)
			for _, e := range d.Text {
				for _, line := range strings.SplitAfter(e.Text, "\n") {
					if line == "" {
						continue
					}
					fmt.Fprintf(w, "%s    %s %s\n", indent, e.Op, strings.TrimRight(line, "\n"))
				}
			}
		case d.TextUnit == "word":
			var sb strings.Builder
			for _, e := range d.Text {
				switch e.Op {
				case "-":
					sb.WriteString("[-" + e.Text + "-]")
				case "+":
					sb.WriteString("{+" + e.Text + "+}")
				default:
					sb.WriteString(e.Text)
				}
			}
			fmt.Fprintf(w, "%s~ %s: %s\n", indent, d.Path, clip(sb.String(), 400))
		default:
			fmt.Fprintf(w, "%s~ %s: %s → %s\n", indent, d.Path, clip(string(d.A), 150), clip(string(d.B), 150))
		}
	}
}

// Duration formats milliseconds for people.
func Duration(ms float64) string {
	switch {
	case ms <= 0:
		return "0ms"
	case ms < 1000:
		return fmt.Sprintf("%.0fms", ms)
	case ms < 60000:
		return fmt.Sprintf("%.1fs", ms/1000)
	}
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Second).String()
}

func signedDur(ms float64) string {
	if ms > -0.5 && ms < 0.5 {
		return "0ms"
	}
	if ms < 0 {
		return "-" + Duration(-ms)
	}
	return "+" + Duration(ms)
}

func pctNote(p, base float64) string {
	if base == 0 {
		return ""
	}
	return fmt.Sprintf(" (%+.0f%%)", p)
}

func runErrText(e *agenttrace.RunError) string {
	if e == nil {
		return "-"
	}
	if e.Type != "" {
		return e.Type + ": " + e.Message
	}
	return e.Message
}

func stepErrText(e *agenttrace.StepError) string {
	if e == nil {
		return "(none)"
	}
	if e.Type != "" {
		return e.Type + ": " + e.Message
	}
	return e.Message
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", "⏎")
	if n > 0 && len([]rune(s)) > n {
		return string([]rune(s)[:n-1]) + "…"
	}
	return s
}
