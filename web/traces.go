package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// pageSize is how many runs a table page shows.
const pageSize = 50

// ranges are the quick time filters (after:X).
var ranges = []struct{ Value, Label string }{
	{"", "All time"}, {"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"14d", "Last 14 days"}, {"30d", "Last 30 days"},
}

type sortCol struct {
	Label, URL, Arrow string
	Active            bool
}

type qError struct {
	Message           string
	Before, Bad, Rest string // the query split around the bad term
	Pos               int
	HasPos            bool
}

type actionView struct {
	Action
	Params string
}

// runTable is the data of the run table shared by All Traces and an agent's Traces tab.
type runTable struct {
	Path       string // "/" or "/agents/ID"
	ScopeAgent string
	Q          string
	Sort       string
	Order      string
	Err        *qError
	Runs       []agenttrace.Run
	NextURL    string
	FirstURL   string
	Agents     []agenttrace.Agent
	AgentSel   string
	StatusSel  string
	RangeSel   string
	RangeOther string
	Ranges     []struct{ Value, Label string }
	Statuses   []agenttrace.Status
	Cols       map[string]sortCol
	Actions    []actionView
	Curl       string
	Host       string
}

func (t *runTable) Empty() bool    { return len(t.Runs) == 0 && t.Err == nil }
func (t *runTable) Pristine() bool { return t.Q == "" && t.FirstURL == "" }

type tracesData struct {
	base
	Table runTable
}

func viewURL(path, q, sort, order, cursor string) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if sort != "" && sort != store.SortTime {
		v.Set("sort", sort)
	}
	if order == "asc" {
		v.Set("order", "asc")
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// quoteValue writes a query value, quoted when it holds anything but a slug's safe characters.
func quoteValue(s string) string {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
		}
	}
	return s
}

func termValue(t query.Term) string {
	if i := strings.IndexByte(t.Raw, ':'); i >= 0 {
		return t.Raw[i+1:]
	}
	return ""
}

// composeFilters applies the quick filters that changed (f_X differs from
// p_X, the value the page showed) to q: their old terms go, the new ones are
// appended. Terms typed in the box stay as written.
func composeFilters(v url.Values) string {
	q := strings.TrimSpace(v.Get("q"))
	type change struct {
		field  query.Field
		prefix string
	}
	var changed []change
	var add []string
	for _, c := range []struct {
		name   string
		field  query.Field
		prefix string
	}{{"agent", query.FieldAgent, "agent:"}, {"status", query.FieldStatus, "status:"}, {"range", query.FieldAfter, "after:"}} {
		if !v.Has("f_"+c.name) || v.Get("f_"+c.name) == v.Get("p_"+c.name) || v.Get("f_"+c.name) == "keep" {
			continue
		}
		changed = append(changed, change{c.field, c.prefix})
		if val := v.Get("f_" + c.name); val != "" {
			if c.field == query.FieldAgent {
				val = quoteValue(val)
			}
			add = append(add, c.prefix+val)
		}
	}
	if len(changed) == 0 {
		return q
	}
	parsed, err := query.Parse(q)
	if err != nil {
		return strings.TrimSpace(q + " " + strings.Join(add, " "))
	}
	var keep []string
	for _, t := range parsed.Terms {
		drop := false
		for _, c := range changed {
			if t.Field == c.field && !t.Negated {
				drop = true
			}
		}
		if !drop {
			keep = append(keep, t.Raw)
		}
	}
	return strings.Join(append(keep, add...), " ")
}

func toQError(err error, q string) *qError {
	e := &qError{Message: agenttrace.ErrorMessage(err)}
	var qe *query.Error
	if errors.As(err, &qe) && qe.Pos >= 0 && qe.Pos <= len(q) {
		end := min(qe.Pos+max(qe.Len, 1), len(q))
		e.Before, e.Bad, e.Rest, e.Pos, e.HasPos = q[:qe.Pos], q[qe.Pos:end], q[end:], qe.Pos, true
	}
	return e
}

