package client

// Calls used by the MCP server (and useful to any Go caller): run search
// with sort, steps, usage, comparison, resource exports and evaluations.
// Exports, evaluations and comparison answer the server's JSON as is
// (json.RawMessage), since their shapes belong to their own packages.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
)

// RunSearch selects a page of runs.
type RunSearch struct {
	Q      string // query language, see docs/query.md
	Limit  int    // 1..1000; 0 for the server's default
	Cursor string // next_cursor of the previous page
	Sort   string // a sortable column (the server says which)
	Order  string // asc or desc
}

// SearchRuns answers one page of runs matching s.
func (c *Client) SearchRuns(ctx context.Context, s RunSearch) (store.RunPage, error) {
	v := url.Values{}
	if s.Q != "" {
		v.Set("q", s.Q)
	}
	if s.Limit > 0 {
		v.Set("limit", fmt.Sprint(s.Limit))
	}
	if s.Cursor != "" {
		v.Set("cursor", s.Cursor)
	}
	if s.Sort != "" {
		v.Set("sort", s.Sort)
	}
	if s.Order != "" {
		v.Set("order", s.Order)
	}
	var page store.RunPage
	err := c.Do(ctx, http.MethodGet, "/api/v1/runs?"+v.Encode(), nil, &page)
	return page, err
}

// ListSteps answers the steps of a run in execution order.
func (c *Client) ListSteps(ctx context.Context, runID string) ([]agenttrace.Step, error) {
	var out struct {
		Data []agenttrace.Step `json:"data"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(runID)+"/steps", nil, &out)
	return out.Data, err
}

// UsageReport is the answer of GET /api/v1/usage.
type UsageReport struct {
	Interval string              `json:"interval"`
	GroupBy  string              `json:"group_by"`
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
	Data     []store.UsageBucket `json:"data"`
}

// Usage answers credits, runs, failures and tokens over time.
func (c *Client) Usage(ctx context.Context, q, interval, groupBy string) (UsageReport, error) {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if interval != "" {
		v.Set("interval", interval)
	}
	if groupBy != "" {
		v.Set("group_by", groupBy)
	}
	var rep UsageReport
	err := c.Do(ctx, http.MethodGet, "/api/v1/usage?"+v.Encode(), nil, &rep)
	return rep, err
}

// Compare answers GET /api/v1/compare?a=&b= as the server sends it.
func (c *Client) Compare(ctx context.Context, a, b string) (json.RawMessage, error) {
	v := url.Values{"a": {a}, "b": {b}}
	var out json.RawMessage
	err := c.Do(ctx, http.MethodGet, "/api/v1/compare?"+v.Encode(), nil, &out)
	return out, err
}

// ExportFilters narrow an export; Q is the query language.
type ExportFilters struct {
	Q      string `json:"q,omitempty"`
	From   string `json:"from,omitempty"`
	To     string `json:"to,omitempty"`
	Status string `json:"status,omitempty"`
}

// ResourceExportRequest is the body of POST /authenticated/resource-exports.
type ResourceExportRequest struct {
	ResourceType string         `json:"resource_type"`
	AgentID      string         `json:"agent_id,omitempty"`
	Format       string         `json:"format,omitempty"`
	Filters      *ExportFilters `json:"filters,omitempty"`
	DryRun       bool           `json:"dry_run"`
	Gzip         bool           `json:"gzip,omitempty"`
}

// CreateResourceExport asks for an export (or, with DryRun, its estimate).
func (c *Client) CreateResourceExport(ctx context.Context, req ResourceExportRequest) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, http.MethodPost, "/authenticated/resource-exports", req, &out)
	return out, err
}

// GetResourceExport answers an export job: status, progress, size, download URL.
func (c *Client) GetResourceExport(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, http.MethodGet, "/authenticated/resource-exports/"+url.PathEscape(id), nil, &out)
	return out, err
}

// EvaluationRequest is the body of POST /api/v1/evaluations: evaluators and
// a selection of runs, by ids or by a query (a pointer: "" selects every run).
type EvaluationRequest struct {
	EvaluatorIDs []string `json:"evaluator_ids"`
	RunIDs       []string `json:"run_ids,omitempty"`
	Q            *string  `json:"q,omitempty"`
}

// CreateEvaluation starts an evaluation job.
func (c *Client) CreateEvaluation(ctx context.Context, req EvaluationRequest) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, http.MethodPost, "/api/v1/evaluations", req, &out)
	return out, err
}

// GetEvaluation answers an evaluation job: progress and verdicts.
func (c *Client) GetEvaluation(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := c.Do(ctx, http.MethodGet, "/api/v1/evaluations/"+url.PathEscape(id), nil, &out)
	return out, err
}
