package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/agenttrace/agenttrace"
)

const maxIndent = 8

type stepView struct {
	agenttrace.Step
	Depth       int
	Indent      int // px
	Left, Width float64
	FirstFailed bool
	Input       payloadRef
	Output      payloadRef
	Meta        payloadRef
	RawError    string
	HasTimes    bool
	// precomputed texts (a 500-step page calls no template functions per step)
	Dur, Credits, Tokens string
	BarStyle             template.CSS // built from numbers only, never from user data
	Href                 string
}

// inlineSteps is how many steps a trace page renders with their payloads
// inline; bigger runs fold each payload and load it when opened (the first
// failed step's are always inline).
const inlineSteps = 100

type runActionView struct {
	Label, Method, Path string
	Disabled            string // why the button is disabled ("": enabled)
}

type runData struct {
	base
	Run         agenttrace.Run
	Steps       []stepView
	FirstFailed *stepView
	Input       payload
	Output      payload
	Meta        payload
	Tags        []string
	Span        string // the timeline's width as a duration
	Ticks       []tick
	Actions     []runActionView
}

type tick struct {
	Left  float64
	Label string
}

func (u *UI) runPage(w http.ResponseWriter, r *http.Request) {
	run, err := u.st.GetRun(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		u.storeError(w, r, err, "run")
		return
	}
	d := &runData{base: base{Title: "Run " + run.ID, Nav: "traces"}, Run: run,
		Input: makePayload(run.Input, false), Output: makePayload(run.Output, false), Meta: metadataPayload(run.Metadata, false), Tags: run.Tags()}
	d.Steps, d.Ticks, d.Span = timeline(run)
	for i := range d.Steps {
		if d.Steps[i].FirstFailed {
			d.FirstFailed = &d.Steps[i]
			break
		}
	}
	for _, a := range RunActions {
		if a.Path == nil {
			continue
		}
		if p := a.Path(run); p != "" {
			m := a.Method
			if m == "" {
				m = http.MethodGet
			}
			v := runActionView{Label: a.Label, Method: m, Path: p}
			if a.Disabled != nil {
				v.Disabled = a.Disabled(r, run)
			}
			d.Actions = append(d.Actions, v)
		}
	}
	u.render(w, r, http.StatusOK, "run", d)
}

