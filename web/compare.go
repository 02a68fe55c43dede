package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/compare"
)

// The compare page (GET /compare?a=ID&b=ID): the Compare selection action
// of the run tables, and the trace page's "Compare with …" buttons.
func init() {
	Actions = append(Actions, Action{Label: "Compare", Path: "/compare", Min: 2, Max: 2, IDParams: []string{"a", "b"}})
	RunActions = append(RunActions,
		RunAction{Label: "Compare with original", Path: func(run agenttrace.Run) string {
			if run.RerunOf == "" {
				return ""
			}
			return compareURL(run.RerunOf, run.ID)
		}},
		RunAction{Label: "Compare with its re-run", Path: func(run agenttrace.Run) string {
			if len(run.Reruns) == 0 {
				return ""
			}
			return compareURL(run.ID, run.Reruns[len(run.Reruns)-1])
		}},
		RunAction{Label: "Compare with…", Path: func(run agenttrace.Run) string {
			return "/compare?a=" + url.QueryEscape(run.ID)
		}},
	)
	Pages = append(Pages, Page{Pattern: "GET /compare", Handler: withUI((*UI).comparePage)})
	funcs["sdur"] = signedDuration
	funcs["scredits"] = signedCredits
	funcs["sint"] = signedInt
	funcs["spct"] = signedPct
	funcs["compareURL"] = compareURL
	funcs["int64"] = func(n int) int64 { return int64(n) }
	funcs["bytes"] = func(n int64) string { return fmtBytes(int(n)) }
}

func compareURL(a, b string) string {
	return "/compare?a=" + url.QueryEscape(a) + "&b=" + url.QueryEscape(b)
}

// withUI adapts a UI method to a Page handler: the session check puts the
// UI into the request's context.
func withUI(h func(*UI, http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := r.Context().Value(uiKey).(*UI)
		if !ok {
			http.Error(w, "Internal error.", http.StatusInternalServerError)
			return
		}
		h(u, w, r)
	}
}

func keyOf(r *http.Request) agenttrace.APIKey {
	k, _ := api.KeyFrom(r.Context())
	return k
}

func signedDuration(ms float64) string {
	switch {
	case math.Abs(ms) < 0.5:
		return "±0"
	case ms < 0:
		return "−" + fmtDuration(-ms)
	}
	return "+" + fmtDuration(ms)
}

func signedCredits(c float64) string {
	switch {
	case c == 0:
		return "±0"
	case c < 0:
		return "−" + fmtCredits(-c)
	}
	return "+" + fmtCredits(c)
}

func signedInt(n int64) string {
	switch {
	case n == 0:
		return "±0"
	case n < 0:
		return "−" + fmtInt(-n)
	}
	return "+" + fmtInt(n)
}

func signedPct(p float64) string {
	if p == 0 || math.IsNaN(p) || math.IsInf(p, 0) {
		return ""
	}
	return fmt.Sprintf("(%+.0f%%)", p)
}

type compareData struct {
	base
	QA, QB     string // the ids asked for
	FormErr    string
	Res        *compare.Result
	Input      []diffView
	Output     []diffView
	Pairs      []pairView
	Divergence *pairView
	Details    []*pairView // pairs with something to show beyond the table
}

type pairView struct {
	Index                    int
	Anchor                   string
	Marker                   string
	Change                   string
	Depth                    int
	Indent                   int
	Name                     string
	Type                     string
	A, B                     *compare.StepSide
	AURL, BURL               string
	DurDelta, CreditsDelta   string
	Reasons                  string
	Divergent, Moved         bool
	ModelChanged             bool
	Input, Output            []diffView
	ErrChange                bool
	ErrA, ErrB               string
	StatusChanged, HasDetail bool
}

// diffView is one JSON difference ready to show: a path with the value
// before and after, or a word or line diff of a string.
type diffView struct {
	Path      string
	Op        string // changed, added, removed, truncated
	A, B      string // pretty JSON (cut)
	Unit      string // "word", "line" or ""
	Edits     []compare.Edit
	Lines     []compare.Edit // line diffs, one entry per line
	Truncated bool
}

const maxDiffValue = 4000

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return cut(string(raw))
	}
	return cut(buf.String())
}

func cut(s string) string {
	if len(s) <= maxDiffValue {
		return s
	}
	i := maxDiffValue
	for i > 0 && !utf8Start(s[i]) {
		i--
	}
	return s[:i] + "\n… (cut; open the runs' raw payloads for all of it)"
}

