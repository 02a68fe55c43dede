package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/eval"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// Evaluations in the UI: the Evaluate action of the run tables, its form,
// the evaluation jobs (progress, cancel, verdicts) and the pass-rate chart
// of the usage page.
func init() {
	// Enabled with nothing selected: then it acts on everything the table's query matches.
	Actions = append(Actions, Action{Label: "Evaluate", Path: "/evaluations/new", Min: 0, WithQuery: true})
	Pages = append(Pages,
		Page{Pattern: "GET /evaluations", Handler: evalPage((*UI).evaluationsPage)},
		Page{Pattern: "GET /evaluations/new", Handler: evalPage((*UI).evaluationNew)},
		Page{Pattern: "POST /evaluations", Handler: evalPage((*UI).evaluationCreate)},
		Page{Pattern: "GET /evaluations/{id}", Handler: evalPage((*UI).evaluationPage)},
		Page{Pattern: "GET /evaluations/{id}/status", Handler: evalPage((*UI).evaluationStatus)},
		Page{Pattern: "POST /evaluations/{id}/cancel", Handler: evalPage((*UI).evaluationCancel)},
	)
	funcs["jobClass"] = func(s agenttrace.JobStatus) string {
		switch s {
		case agenttrace.JobCompleted:
			return "st-completed"
		case agenttrace.JobFailed:
			return "st-failed"
		case agenttrace.JobRunning:
			return "st-processing"
		}
		return "st-pending"
	}
	funcs["stepURL"] = func(runID, stepID string) string { return runURL(runID) + "#step-" + url.PathEscape(stepID) }
	funcs["pctOf"] = func(part, whole int64) int64 {
		if whole <= 0 {
			return 0
		}
		return min(100, part*100/whole)
	}
}

// evaluateSelection is what the Evaluate form acts on.
type evaluateSelection struct {
	RunIDs []string
	Q      string // the table's query
	Agent  string // the agent of a Traces tab
	FullQ  string // Q scoped to Agent
	Count  int64  // runs matching FullQ
	Scope  string // "runs" or "query"
}

type evaluateData struct {
	base
	Sel        evaluateSelection
	Evaluators []agenttrace.Evaluator
	Chosen     []string
	Admin      bool
	Err        string
	BackURL    string
}

// scopedQuery adds agent:ID to q (a Traces tab's table is scoped to its agent).
func scopedQuery(q, agent string) string {
	q = strings.TrimSpace(q)
	if agent == "" {
		return q
	}
	return strings.TrimSpace(q + " agent:" + quoteValue(agent))
}

func readSelection(v url.Values) evaluateSelection {
	s := evaluateSelection{Q: strings.TrimSpace(v.Get("q")), Agent: v.Get("agent"), Scope: v.Get("scope")}
	for _, id := range v["run"] {
		if id = strings.TrimSpace(id); id != "" && !slices.Contains(s.RunIDs, id) {
			s.RunIDs = append(s.RunIDs, id)
		}
	}
	s.FullQ = scopedQuery(s.Q, s.Agent)
	if s.Scope != "runs" && s.Scope != "query" {
		s.Scope = "query"
		if len(s.RunIDs) > 0 {
			s.Scope = "runs"
		}
	}
	if len(s.RunIDs) == 0 {
		s.Scope = "query"
	}
	return s
}

func (s evaluateSelection) backURL() string {
	path := "/"
	if s.Agent != "" {
		path = agentURL(s.Agent)
	}
	return viewURL(path, s.Q, "", "", "")
}

// evaluationNew shows the Evaluate form: the selection (counted here, when
// the user asks for it, never on the table's page load) and the evaluators.
func (u *UI) evaluationNew(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	sel := readSelection(r.URL.Query())
	u.renderEvaluate(w, r, ev, sel, nil, http.StatusOK, "")
}

