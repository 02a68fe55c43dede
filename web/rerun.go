package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/rerun"
	"github.com/agenttrace/agenttrace/store"
)

// Re-run from the trace page: a form with the overrides, POSTed to the
// rerun package's logic in process, then a page that waits for the new run.
func init() {
	RunActions = append(RunActions, RunAction{Label: "Re-run",
		Path: func(run agenttrace.Run) string { return runURL(run.ID) + "/rerun" },
		Disabled: func(r *http.Request, _ agenttrace.Run) string {
			if !keyOf(r).Has(rerun.Scope) {
				return rerunScopeMsg
			}
			return ""
		}})
	Pages = append(Pages,
		Page{Pattern: "GET /runs/{id}/rerun", Handler: withUI((*UI).rerunForm)},
		Page{Pattern: "POST /runs/{id}/rerun", Handler: withUI((*UI).rerunPost)},
		Page{Pattern: "GET /runs/{id}/reruns/{new}", Handler: withUI((*UI).rerunWait)},
		Page{Pattern: "GET /runs/{id}/reruns/{new}/status", Handler: withUI((*UI).rerunStatus)},
	)
}

const rerunScopeMsg = "Re-running needs an API key with the ingest scope (or admin); this session's key is read-only. Sign in with such a key to re-run."

var rerunServices sync.Map // *UI → *rerun.Service

func (u *UI) reruns() (*rerun.Service, bool) {
	if s, ok := rerunServices.Load(u); ok {
		return s.(*rerun.Service), true
	}
	s, ok := rerun.New(u.st, u.api, u.log)
	if !ok {
		return nil, false
	}
	if u.now != nil {
		s.Now = u.now
	}
	v, _ := rerunServices.LoadOrStore(u, s)
	return v.(*rerun.Service), true
}

type rerunFormData struct {
	base
	Run        agenttrace.Run
	Model      string
	Prompt     string
	Metadata   string
	Input      string
	Models     []string // suggestions
	CanRerun   bool
	ScopeMsg   string
	NoURL      bool // the agent has no rerun_url
	Error      string
	ErrorTitle string
}

func (u *UI) rerunForm(w http.ResponseWriter, r *http.Request) {
	run, err := u.st.GetRun(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		u.storeError(w, r, err, "run")
		return
	}
	d := u.newRerunForm(r, run)
	d.Input = prettyOrEmpty(run.Input)
	status := http.StatusOK
	if !d.CanRerun {
		status = http.StatusForbidden
	}
	u.render(w, r, status, "rerun", d)
}

func (u *UI) newRerunForm(r *http.Request, run agenttrace.Run) *rerunFormData {
	d := &rerunFormData{base: base{Title: "Re-run " + run.ID, Nav: "traces"}, Run: run, CanRerun: keyOf(r).Has(rerun.Scope)}
	if !d.CanRerun {
		d.ScopeMsg = rerunScopeMsg
	}
	if a, err := u.st.GetAgent(r.Context(), accountOf(r), run.AgentID); err == nil && a.RerunURL == "" {
		d.NoURL = true
	}
	for _, s := range run.Steps {
		if s.Model != "" && !slices.Contains(d.Models, s.Model) {
			d.Models = append(d.Models, s.Model)
		}
	}
	for _, m := range []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4"} {
		if !slices.Contains(d.Models, m) {
			d.Models = append(d.Models, m)
		}
	}
	return d
}

func prettyOrEmpty(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xa, yb)
}