func diffViews(ds []compare.Diff) []diffView {
	out := make([]diffView, 0, len(ds))
	for _, d := range ds {
		v := diffView{Path: d.Path, Op: d.Op, A: prettyJSON(d.A), B: prettyJSON(d.B), Unit: d.TextUnit}
		switch {
		case d.Op == "truncated":
			v.Truncated = true
		case d.TextUnit == "line":
			for _, e := range d.Text {
				for _, line := range strings.SplitAfter(e.Text, "\n") {
					if line != "" {
						v.Lines = append(v.Lines, compare.Edit{Op: e.Op, Text: strings.TrimRight(line, "\n")})
					}
				}
			}
		case d.TextUnit == "word":
			v.Edits = d.Text
		}
		out = append(out, v)
	}
	return out
}

func stepErrString(e *agenttrace.StepError) string {
	if e == nil {
		return ""
	}
	if e.Type != "" {
		return e.Type + ": " + e.Message
	}
	return e.Message
}

func (u *UI) comparePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &compareData{base: base{Title: "Compare runs", Nav: "traces"}, QA: strings.TrimSpace(q.Get("a")), QB: strings.TrimSpace(q.Get("b"))}
	if d.QA == "" || d.QB == "" {
		status := http.StatusOK
		if q.Has("a") || q.Has("b") {
			if d.QA != "" || d.QB != "" {
				d.FormErr = "Enter the id of the other run to compare with."
			} else {
				d.FormErr = "Enter two run ids."
			}
		}
		if d.QA != "" {
			if _, err := u.st.GetRun(r.Context(), accountOf(r), d.QA); err != nil {
				u.storeError(w, r, err, "run "+d.QA)
				return
			}
			d.FormErr = ""
		}
		u.render(w, r, status, "compare", d)
		return
	}
	r2 := r.Clone(r.Context())
	vals := url.Values{"a": {d.QA}, "b": {d.QB}}
	r2.URL.RawQuery = vals.Encode()
	res, err := compare.Load(r2, u.st)
	if err != nil {
		switch agenttrace.ErrorCode(err) {
		case agenttrace.ENOTFOUND:
			u.notFound(w, r, agenttrace.ErrorMessage(err)+": no such run in your account.")
		default:
			u.storeError(w, r, err, "run")
		}
		return
	}
	d.Title = "Compare " + res.A.ID + " with " + res.B.ID
	d.Res = &res
	d.Input, d.Output = diffViews(res.Input), diffViews(res.Output)
	d.Pairs = make([]pairView, len(res.Steps))
	for i, p := range res.Steps {
		v := pairView{Index: i, Anchor: fmt.Sprintf("pair-%d", i), Marker: compare.Marker(p.Change), Change: p.Change, Depth: p.Depth,
			Indent: min(p.Depth, 8) * 14, A: p.A, B: p.B, Divergent: p.Divergent, Moved: p.Moved, ModelChanged: p.ModelChanged,
			StatusChanged: p.StatusChanged, Reasons: strings.Join(p.Reasons, "; ")}
		side := p.A
		if side == nil {
			side = p.B
		}
		v.Name, v.Type = side.Name, string(side.Type)
		if p.A != nil {
			v.AURL = runURL(res.A.ID) + "#step-" + p.A.ID
		}
		if p.B != nil {
			v.BURL = runURL(res.B.ID) + "#step-" + p.B.ID
		}
		if p.A != nil && p.B != nil {
			v.DurDelta, v.CreditsDelta = signedDuration(p.DurationMS), signedCredits(p.Credits)
		}
		v.Input, v.Output = diffViews(p.Input), diffViews(p.Output)
		if p.ErrorChange != nil {
			v.ErrChange, v.ErrA, v.ErrB = true, stepErrString(p.ErrorChange.A), stepErrString(p.ErrorChange.B)
		}
		v.HasDetail = p.Change == compare.Changed || p.Divergent
		d.Pairs[i] = v
	}
	for i := range d.Pairs {
		if d.Pairs[i].HasDetail {
			d.Details = append(d.Details, &d.Pairs[i])
		}
		if d.Pairs[i].Divergent {
			d.Divergence = &d.Pairs[i]
			d.Pairs[i].Anchor = "first-divergence"
		}
	}
	u.render(w, r, http.StatusOK, "compare", d)
}