func (u *UI) renderEvaluate(w http.ResponseWriter, r *http.Request, ev store.Evals, sel evaluateSelection, chosen []string, status int, msg string) {
	d := &evaluateData{base: base{Title: "Evaluate runs", Nav: "/evaluators"}, Sel: sel, Chosen: chosen, Admin: isAdmin(r), Err: msg, BackURL: sel.backURL()}
	if !d.Admin {
		u.errorPage(w, r, http.StatusForbidden, "Read-only key", readOnlyEvalMsg)
		return
	}
	acct := accountOf(r)
	q, err := query.Parse(sel.FullQ)
	if err == nil {
		d.Sel.Count, err = u.st.CountRuns(r.Context(), acct, q)
	}
	if err != nil {
		if agenttrace.ErrorCode(err) != agenttrace.EINVALID {
			u.serverError(w, r, err)
			return
		}
		if d.Err == "" {
			d.Err = "q: " + agenttrace.ErrorMessage(err)
		}
		status = http.StatusBadRequest
	}
	if d.Evaluators, err = ev.ListEvaluators(r.Context(), acct); err != nil {
		u.serverError(w, r, err)
		return
	}
	u.render(w, r, status, "evaluation_new", d)
}

// evaluationCreate creates the evaluation job (as POST /api/v1/evaluations
// does) and shows its page.
func (u *UI) evaluationCreate(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	if u.forbidReadOnly(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<20)
	_ = r.ParseForm()
	sel := readSelection(r.PostForm)
	ctx, acct := r.Context(), accountOf(r)
	var ids []string
	for _, id := range r.PostForm["evaluator"] {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	fail := func(msg string) { u.renderEvaluate(w, r, ev, sel, ids, http.StatusBadRequest, msg) }
	switch {
	case len(ids) == 0:
		fail("Choose at least one evaluator.")
		return
	case len(ids) > eval.MaxEvaluatorsPerJob:
		fail(fmt.Sprintf("Choose at most %d evaluators.", eval.MaxEvaluatorsPerJob))
		return
	case sel.Scope == "runs" && len(sel.RunIDs) > eval.MaxRunIDsPerJob:
		fail(fmt.Sprintf("More than %d runs selected; evaluate by query instead.", eval.MaxRunIDsPerJob))
		return
	}
	if err := eval.CheckJobIDs(ids, sel.RunIDs); err != nil {
		fail(agenttrace.ErrorMessage(err) + ".")
		return
	}
	for _, id := range ids {
		if _, err := ev.GetEvaluator(ctx, acct, id); err != nil {
			if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
				fail("An evaluator you chose no longer exists; choose again.")
				return
			}
			u.serverError(w, r, err)
			return
		}
	}
	p := eval.JobParams{EvaluatorIDs: ids}
	var total int64
	if sel.Scope == "runs" {
		p.RunIDs, total = sel.RunIDs, int64(len(sel.RunIDs))
	} else {
		q, err := query.Parse(sel.FullQ)
		if err != nil {
			fail("q: " + agenttrace.ErrorMessage(err))
			return
		}
		p.Q = sel.FullQ
		if total, err = u.st.CountRuns(ctx, acct, q); err != nil {
			u.storeError(w, r, err, "runs")
			return
		}
	}
	svc := u.evalService()
	if svc == nil {
		u.notFound(w, r, "Evaluations are not available with this store.")
		return
	}
	j, err := svc.CreateJob(ctx, acct, p, total)
	if err != nil {
		u.storeError(w, r, err, "evaluation")
		return
	}
	http.Redirect(w, r, "/evaluations/"+url.PathEscape(j.ID), http.StatusSeeOther)
}

// evalJob reads the evaluation job of the path; other kinds and other
// accounts' jobs are not found.
func (u *UI) evalJob(r *http.Request) (agenttrace.Job, eval.JobParams, error) {
	var p eval.JobParams
	j, err := u.st.GetJob(r.Context(), accountOf(r), r.PathValue("id"))
	if err == nil && j.Kind != eval.JobKind {
		err = agenttrace.Errorf(agenttrace.ENOTFOUND, "evaluation %q not found", r.PathValue("id"))
	}
	if err == nil {
		_ = json.Unmarshal(j.Params, &p)
	}
	return j, p, err
}

