package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// Limits of the evaluation API.
const (
	MaxEvaluatorsPerJob = 50
	MaxRunIDsPerJob     = 100_000
	maxBody             = 4 << 20
)

// Register mounts /api/v1/evaluators and /api/v1/evaluations on mux.
func (s *Service) Register(mux *http.ServeMux, a *api.Server) {
	mux.Handle("GET /api/v1/evaluators", a.Auth(agenttrace.ScopeRead, s.listEvaluators))
	mux.Handle("POST /api/v1/evaluators", a.Auth(agenttrace.ScopeAdmin, s.createEvaluator))
	mux.Handle("GET /api/v1/evaluators/{id}", a.Auth(agenttrace.ScopeRead, s.getEvaluator))
	mux.Handle("PUT /api/v1/evaluators/{id}", a.Auth(agenttrace.ScopeAdmin, s.putEvaluator))
	mux.Handle("DELETE /api/v1/evaluators/{id}", a.Auth(agenttrace.ScopeAdmin, s.deleteEvaluator))

	mux.Handle("GET /api/v1/evaluations", a.Auth(agenttrace.ScopeRead, s.listJobs))
	mux.Handle("POST /api/v1/evaluations", a.Auth(agenttrace.ScopeAdmin, s.createEvaluation))
	mux.Handle("GET /api/v1/evaluations/stats", a.Auth(agenttrace.ScopeRead, s.stats))
	mux.Handle("GET /api/v1/evaluations/{id}", a.Auth(agenttrace.ScopeRead, s.getEvaluation))
	mux.Handle("POST /api/v1/evaluations/{id}/cancel", a.Auth(agenttrace.ScopeAdmin, s.cancelEvaluation))
}

func accountOf(r *http.Request) string {
	k, _ := api.KeyFrom(r.Context())
	return k.AccountID
}

// evaluatorIn is the body of POST and PUT /api/v1/evaluators. A judge's
// api_key may be given at the top level or inside config; it is stored
// apart and never answered.
type evaluatorIn struct {
	Name        *string          `json:"name"`
	Description *string          `json:"description"`
	Kind        *string          `json:"kind"`
	Config      *json.RawMessage `json:"config"`
	AgentIDs    *[]string        `json:"agent_ids"`
	APIKey      *string          `json:"api_key"`
}

// apply merges in into e, validates and compiles the result.
func apply(e *agenttrace.Evaluator, in evaluatorIn, opts Options) error {
	if in.Name != nil {
		e.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		e.Description = *in.Description
	}
	if in.Kind != nil {
		e.Kind = agenttrace.EvaluatorKind(*in.Kind)
	}
	if in.AgentIDs != nil {
		e.AgentIDs = *in.AgentIDs
	}
	if in.Config != nil {
		cfg := *in.Config
		// Take a secret out of the config.
		var m map[string]json.RawMessage
		if json.Unmarshal(cfg, &m) == nil {
			if k, ok := m["api_key"]; ok {
				var key string
				if err := json.Unmarshal(k, &key); err != nil {
					return agenttrace.Errorf(agenttrace.EINVALID, "config.api_key: must be a string")
				}
				e.Secret = key
				delete(m, "api_key")
				cfg, _ = json.Marshal(m)
			}
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, cfg); err != nil {
			return agenttrace.Errorf(agenttrace.EINVALID, "config: not JSON: %v", err)
		}
		e.Config = buf.Bytes()
	}
	if in.APIKey != nil {
		e.Secret = *in.APIKey
	}
	if err := CheckEvaluator(e); err != nil {
		return err
	}
	if e.AgentIDs == nil {
		e.AgentIDs = []string{}
	}
	if e.Kind != agenttrace.EvalJudge {
		e.Secret = ""
	}
	e.SecretSet = e.Secret != ""
	_, err := Compile(*e, opts)
	return err
}

func (s *Service) listEvaluators(w http.ResponseWriter, r *http.Request) {
	list, err := s.Evals.ListEvaluators(r.Context(), accountOf(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"data": list, "next_cursor": ""})
}

func (s *Service) createEvaluator(w http.ResponseWriter, r *http.Request) {
	var in evaluatorIn
	if err := api.DecodeJSON(w, r, maxBody, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	now := time.Now().UTC()
	e := agenttrace.Evaluator{ID: agenttrace.NewID("evr_"), CreatedAt: now, UpdatedAt: now}
	if in.Config == nil {
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "config: required"))
		return
	}
	if err := apply(&e, in, s.Opts); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if err := s.Evals.CreateEvaluator(r.Context(), accountOf(r), e); err != nil {
		api.WriteError(w, r, err)
		return
	}
	s.invalidate(accountOf(r))
	api.WriteJSON(w, http.StatusCreated, e)
}

func (s *Service) getEvaluator(w http.ResponseWriter, r *http.Request) {
	e, err := s.Evals.GetEvaluator(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, e)
}