// loadTable fills the run table for the request; scopeAgent limits it to one agent.
// The answer is the HTTP status: 400 when the query or a parameter is bad.
func (u *UI) loadTable(r *http.Request, path, scopeAgent string) (runTable, int, error) {
	v := r.URL.Query()
	t := runTable{Path: path, ScopeAgent: scopeAgent, Q: v.Get("q"), Sort: v.Get("sort"), Order: v.Get("order"),
		Ranges: ranges, Statuses: agenttrace.Statuses, Host: r.Host}
	if t.Sort == "" {
		t.Sort = store.SortTime
	}
	if t.Order == "" {
		t.Order = "desc"
	}
	account := accountOf(r)
	if scopeAgent == "" {
		var err error
		if t.Agents, err = u.agentList(r); err != nil {
			return t, 0, err
		}
	}
	t.Cols = map[string]sortCol{}
	for _, c := range []struct{ key, label string }{{store.SortTime, "Time"}, {store.SortDuration, "Duration"}, {store.SortCredits, "Credits"}} {
		col := sortCol{Label: c.label}
		order := "desc"
		if t.Sort == c.key {
			col.Active = true
			col.Arrow = "↓"
			if t.Order == "desc" {
				order = "asc"
			} else {
				col.Arrow = "↑"
			}
		}
		col.URL = viewURL(path, t.Q, c.key, order, "")
		t.Cols[c.key] = col
	}
	for _, a := range Actions {
		if a.AgentOnly && scopeAgent == "" {
			continue
		}
		t.Actions = append(t.Actions, actionView{Action: a, Params: strings.Join(a.IDParams, ",")})
	}
	t.Curl = curlExample(r)

	opts, err := api.ListOptionsFrom(r)
	if err != nil {
		t.Err = toQError(err, t.Q)
		return t, http.StatusBadRequest, nil
	}
	if r.URL.Query().Get("limit") == "" {
		opts.Limit = pageSize
	}
	opts.Light = true
	for _, term := range opts.Query.Terms {
		if term.Negated {
			continue
		}
		switch term.Field {
		case query.FieldAgent:
			if t.AgentSel == "" {
				t.AgentSel = term.Value
			}
		case query.FieldStatus:
			if t.StatusSel == "" {
				t.StatusSel = term.Value
			}
		case query.FieldAfter:
			val := termValue(term)
			preset := false
			for _, rg := range ranges {
				if rg.Value != "" && strings.EqualFold(rg.Value, val) {
					preset = true
					t.RangeSel = rg.Value
				}
			}
			if !preset {
				t.RangeSel, t.RangeOther = "keep", val
			}
		}
	}
	if scopeAgent != "" {
		opts.Query.Terms = append(opts.Query.Terms, query.Term{Field: query.FieldAgent, Op: query.OpEq, Value: scopeAgent})
	}
	page, err := u.st.ListRuns(r.Context(), account, opts)
	if err != nil {
		if code := agenttrace.ErrorCode(err); code == agenttrace.EINVALID {
			t.Err = toQError(err, t.Q)
			return t, http.StatusBadRequest, nil
		}
		return t, 0, err
	}
	t.Runs = page.Runs
	if page.NextCursor != "" {
		t.NextURL = viewURL(path, t.Q, t.Sort, t.Order, page.NextCursor)
	}
	if opts.Cursor != "" {
		t.FirstURL = viewURL(path, t.Q, t.Sort, t.Order, "")
	}
	return t, http.StatusOK, nil
}

func (u *UI) agentList(r *http.Request) ([]agenttrace.Agent, error) {
	if u.agents != nil {
		return u.agents.AgentIDs(r.Context(), accountOf(r))
	}
	list, err := u.st.ListAgents(r.Context(), accountOf(r))
	out := make([]agenttrace.Agent, len(list))
	for i, a := range list {
		out[i] = a.Agent
	}
	return out, err
}

func accountOf(r *http.Request) string {
	k, _ := api.KeyFrom(r.Context())
	return k.AccountID
}

func curlExample(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return `curl -X POST ` + scheme + `://` + r.Host + `/api/v1/ingest \
  -H "Authorization: Bearer $AGENTTRACE_KEY" -H "Content-Type: application/json" \
  -d '{"runs": [{"id": "hello-1", "agent_id": "my-agent", "status": "completed", "input": {"question": "hello"}, "output": {"answer": "hi"}}],
       "steps": [{"run_id": "hello-1", "name": "answer", "type": "llm", "model": "gpt-4o-mini",
                  "usage": {"input_tokens": 12, "output_tokens": 3}}]}'`
}

// redirectFilters turns a quick-filter submission into the canonical URL of the view.
func redirectFilters(w http.ResponseWriter, r *http.Request, path string) bool {
	v := r.URL.Query()
	if !v.Has("f") {
		return false
	}
	q := composeFilters(v)
	http.Redirect(w, r, viewURL(path, q, v.Get("sort"), v.Get("order"), ""), http.StatusSeeOther)
	return true
}

func (u *UI) allTraces(w http.ResponseWriter, r *http.Request) {
	if redirectFilters(w, r, "/") {
		return
	}
	t, status, err := u.loadTable(r, "/", "")
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	u.render(w, r, status, "traces", &tracesData{base: base{Title: "All Traces", Nav: "traces"}, Table: t})
}
