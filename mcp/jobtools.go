// The tools that start and follow jobs: evaluations and resource exports.

package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
)

// ---- get_evaluation, run_evaluation

type runEvaluationIn struct {
	EvaluatorIDs []string `json:"evaluator_ids" jsonschema:"the evaluators to run"`
	RunIDs       []string `json:"run_ids,omitempty" jsonschema:"the runs to evaluate (or give q)"`
	Q            *string  `json:"q,omitempty" jsonschema:"select the runs to evaluate with the query language instead of run_ids (an empty q selects every run)"`
	WaitSeconds  *int     `json:"wait_seconds,omitempty" jsonschema:"how long to wait for the job to finish before answering it as it is (default 10, 0 answers at once)"`
}

type jobOut struct {
	ID       string         `json:"id,omitempty"`
	Status   string         `json:"status,omitempty"`
	Done     bool           `json:"done" jsonschema:"whether the job has finished"`
	Job      map[string]any `json:"job" jsonschema:"the job as the API answers it"`
	Note     string         `json:"note,omitempty"`
	Estimate map[string]any `json:"estimate,omitempty" jsonschema:"exports: runs, steps and bytes"`
	// DownloadURL is set for a complete export.
	DownloadURL string `json:"download_url,omitempty" jsonschema:"exports: where to download the file (with the same API key as bearer)"`
	DryRun      bool   `json:"dry_run,omitempty" jsonschema:"exports: only the estimate was asked for; nothing was created"`
}

func (t *tools) runEvaluation(ctx context.Context, b *Backend, in runEvaluationIn) (jobOut, error) {
	if len(in.EvaluatorIDs) == 0 {
		return jobOut{}, errors.New("evaluator_ids: give at least one evaluator id")
	}
	if len(in.RunIDs) == 0 && in.Q == nil {
		return jobOut{}, errors.New("run_ids or q: select the runs to evaluate (q=\"\" for every run)")
	}
	raw, err := b.Client.CreateEvaluation(ctx, client.EvaluationRequest{EvaluatorIDs: in.EvaluatorIDs, RunIDs: in.RunIDs, Q: in.Q})
	if missingEndpoint(err) {
		return jobOut{}, fmt.Errorf("this server has no evaluations API (POST /api/v1/evaluations answered 404); it is older than this MCP server")
	}
	if err != nil {
		return jobOut{}, err
	}
	out, err := jobFrom(raw, "evaluation")
	if err != nil {
		return out, err
	}
	out, err = follow(ctx, out, waitFor(in.WaitSeconds), func(id string) (json.RawMessage, error) { return b.Client.GetEvaluation(ctx, id) }, "evaluation")
	if err == nil && !out.Done {
		out.Note = fmt.Sprintf("Still %s; call get_evaluation with id=%s to follow it.", out.Status, out.ID)
	}
	return out, err
}

type getJobIn struct {
	ID string `json:"id" jsonschema:"the job's id"`
}

func (t *tools) getEvaluation(ctx context.Context, b *Backend, in getJobIn) (jobOut, error) {
	if in.ID == "" {
		return jobOut{}, errors.New("id: required")
	}
	raw, err := b.Client.GetEvaluation(ctx, in.ID)
	if err != nil {
		return jobOut{}, err
	}
	return jobFrom(raw, "evaluation")
}

// ---- create_resource_export, get_resource_export

type exportFiltersIn struct {
	Q      string `json:"q,omitempty" jsonschema:"runs to export, in the query language (e.g. status:failed \"timeout\")"`
	From   string `json:"from,omitempty" jsonschema:"runs started at or after this time (RFC 3339 or a date 2026-11-01)"`
	To     string `json:"to,omitempty" jsonschema:"runs started before this time (RFC 3339 or a date)"`
	Status string `json:"status,omitempty" jsonschema:"only runs with this status: pending, processing, completed or failed"`
}

type createExportIn struct {
	ResourceType string           `json:"resource_type" jsonschema:"what to export: agent_traces"`
	AgentID      string           `json:"agent_id,omitempty" jsonschema:"the agent whose traces to export"`
	Format       string           `json:"format,omitempty" jsonschema:"json (one array) or jsonl (one run per line); default jsonl"`
	Filters      *exportFiltersIn `json:"filters,omitempty" jsonschema:"which runs to export"`
	DryRun       bool             `json:"dry_run,omitempty" jsonschema:"only estimate the size (runs, steps, bytes); create nothing"`
	Gzip         bool             `json:"gzip,omitempty" jsonschema:"compress the file with gzip"`
	WaitSeconds  *int             `json:"wait_seconds,omitempty" jsonschema:"how long to wait for the export to complete before answering it as it is (default 10, 0 answers at once)"`
}

