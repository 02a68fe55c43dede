package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/store"
	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

type tools struct {
	resolve Resolver
}

// schemaOptions derive the JSON schemas of inputs and results from Go types;
// payloads (json.RawMessage) are any JSON value, not byte arrays.
var schemaOptions = &jsonschema.ForOptions{TypeSchemas: map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage](): {Description: "any JSON value"},
}}

// addTool registers a typed tool: its input and result schemas come from In
// and Out, edit may refine the input schema (enums, bounds), and any error
// (or panic) becomes an MCP tool error with a clear message, never a crash.
func addTool[In, Out any](s *sdk.Server, t *tools, tool *sdk.Tool, edit func(*jsonschema.Schema), h func(ctx context.Context, b *Backend, in In) (Out, error)) {
	in, err := jsonschema.For[In](schemaOptions)
	if err != nil {
		panic(fmt.Sprintf("mcp: tool %s: input schema: %v", tool.Name, err))
	}
	out, err := jsonschema.For[Out](schemaOptions)
	if err != nil {
		panic(fmt.Sprintf("mcp: tool %s: result schema: %v", tool.Name, err))
	}
	if edit != nil {
		edit(in)
	}
	tool.InputSchema, tool.OutputSchema = in, out
	sdk.AddTool(s, tool, func(ctx context.Context, req *sdk.CallToolRequest, input In) (_ *sdk.CallToolResult, output Out, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%s: internal error: %v", tool.Name, p)
			}
		}()
		b, err := t.resolve(ctx, req.Extra)
		if err != nil {
			return nil, output, err
		}
		output, err = h(ctx, b, input)
		if err != nil {
			return nil, output, toolError(err)
		}
		return nil, output, nil
	})
}

// toolError turns an API error into the message an assistant sees: the
// API's own message (the bad query term and its position, the unknown run,
// the missing scope), its status and code.
func toolError(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		if ce.Code != "" {
			return fmt.Errorf("%s (HTTP %d, %s)", ce.Message, ce.Status, ce.Code)
		}
		return fmt.Errorf("%s (HTTP %d)", ce.Message, ce.Status)
	}
	return err
}

// missingEndpoint reports whether err says the server has no such endpoint
// (an older server), as opposed to a 404 about an object.
func missingEndpoint(err error) bool {
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 404 {
		return false
	}
	return ce.Code == "" || strings.HasPrefix(ce.Message, "no API endpoint")
}

func enum(s *jsonschema.Schema, prop string, values ...any) {
	if p := s.Properties[prop]; p != nil {
		p.Enum = values
	}
}

func bounds(s *jsonschema.Schema, prop string, min, max float64) {
	if p := s.Properties[prop]; p != nil {
		p.Minimum, p.Maximum = &min, &max
	}
}

func ptr[T any](v T) *T { return &v }

