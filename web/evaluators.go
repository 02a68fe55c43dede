package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/eval"
	"github.com/agenttrace/agenttrace/store"
)

// The evaluators pages (docs/evaluations.md): list, create, edit, delete.
// Changing evaluators needs the admin scope; read-only sessions see the list.
func init() {
	Pages = append(Pages,
		Page{Pattern: "GET /evaluators", Nav: "Evaluators", Handler: evalPage((*UI).evaluatorsPage)},
		Page{Pattern: "GET /evaluators/new", Handler: evalPage((*UI).evaluatorNew)},
		Page{Pattern: "POST /evaluators", Handler: evalPage((*UI).evaluatorCreate)},
		Page{Pattern: "GET /evaluators/{id}", Handler: evalPage((*UI).evaluatorEdit)},
		Page{Pattern: "POST /evaluators/{id}", Handler: evalPage((*UI).evaluatorUpdate)},
		Page{Pattern: "POST /evaluators/{id}/delete", Handler: evalPage((*UI).evaluatorDelete)},
	)
	funcs["evalRate"] = evalRate
}

// evalPage adapts a UI method to a Page handler (the session check puts the
// UI into the request's context) and answers a 404 page when the store
// keeps no evaluations.
func evalPage(h func(*UI, http.ResponseWriter, *http.Request, store.Evals)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := r.Context().Value(uiKey).(*UI)
		if !ok {
			http.Error(w, "Internal error.", http.StatusInternalServerError)
			return
		}
		ev, ok := u.st.(store.Evals)
		if !ok {
			u.notFound(w, r, "Evaluations are not available with this store.")
			return
		}
		h(u, w, r, ev)
	}
}

// isAdmin reports whether the session's key may change evaluators and run evaluations.
func isAdmin(r *http.Request) bool {
	k, _ := api.KeyFrom(r.Context())
	return k.Has(agenttrace.ScopeAdmin)
}

const readOnlyEvalMsg = "Your session's API key is read-only. Creating, changing or deleting evaluators and running evaluations need a key with the admin scope: sign out and sign in with an admin key."

func (u *UI) forbidReadOnly(w http.ResponseWriter, r *http.Request) bool {
	if isAdmin(r) {
		return false
	}
	u.errorPage(w, r, http.StatusForbidden, "Read-only key", readOnlyEvalMsg)
	return true
}

// evalRate formats pass / (pass + fail + error).
func evalRate(c store.EvalCount) string {
	return fmtPct(c.Pass, c.Pass+c.Fail+c.Error)
}

type evaluatorRow struct {
	agenttrace.Evaluator
	Summary string
	Agents  string
	Week    store.EvalCount
	HasWeek bool
}

type evaluatorsData struct {
	base
	Admin bool
	Rows  []evaluatorRow
	Flash string
}

func summarize(e agenttrace.Evaluator) string {
	var m map[string]any
	_ = json.Unmarshal(e.Config, &m)
	s := func(k string) string { v, _ := m[k].(string); return v }
	switch e.Kind {
	case agenttrace.EvalRule:
		return s("expression")
	case agenttrace.EvalBuiltin:
		out := s("check")
		if p, ok := m["params"].(map[string]any); ok && len(p) > 0 {
			b, _ := json.Marshal(p)
			out += " " + string(b)
		}
		return out
	case agenttrace.EvalJudge:
		return s("model") + " at " + s("url")
	}
	return ""
}

func agentsText(ids []string) string {
	switch {
	case len(ids) == 0:
		return ""
	case slices.Contains(ids, "*"):
		return "all agents"
	}
	return strings.Join(ids, ", ")
}

func (u *UI) evaluatorsPage(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	acct := accountOf(r)
	list, err := ev.ListEvaluators(r.Context(), acct)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d := &evaluatorsData{base: base{Title: "Evaluators", Nav: "/evaluators"}, Admin: isAdmin(r)}
	switch r.URL.Query().Get("done") {
	case "deleted":
		d.Flash = "The evaluator was deleted; its verdicts stay as history."
	}
	week := map[string]store.EvalCount{}
	if len(list) > 0 {
		// One grouped query: the current verdicts on the runs of the last 7 days.
		now := u.now().UTC()
		buckets, err := ev.EvalStats(r.Context(), acct, store.EvalStatsOptions{Interval: "day", From: now.Add(-7 * 24 * time.Hour), To: now.Add(time.Minute)})
		if err != nil {
			u.serverError(w, r, err)
			return
		}
		for _, b := range buckets {
			c := week[b.EvaluatorID]
			c.Pass, c.Fail, c.Error = c.Pass+b.Pass, c.Fail+b.Fail, c.Error+b.Error
			week[b.EvaluatorID] = c
		}
	}
	for _, e := range list {
		c, ok := week[e.ID]
		d.Rows = append(d.Rows, evaluatorRow{Evaluator: e, Summary: summarize(e), Agents: agentsText(e.AgentIDs), Week: c, HasWeek: ok})
	}
	u.render(w, r, http.StatusOK, "evaluators", d)
}