func (s *Service) putEvaluator(w http.ResponseWriter, r *http.Request) {
	var in evaluatorIn
	if err := api.DecodeJSON(w, r, maxBody, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	e, err := s.Evals.GetEvaluator(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	if err := apply(&e, in, s.Opts); err != nil {
		api.WriteError(w, r, err)
		return
	}
	e.UpdatedAt = time.Now().UTC()
	if err := s.Evals.UpdateEvaluator(r.Context(), accountOf(r), e); err != nil {
		api.WriteError(w, r, err)
		return
	}
	s.invalidate(accountOf(r))
	api.WriteJSON(w, http.StatusOK, e)
}

func (s *Service) deleteEvaluator(w http.ResponseWriter, r *http.Request) {
	if err := s.Evals.DeleteEvaluator(r.Context(), accountOf(r), r.PathValue("id")); err != nil {
		api.WriteError(w, r, err)
		return
	}
	s.invalidate(accountOf(r))
	w.WriteHeader(http.StatusNoContent)
}

type evaluationIn struct {
	EvaluatorIDs []string `json:"evaluator_ids"`
	RunIDs       []string `json:"run_ids"`
	Q            *string  `json:"q"`
}

func (s *Service) createEvaluation(w http.ResponseWriter, r *http.Request) {
	var in evaluationIn
	if err := api.DecodeJSON(w, r, 16<<20, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	ctx, acct := r.Context(), accountOf(r)
	switch {
	case len(in.EvaluatorIDs) == 0:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "evaluator_ids: required, at least one evaluator id"))
		return
	case len(in.EvaluatorIDs) > MaxEvaluatorsPerJob:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "evaluator_ids: more than the limit of %d", MaxEvaluatorsPerJob))
		return
	case in.RunIDs != nil && in.Q != nil:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "run_ids, q: give one selection, run ids or a query, not both"))
		return
	case in.RunIDs == nil && in.Q == nil:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "run_ids, q: give a selection: run ids or a query (\"q\": \"\" for all runs)"))
		return
	case len(in.RunIDs) > MaxRunIDsPerJob:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "run_ids: more than the limit of %d; select with a query instead", MaxRunIDsPerJob))
		return
	}
	if err := CheckJobIDs(in.EvaluatorIDs, in.RunIDs); err != nil {
		api.WriteError(w, r, err)
		return
	}
	seen := map[string]bool{}
	ids := []string{}
	for _, id := range in.EvaluatorIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, err := s.Evals.GetEvaluator(ctx, acct, id); err != nil {
			api.WriteError(w, r, err)
			return
		}
		ids = append(ids, id)
	}
	p := JobParams{EvaluatorIDs: ids}
	var total int64
	if in.RunIDs != nil {
		p.RunIDs = dedupe(in.RunIDs)
		total = int64(len(p.RunIDs))
	} else {
		q, err := query.Parse(*in.Q)
		if err != nil {
			api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "q: %s", agenttrace.ErrorMessage(err)))
			return
		}
		p.Q = *in.Q
		if total, err = s.Store.CountRuns(ctx, acct, q); err != nil {
			api.WriteError(w, r, err)
			return
		}
	}
	j, err := s.CreateJob(ctx, acct, p, total)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusAccepted, jobView(j, nil))
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// EvaluationView is the API's view of an evaluation job.
type EvaluationView struct {
	ID           string                `json:"id"`
	Status       agenttrace.JobStatus  `json:"status"`
	Progress     int64                 `json:"progress"`
	Total        int64                 `json:"total"`
	EvaluatorIDs []string              `json:"evaluator_ids,omitempty"`
	Q            *string               `json:"q,omitempty"`
	RunCount     int                   `json:"run_ids_count,omitempty"`
	Auto         bool                  `json:"auto,omitempty"`
	Error        string                `json:"error,omitempty"`
	Result       json.RawMessage       `json:"result,omitempty"`
	CreatedAt    time.Time             `json:"created_at"`
	UpdatedAt    time.Time             `json:"updated_at"`
	FinishedAt   *time.Time            `json:"finished_at,omitempty"`
	Counts       []store.EvalCount     `json:"counts,omitempty"`
	Verdicts     *store.EvalResultPage `json:"verdicts,omitempty"`
}

func jobView(j agenttrace.Job, counts []store.EvalCount) EvaluationView {
	var p JobParams
	_ = json.Unmarshal(j.Params, &p)
	v := EvaluationView{ID: j.ID, Status: j.Status, Progress: j.Progress, Total: j.Total, EvaluatorIDs: p.EvaluatorIDs,
		RunCount: len(p.RunIDs), Auto: p.Auto, Error: j.Error, Result: j.Result, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		FinishedAt: j.FinishedAt, Counts: counts}
	if p.RunIDs == nil && !p.Auto {
		q := p.Q
		v.Q = &q
	}
	return v
}

func (s *Service) job(r *http.Request) (agenttrace.Job, error) {
	j, err := s.Store.GetJob(r.Context(), accountOf(r), r.PathValue("id"))
	if err == nil && j.Kind != JobKind {
		err = agenttrace.Errorf(agenttrace.ENOTFOUND, "evaluation %q not found", r.PathValue("id"))
	}
	return j, err
}