func (t *tools) register(s *sdk.Server) {
	readOnly := &sdk.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}
	creates := &sdk.ToolAnnotations{DestructiveHint: ptr(false), OpenWorldHint: ptr(false)}

	addTool(s, t, &sdk.Tool{Name: "search_runs", Title: "Search runs", Annotations: readOnly,
		Description: "Search the account's runs (traces) with the query language, newest first by default. " +
			"Examples: `status:failed agent:support-bot`, `\"rate limit\" after:7d`, `credits>0.5 -status:completed`. " +
			"The full reference is the resource agenttrace://docs/query-language. Inputs and outputs are trimmed; use get_run for a run's steps."},
		func(in *jsonschema.Schema) {
			bounds(in, "limit", 1, maxSearchLimit)
			enum(in, "order", "asc", "desc")
		}, t.searchRuns)

	addTool(s, t, &sdk.Tool{Name: "get_run", Title: "Get a run with its steps", Annotations: readOnly,
		Description: "Get one run (trace) with its steps in execution order and its evaluations, as GET /api/v1/runs/{id} answers it. " +
			"Payloads larger than max_payload_bytes are trimmed to a prefix with a marker such as `…[trimmed 123456 bytes; call get_step with run_id=…, step_id=…, full=true]`; full=true answers every payload whole."},
		func(in *jsonschema.Schema) { bounds(in, "max_payload_bytes", 64, 1<<20) }, t.getRun)

	addTool(s, t, &sdk.Tool{Name: "get_step", Title: "Get one step", Annotations: readOnly,
		Description: "Get one step of a run: its input, output, error, timing, usage and model. Payloads are trimmed like get_run's unless full=true."},
		func(in *jsonschema.Schema) { bounds(in, "max_payload_bytes", 64, 1<<20) }, t.getStep)

	addTool(s, t, &sdk.Tool{Name: "latest_failed_run", Title: "Latest failed run of an agent", Annotations: readOnly,
		Description: "The debugging workflow in one call: the most recent failed run of an agent, its first failed step " +
			"(the run's error.step_id) with that step's input, output and error, and the run's step timeline."},
		nil, t.latestFailedRun)

	addTool(s, t, &sdk.Tool{Name: "compare_runs", Title: "Compare two runs", Annotations: readOnly,
		Description: "Compare two runs (typically a failed run and its re-run): headers and steps aligned. Uses the server's GET /api/v1/compare " +
			"when it has one, else a comparison computed here from both runs; the result's source says which."},
		nil, t.compareRuns)

	addTool(s, t, &sdk.Tool{Name: "list_agents", Title: "List agents", Annotations: readOnly,
		Description: "List the account's agents with run counts, failures, credits, last run time and the id of the latest failed run."},
		nil, t.listAgents)

	addTool(s, t, &sdk.Tool{Name: "usage", Title: "Usage over time", Annotations: readOnly,
		Description: "Runs, failed runs, credits and tokens over time (GET /api/v1/usage), optionally per agent or per model. " +
			"q filters the runs (query language); after:/before: terms set the range (default: the last 14 days by day, 48 hours by hour)."},
		func(in *jsonschema.Schema) {
			enum(in, "interval", "hour", "day")
			enum(in, "group_by", "", "agent", "model")
		}, t.usage)

	addTool(s, t, &sdk.Tool{Name: "create_resource_export", Title: "Export agent traces", Annotations: creates,
		Description: "Export an agent's traces (runs with their steps) to a JSON or JSONL file, like POST /authenticated/resource-exports. " +
			"Use dry_run=true first to get the estimate (runs, steps, bytes) without creating anything. Otherwise the export job is created " +
			"and followed for up to wait_seconds; the result has the download URL once it is complete (download it with the same API key). " +
			"Needs an API key with the export scope."},
		func(in *jsonschema.Schema) {
			enum(in, "resource_type", "agent_traces")
			enum(in, "format", "json", "jsonl")
			bounds(in, "wait_seconds", 0, maxWaitSeconds)
		}, t.createResourceExport)

	addTool(s, t, &sdk.Tool{Name: "get_resource_export", Title: "Get an export", Annotations: readOnly,
		Description: "Get an export job: status, progress, size and, once complete, the download URL."},
		nil, t.getResourceExport)

	addTool(s, t, &sdk.Tool{Name: "run_evaluation", Title: "Evaluate runs", Annotations: creates,
		Description: "Run evaluators on a selection of runs (run_ids, or q in the query language) like POST /api/v1/evaluations. " +
			"The job is followed for up to wait_seconds; call get_evaluation with its id for progress and verdicts after that."},
		func(in *jsonschema.Schema) { bounds(in, "wait_seconds", 0, maxWaitSeconds) }, t.runEvaluation)

	addTool(s, t, &sdk.Tool{Name: "get_evaluation", Title: "Get an evaluation", Annotations: readOnly,
		Description: "Get an evaluation job: status, progress and verdicts."},
		nil, t.getEvaluation)
}

const (
	maxSearchLimit     = 200
	defaultSearchLimit = 20
	maxWaitSeconds     = 120
	// listPayloadBytes is the trim of inputs and outputs in run lists.
	listPayloadBytes = 512
	// defaultPayloadBytes is the trim of payloads in get_run and get_step.
	defaultPayloadBytes = 4096
)

// ---- search_runs

type searchRunsIn struct {
	Q      string `json:"q,omitempty" jsonschema:"query in the agenttrace query language, e.g. status:failed agent:support-bot \"timeout\" after:7d; empty matches every run"`
	Limit  int    `json:"limit,omitempty" jsonschema:"runs per page, 1..200 (default 20)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page, to read the next one"`
	Sort   string `json:"sort,omitempty" jsonschema:"column to sort by (default: start time), e.g. started_at, duration_ms, credits, step_count"`
	Order  string `json:"order,omitempty" jsonschema:"asc or desc (default desc)"`
}

type searchRunsOut struct {
	Runs       []agenttrace.Run `json:"runs" jsonschema:"matching runs (headers; inputs and outputs trimmed)"`
	Count      int              `json:"count"`
	NextCursor string           `json:"next_cursor,omitempty" jsonschema:"pass as cursor for the next page; empty on the last page"`
}

func (t *tools) searchRuns(ctx context.Context, b *Backend, in searchRunsIn) (searchRunsOut, error) {
	if in.Limit == 0 {
		in.Limit = defaultSearchLimit
	}
	page, err := b.Client.SearchRuns(ctx, client.RunSearch{Q: in.Q, Limit: in.Limit, Cursor: in.Cursor, Sort: in.Sort, Order: in.Order})
	if err != nil {
		return searchRunsOut{}, err
	}
	runs := page.Runs
	if runs == nil {
		runs = []agenttrace.Run{}
	}
	for i := range runs {
		runs[i].Steps = nil
		trimRun(&runs[i], listPayloadBytes)
	}
	return searchRunsOut{Runs: runs, Count: len(runs), NextCursor: page.NextCursor}, nil
}

