package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestToolsOverBothTransports(t *testing.T) {
	e := newEnv(t)
	transports := map[string]func(key string) *sdk.ClientSession{"http": e.connectHTTP, "stdio": e.connectStdio}
	for _, name := range []string{"http", "stdio"} {
		t.Run(name, func(t *testing.T) {
			e := &env{t: t, url: e.url}
			cs := transports[name](adminKey)
			testTools(t, e, cs)
		})
	}
}

func testTools(t *testing.T, e *env, cs *sdk.ClientSession) {
	ctx := context.Background()
	t.Run("list tools", func(t *testing.T) {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tool := range res.Tools {
			names = append(names, tool.Name)
			if tool.InputSchema == nil || tool.OutputSchema == nil || tool.Description == "" {
				t.Errorf("tool %s: missing input schema, result schema or description", tool.Name)
			}
		}
		for _, want := range allTools {
			if !slices.Contains(names, want) {
				t.Errorf("tool %s missing from %v", want, names)
			}
		}
	})

	t.Run("search_runs status:failed answers only failed runs, as the API does", func(t *testing.T) {
		var out struct {
			Runs       []agenttrace.Run `json:"runs"`
			Count      int              `json:"count"`
			NextCursor string           `json:"next_cursor"`
		}
		mustCall(t, cs, "search_runs", map[string]any{"q": "status:failed", "limit": 30}, &out)
		var page struct {
			Data []agenttrace.Run `json:"data"`
		}
		e.api(adminKey, "GET", "/api/v1/runs?limit=30&q="+url.QueryEscape("status:failed"), nil, &page)
		if out.Count == 0 || out.Count != len(out.Runs) {
			t.Fatalf("count %d, %d runs; want some failed runs in the demo data", out.Count, len(out.Runs))
		}
		for i, r := range out.Runs {
			if r.Status != agenttrace.StatusFailed {
				t.Errorf("run %s has status %s", r.ID, r.Status)
			}
			if i < len(page.Data) && page.Data[i].ID != r.ID {
				t.Errorf("run %d is %s, the API answers %s", i, r.ID, page.Data[i].ID)
			}
		}
		if len(page.Data) != len(out.Runs) {
			t.Errorf("%d runs, the API answers %d", len(out.Runs), len(page.Data))
		}
		if out.NextCursor != "" {
			var next struct {
				Runs []agenttrace.Run `json:"runs"`
			}
			mustCall(t, cs, "search_runs", map[string]any{"q": "status:failed", "limit": 30, "cursor": out.NextCursor}, &next)
			if len(next.Runs) > 0 && next.Runs[0].ID == out.Runs[0].ID {
				t.Error("the cursor answered the first page again")
			}
		}
	})

	t.Run("search_runs with a bad query is a tool error with the position", func(t *testing.T) {
		wantToolError(t, cs, "search_runs", map[string]any{"q": "status:failed colour:red"}, "position 14", "colour", "unknown field")
	})

	var failed agenttrace.Run // the newest failed run of some agent, from the API
	var page struct {
		Data []agenttrace.Run `json:"data"`
	}
	e.api(adminKey, "GET", "/api/v1/runs?limit=1&q="+url.QueryEscape("status:failed has:error"), nil, &page)
	if len(page.Data) == 0 {
		t.Fatal("the demo data has no failed run")
	}
	e.api(adminKey, "GET", "/api/v1/runs/"+page.Data[0].ID, nil, &failed)

	t.Run("get_run equals the API's run modulo trimming", func(t *testing.T) {
		var full struct {
			Run               agenttrace.Run `json:"run"`
			FirstFailedStepID string         `json:"first_failed_step_id"`
		}
		mustCall(t, cs, "get_run", map[string]any{"run_id": failed.ID, "full": true}, &full)
		sameJSON(t, "get_run full=true", full.Run, failed)
		if failed.Error != nil && failed.Error.StepID != "" && full.FirstFailedStepID != failed.Error.StepID {
			t.Errorf("first_failed_step_id %q, the run's error names %q", full.FirstFailedStepID, failed.Error.StepID)
		}
		var trimmed struct {
			Run agenttrace.Run `json:"run"`
		}
		mustCall(t, cs, "get_run", map[string]any{"run_id": failed.ID, "max_payload_bytes": 64}, &trimmed)
		if len(trimmed.Run.Steps) != len(failed.Steps) {
			t.Fatalf("%d steps, want %d", len(trimmed.Run.Steps), len(failed.Steps))
		}
		for i, s := range trimmed.Run.Steps {
			checkTrimmed(t, s.ID+" input", s.Input, failed.Steps[i].Input)
			checkTrimmed(t, s.ID+" output", s.Output, failed.Steps[i].Output)
		}
	})

	t.Run("get_run of an unknown run is a tool error", func(t *testing.T) {
		wantToolError(t, cs, "get_run", map[string]any{"run_id": "run_does_not_exist"}, "404")
	})

	t.Run("get_step answers the API's step, whole with full=true", func(t *testing.T) {
		if len(failed.Steps) == 0 {
			t.Skip("the failed run has no steps")
		}
		want := failed.Steps[len(failed.Steps)-1]
		var out struct {
			Step agenttrace.Step `json:"step"`
		}
		mustCall(t, cs, "get_step", map[string]any{"run_id": failed.ID, "step_id": want.ID, "full": true}, &out)
		sameJSON(t, "get_step", out.Step, want)
		wantToolError(t, cs, "get_step", map[string]any{"run_id": failed.ID, "step_id": "nope"}, "no step")
	})

	t.Run("latest_failed_run answers the agent's newest failed run and its first failed step", func(t *testing.T) {
		var newest struct {
			Data []agenttrace.Run `json:"data"`
		}
		e.api(adminKey, "GET", "/api/v1/runs?limit=1&q="+url.QueryEscape("agent:"+failed.AgentID+" status:failed"), nil, &newest)
		var want agenttrace.Run
		e.api(adminKey, "GET", "/api/v1/runs/"+newest.Data[0].ID, nil, &want)
		var out struct {
			Found           bool             `json:"found"`
			Run             *agenttrace.Run  `json:"run"`
			FirstFailedStep *agenttrace.Step `json:"first_failed_step"`
			Timeline        []map[string]any `json:"timeline"`
		}
		mustCall(t, cs, "latest_failed_run", map[string]any{"agent_id": failed.AgentID}, &out)
		if !out.Found || out.Run == nil || out.Run.ID != want.ID {
			t.Fatalf("found %v run %+v, want run %s", out.Found, out.Run, want.ID)
		}
		if out.Run.Status != agenttrace.StatusFailed || len(out.Timeline) != len(want.Steps) {
			t.Errorf("status %s, %d timeline steps; want failed, %d", out.Run.Status, len(out.Timeline), len(want.Steps))
		}
		var wantStep *agenttrace.Step
		for i := range want.Steps {
			s := &want.Steps[i]
			if want.Error != nil && want.Error.StepID == s.ID || want.Error == nil || want.Error.StepID == "" && s.Status == agenttrace.StatusFailed {
				wantStep = s
				break
			}
		}
		if wantStep == nil {
			if out.FirstFailedStep != nil {
				t.Errorf("first failed step %s, the run has none", out.FirstFailedStep.ID)
			}
			return
		}
		if out.FirstFailedStep == nil || out.FirstFailedStep.ID != wantStep.ID {
			t.Fatalf("first failed step %+v, want %s", out.FirstFailedStep, wantStep.ID)
		}
		if out.FirstFailedStep.Error == nil && wantStep.Error != nil {
			t.Error("the first failed step lacks its error")
		}
		var none struct {
			Found bool `json:"found"`
		}
		mustCall(t, cs, "latest_failed_run", map[string]any{"agent_id": "no-such-agent"}, &none)
		if none.Found {
			t.Error("found a failed run of an unknown agent")
		}
	})

	t.Run("list_agents equals the API's agents", func(t *testing.T) {
		var out struct {
			Agents []agenttrace.AgentSummary `json:"agents"`
		}
		mustCall(t, cs, "list_agents", nil, &out)
		var want struct {
			Data []agenttrace.AgentSummary `json:"data"`
		}
		e.api(adminKey, "GET", "/api/v1/agents", nil, &want)
		if len(out.Agents) == 0 {
			t.Fatal("no agents")
		}
		// support-demo is fed live by the in-process demo agent of --demo,
		// so its figures may move between the two reads: compare the rest.
		still := func(in []agenttrace.AgentSummary) []agenttrace.AgentSummary {
			var out []agenttrace.AgentSummary
			for _, a := range in {
				if a.ID != "support-demo" {
					out = append(out, a)
				}
			}
			return out
		}
		sameJSON(t, "agents", still(out.Agents), still(want.Data))
	})

	t.Run("usage equals the API's usage", func(t *testing.T) {
		var out map[string]any
		mustCall(t, cs, "usage", map[string]any{"q": "status:failed", "group_by": "agent"}, &out)
		var want map[string]any
		e.api(adminKey, "GET", "/api/v1/usage?group_by=agent&q=status%3Afailed", nil, &want)
		sameJSON(t, "usage data", out["data"], want["data"])
		wantToolError(t, cs, "usage", map[string]any{"interval": "week"})
	})

	t.Run("compare_runs", func(t *testing.T) {
		var other struct {
			Data []agenttrace.Run `json:"data"`
		}
		e.api(adminKey, "GET", "/api/v1/runs?limit=1&q="+url.QueryEscape("agent:"+failed.AgentID+" status:completed"), nil, &other)
		if len(other.Data) == 0 {
			// Comparing works across agents too.
			e.api(adminKey, "GET", "/api/v1/runs?limit=1&q="+url.QueryEscape("status:completed"), nil, &other)
		}
		if len(other.Data) == 0 {
			t.Fatal("no completed run in the demo data")
		}
		var out struct {
			Source     string         `json:"source"`
			Comparison map[string]any `json:"comparison"`
			A, B       *struct{ ID string }
			Steps      []map[string]any `json:"steps"`
			Summary    string           `json:"summary"`
		}
		mustCall(t, cs, "compare_runs", map[string]any{"a": failed.ID, "b": other.Data[0].ID}, &out)
		// The compare API exists, so the tool must answer exactly its view.
		if out.Source != "api" {
			t.Fatalf("compare_runs answered from %q, want the API's comparison", out.Source)
		}
		var want map[string]any
		e.api(adminKey, "GET", "/api/v1/compare?a="+url.QueryEscape(failed.ID)+"&b="+url.QueryEscape(other.Data[0].ID), nil, &want)
		sameJSON(t, "comparison", out.Comparison, want)
		wantToolError(t, cs, "compare_runs", map[string]any{"a": failed.ID, "b": "run_does_not_exist"}, "404")
	})

	t.Run("create_resource_export", func(t *testing.T) {
		if e.api(adminKey, "POST", "/authenticated/resource-exports", map[string]any{"resource_type": "agent_traces", "agent_id": failed.AgentID, "format": "jsonl", "dry_run": true}, nil) == http.StatusNotFound {
			msg := wantToolError(t, cs, "create_resource_export", map[string]any{"resource_type": "agent_traces", "agent_id": failed.AgentID, "dry_run": true}, "no exports API")
			t.Skipf("POST /authenticated/resource-exports answers 404 (not built yet); the tool says: %s", msg)
		}
		var est struct {
			DryRun   bool           `json:"dry_run"`
			Estimate map[string]any `json:"estimate"`
		}
		mustCall(t, cs, "create_resource_export", map[string]any{"resource_type": "agent_traces", "agent_id": failed.AgentID, "format": "jsonl", "dry_run": true}, &est)
		if !est.DryRun || est.Estimate["runs"] == nil {
			t.Errorf("dry run answered %+v, want an estimate of runs", est)
		}
		var job struct {
			ID          string `json:"id"`
			Status      string `json:"status"`
			Done        bool   `json:"done"`
			DownloadURL string `json:"download_url"`
		}
		mustCall(t, cs, "create_resource_export", map[string]any{"resource_type": "agent_traces", "agent_id": failed.AgentID, "format": "json",
			"filters": map[string]any{"q": "status:failed"}, "wait_seconds": 30}, &job)
		if job.ID == "" {
			t.Fatalf("no job id: %+v", job)
		}
		if job.Status == "completed" && !strings.HasPrefix(job.DownloadURL, "http") {
			t.Errorf("complete export without an absolute download URL: %+v", job)
		}
		var again struct {
			ID string `json:"id"`
		}
		mustCall(t, cs, "get_resource_export", map[string]any{"id": job.ID}, &again)
		if again.ID != job.ID {
			t.Errorf("get_resource_export answered %q, want %q", again.ID, job.ID)
		}
	})

	t.Run("run_evaluation", func(t *testing.T) {
		if e.api(adminKey, "POST", "/api/v1/evaluations", map[string]any{"evaluator_ids": []string{"nope"}, "run_ids": []string{failed.ID}}, nil) == http.StatusNotFound {
			var probe struct {
				Error struct{ Message string }
			}
			e.api(adminKey, "POST", "/api/v1/evaluations", map[string]any{}, &probe)
			if strings.HasPrefix(probe.Error.Message, "no API endpoint") {
				msg := wantToolError(t, cs, "run_evaluation", map[string]any{"evaluator_ids": []string{"nope"}, "run_ids": []string{failed.ID}}, "no evaluations API")
				t.Skipf("POST /api/v1/evaluations answers 404 (not built yet); the tool says: %s", msg)
			}
		}
		// An unknown evaluator is the API's error, answered as a tool error.
		wantToolError(t, cs, "run_evaluation", map[string]any{"evaluator_ids": []string{"no-such-evaluator"}, "run_ids": []string{failed.ID}, "wait_seconds": 0}, "404")
		var ev struct {
			ID    string `json:"id"`
			Error struct{ Message string }
		}
		code := e.api(adminKey, "POST", "/api/v1/evaluators", map[string]any{"name": "no-failed-steps-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()),
			"kind": "builtin", "config": map[string]any{"check": "no_failed_steps"}}, &ev)
		if code != http.StatusCreated || ev.ID == "" {
			t.Skipf("could not create a builtin evaluator to run (HTTP %d: %s)", code, ev.Error.Message)
		}
		var job struct {
			ID     string         `json:"id"`
			Status string         `json:"status"`
			Done   bool           `json:"done"`
			Job    map[string]any `json:"job"`
		}
		mustCall(t, cs, "run_evaluation", map[string]any{"evaluator_ids": []string{ev.ID}, "run_ids": []string{failed.ID}, "wait_seconds": 30}, &job)
		if job.ID == "" || !job.Done || job.Status != "completed" {
			t.Fatalf("evaluation job %+v, want completed within 30s", job)
		}
		var again struct {
			ID  string         `json:"id"`
			Job map[string]any `json:"job"`
		}
		mustCall(t, cs, "get_evaluation", map[string]any{"id": job.ID}, &again)
		var want map[string]any
		e.api(adminKey, "GET", "/api/v1/evaluations/"+job.ID, nil, &want)
		sameJSON(t, "get_evaluation", again.Job, want)
	})

	t.Run("the query-language resource is docs/query.md", func(t *testing.T) {
		res, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: "agenttrace://docs/query-language"})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile("../docs/query.md")
		if len(res.Contents) != 1 || res.Contents[0].Text != string(want) {
			t.Error("the resource is not docs/query.md")
		}
	})

	t.Run("the debug_latest_failure prompt walks the loop", func(t *testing.T) {
		res, err := cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "debug_latest_failure", Arguments: map[string]string{"agent_id": "support-bot"}})
		if err != nil {
			t.Fatal(err)
		}
		text := res.Messages[0].Content.(*sdk.TextContent).Text
		for _, want := range []string{`"support-bot"`, "latest_failed_run", "get_step", "compare_runs"} {
			if !strings.Contains(text, want) {
				t.Errorf("prompt lacks %q", want)
			}
		}
	})
}

