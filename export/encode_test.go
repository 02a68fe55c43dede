package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
)

// stdJSON is what the hand-written encoder must reproduce byte for byte.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var trickyStrings = []string{
	"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rret", "\b\f\x00\x1f",
	"<html> & </html>", "héllo wörld → ✓", "line\u2028sep\u2029para", "bad \xff utf8", "emoji 🙂", "\xe2\x80",
}

var trickyFloats = []float64{0, 1, -1, 0.5, 1e-7, -3.2e-9, 1e21, 123456789.125, 1e20, 0.000001, 2.5e-300, 1.7976931348623157e308}

func randomRun(r *rand.Rand) Run {
	pick := func() string { return trickyStrings[r.IntN(len(trickyStrings))] }
	fl := func() float64 { return trickyFloats[r.IntN(len(trickyFloats))] }
	tm := func() *time.Time {
		if r.IntN(3) == 0 {
			return nil
		}
		t := time.Date(2026, 11, 25, 14, r.IntN(60), r.IntN(60), r.IntN(3)*123456789, time.UTC)
		if r.IntN(2) == 0 {
			t = t.In(time.FixedZone("X", 3600))
		}
		return &t
	}
	payload := func() json.RawMessage {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return json.RawMessage(`{"a":[1,2,{"b":"c \" d"}],"e":null}`)
		case 2:
			return json.RawMessage("{\n \"lines\" : [ 1 ,\r\n 2 ] }") // line breaks: must be compacted
		}
		return json.RawMessage(`"<b>&amp;</b>"`)
	}
	run := Run{Run: agenttrace.Run{ID: pick(), AgentID: pick(), Status: agenttrace.StatusFailed, Trigger: pick(),
		Input: payload(), Output: payload(), StartedAt: tm(), EndedAt: tm(), DurationMS: fl(), Credits: fl(),
		Usage: agenttrace.Usage{InputTokens: r.Int64N(1e9), OutputTokens: -r.Int64N(5)}, SessionID: pick(), RerunOf: pick(), StepCount: r.IntN(50)}}
	if r.IntN(2) == 0 {
		run.Error = &agenttrace.RunError{Type: pick(), Message: pick(), StepID: pick()}
	}
	if r.IntN(2) == 0 {
		run.Metadata = map[string]any{"tags": []any{pick(), "prod"}, pick(): 1.5, "n": map[string]any{"x": pick()}}
	}
	if r.IntN(3) == 0 {
		run.Reruns = []string{pick(), pick()}
	}
	if r.IntN(4) > 0 {
		run.Steps = []agenttrace.Step{}
		for k := r.IntN(4); k > 0; k-- {
			s := agenttrace.Step{ID: pick(), RunID: pick(), ParentID: pick(), Seq: r.Int64N(100), Name: pick(),
				Type: agenttrace.StepTool, Status: agenttrace.StatusCompleted, Input: payload(), Output: payload(),
				StartedAt: tm(), EndedAt: tm(), DurationMS: fl(), Credits: fl(), Model: pick(),
				Usage: agenttrace.Usage{InputTokens: r.Int64N(100)}}
			if r.IntN(2) == 0 {
				s.Error = &agenttrace.StepError{Type: pick(), Message: pick()}
			}
			if r.IntN(2) == 0 {
				s.Metadata = map[string]any{"k": pick(), "list": []any{true, nil, 3.0}}
			}
			run.Steps = append(run.Steps, s)
		}
	}
	if r.IntN(4) > 0 {
		run.Evaluations = []agenttrace.EvalResult{}
		for k := r.IntN(3); k > 0; k-- {
			ev := agenttrace.EvalResult{ID: pick(), RunID: pick(), EvaluatorID: pick(), EvaluatorName: pick(), Verdict: "fail",
				Reason: pick(), StepID: pick(), JobID: pick(), CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, r.IntN(1e9), time.UTC)}
			if r.IntN(2) == 0 {
				sc := fl()
				ev.Score = &sc
			}
			run.Evaluations = append(run.Evaluations, ev)
		}
	}
	return run
}

func TestRunEncoderMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	enc := newRunEncoder()
	for i := 0; i < 5000; i++ {
		run := randomRun(r)
		got, err := enc.encode(&run)
		if err != nil {
			t.Fatal(err)
		}
		if want := stdJSON(t, &run); !bytes.Equal(got, want) {
			t.Fatalf("run %d differs from encoding/json:\n got %s\nwant %s", i, got, want)
		}
		for j := range run.Steps {
			got, err := enc.encodeStep(&run.Steps[j])
			if err != nil {
				t.Fatal(err)
			}
			if want := stdJSON(t, &run.Steps[j]); !bytes.Equal(got, want) {
				t.Fatalf("step differs:\n got %s\nwant %s", got, want)
			}
		}
	}
}

func TestRunEncoderRejectsNaN(t *testing.T) {
	run := Run{Run: agenttrace.Run{Credits: nanValue()}}
	if _, err := newRunEncoder().encode(&run); err == nil {
		t.Fatal("NaN credits encoded without an error")
	}
}

func nanValue() float64 { var z float64; return z / z }

func FuzzRunEncoderStrings(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s, 1.5)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		run := Run{Run: agenttrace.Run{ID: s, AgentID: s, Credits: x}, Steps: []agenttrace.Step{{Name: s, Model: s, DurationMS: x}}}
		got, err := newRunEncoder().encode(&run)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		werr := enc.Encode(&run)
		if (err != nil) != (werr != nil) {
			t.Fatalf("errors differ: %v vs %v", err, werr)
		}
		if err == nil && !bytes.Equal(got, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))) {
			t.Fatalf("differs:\n got %s\nwant %s", got, buf.Bytes())
		}
	})
}

func TestSplitBySteps(t *testing.T) {
	runs := make([]Run, 6)
	for i, n := range []int{3, 4, 10, 1, 1, 2} {
		runs[i].StepCount = n
	}
	var sizes []int
	for _, g := range splitBySteps(runs, 5) {
		n := 0
		for _, r := range g {
			n += r.StepCount
		}
		sizes = append(sizes, len(g)*100+n)
	}
	// {3} {4} {10} {1,1,2}: a group closes before it would pass 5 steps.
	want := []int{103, 104, 110, 304}
	if fmt.Sprint(sizes) != fmt.Sprint(want) {
		t.Fatalf("groups (runs*100+steps) = %v, want %v", sizes, want)
	}
	if len(splitBySteps(nil, 5)) != 0 {
		t.Fatal("no runs, yet groups")
	}
}
