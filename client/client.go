// Package client is a Go client of the agenttrace HTTP API, used by the
// command line and by the stdio MCP server.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
)

// Client talks to one server with one key.
type Client struct {
	BaseURL string
	Key     string
	HTTP    *http.Client
}

// New returns a client for the server at baseURL.
func New(baseURL, key string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Key: key, HTTP: &http.Client{Timeout: 60 * time.Second}}
}

// Error is an error answered by the server.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// Do sends a request with an optional JSON body and decodes a JSON answer into out.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.Raw(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Raw sends a request and answers the response when its status is 2xx;
// otherwise it answers the server's error.
func (c *Client) Raw(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		// Sent as it is: re-marshalling would re-validate and compact a
		// body the caller already encoded (the load tool's 2 MB batches).
		rd = bytes.NewReader(b)
	default:
		b2, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b2)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(raw, &eb) != nil || eb.Error.Message == "" {
			eb.Error.Message = strings.TrimSpace(string(raw))
			if eb.Error.Message == "" {
				eb.Error.Message = resp.Status
			}
		}
		return nil, &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	return resp, nil
}

// ListRuns answers one page of runs matching q.
func (c *Client) ListRuns(ctx context.Context, q string, limit int, cursor string) (store.RunPage, error) {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if limit > 0 {
		v.Set("limit", fmt.Sprint(limit))
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var page store.RunPage
	err := c.Do(ctx, http.MethodGet, "/api/v1/runs?"+v.Encode(), nil, &page)
	return page, err
}

// GetRun answers one run with its steps and evaluations.
func (c *Client) GetRun(ctx context.Context, id string) (agenttrace.Run, error) {
	var r agenttrace.Run
	err := c.Do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id), nil, &r)
	return r, err
}

// Ingest sends a batch.
func (c *Client) Ingest(ctx context.Context, b agenttrace.Batch) (agenttrace.IngestResult, error) {
	var res agenttrace.IngestResult
	err := c.Do(ctx, http.MethodPost, "/api/v1/ingest", b, &res)
	return res, err
}

// ListAgents answers the account's agents.
func (c *Client) ListAgents(ctx context.Context) ([]agenttrace.AgentSummary, error) {
	var out struct {
		Data []agenttrace.AgentSummary `json:"data"`
	}
	err := c.Do(ctx, http.MethodGet, "/api/v1/agents", nil, &out)
	return out.Data, err
}