func (u *UI) rerunPost(w http.ResponseWriter, r *http.Request) {
	k := keyOf(r)
	run, err := u.st.GetRun(r.Context(), k.AccountID, r.PathValue("id"))
	if err != nil {
		u.storeError(w, r, err, "run")
		return
	}
	d := u.newRerunForm(r, run)
	d.Model = strings.TrimSpace(r.PostFormValue("model"))
	d.Prompt = r.PostFormValue("prompt")
	d.Metadata = r.PostFormValue("metadata")
	d.Input = r.PostFormValue("input")
	fail := func(status int, title, msg string) {
		d.ErrorTitle, d.Error = title, msg
		u.render(w, r, status, "rerun", d)
	}
	if !d.CanRerun {
		fail(http.StatusForbidden, "Not allowed", rerunScopeMsg)
		return
	}
	svc, ok := u.reruns()
	if !ok {
		fail(http.StatusNotImplemented, "Re-runs are not available", "This server's store does not keep re-run requests.")
		return
	}
	ov := rerun.Overrides{Model: d.Model, Prompt: d.Prompt}
	if m := strings.TrimSpace(d.Metadata); m != "" {
		if err := json.Unmarshal([]byte(m), &ov.Metadata); err != nil || ov.Metadata == nil {
			fail(http.StatusBadRequest, "Invalid metadata", "metadata: not a JSON object like {\"temperature\": 0.2} ("+jsonErr(err)+")")
			return
		}
	}
	if in := strings.TrimSpace(d.Input); in != "" && !sameJSON([]byte(in), run.Input) {
		if !json.Valid([]byte(in)) {
			var v any
			fail(http.StatusBadRequest, "Invalid input", "input: not valid JSON ("+jsonErr(json.Unmarshal([]byte(in), &v))+"); put text in quotes: \"like this\"")
			return
		}
		ov.Input = json.RawMessage(in)
	}
	ans, err := svc.Rerun(r.Context(), k, run.ID, ov)
	if err != nil {
		switch agenttrace.ErrorCode(err) {
		case agenttrace.ECONFLICT:
			fail(http.StatusConflict, "The agent cannot be re-run yet", agenttrace.ErrorMessage(err))
		case agenttrace.EBADGATEWAY:
			fail(http.StatusBadGateway, "The agent did not take the re-run", agenttrace.ErrorMessage(err))
		case agenttrace.EINTERNAL:
			u.serverError(w, r, err)
		default:
			fail(api.StatusOf(agenttrace.ErrorCode(err)), "Cannot re-run", agenttrace.ErrorMessage(err))
		}
		return
	}
	http.Redirect(w, r, rerunWaitURL(run.ID, ans.NewRunID), http.StatusSeeOther)
}

func jsonErr(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}

func rerunWaitURL(id, newID string) string {
	return runURL(id) + "/reruns/" + url.PathEscape(newID)
}

type rerunWaitData struct {
	base
	Run     agenttrace.Run
	Rec     store.Rerun
	NewRun  *agenttrace.Run
	Done    bool
	PollURL string
}

// rerunState finds the re-run request and the new run, if it arrived.
func (u *UI) rerunState(r *http.Request) (agenttrace.Run, store.Rerun, *agenttrace.Run, error) {
	acct := accountOf(r)
	run, err := u.st.GetRun(r.Context(), acct, r.PathValue("id"))
	if err != nil {
		return run, store.Rerun{}, nil, err
	}
	rs, ok := u.st.(store.Reruns)
	if !ok {
		return run, store.Rerun{}, nil, agenttrace.Errorf(agenttrace.ENOTFOUND, "no re-runs")
	}
	recs, err := rs.ListReruns(r.Context(), acct, run.ID, 1000)
	if err != nil {
		return run, store.Rerun{}, nil, err
	}
	newID := r.PathValue("new")
	i := slices.IndexFunc(recs, func(x store.Rerun) bool { return x.NewRunID == newID })
	if i < 0 {
		return run, store.Rerun{}, nil, agenttrace.Errorf(agenttrace.ENOTFOUND, "re-run %q not found", newID)
	}
	nr, err := u.st.GetRun(r.Context(), acct, newID)
	switch {
	case err == nil:
		return run, recs[i], &nr, nil
	case agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND:
		return run, recs[i], nil, nil
	}
	return run, recs[i], nil, err
}

func finished(s agenttrace.Status) bool {
	return s == agenttrace.StatusCompleted || s == agenttrace.StatusFailed
}

func (u *UI) rerunWait(w http.ResponseWriter, r *http.Request) {
	run, rec, nr, err := u.rerunState(r)
	if err != nil {
		u.storeError(w, r, err, "re-run")
		return
	}
	d := &rerunWaitData{base: base{Title: "Re-run of " + run.ID, Nav: "traces"}, Run: run, Rec: rec, NewRun: nr,
		Done: nr != nil && finished(nr.Status), PollURL: rerunWaitURL(run.ID, rec.NewRunID) + "/status"}
	if !d.Done {
		d.Title = "Waiting for the re-run of " + run.ID
	}
	u.render(w, r, http.StatusOK, "rerun_wait", d)
}

func (u *UI) rerunStatus(w http.ResponseWriter, r *http.Request) {
	_, _, nr, err := u.rerunState(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	out := map[string]any{"arrived": nr != nil, "done": nr != nil && finished(nr.Status)}
	if nr != nil {
		out["status"] = nr.Status
	}
	api.WriteJSON(w, http.StatusOK, out)
}