// checkTrimmed checks that a payload is the original or its trimmed form.
func checkTrimmed(t *testing.T, what string, got, orig json.RawMessage) {
	t.Helper()
	if bytes.Equal(got, orig) {
		return
	}
	var s string
	if json.Unmarshal(got, &s) != nil || !strings.Contains(s, "…[trimmed ") || !strings.Contains(s, "full=true]") ||
		!strings.HasPrefix(string(orig), strings.SplitN(s, "…[trimmed ", 2)[0]) {
		t.Errorf("%s: %s is neither %s nor its trimmed form", what, got, orig)
	}
}

func TestLargePayloadsAreTrimmedWithAWayToTheWhole(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("lorem ipsum dolor ", 2000)
	bigJSON, _ := json.Marshal(map[string]string{"document": big})
	batch := map[string]any{
		"runs":  []map[string]any{{"id": "run_big", "agent_id": "big-agent", "status": "completed", "input": map[string]string{"q": "hi"}}},
		"steps": []map[string]any{{"id": "step_big", "run_id": "run_big", "name": "retrieve", "type": "retrieval", "status": "completed", "output": json.RawMessage(bigJSON)}},
	}
	if code := e.api(adminKey, "POST", "/api/v1/ingest", batch, nil); code/100 != 2 {
		t.Fatalf("ingest: HTTP %d", code)
	}
	cs := e.connectHTTP(adminKey)
	var out struct {
		Run             agenttrace.Run `json:"run"`
		TrimmedPayloads int            `json:"trimmed_payloads"`
	}
	mustCall(t, cs, "get_run", map[string]any{"run_id": "run_big"}, &out)
	var s string
	if err := json.Unmarshal(out.Run.Steps[0].Output, &s); err != nil {
		t.Fatalf("output not trimmed to a string: %.200s", out.Run.Steps[0].Output)
	}
	if out.TrimmedPayloads != 1 || len(s) > 4500 || !strings.Contains(s, "call get_step with run_id=run_big, step_id=step_big, full=true]") {
		t.Errorf("trimmed %d payloads to %d bytes: %.100s … %s", out.TrimmedPayloads, len(s), s, s[max(0, len(s)-120):])
	}
	var step struct {
		Step agenttrace.Step `json:"step"`
	}
	mustCall(t, cs, "get_step", map[string]any{"run_id": "run_big", "step_id": "step_big", "full": true}, &step)
	var got map[string]string
	if err := json.Unmarshal(step.Step.Output, &got); err != nil || got["document"] != big {
		t.Errorf("get_step full=true did not answer the whole payload (%d bytes)", len(step.Step.Output))
	}
}