type countRow struct {
	store.EvalCount
	Total   int64
	FailURL string
}

type verdictFilter struct {
	Label, URL string
	Active     bool
}

type evaluationData struct {
	base
	Job        agenttrace.Job
	Params     eval.JobParams
	Names      []string
	Admin      bool
	Done       bool
	Pct        int64
	Counts     []countRow
	Verdicts   []agenttrace.EvalResult
	Filters    []verdictFilter
	Verdict    string
	Evaluator  string
	EvalName   string
	NextURL    string
	FirstURL   string
	ResultRuns int64
	Skipped    int64
}

func jobURL(id string, v url.Values) string {
	u := "/evaluations/" + url.PathEscape(id)
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}

func (u *UI) evaluationPage(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	j, p, err := u.evalJob(r)
	if err != nil {
		u.storeError(w, r, err, "evaluation")
		return
	}
	acct := accountOf(r)
	v := r.URL.Query()
	d := &evaluationData{base: base{Title: "Evaluation " + j.ID, Nav: "/evaluators"}, Job: j, Params: p, Admin: isAdmin(r),
		Done: j.Status.Done(), Verdict: v.Get("verdict"), Evaluator: v.Get("evaluator")}
	switch d.Verdict {
	case "", agenttrace.VerdictPass, agenttrace.VerdictFail, agenttrace.VerdictError:
	default:
		u.errorPage(w, r, http.StatusBadRequest, "Cannot show this page", fmt.Sprintf("verdict: %q is not pass, fail or error", d.Verdict))
		return
	}
	if j.Total > 0 {
		d.Pct = min(100, j.Progress*100/j.Total)
	} else if d.Done {
		d.Pct = 100
	}
	var res eval.JobResult
	if len(j.Result) > 0 && json.Unmarshal(j.Result, &res) == nil {
		d.ResultRuns, d.Skipped = res.Runs, res.Skipped
	}
	names := map[string]string{}
	if list, err := ev.ListEvaluators(r.Context(), acct); err == nil {
		for _, e := range list {
			names[e.ID] = e.Name
		}
	} else {
		u.serverError(w, r, err)
		return
	}
	counts, err := ev.CountEvalResults(r.Context(), acct, j.ID)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	seen := map[string]bool{}
	for _, c := range counts {
		seen[c.EvaluatorID] = true
		if c.EvaluatorName == "" {
			c.EvaluatorName = names[c.EvaluatorID]
		}
		row := countRow{EvalCount: c, Total: c.Pass + c.Fail + c.Error}
		if _, ok := names[c.EvaluatorID]; ok {
			row.FailURL = "/?q=" + url.QueryEscape("eval:"+c.EvaluatorName+"=fail")
		}
		d.Counts = append(d.Counts, row)
		if c.EvaluatorID == d.Evaluator {
			d.EvalName = c.EvaluatorName
		}
	}
	for _, id := range p.EvaluatorIDs {
		n := names[id]
		if n == "" {
			n = id + " (deleted)"
		}
		d.Names = append(d.Names, n)
		if !seen[id] {
			d.Counts = append(d.Counts, countRow{EvalCount: store.EvalCount{EvaluatorID: id, EvaluatorName: n}})
		}
	}
	// verdict filters
	for _, f := range []struct{ v, label string }{{"", "All"}, {"fail", "Fail"}, {"error", "Error"}, {"pass", "Pass"}} {
		q := url.Values{}
		if f.v != "" {
			q.Set("verdict", f.v)
		}
		if d.Evaluator != "" {
			q.Set("evaluator", d.Evaluator)
		}
		d.Filters = append(d.Filters, verdictFilter{Label: f.label, URL: jobURL(j.ID, q), Active: f.v == d.Verdict})
	}
	page, err := ev.ListEvalResults(r.Context(), acct, store.EvalResultFilter{JobID: j.ID, All: true, Verdict: d.Verdict,
		EvaluatorID: d.Evaluator, Limit: 100, Cursor: v.Get("cursor")})
	if err != nil {
		u.storeError(w, r, err, "evaluation")
		return
	}
	d.Verdicts = page.Results
	base := url.Values{}
	if d.Verdict != "" {
		base.Set("verdict", d.Verdict)
	}
	if d.Evaluator != "" {
		base.Set("evaluator", d.Evaluator)
	}
	if page.NextCursor != "" {
		nv := url.Values{}
		for k, vs := range base {
			nv[k] = vs
		}
		nv.Set("cursor", page.NextCursor)
		d.NextURL = jobURL(j.ID, nv)
	}
	if v.Get("cursor") != "" {
		d.FirstURL = jobURL(j.ID, base)
	}
	u.render(w, r, http.StatusOK, "evaluation", d)
}