// evaluatorForm holds the fields of the create/edit form, as typed.
type evaluatorForm struct {
	ID          string
	Name        string
	Description string
	Kind        string
	AllAgents   bool
	AgentIDs    []string // chosen known agents
	OtherAgents string   // comma-separated ids not in the list
	// rule
	Expression string
	// builtin
	Check         string
	Types         []string
	IncludeInputs string // "", "true", "false"
	Max           string
	Step          string
	Schema        string
	Tools         string
	// judge
	URL, Model, Prompt                            string
	TimeoutMS, MaxRetries, Temperature, Threshold string
	SecretSet                                     bool
	ClearKey                                      bool
}

type evaluatorFormData struct {
	base
	F        evaluatorForm
	New      bool
	Agents   []string
	Builtins []string
	PIITypes []string
	Err      string
	ErrField string // "name", "agent_ids", "expression", "builtin", "judge" or "" (top)
	Saved    bool
	Examples []string
	Default  string
}

var ruleExamples = []string{
	`run.credits <= 5.0`,
	`!run.steps.exists(s, s.type == "tool" && s.name == "delete_account")`,
	`run.steps.all(s, s.duration_ms < 30000)`,
	`run.status == "completed" && run.error == null`,
	`run.output.answer != ""`,
}

func (u *UI) formData(r *http.Request, f evaluatorForm, isNew bool) (*evaluatorFormData, error) {
	title := "New evaluator"
	if !isNew {
		title = "Evaluator " + f.Name
	}
	d := &evaluatorFormData{base: base{Title: title, Nav: "/evaluators"}, F: f, New: isNew, Builtins: eval.Builtins,
		PIITypes: []string{"email", "phone", "card", "national_id"}, Examples: ruleExamples, Default: eval.DefaultJudgePrompt}
	if d.F.Kind == "" {
		d.F.Kind = string(agenttrace.EvalRule)
	}
	agents, err := u.agentList(r)
	if err != nil {
		return nil, err
	}
	for _, a := range agents {
		d.Agents = append(d.Agents, a.ID)
	}
	// Attached agents that have no runs yet stay in the text field.
	var other []string
	for _, id := range f.AgentIDs {
		if !slices.Contains(d.Agents, id) {
			other = append(other, id)
		}
	}
	if len(other) > 0 {
		d.F.OtherAgents = strings.TrimSpace(strings.Join(append(other, d.F.OtherAgents), ", "))
		d.F.OtherAgents = strings.TrimSuffix(d.F.OtherAgents, ",")
	}
	return d, nil
}

func (u *UI) evaluatorNew(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	if u.forbidReadOnly(w, r) {
		return
	}
	d, err := u.formData(r, evaluatorForm{Check: "pii"}, true)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "evaluator", d)
}

// formOf loads an evaluator into the form.
func formOf(e agenttrace.Evaluator) evaluatorForm {
	f := evaluatorForm{ID: e.ID, Name: e.Name, Description: e.Description, Kind: string(e.Kind), SecretSet: e.SecretSet, Check: "pii"}
	for _, id := range e.AgentIDs {
		if id == "*" {
			f.AllAgents = true
		} else {
			f.AgentIDs = append(f.AgentIDs, id)
		}
	}
	var c struct {
		Expression string `json:"expression"`
		Check      string `json:"check"`
		Params     struct {
			Types         []string        `json:"types"`
			IncludeInputs *bool           `json:"include_inputs"`
			Max           *float64        `json:"max"`
			Step          string          `json:"step"`
			Schema        json.RawMessage `json:"schema"`
			Tools         []string        `json:"tools"`
		} `json:"params"`
		URL           string   `json:"url"`
		Model         string   `json:"model"`
		Prompt        string   `json:"prompt"`
		TimeoutMS     int      `json:"timeout_ms"`
		MaxRetries    *int     `json:"max_retries"`
		Temperature   *float64 `json:"temperature"`
		PassThreshold *float64 `json:"pass_threshold"`
	}
	_ = json.Unmarshal(e.Config, &c)
	f.Expression = c.Expression
	if c.Check != "" {
		f.Check = c.Check
	}
	p := c.Params
	f.Types = p.Types
	if p.IncludeInputs != nil {
		f.IncludeInputs = strconv.FormatBool(*p.IncludeInputs)
	}
	if p.Max != nil {
		f.Max = strconv.FormatFloat(*p.Max, 'f', -1, 64)
	}
	f.Step = p.Step
	if len(p.Schema) > 0 {
		var buf bytes.Buffer
		if json.Indent(&buf, p.Schema, "", "  ") == nil {
			f.Schema = buf.String()
		}
	}
	f.Tools = strings.Join(p.Tools, ", ")
	f.URL, f.Model, f.Prompt = c.URL, c.Model, c.Prompt
	if c.TimeoutMS > 0 {
		f.TimeoutMS = strconv.Itoa(c.TimeoutMS)
	}
	if c.MaxRetries != nil {
		f.MaxRetries = strconv.Itoa(*c.MaxRetries)
	}
	if c.Temperature != nil {
		f.Temperature = strconv.FormatFloat(*c.Temperature, 'f', -1, 64)
	}
	if c.PassThreshold != nil {
		f.Threshold = strconv.FormatFloat(*c.PassThreshold, 'f', -1, 64)
	}
	return f
}

