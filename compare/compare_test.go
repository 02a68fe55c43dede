package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace"
)

// steps builds steps from specs "name:type" (type defaults to tool); a
// leading ">" per nesting level makes the step a child of the last step
// one level up.
func steps(run string, specs ...string) []agenttrace.Step {
	var out []agenttrace.Step
	var stack []string
	for i, sp := range specs {
		depth := len(sp) - len(strings.TrimLeft(sp, ">"))
		sp = sp[depth:]
		name, typ, ok := strings.Cut(sp, ":")
		if !ok {
			typ = "tool"
		}
		s := agenttrace.Step{ID: fmt.Sprintf("%s-%d", run, i), RunID: run, Seq: int64(i), Name: name,
			Type: agenttrace.StepType(typ), Status: agenttrace.StatusCompleted}
		stack = stack[:depth]
		if depth > 0 {
			s.ParentID = stack[depth-1]
		}
		stack = append(stack, s.ID)
		out = append(out, s)
	}
	return out
}

// shape renders an alignment as "change name@depth" entries.
func shape(ps []Pair) string {
	var parts []string
	for _, p := range ps {
		s := p.A
		if s == nil {
			s = p.B
		}
		parts = append(parts, fmt.Sprintf("%s%s%s", Marker(p.Change), strings.Repeat(">", p.Depth), s.Name))
	}
	return strings.Join(parts, " ")
}