// evaluationStatus answers the job's progress as JSON for the page's polling script.
func (u *UI) evaluationStatus(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	j, _, err := u.evalJob(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"id": j.ID, "status": j.Status, "progress": j.Progress, "total": j.Total,
		"done": j.Status.Done(), "error": j.Error})
}

func (u *UI) evaluationCancel(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	if u.forbidReadOnly(w, r) {
		return
	}
	j, _, err := u.evalJob(r)
	if err == nil && !j.Status.Done() {
		_, err = u.st.CancelJob(r.Context(), accountOf(r), j.ID)
	}
	if err != nil {
		u.storeError(w, r, err, "evaluation")
		return
	}
	http.Redirect(w, r, jobURL(j.ID, nil), http.StatusSeeOther)
}

type jobRow struct {
	agenttrace.Job
	Params eval.JobParams
	Names  string
	Pct    int64
}

type evaluationsData struct {
	base
	Jobs  []jobRow
	Admin bool
}

func (u *UI) evaluationsPage(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	acct := accountOf(r)
	list, err := u.st.ListJobs(r.Context(), acct, eval.JobKind, 100)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	evs, err := ev.ListEvaluators(r.Context(), acct)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	names := map[string]string{}
	for _, e := range evs {
		names[e.ID] = e.Name
	}
	d := &evaluationsData{base: base{Title: "Evaluation jobs", Nav: "/evaluators"}, Admin: isAdmin(r)}
	for _, j := range list {
		row := jobRow{Job: j}
		_ = json.Unmarshal(j.Params, &row.Params)
		var ns []string
		for _, id := range row.Params.EvaluatorIDs {
			n := names[id]
			if n == "" {
				n = "(deleted)"
			}
			ns = append(ns, n)
		}
		if row.Params.Auto {
			ns = []string{"attached evaluators"}
		}
		row.Names = strings.Join(ns, ", ")
		if j.Total > 0 {
			row.Pct = min(100, j.Progress*100/j.Total)
		}
		d.Jobs = append(d.Jobs, row)
	}
	u.render(w, r, http.StatusOK, "evaluations", d)
}

// evalServices maps an API server to the evaluation service its server
// mounted (server/eval.go calls UseEvaluations), so that the UI's jobs wake
// the job runner and its evaluator edits reach the new-run hook's cache.
var evalServices sync.Map

// UseEvaluations hands the UI of the server whose API is a the evaluation service.
func UseEvaluations(a *api.Server, s *eval.Service) { evalServices.Store(a, s) }

func (u *UI) evalService() *eval.Service {
	if s, ok := evalServices.Load(u.api); ok {
		return s.(*eval.Service)
	}
	if s, ok := eval.New(u.st, u.log); ok {
		return s
	}
	return nil
}