// ---- get_run

type getRunIn struct {
	RunID           string `json:"run_id" jsonschema:"the run's id"`
	Full            bool   `json:"full,omitempty" jsonschema:"answer every payload whole, however large"`
	MaxPayloadBytes int    `json:"max_payload_bytes,omitempty" jsonschema:"trim each input, output and error larger than this (default 4096)"`
}

type getRunOut struct {
	Run               agenttrace.Run `json:"run"`
	FirstFailedStepID string         `json:"first_failed_step_id,omitempty" jsonschema:"the first step that failed, when the run failed"`
	TrimmedPayloads   int            `json:"trimmed_payloads" jsonschema:"how many payloads were trimmed"`
}

func (t *tools) getRun(ctx context.Context, b *Backend, in getRunIn) (getRunOut, error) {
	if in.RunID == "" {
		return getRunOut{}, errors.New("run_id: required")
	}
	run, err := b.Client.GetRun(ctx, in.RunID)
	if err != nil {
		return getRunOut{}, err
	}
	if run.Steps == nil {
		run.Steps = []agenttrace.Step{}
	}
	out := getRunOut{Run: run}
	if fs := firstFailedStep(&run); fs != nil {
		out.FirstFailedStepID = fs.ID
	}
	if !in.Full {
		out.TrimmedPayloads = trimRun(&out.Run, payloadLimit(in.MaxPayloadBytes))
	}
	return out, nil
}

func payloadLimit(n int) int {
	if n <= 0 {
		return defaultPayloadBytes
	}
	return n
}

// ---- get_step

type getStepIn struct {
	RunID           string `json:"run_id" jsonschema:"the run's id"`
	StepID          string `json:"step_id" jsonschema:"the step's id"`
	Full            bool   `json:"full,omitempty" jsonschema:"answer the input, output and error whole, however large"`
	MaxPayloadBytes int    `json:"max_payload_bytes,omitempty" jsonschema:"when not full, trim each payload larger than this (default 4096)"`
}

type getStepOut struct {
	Step            agenttrace.Step `json:"step"`
	FirstFailure    bool            `json:"first_failure" jsonschema:"whether this is the run's first failed step"`
	TrimmedPayloads int             `json:"trimmed_payloads"`
}

func (t *tools) getStep(ctx context.Context, b *Backend, in getStepIn) (getStepOut, error) {
	if in.RunID == "" || in.StepID == "" {
		return getStepOut{}, errors.New("run_id and step_id: both required")
	}
	run, err := b.Client.GetRun(ctx, in.RunID)
	if err != nil {
		return getStepOut{}, err
	}
	for _, s := range run.Steps {
		if s.ID != in.StepID {
			continue
		}
		out := getStepOut{Step: s}
		if fs := firstFailedStep(&run); fs != nil && fs.ID == s.ID {
			out.FirstFailure = true
		}
		if !in.Full {
			out.TrimmedPayloads = trimStep(&out.Step, payloadLimit(in.MaxPayloadBytes))
		}
		return out, nil
	}
	names := make([]string, 0, len(run.Steps))
	for i, s := range run.Steps {
		if i == 20 {
			names = append(names, "…")
			break
		}
		names = append(names, s.ID+" ("+s.Name+")")
	}
	return getStepOut{}, fmt.Errorf("step_id: run %s has no step %q (its steps: %s)", in.RunID, in.StepID, strings.Join(names, ", "))
}

// ---- latest_failed_run

type latestFailedIn struct {
	AgentID string `json:"agent_id" jsonschema:"the agent's id (list_agents shows them)"`
}