func TestAlign(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		want string
	}{
		{"identical", []string{"plan:llm", "search", "answer:llm"}, []string{"plan:llm", "search", "answer:llm"}, "=plan =search =answer"},
		{"both empty", nil, nil, ""},
		{"a empty", nil, []string{"x", "y"}, "+x +y"},
		{"b empty", []string{"x", "y"}, nil, "-x -y"},
		{"insertion", []string{"plan:llm", "search", "answer:llm"}, []string{"plan:llm", "search", "lookup", "answer:llm"}, "=plan =search +lookup =answer"},
		{"insertion at start", []string{"a", "b", "c"}, []string{"z", "a", "b", "c"}, "+z =a =b =c"},
		{"deletion", []string{"plan:llm", "search", "lookup", "answer:llm"}, []string{"plan:llm", "search", "answer:llm"}, "=plan =search -lookup =answer"},
		{"replacement keeps order", []string{"a", "b", "c"}, []string{"a", "x", "c"}, "=a -b +x =c"},
		{"reorder", []string{"a", "b", "c", "d"}, []string{"a", "c", "b", "d"}, "=a -b =c +b =d"},
		{"same name other type", []string{"search:tool"}, []string{"search:retrieval"}, "-search +search"},
		{"repeated steps", []string{"llm:llm", "t", "llm:llm"}, []string{"llm:llm", "t", "llm:llm", "t", "llm:llm"}, "=llm =t =llm +t +llm"},
		{"nested identical", []string{"agent:agent", ">plan:llm", ">tool", "answer:llm"}, []string{"agent:agent", ">plan:llm", ">tool", "answer:llm"},
			"=agent =>plan =>tool =answer"},
		{"nested insertion stays inside its parent",
			[]string{"agent:agent", ">plan:llm", ">tool", "answer:llm"},
			[]string{"agent:agent", ">plan:llm", ">retry", ">tool", "answer:llm"},
			"=agent =>plan +>retry =>tool =answer"},
		{"children align only within aligned parents",
			[]string{"p1:agent", ">x", "p2:agent", ">y"},
			[]string{"p2:agent", ">x", ">y"},
			"-p1 ->x =p2 +>x =>y"},
		{"missing parent takes its subtree", []string{"a", "sub:agent", ">c", ">>d", "e"}, []string{"a", "e"}, "=a -sub ->c ->>d =e"},
		{"deep nesting", []string{"r:agent", ">m:agent", ">>leaf", ">>leaf2"}, []string{"r:agent", ">m:agent", ">>leaf2"}, "=r =>m ->>leaf =>>leaf2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := shape(Align(steps("a", tc.a...), steps("b", tc.b...)))
			if got != tc.want {
				t.Fatalf("alignment\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestAlignMarksMovedSteps(t *testing.T) {
	ps := Align(steps("a", "a", "b", "c"), steps("b", "a", "c", "b"))
	var moved int
	for _, p := range ps {
		if p.Moved {
			moved++
		}
	}
	if moved != 2 {
		t.Fatalf("moved = %d in %s", moved, shape(ps))
	}
}

func TestAlignLargeRunsStayLinear(t *testing.T) {
	var a, b []string
	for i := range 3000 {
		a = append(a, fmt.Sprintf("s%d", i))
		if i != 1500 {
			b = append(b, fmt.Sprintf("s%d", i))
		}
	}
	ps := Align(steps("a", a...), steps("b", b...))
	if len(ps) != 3000 || ps[1500].Change != Removed {
		t.Fatalf("%d pairs, pair 1500 %+v", len(ps), ps[1500])
	}
}

func TestRunsHeaderAndDivergence(t *testing.T) {
	a := agenttrace.Run{ID: "ra", AgentID: "bot", Status: agenttrace.StatusFailed, DurationMS: 1000, Credits: 0.5,
		Usage: agenttrace.Usage{InputTokens: 100, OutputTokens: 10}, Error: &agenttrace.RunError{Type: "ValidationError", Message: "bad"},
		Steps: steps("a", "triage:llm", "plan:llm", "lookup_order", "answer:llm")}
	b := agenttrace.Run{ID: "rb", AgentID: "bot", Status: agenttrace.StatusCompleted, DurationMS: 1500, Credits: 0.25, RerunOf: "ra",
		Usage: agenttrace.Usage{InputTokens: 150, OutputTokens: 30},
		Steps: steps("b", "triage:llm", "plan:llm", "lookup_order", "answer:llm")}
	a.Steps[0].Model, b.Steps[0].Model = "gpt-4o-mini", "gpt-4o"
	a.Steps[1].Output = json.RawMessage(`{"tool":"lookup_order","arguments":{"order_id":1042}}`)
	b.Steps[1].Output = json.RawMessage(`{"tool":"lookup_order","arguments":{"order_id":"A1042"}}`)
	a.Steps[2].Status = agenttrace.StatusFailed
	a.Steps[2].Error = &agenttrace.StepError{Type: "ValidationError", Message: "order_id: expected a string"}
	a.Steps = a.Steps[:3]
	a.StepCount = 3
	b.StepCount = 4

	r := Runs(a, b)
	if !r.Delta.StatusChanged || r.Delta.DurationMS != 500 || r.Delta.Credits != -0.25 || r.Delta.InputTokens != 50 || r.Delta.StepCount != 1 || !r.Delta.ErrorChanged {
		t.Fatalf("delta %+v", r.Delta)
	}
	if r.Delta.DurationPct != 50 || len(r.Delta.ModelsAdded) != 1 || r.Delta.ModelsAdded[0] != "gpt-4o" || r.Delta.ModelsRemoved[0] != "gpt-4o-mini" {
		t.Fatalf("delta %+v", r.Delta)
	}
	if got := shape(r.Steps); got != "~triage ~plan ~lookup_order +answer" {
		t.Fatalf("steps %s", got)
	}
	// The model changed at triage, but its output did not: the first
	// divergence is plan, whose output differs.
	if r.Divergence != 1 || !r.Steps[1].Divergent || r.Steps[0].Divergent {
		t.Fatalf("divergence %d", r.Divergence)
	}
	d := r.Steps[1].Output
	if len(d) != 1 || d[0].Path != "$.arguments.order_id" || d[0].Op != OpChanged || string(d[0].A) != "1042" || string(d[0].B) != `"A1042"` {
		t.Fatalf("output diff %+v", d)
	}
	if p := r.Steps[2]; !p.StatusChanged || p.ErrorChange == nil || p.ErrorChange.B != nil {
		t.Fatalf("lookup pair %+v", p)
	}
	if !strings.Contains(r.Summary, `First divergence at step "plan"`) {
		t.Fatal(r.Summary)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"failed → completed", ">~  plan", "+  answer", "First divergence: step \"plan\"", "$.arguments.order_id: 1042 → \"A1042\"", "re-run of A"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestRunsIdenticalAndEmpty(t *testing.T) {
	a := agenttrace.Run{ID: "a", AgentID: "x", Status: agenttrace.StatusCompleted, Steps: steps("a", "p:llm", ">t", "q")}
	b := agenttrace.Run{ID: "b", AgentID: "y", Status: agenttrace.StatusCompleted, Steps: steps("b", "p:llm", ">t", "q")}
	r := Runs(a, b)
	if r.Divergence != -1 || r.Counts.Same != 3 || r.SameAgent {
		t.Fatalf("%+v", r)
	}
	e := Runs(agenttrace.Run{ID: "e1"}, agenttrace.Run{ID: "e2"})
	if e.Divergence != -1 || len(e.Steps) != 0 || e.Steps == nil {
		t.Fatalf("%+v", e)
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, e); err != nil || !strings.Contains(buf.String(), "neither run has steps") {
		t.Fatal(buf.String(), err)
	}
	// An unmatched step is a divergence.
	one := Runs(agenttrace.Run{ID: "e1"}, agenttrace.Run{ID: "e2", Steps: steps("b", "x")})
	if one.Divergence != 0 {
		t.Fatalf("%+v", one)
	}
}

func TestJSONDiff(t *testing.T) {
	d := JSON(json.RawMessage(`{"a":1,"b":{"c":[1,2,3]},"gone":true,"odd key":"x","msg":"the quick brown fox"}`),
		json.RawMessage(`{"a":2,"b":{"c":[1,9,2,3]},"new":null,"odd key":"x","msg":"the slow brown fox"}`))
	var got []string
	for _, x := range d {
		got = append(got, x.Op+" "+x.Path)
	}
	want := "changed $.a|added $.b.c[1]|removed $.gone|changed $.msg|added $.new"
	if strings.Join(got, "|") != want {
		t.Fatalf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}
	msg := d[3]
	if msg.TextUnit != "word" || len(msg.Text) != 4 || msg.Text[1] != (Edit{"-", "quick"}) || msg.Text[2] != (Edit{"+", "slow"}) {
		t.Fatalf("word diff %+v", msg.Text)
	}
	if JSON(json.RawMessage(`{"a": 1}`), json.RawMessage(`{"a":1}`)) != nil {
		t.Fatal("whitespace counted as a difference")
	}
	if d := JSON(nil, json.RawMessage(`"x"`)); len(d) != 1 || d[0].Op != OpAdded || d[0].Path != "$" {
		t.Fatalf("%+v", d)
	}
	if d := JSON(json.RawMessage(`{"k":"x"}`), json.RawMessage(`{"k y":"x"}`)); d[0].Path != `$["k y"]` && d[1].Path != `$["k y"]` {
		t.Fatalf("%+v", d)
	}
	if d := JSON(json.RawMessage(`not json`), json.RawMessage(`"not json either"`)); len(d) != 1 || d[0].Op != OpChanged {
		t.Fatalf("%+v", d)
	}
}

func TestTextLineDiff(t *testing.T) {
	unit, e := Text("one\ntwo\nthree\n", "one\n2\nthree\nfour\n")
	if unit != "line" {
		t.Fatal(unit)
	}
	want := []Edit{{"=", "one\n"}, {"-", "two\n"}, {"+", "2\n"}, {"=", "three\n"}, {"+", "four\n"}}
	if fmt.Sprint(e) != fmt.Sprint(want) {
		t.Fatalf("%q", e)
	}
	if _, e := Text("héllo wörld", "héllo wörld!"); len(e) != 3 || e[1] != (Edit{"-", "wörld"}) {
		t.Fatalf("%q", e)
	}
}

func TestDivergenceDescendsToTheCause(t *testing.T) {
	a := agenttrace.Run{ID: "a", Steps: steps("a", "triage:llm", "resolve:agent", ">plan:llm", ">lookup", "respond:llm")}
	b := agenttrace.Run{ID: "b", Steps: steps("b", "triage:llm", "resolve:agent", ">plan:llm", ">lookup", "respond:llm")}
	a.Steps[1].Status, a.Steps[3].Status = agenttrace.StatusFailed, agenttrace.StatusFailed
	r := Runs(a, b)
	if r.Divergence != 3 {
		t.Fatalf("divergence at %d, want the failed child lookup (3)", r.Divergence)
	}
}