func (t *tools) createResourceExport(ctx context.Context, b *Backend, in createExportIn) (jobOut, error) {
	if in.ResourceType == "" {
		in.ResourceType = "agent_traces"
	}
	req := client.ResourceExportRequest{ResourceType: in.ResourceType, AgentID: in.AgentID, Format: in.Format, DryRun: in.DryRun, Gzip: in.Gzip}
	if f := in.Filters; f != nil && *f != (exportFiltersIn{}) {
		req.Filters = &client.ExportFilters{Q: f.Q, From: f.From, To: f.To, Status: f.Status}
	}
	raw, err := b.Client.CreateResourceExport(ctx, req)
	if missingEndpoint(err) {
		return jobOut{}, fmt.Errorf("this server has no exports API (POST /authenticated/resource-exports answered 404); it is older than this MCP server")
	}
	if err != nil {
		return jobOut{}, err
	}
	if in.DryRun {
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			return jobOut{}, fmt.Errorf("the export estimate is not a JSON object: %v", err)
		}
		out := jobOut{DryRun: true, Done: true, Job: body, Note: "Nothing was created; call again with dry_run=false to export."}
		out.Estimate, _ = body["estimate"].(map[string]any)
		if out.Estimate == nil {
			out.Estimate = body
		}
		return out, nil
	}
	out, err := jobFrom(raw, "export")
	if err != nil {
		return out, err
	}
	out, err = follow(ctx, out, waitFor(in.WaitSeconds), func(id string) (json.RawMessage, error) { return b.Client.GetResourceExport(ctx, id) }, "export")
	if err != nil {
		return out, err
	}
	exportNotes(&out, b)
	return out, nil
}

func (t *tools) getResourceExport(ctx context.Context, b *Backend, in getJobIn) (jobOut, error) {
	if in.ID == "" {
		return jobOut{}, errors.New("id: required")
	}
	raw, err := b.Client.GetResourceExport(ctx, in.ID)
	if missingEndpoint(err) {
		return jobOut{}, fmt.Errorf("this server has no exports API (GET /authenticated/resource-exports/{id} answered 404), or no export %q", in.ID)
	}
	if err != nil {
		return jobOut{}, err
	}
	out, err := jobFrom(raw, "export")
	if err != nil {
		return out, err
	}
	exportNotes(&out, b)
	return out, nil
}

// exportNotes fills the absolute download URL and says what to do next.
func exportNotes(out *jobOut, b *Backend) {
	if out.DownloadURL != "" {
		out.DownloadURL = absolute(b.PublicURL, out.DownloadURL)
	} else if out.Status == string(agenttrace.JobCompleted) && out.ID != "" {
		out.DownloadURL = absolute(b.PublicURL, "/authenticated/resource-exports/"+out.ID+"/download")
	}
	switch {
	case out.DownloadURL != "" && out.Status == string(agenttrace.JobCompleted):
		out.Note = "Complete. Download the file with the same API key: curl -H \"Authorization: Bearer $AGENTTRACE_KEY\" -o export " + out.DownloadURL
	case out.Done:
		out.Note = "The export ended " + out.Status + "."
	default:
		out.Note = fmt.Sprintf("Still %s; call get_resource_export with id=%s to follow it.", out.Status, out.ID)
	}
}

func absolute(base, u string) string {
	if strings.HasPrefix(u, "/") && base != "" {
		return strings.TrimRight(base, "/") + u
	}
	return u
}

// jobFrom reads a job answered by the API: the job object itself, or the
// job wrapped under its kind or "job".
func jobFrom(raw json.RawMessage, kind string) (jobOut, error) {
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return jobOut{}, fmt.Errorf("the %s job is not a JSON object: %v", kind, err)
	}
	job := body
	if _, ok := body["id"]; !ok {
		for _, k := range []string{kind, "job"} {
			if inner, ok := body[k].(map[string]any); ok {
				job = inner
				break
			}
		}
	}
	out := jobOut{Job: body}
	out.ID, _ = job["id"].(string)
	out.Status, _ = job["status"].(string)
	out.Done = agenttrace.JobStatus(out.Status).Done()
	if e, ok := job["estimate"].(map[string]any); ok {
		out.Estimate = e
	} else if e, ok := body["estimate"].(map[string]any); ok {
		out.Estimate = e
	}
	out.DownloadURL, _ = job["download_url"].(string)
	return out, nil
}

func waitFor(s *int) time.Duration {
	if s == nil {
		return 10 * time.Second
	}
	return time.Duration(min(max(*s, 0), maxWaitSeconds)) * time.Second
}

// follow polls a job until it is done or wait has passed.
func follow(ctx context.Context, out jobOut, wait time.Duration, get func(id string) (json.RawMessage, error), kind string) (jobOut, error) {
	deadline := time.Now().Add(wait)
	delay := 100 * time.Millisecond
	for !out.Done && out.ID != "" && time.Now().Add(delay).Before(deadline) {
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
		raw, err := get(out.ID)
		if err != nil {
			return out, err
		}
		if out, err = jobFrom(raw, kind); err != nil {
			return out, err
		}
	}
	return out, nil
}