// StepBrief is one line of a run's timeline.
type StepBrief struct {
	ID         string  `json:"id"`
	ParentID   string  `json:"parent_id,omitempty"`
	Seq        int64   `json:"seq"`
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Status     string  `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	Credits    float64 `json:"credits"`
	Model      string  `json:"model,omitempty"`
	Error      string  `json:"error,omitempty"`
}

func briefOf(s agenttrace.Step) StepBrief {
	b := StepBrief{ID: s.ID, ParentID: s.ParentID, Seq: s.Seq, Name: s.Name, Type: string(s.Type), Status: string(s.Status),
		DurationMS: s.DurationMS, Credits: s.Credits, Model: s.Model}
	if s.Error != nil {
		b.Error = trimString(s.Error.Message, 300, "")
		if s.Error.Type != "" {
			b.Error = s.Error.Type + ": " + b.Error
		}
	}
	return b
}

type latestFailedOut struct {
	Found           bool             `json:"found" jsonschema:"whether the agent has a failed run"`
	Message         string           `json:"message"`
	Run             *agenttrace.Run  `json:"run,omitempty" jsonschema:"the newest failed run's header (payloads trimmed)"`
	FirstFailedStep *agenttrace.Step `json:"first_failed_step,omitempty" jsonschema:"the run's first failed step with its input, output and error"`
	Timeline        []StepBrief      `json:"timeline,omitempty" jsonschema:"all the run's steps in execution order"`
	NextSteps       []string         `json:"next_steps,omitempty"`
}

func (t *tools) latestFailedRun(ctx context.Context, b *Backend, in latestFailedIn) (latestFailedOut, error) {
	if in.AgentID == "" {
		return latestFailedOut{}, errors.New("agent_id: required (list_agents shows the agents)")
	}
	page, err := b.Client.SearchRuns(ctx, client.RunSearch{Q: "agent:" + quoteValue(in.AgentID) + " status:failed", Limit: 1})
	if err != nil {
		return latestFailedOut{}, err
	}
	if len(page.Runs) == 0 {
		return latestFailedOut{Message: fmt.Sprintf("agent %q has no failed run (check the id with list_agents)", in.AgentID)}, nil
	}
	run, err := b.Client.GetRun(ctx, page.Runs[0].ID)
	if err != nil {
		return latestFailedOut{}, err
	}
	out := latestFailedOut{Found: true, Timeline: make([]StepBrief, 0, len(run.Steps))}
	for _, s := range run.Steps {
		out.Timeline = append(out.Timeline, briefOf(s))
	}
	if fs := firstFailedStep(&run); fs != nil {
		step := *fs
		trimStep(&step, 2*defaultPayloadBytes)
		out.FirstFailedStep = &step
		out.Message = fmt.Sprintf("Run %s of %s failed at step %d %q (%s).", run.ID, run.AgentID, step.Seq, step.Name, step.ID)
		out.NextSteps = []string{
			fmt.Sprintf("Read the step's input, output and error; get_step with run_id=%s step_id=%s full=true answers them whole.", run.ID, step.ID),
			"Fix the step, prompt, model or metadata that caused the failure, re-run the agent,",
			fmt.Sprintf("then compare_runs with a=%s and b=the new run's id (search_runs q=rerun_of:%s finds re-runs).", run.ID, quoteValue(run.ID)),
		}
	} else {
		out.Message = fmt.Sprintf("Run %s of %s failed, but no step is marked failed: the run's own error says why.", run.ID, run.AgentID)
	}
	run.Steps = nil
	trimRun(&run, defaultPayloadBytes)
	out.Run = &run
	return out, nil
}

// firstFailedStep is the step the run's error names, else the first failed
// step in execution order.
func firstFailedStep(r *agenttrace.Run) *agenttrace.Step {
	if r.Error != nil && r.Error.StepID != "" {
		for i := range r.Steps {
			if r.Steps[i].ID == r.Error.StepID {
				return &r.Steps[i]
			}
		}
	}
	for i := range r.Steps {
		if r.Steps[i].Status == agenttrace.StatusFailed {
			return &r.Steps[i]
		}
	}
	return nil
}

// quoteValue writes v as a query-language value: bare when it is a plain
// slug, else quoted with \" and \\ escaped.
func quoteValue(v string) string {
	plain := v != ""
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			plain = false
			break
		}
	}
	if plain {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// ---- list_agents

type listAgentsIn struct{}

type listAgentsOut struct {
	Agents []agenttrace.AgentSummary `json:"agents"`
}

func (t *tools) listAgents(ctx context.Context, b *Backend, _ listAgentsIn) (listAgentsOut, error) {
	agents, err := b.Client.ListAgents(ctx)
	if agents == nil {
		agents = []agenttrace.AgentSummary{}
	}
	return listAgentsOut{Agents: agents}, err
}

// ---- usage

type usageIn struct {
	Q        string `json:"q,omitempty" jsonschema:"runs to count (query language); after:/before: set the range"`
	Interval string `json:"interval,omitempty" jsonschema:"bucket size: hour or day (default day)"`
	GroupBy  string `json:"group_by,omitempty" jsonschema:"one series per agent or per model; empty for one series"`
}

func (t *tools) usage(ctx context.Context, b *Backend, in usageIn) (client.UsageReport, error) {
	rep, err := b.Client.Usage(ctx, in.Q, in.Interval, in.GroupBy)
	if rep.Data == nil {
		rep.Data = []store.UsageBucket{}
	}
	return rep, err
}
