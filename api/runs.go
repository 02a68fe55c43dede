package api

import (
	"net/http"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	agents, err := s.Store.ListAgents(r.Context(), account(r))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"data": agents, "next_cursor": ""})
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) {
	a, err := s.Store.GetAgent(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, a)
}

type agentPut struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	RerunURL    *string `json:"rerun_url"`
}

func (s *Server) putAgent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := agenttrace.CheckAgentID("id", id); err != nil {
		WriteError(w, r, err)
		return
	}
	var in agentPut
	if err := DecodeJSON(w, r, 1<<20, &in); err != nil {
		WriteError(w, r, err)
		return
	}
	a := agenttrace.Agent{ID: id}
	if cur, err := s.Store.GetAgent(r.Context(), account(r), id); err == nil {
		a = cur.Agent
	} else if agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
		WriteError(w, r, err)
		return
	}
	if in.Name != nil {
		a.Name = *in.Name
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RerunURL != nil {
		a.RerunURL = *in.RerunURL
	}
	if err := agenttrace.CheckAgent(a); err != nil {
		WriteError(w, r, err)
		return
	}
	got, err := s.Store.PutAgent(r.Context(), account(r), a)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, got)
}

// ParseQuery parses the q parameter (a 400 pointing at the bad term).
func ParseQuery(r *http.Request) (*query.Query, error) {
	return query.Parse(r.URL.Query().Get("q"))
}

// ListOptionsFrom reads q, sort, order, limit and cursor of a run list.
func ListOptionsFrom(r *http.Request) (store.ListOptions, error) {
	var opts store.ListOptions
	q, err := ParseQuery(r)
	if err != nil {
		return opts, err
	}
	opts.Query = q
	v := r.URL.Query()
	opts.Sort = v.Get("sort")
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		opts.Asc = true
	default:
		return opts, agenttrace.Errorf(agenttrace.EINVALID, "order: %q is not asc or desc", v.Get("order"))
	}
	if opts.Limit, err = intParam(r, "limit", 50); err != nil {
		return opts, err
	}
	if opts.Limit < 1 || opts.Limit > 1000 {
		return opts, agenttrace.Errorf(agenttrace.EINVALID, "limit: %d is outside 1..1000", opts.Limit)
	}
	opts.Cursor = v.Get("cursor")
	return opts, nil
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	opts, err := ListOptionsFrom(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	page, err := s.Store.ListRuns(r.Context(), account(r), opts)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, page)
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Store.GetRun(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if run.Steps == nil {
		run.Steps = []agenttrace.Step{}
	}
	WriteJSON(w, http.StatusOK, run)
}

func (s *Server) listSteps(w http.ResponseWriter, r *http.Request) {
	steps, err := s.Store.ListSteps(r.Context(), account(r), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"data": steps, "next_cursor": ""})
}

// UsageOptionsFrom reads q, interval, group_by; the range comes from the
// query's after:/before: terms, else the last 14 days (48 hours by hour).
func UsageOptionsFrom(r *http.Request, now time.Time) (store.UsageOptions, error) {
	var opts store.UsageOptions
	q, err := ParseQuery(r)
	if err != nil {
		return opts, err
	}
	v := r.URL.Query()
	opts.Query, opts.Interval, opts.GroupBy = q, v.Get("interval"), v.Get("group_by")
	if opts.Interval == "" {
		opts.Interval = "day"
	}
	span := 14 * 24 * time.Hour
	if opts.Interval == "hour" {
		span = 48 * time.Hour
	}
	opts.To = now.Add(time.Minute)
	opts.From = now.Add(-span)
	for _, t := range q.Terms {
		if t.Negated {
			continue
		}
		switch t.Field {
		case query.FieldAfter:
			opts.From = t.Time
		case query.FieldBefore:
			opts.To = t.Time
		}
	}
	return opts, nil
}

func (s *Server) usage(w http.ResponseWriter, r *http.Request) {
	opts, err := UsageOptionsFrom(r, s.Now())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	buckets, err := s.Store.Usage(r.Context(), account(r), opts)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"interval": opts.Interval, "group_by": opts.GroupBy,
		"from": opts.From.UTC(), "to": opts.To.UTC(), "data": buckets})
}

func (s *Server) getPrices(w http.ResponseWriter, r *http.Request) {
	p, err := s.Store.Prices(r.Context(), account(r))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"data": p})
}

func (s *Server) putPrices(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Prices []agenttrace.Price `json:"prices"`
	}
	if err := DecodeJSON(w, r, 1<<20, &in); err != nil {
		WriteError(w, r, err)
		return
	}
	for i, p := range in.Prices {
		if err := agenttrace.CheckPrice(i, p); err != nil {
			WriteError(w, r, err)
			return
		}
	}
	if err := s.Store.PutPrices(r.Context(), account(r), in.Prices); err != nil {
		WriteError(w, r, err)
		return
	}
	s.getPrices(w, r)
}
