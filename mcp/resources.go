package mcp

import (
	"context"
	_ "embed"
	"fmt"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// queryReference is docs/query.md (a test keeps the copy equal).
//
//go:embed query.md
var queryReference string

// QueryLanguageURI names the query-language reference resource.
const QueryLanguageURI = "agenttrace://docs/query-language"

func addResources(s *sdk.Server) {
	s.AddResource(&sdk.Resource{
		URI: QueryLanguageURI, Name: "query-language", Title: "agenttrace query language",
		Description: "The syntax of q in search_runs, usage, run_evaluation and export filters: fields, comparisons, dates, full-text search, errors.",
		MIMEType:    "text/markdown", Size: int64(len(queryReference)),
	}, func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{URI: QueryLanguageURI, MIMEType: "text/markdown", Text: queryReference}}}, nil
	})
}

func addPrompts(s *sdk.Server) {
	s.AddPrompt(&sdk.Prompt{
		Name: "debug_latest_failure", Title: "Debug an agent's latest failure",
		Description: "Walk the debugging loop: open the agent's most recent failed run, inspect its first failed step, find the cause, suggest a fix, and compare after a re-run.",
		Arguments: []*sdk.PromptArgument{
			{Name: "agent_id", Title: "Agent", Description: "the id of the agent to debug (list_agents shows them)", Required: true},
		},
	}, func(ctx context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
		agent := req.Params.Arguments["agent_id"]
		if agent == "" {
			return nil, fmt.Errorf("agent_id: required")
		}
		return &sdk.GetPromptResult{
			Description: "Debug the latest failure of agent " + agent,
			Messages:    []*sdk.PromptMessage{{Role: "user", Content: &sdk.TextContent{Text: debugPrompt(agent)}}},
		}, nil
	})
}

func debugPrompt(agent string) string {
	return fmt.Sprintf(`Debug the most recent failure of the agent %[1]q recorded in agenttrace.

1. Call latest_failed_run with agent_id=%[1]q. It answers the newest failed run, its first failed step
   (with that step's input, output and error) and the run's timeline of steps.
2. Inspect the first failed step. If its input or output is trimmed ("…[trimmed N bytes; …]"), call
   get_step with the run_id, step_id and full=true. Look at the steps before it in the timeline (get_step)
   when the failure comes from what they produced.
3. Explain the cause in a few sentences, quoting the error and the part of the input or output that shows it.
4. Propose the change that fixes it: the step, the prompt, the model or the metadata, concretely.
5. Check whether the failure is recurring: search_runs with q='agent:%[1]s status:failed' (and a quoted phrase
   from the error message) shows how often and since when.
6. Once the agent has been re-run (search_runs q='rerun_of:RUN_ID' finds re-runs of the failed run), call
   compare_runs with a=the failed run and b=the re-run, and say whether the fix worked.

The query language is described in the resource %[2]s.`, agent, QueryLanguageURI)
}
