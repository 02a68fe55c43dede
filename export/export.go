// Package export writes an account's agent traces (runs with their steps and
// evaluations) to JSON or JSONL files in the background, estimates their size
// beforehand, and serves the resource-exports HTTP API:
//
//	POST /authenticated/resource-exports             create (or dry-run) an export
//	GET  /authenticated/resource-exports             list the account's exports
//	GET  /authenticated/resource-exports/{id}        status, progress, size
//	GET  /authenticated/resource-exports/{id}/download
//
// The file format is documented in docs/export-format.md and published as a
// JSON Schema (docs/export-schema.json, served at
// /authenticated/resource-exports/schema.json).
package export

import (
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
)

// ResourceType is the one resource type that can be exported.
const ResourceType = "agent_traces"

// Kind is the background job kind of exports.
const Kind = "export"

// Formats.
const (
	FormatJSON  = "json"
	FormatJSONL = "jsonl"
)

// Filters select the runs of an export; they all must hold.
type Filters struct {
	Q      string `json:"q,omitempty"`      // the query language (docs/query.md)
	From   string `json:"from,omitempty"`   // RFC 3339: runs started at or after
	To     string `json:"to,omitempty"`     // RFC 3339: runs started before
	Status string `json:"status,omitempty"` // pending, processing, completed, failed
}

// Request is the body of POST /authenticated/resource-exports.
type Request struct {
	ResourceType string  `json:"resource_type"`
	AgentID      string  `json:"agent_id,omitempty"` // all agents of the account when empty
	Format       string  `json:"format"`             // json or jsonl (default jsonl)
	Filters      Filters `json:"filters"`
	Gzip         bool    `json:"gzip,omitempty"`
	DryRun       bool    `json:"dry_run,omitempty"`
}

// Estimate is the expected size of an export.
type Estimate struct {
	Runs  int64 `json:"runs"`
	Steps int64 `json:"steps"`
	Bytes int64 `json:"bytes"`
}

// Counts is what a file holds.
type Counts struct {
	Runs  int64 `json:"runs"`
	Steps int64 `json:"steps"`
}

// Validate checks the request, fills the default format and composes the
// filters into one query: agent_id becomes agent:ID, from after:, to
// before:, status status:, all ANDed with filters.q.
func (r *Request) Validate(now time.Time) (*query.Query, error) {
	switch r.ResourceType {
	case ResourceType:
	case "":
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "resource_type: required (supported: %s)", ResourceType)
	default:
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "resource_type: unknown resource type %q (supported: %s)", r.ResourceType, ResourceType)
	}
	r.Format = strings.ToLower(r.Format)
	switch r.Format {
	case "":
		r.Format = FormatJSONL
	case FormatJSON, FormatJSONL:
	default:
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "format: unknown format %q (supported: json, jsonl)", r.Format)
	}
	q, err := query.ParseAt(r.Filters.Q, now)
	if err != nil {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "filters.%s", agenttrace.ErrorMessage(err))
	}
	if r.AgentID != "" {
		if err := agenttrace.CheckAgentID("agent_id", r.AgentID); err != nil {
			return nil, err
		}
		q.Terms = append(q.Terms, query.Term{Field: query.FieldAgent, Op: query.OpEq, Value: r.AgentID})
	}
	var from, to time.Time
	if r.Filters.From != "" {
		if from, err = parseTime("filters.from", r.Filters.From); err != nil {
			return nil, err
		}
		q.Terms = append(q.Terms, query.Term{Field: query.FieldAfter, Op: query.OpEq, Time: from})
	}
	if r.Filters.To != "" {
		if to, err = parseTime("filters.to", r.Filters.To); err != nil {
			return nil, err
		}
		q.Terms = append(q.Terms, query.Term{Field: query.FieldBefore, Op: query.OpEq, Time: to})
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "filters.to: %s is not after filters.from %s", r.Filters.To, r.Filters.From)
	}
	if r.Filters.Status != "" {
		st := agenttrace.Status(strings.ToLower(r.Filters.Status))
		if !st.Valid() {
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "filters.status: unknown status %q (supported: pending, processing, completed, failed)", r.Filters.Status)
		}
		q.Terms = append(q.Terms, query.Term{Field: query.FieldStatus, Op: query.OpEq, Value: string(st)})
	}
	if len(q.Terms) > query.MaxTerms {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "filters: %d terms, the limit is %d", len(q.Terms), query.MaxTerms)
	}
	return q, nil
}

func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if d, err2 := time.Parse("2006-01-02", s); err2 == nil {
			return d.UTC(), nil
		}
		return t, agenttrace.Errorf(agenttrace.EINVALID, "%s: %q is not an RFC 3339 time (like 2026-11-25T12:03:00Z) or a date (2026-11-25)", field, s)
	}
	return t.UTC(), nil
}