// readForm reads the posted form; apiKey is nil when the key field was left empty.
func readForm(r *http.Request) (f evaluatorForm, apiKey *string) {
	v := r.PostForm
	f = evaluatorForm{
		Name: strings.TrimSpace(v.Get("name")), Description: v.Get("description"), Kind: v.Get("kind"),
		AllAgents: v.Get("all_agents") != "", AgentIDs: v["agent"], OtherAgents: v.Get("other_agents"),
		Expression: v.Get("expression"),
		Check:      v.Get("check"), Types: v["types"], IncludeInputs: v.Get("include_inputs"), Max: strings.TrimSpace(v.Get("max")),
		Step: strings.TrimSpace(v.Get("step")), Schema: v.Get("schema"), Tools: v.Get("tools"),
		URL: strings.TrimSpace(v.Get("url")), Model: strings.TrimSpace(v.Get("model")), Prompt: v.Get("prompt"),
		TimeoutMS: strings.TrimSpace(v.Get("timeout_ms")), MaxRetries: strings.TrimSpace(v.Get("max_retries")),
		Temperature: strings.TrimSpace(v.Get("temperature")), Threshold: strings.TrimSpace(v.Get("pass_threshold")),
		ClearKey: v.Get("clear_key") != "",
	}
	if k := strings.TrimSpace(v.Get("api_key")); k != "" {
		apiKey = &k
	}
	return f, apiKey
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\t' }) {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// number parses an optional number field of the form.
func number(field, s string, into map[string]any, integer bool) error {
	if s == "" {
		return nil
	}
	if integer {
		n, err := strconv.Atoi(s)
		if err != nil {
			return agenttrace.Errorf(agenttrace.EINVALID, "config.%s: %q is not an integer", field, s)
		}
		into[field] = n
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return agenttrace.Errorf(agenttrace.EINVALID, "config.%s: %q is not a number", field, s)
	}
	into[field] = n
	return nil
}

// toEvaluator builds the evaluator's kind, config and agents from the form
// (the same rules as POST /api/v1/evaluators) and compiles it: every error
// is EINVALID and names the field.
func toEvaluator(e *agenttrace.Evaluator, f evaluatorForm, apiKey *string) error {
	e.Name, e.Description, e.Kind = f.Name, f.Description, agenttrace.EvaluatorKind(f.Kind)
	e.AgentIDs = []string{}
	if f.AllAgents {
		e.AgentIDs = append(e.AgentIDs, "*")
	} else {
		for _, id := range append(slices.Clone(f.AgentIDs), splitList(f.OtherAgents)...) {
			if id != "" && !slices.Contains(e.AgentIDs, id) {
				e.AgentIDs = append(e.AgentIDs, id)
			}
		}
	}
	if err := eval.CheckEvaluator(e); err != nil {
		return err
	}
	cfg := map[string]any{}
	switch e.Kind {
	case agenttrace.EvalRule:
		cfg["expression"] = f.Expression
	case agenttrace.EvalBuiltin:
		cfg["check"] = f.Check
		p := map[string]any{}
		switch f.Check {
		case "pii":
			if len(f.Types) > 0 {
				p["types"] = f.Types
			}
			fallthrough
		case "secrets":
			if f.IncludeInputs != "" {
				p["include_inputs"] = f.IncludeInputs == "true"
			}
		case "max_credits", "max_duration_ms":
			if err := number("max", f.Max, p, false); err != nil {
				return agenttrace.Errorf(agenttrace.EINVALID, "config.params.max: %q is not a number", f.Max)
			}
		case "output_is_json", "output_matches_schema":
			if f.Step != "" {
				p["step"] = f.Step
			}
			if f.Check == "output_matches_schema" && strings.TrimSpace(f.Schema) != "" {
				if !json.Valid([]byte(f.Schema)) {
					return agenttrace.Errorf(agenttrace.EINVALID, "config.params.schema: not JSON")
				}
				p["schema"] = json.RawMessage(f.Schema)
			}
		case "banned_tools":
			if tools := splitList(f.Tools); len(tools) > 0 {
				p["tools"] = tools
			}
		}
		if len(p) > 0 {
			cfg["params"] = p
		}
	case agenttrace.EvalJudge:
		cfg["url"], cfg["model"] = f.URL, f.Model
		if strings.TrimSpace(f.Prompt) != "" {
			cfg["prompt"] = f.Prompt
		}
		for _, n := range []struct {
			field, val string
			integer    bool
		}{{"timeout_ms", f.TimeoutMS, true}, {"max_retries", f.MaxRetries, true}, {"temperature", f.Temperature, false}, {"pass_threshold", f.Threshold, false}} {
			if err := number(n.field, n.val, cfg, n.integer); err != nil {
				return err
			}
		}
		switch {
		case apiKey != nil:
			e.Secret = *apiKey
		case f.ClearKey:
			e.Secret = ""
		}
	}
	if e.Kind != agenttrace.EvalJudge {
		e.Secret = ""
	}
	e.SecretSet = e.Secret != ""
	e.Config, _ = json.Marshal(cfg)
	_, err := eval.Compile(*e, eval.Options{})
	return err
}

// errField says where the form shows an error message.
func errField(msg string) string {
	switch {
	case strings.HasPrefix(msg, "name:"):
		return "name"
	case strings.HasPrefix(msg, "agent_ids"):
		return "agent_ids"
	case strings.HasPrefix(msg, "config.expression"):
		return "expression"
	case strings.HasPrefix(msg, "config.check"), strings.HasPrefix(msg, "config.params"):
		return "builtin"
	case strings.HasPrefix(msg, "config."):
		return "judge"
	}
	return ""
}

func (u *UI) saveEvaluator(w http.ResponseWriter, r *http.Request, ev store.Evals, existing *agenttrace.Evaluator) {
	if u.forbidReadOnly(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	_ = r.ParseForm()
	f, apiKey := readForm(r)
	now := u.now().UTC()
	e := agenttrace.Evaluator{ID: agenttrace.NewID("evr_"), CreatedAt: now, UpdatedAt: now}
	if existing != nil {
		e = *existing
		e.UpdatedAt = now
		f.ID = e.ID
	}
	err := toEvaluator(&e, f, apiKey)
	if err == nil {
		if existing == nil {
			err = ev.CreateEvaluator(r.Context(), accountOf(r), e)
		} else {
			err = ev.UpdateEvaluator(r.Context(), accountOf(r), e)
		}
	}
	if err != nil {
		code := agenttrace.ErrorCode(err)
		if code != agenttrace.EINVALID && code != agenttrace.ECONFLICT {
			u.storeError(w, r, err, "evaluator")
			return
		}
		msg := agenttrace.ErrorMessage(err)
		if code == agenttrace.ECONFLICT {
			msg = "name: " + msg
		}
		f.SecretSet = existing != nil && existing.SecretSet && !f.ClearKey
		d, ferr := u.formData(r, f, existing == nil)
		if ferr != nil {
			u.serverError(w, r, ferr)
			return
		}
		d.Err, d.ErrField = msg, errField(msg)
		u.render(w, r, api.StatusOf(code), "evaluator", d)
		return
	}
	if svc := u.evalService(); svc != nil {
		svc.Invalidate(accountOf(r))
	}
	http.Redirect(w, r, "/evaluators/"+e.ID+"?saved=1", http.StatusSeeOther)
}

func (u *UI) evaluatorCreate(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	u.saveEvaluator(w, r, ev, nil)
}

func (u *UI) evaluatorUpdate(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	e, err := ev.GetEvaluator(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		u.storeError(w, r, err, "evaluator")
		return
	}
	u.saveEvaluator(w, r, ev, &e)
}

func (u *UI) evaluatorEdit(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	e, err := ev.GetEvaluator(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		u.storeError(w, r, err, "evaluator")
		return
	}
	if !isAdmin(r) {
		// Read-only sessions see the list only.
		u.errorPage(w, r, http.StatusForbidden, "Read-only key", readOnlyEvalMsg)
		return
	}
	d, err := u.formData(r, formOf(e), false)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d.Saved = r.URL.Query().Get("saved") != ""
	u.render(w, r, http.StatusOK, "evaluator", d)
}

func (u *UI) evaluatorDelete(w http.ResponseWriter, r *http.Request, ev store.Evals) {
	if u.forbidReadOnly(w, r) {
		return
	}
	if err := ev.DeleteEvaluator(r.Context(), accountOf(r), r.PathValue("id")); err != nil {
		u.storeError(w, r, err, "evaluator")
		return
	}
	if svc := u.evalService(); svc != nil {
		svc.Invalidate(accountOf(r))
	}
	http.Redirect(w, r, "/evaluators?done=deleted", http.StatusSeeOther)
}