func TestKeysAndAccountsApply(t *testing.T) {
	e := newEnv(t)
	var created struct {
		Secret string `json:"secret"`
	}
	if code := e.api(adminKey, "POST", "/api/v1/keys", map[string]any{"name": "read only", "scopes": []string{"read"}}, &created); code != http.StatusCreated || created.Secret == "" {
		t.Fatalf("create read key: HTTP %d", code)
	}
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	if code := e.api(adminKey, "POST", "/api/v1/accounts", map[string]any{"name": "Other"}, &acct); code != http.StatusCreated || acct.AdminKey == "" {
		t.Fatalf("create account: HTTP %d", code)
	}
	var page struct {
		Data []agenttrace.Run `json:"data"`
	}
	e.api(adminKey, "GET", "/api/v1/runs?limit=1", nil, &page)
	runID := page.Data[0].ID

	for name, connect := range map[string]func(string) *sdk.ClientSession{"http": e.connectHTTP, "stdio": e.connectStdio} {
		t.Run(name, func(t *testing.T) {
			t.Run("a key without the export scope gets a tool error from create_resource_export", func(t *testing.T) {
				cs := connect(created.Secret)
				args := map[string]any{"resource_type": "agent_traces", "agent_id": page.Data[0].AgentID, "format": "jsonl", "dry_run": true}
				if e.api(adminKey, "POST", "/authenticated/resource-exports", args, nil) == http.StatusNotFound {
					wantToolError(t, cs, "create_resource_export", args)
					t.Skip("POST /authenticated/resource-exports answers 404 (not built yet): the scope check belongs to it")
				}
				wantToolError(t, cs, "create_resource_export", args, "export", "403")
				// The same key still reads.
				mustCall(t, cs, "get_run", map[string]any{"run_id": runID}, nil)
			})
			t.Run("another account's run is not found", func(t *testing.T) {
				cs := connect(acct.AdminKey)
				wantToolError(t, cs, "get_run", map[string]any{"run_id": runID}, "404")
				var out struct {
					Count int `json:"count"`
				}
				mustCall(t, cs, "search_runs", map[string]any{"q": "id:" + runID}, &out)
				if out.Count != 0 {
					t.Errorf("another account's search found %d runs", out.Count)
				}
				var agents struct {
					Agents []any `json:"agents"`
				}
				mustCall(t, cs, "list_agents", nil, &agents)
				if len(agents.Agents) != 0 {
					t.Errorf("another account sees %d agents", len(agents.Agents))
				}
			})
		})
	}
}

func TestMCPEndpointNeedsABearerKey(t *testing.T) {
	e := newEnv(t)
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, key := range []string{"", "at_not_a_key"} {
		req, _ := http.NewRequest("POST", e.url+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("key %q: HTTP %d, want 401", key, resp.StatusCode)
		}
	}
	c := sdk.NewClient(&sdk.Implementation{Name: "x", Version: "1"}, nil)
	if _, err := c.Connect(context.Background(), &sdk.StreamableClientTransport{Endpoint: e.url + "/mcp", MaxRetries: -1}, nil); err == nil {
		t.Error("an MCP client without a key connected")
	}
}

func TestQueryReferenceIsDocsQueryMD(t *testing.T) {
	docs, err := os.ReadFile("../docs/query.md")
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := os.ReadFile("query.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, embedded) {
		t.Error("mcp/query.md differs from docs/query.md: run cp docs/query.md mcp/query.md")
	}
}