// timeline lays the steps out on the run's time axis: each bar's left edge
// and width in percent, nesting depth from parent_id, the first failed step.
func timeline(run agenttrace.Run) ([]stepView, []tick, string) {
	steps := run.Steps
	out := make([]stepView, len(steps))
	var start, end time.Time
	if run.StartedAt != nil {
		start = *run.StartedAt
	}
	if run.EndedAt != nil {
		end = *run.EndedAt
	}
	index := make(map[string]int, len(steps))
	for i, s := range steps {
		index[s.ID] = i
		if s.StartedAt != nil && (start.IsZero() || s.StartedAt.Before(start)) {
			start = *s.StartedAt
		}
		e := s.EndedAt
		if e == nil && s.StartedAt != nil {
			t := s.StartedAt.Add(time.Duration(s.DurationMS * float64(time.Millisecond)))
			e = &t
		}
		if e != nil && e.After(end) {
			end = *e
		}
	}
	span := end.Sub(start)
	firstFailed := ""
	if run.Error != nil {
		firstFailed = run.Error.StepID
	}
	if firstFailed == "" {
		for _, s := range steps {
			if s.Status == agenttrace.StatusFailed {
				firstFailed = s.ID
				break
			}
		}
	}
	firstFailedFound := false
	for _, s := range steps {
		if s.ID == firstFailed {
			firstFailedFound = true
		}
	}
	if !firstFailedFound {
		firstFailed = ""
	}
	lazyAll := len(steps) > inlineSteps
	for i, s := range steps {
		lazy := lazyAll && s.ID != firstFailed
		base := runURL(run.ID) + "/steps/" + url.PathEscape(s.ID) + "/raw?field="
		v := stepView{Step: s,
			Input:    payloadRef{P: makePayload(s.Input, lazy), Label: "input", Raw: base + "input"},
			Output:   payloadRef{P: makePayload(s.Output, lazy), Label: "output", Raw: base + "output"},
			Meta:     payloadRef{P: metadataPayload(s.Metadata, lazy), Label: "metadata", Raw: base + "metadata"},
			RawError: base + "error",
			Dur:      fmtDuration(s.DurationMS), Credits: fmtCredits(s.Credits), Href: "#step-" + s.ID,
		}
		if s.Usage.InputTokens != 0 || s.Usage.OutputTokens != 0 {
			v.Tokens = fmtInt(s.Usage.InputTokens) + "/" + fmtInt(s.Usage.OutputTokens) + " tokens"
		}
		// depth: follow parent links (guarding against cycles and unknown parents)
		p := s.ParentID
		for hops := 0; p != "" && hops < len(steps); hops++ {
			j, ok := index[p]
			if !ok {
				break
			}
			v.Depth++
			p = steps[j].ParentID
		}
		v.Indent = min(v.Depth, maxIndent) * 14
		if s.StartedAt != nil && span > 0 && !start.IsZero() {
			v.HasTimes = true
			v.Left = 100 * float64(s.StartedAt.Sub(start)) / float64(span)
			dur := time.Duration(s.DurationMS * float64(time.Millisecond))
			if s.EndedAt != nil {
				dur = s.EndedAt.Sub(*s.StartedAt)
			}
			v.Width = 100 * float64(dur) / float64(span)
		} else if len(steps) > 0 {
			v.Left = 100 * float64(i) / float64(len(steps))
			v.Width = 100 / float64(len(steps))
		}
		v.Left = clamp(v.Left, 0, 99.6)
		v.Width = clamp(v.Width, 0.4, 100-v.Left)
		v.FirstFailed = s.ID == firstFailed
		v.BarStyle = template.CSS(fmt.Sprintf("left: %.3f%%; width: %.3f%%", v.Left, v.Width))
		out[i] = v
	}
	var ticks []tick
	if span > 0 {
		for i := 0; i <= 4; i++ {
			ticks = append(ticks, tick{Left: float64(i) * 25, Label: fmtDuration(float64(span.Milliseconds()) * float64(i) / 4)})
		}
		ticks[0].Label = "0"
	}
	return out, ticks, fmtDuration(float64(span) / float64(time.Millisecond))
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// raw answers one payload of a run or step exactly as stored, as a
// download-safe plain response (never rendered as HTML).
func (u *UI) raw(w http.ResponseWriter, r *http.Request) {
	run, err := u.st.GetRun(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		u.storeError(w, r, err, "run")
		return
	}
	field := r.URL.Query().Get("field")
	var body []byte
	stepID := r.PathValue("step")
	var input, output json.RawMessage
	var md map[string]any
	var errVal any
	if stepID == "" {
		input, output, md = run.Input, run.Output, run.Metadata
		if run.Error != nil {
			errVal = run.Error
		}
	} else {
		found := false
		for _, s := range run.Steps {
			if s.ID == stepID {
				input, output, md, found = s.Input, s.Output, s.Metadata, true
				if s.Error != nil {
					errVal = s.Error
				}
				break
			}
		}
		if !found {
			u.notFound(w, r, "No step "+stepID+" in run "+run.ID+".")
			return
		}
	}
	switch field {
	case "input":
		body = input
	case "output":
		body = output
	case "metadata":
		if md != nil {
			body, _ = json.MarshalIndent(md, "", "  ")
		}
	case "error":
		if errVal != nil {
			body, _ = json.MarshalIndent(errVal, "", "  ")
		}
	default:
		u.errorPage(w, r, http.StatusBadRequest, "Bad request", "field: must be input, output, error or metadata")
		return
	}
	if len(body) == 0 {
		body = []byte("null")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "no-store")
	if r.URL.Query().Get("download") != "" {
		h.Set("Content-Disposition", `attachment; filename="`+field+`.json"`)
	}
	_, _ = w.Write(body)
}
