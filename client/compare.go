package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/agenttrace/agenttrace/compare"
	"github.com/agenttrace/agenttrace/rerun"
)

// CompareRuns answers GET /api/v1/compare?a=…&b=… decoded.
func (c *Client) CompareRuns(ctx context.Context, a, b string) (compare.Result, error) {
	var res compare.Result
	err := c.Do(ctx, http.MethodGet, "/api/v1/compare?a="+url.QueryEscape(a)+"&b="+url.QueryEscape(b), nil, &res)
	return res, err
}

// Rerun asks the run's agent to run it again with the overrides
// (POST /api/v1/runs/{id}/rerun).
func (c *Client) Rerun(ctx context.Context, runID string, o rerun.Overrides) (rerun.Answer, error) {
	var ans rerun.Answer
	err := c.Do(ctx, http.MethodPost, "/api/v1/runs/"+url.PathEscape(runID)+"/rerun", o, &ans)
	return ans, err
}

// ListReruns answers the recorded re-run requests of a run, newest first.
func (c *Client) ListReruns(ctx context.Context, runID string) ([]rerun.View, error) {
	var out struct {
		Data []rerun.View `json:"data"`
	}
	err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%s/reruns", url.PathEscape(runID)), nil, &out)
	return out.Data, err
}