func (s *Service) listJobs(w http.ResponseWriter, r *http.Request) {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = 50
	}
	list, err := s.Store.ListJobs(r.Context(), accountOf(r), JobKind, min(limit, 1000))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	out := make([]EvaluationView, len(list))
	for i, j := range list {
		out[i] = jobView(j, nil)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"data": out, "next_cursor": ""})
}

// getEvaluation answers the job, its verdict counts per evaluator and a
// page of its verdicts (?limit=, ?cursor=, ?verdict=pass|fail|error).
func (s *Service) getEvaluation(w http.ResponseWriter, r *http.Request) {
	j, err := s.job(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	counts, err := s.Evals.CountEvalResults(r.Context(), j.AccountID, j.ID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	v := r.URL.Query()
	f := store.EvalResultFilter{JobID: j.ID, All: true, Cursor: v.Get("cursor"), Verdict: v.Get("verdict"), EvaluatorID: v.Get("evaluator_id")}
	if l := v.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 1 || f.Limit > 1000 {
			api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "limit: %q is not an integer in 1..1000", l))
			return
		}
	}
	switch f.Verdict {
	case "", agenttrace.VerdictPass, agenttrace.VerdictFail, agenttrace.VerdictError:
	default:
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "verdict: %q is not pass, fail or error", f.Verdict))
		return
	}
	page, err := s.Evals.ListEvalResults(r.Context(), j.AccountID, f)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	out := jobView(j, counts)
	out.Verdicts = &page
	api.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) cancelEvaluation(w http.ResponseWriter, r *http.Request) {
	if _, err := s.job(r); err != nil {
		api.WriteError(w, r, err)
		return
	}
	j, err := s.Store.CancelJob(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, jobView(j, nil))
}

// stats answers pass/fail/error counts per evaluator and time bucket of
// the runs: ?interval=hour|day&q=…&from=&to=&evaluator_id= (default: the
// last 30 days by day, the last 48 hours by hour).
func (s *Service) stats(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := query.Parse(v.Get("q"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	opts := store.EvalStatsOptions{Query: q, Interval: v.Get("interval"), EvaluatorID: v.Get("evaluator_id")}
	now := time.Now().UTC()
	opts.To = now
	opts.From = now.Add(-30 * 24 * time.Hour)
	if opts.Interval == "hour" {
		opts.From = now.Add(-48 * time.Hour)
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &opts.From}, {"to", &opts.To}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				if t, err = time.Parse("2006-01-02", s); err != nil {
					api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "%s: %q is not a RFC 3339 time or a date", p.name, s))
					return
				}
			}
			*p.t = t
		}
	}
	buckets, err := s.Evals.EvalStats(r.Context(), accountOf(r), opts)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"data": buckets, "interval": cmpOr(opts.Interval, "day"), "from": opts.From, "to": opts.To})
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CheckJobIDs checks the evaluator and run ids an evaluation names: each
// one an id some object could have (at most agenttrace.MaxIDLen bytes, no
// NUL, which PostgreSQL cannot take as a parameter). The UI's form uses it
// too.
func CheckJobIDs(evaluatorIDs, runIDs []string) error {
	for _, f := range []struct {
		name string
		ids  []string
	}{{"evaluator_ids", evaluatorIDs}, {"run_ids", runIDs}} {
		for i, id := range f.ids {
			if err := agenttrace.CheckText(fmt.Sprintf("%s[%d]", f.name, i), id, agenttrace.MaxIDLen); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckEvaluator checks an evaluator's name, description, kind and agents
// (its config is checked by Compile). The UI's form uses it too.
func CheckEvaluator(e *agenttrace.Evaluator) error {
	switch {
	case e.Name == "":
		return agenttrace.Errorf(agenttrace.EINVALID, "name: required")
	case len(e.Name) > 100:
		return agenttrace.Errorf(agenttrace.EINVALID, "name: longer than the limit of 100 characters")
	case strings.ContainsAny(e.Name, " \t\n\"=:\x00"):
		return agenttrace.Errorf(agenttrace.EINVALID, "name: %q may not contain spaces, quotes, '=', ':' or NUL (it is used in the query term eval:NAME=pass)", e.Name)
	case len(e.Description) > 2000:
		return agenttrace.Errorf(agenttrace.EINVALID, "description: longer than the limit of 2000 characters")
	case !e.Kind.Valid():
		return agenttrace.Errorf(agenttrace.EINVALID, "kind: %q is not rule, builtin or judge", e.Kind)
	case len(e.AgentIDs) > 100:
		return agenttrace.Errorf(agenttrace.EINVALID, "agent_ids: more than the limit of 100")
	}
	if err := agenttrace.CheckText("description", e.Description, 2000); err != nil {
		return err
	}
	for i, id := range e.AgentIDs {
		if id == "*" {
			continue
		}
		if err := agenttrace.CheckAgentID("agent_ids["+strconv.Itoa(i)+"]", id); err != nil {
			return err
		}
	}
	return nil
}
