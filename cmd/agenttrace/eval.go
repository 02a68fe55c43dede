package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
)

func init() { commands["eval"] = runEval }

const evalUsage = `agenttrace eval list
agenttrace eval create --name NAME --kind rule|builtin|judge --config JSON [--agents ID,ID|*] [--api-key KEY]
agenttrace eval run --evaluator NAME[,NAME] (-q QUERY | --runs ID,ID) [--wait]
agenttrace eval show JOB_ID`

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("eval: say list, create, run or show:\n%s", evalUsage)
	}
	switch args[0] {
	case "list":
		return evalList(ctx, args[1:], stdout, stderr)
	case "create":
		return evalCreate(ctx, args[1:], stdout, stderr)
	case "run":
		return evalRun(ctx, args[1:], stdout, stderr)
	case "show":
		return evalShow(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("eval: unknown subcommand %q:\n%s", args[0], evalUsage)
}

type evaluatorList struct {
	Data []agenttrace.Evaluator `json:"data"`
}

func evalList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	var list evaluatorList
	if err := c.Do(ctx, "GET", "/api/v1/evaluators", nil, &list); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, list)
	}
	if len(list.Data) == 0 {
		fmt.Fprintln(stdout, "no evaluators; create one with agenttrace eval create")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tAGENTS\tID\tCONFIG")
	for _, e := range list.Data {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Name, e.Kind, strings.Join(e.AgentIDs, ","), e.ID, clipText(string(e.Config), 70))
	}
	return tw.Flush()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func evalCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	name := fs.String("name", "", "evaluator name (used in the query term eval:NAME=pass)")
	kind := fs.String("kind", "", "rule, builtin or judge")
	config := fs.String("config", "", `config JSON, e.g. '{"expression":"run.credits <= 5.0"}' or '{"check":"pii"}'`)
	agents := fs.String("agents", "", "agent ids whose new runs it evaluates when they end (comma-separated, * for all)")
	apiKey := fs.String("api-key", "", "judge: the endpoint's API key (kept server-side)")
	desc := fs.String("description", "", "description")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *kind == "" || *config == "" {
		return fmt.Errorf("eval create: --name, --kind and --config are required")
	}
	if !json.Valid([]byte(*config)) {
		return fmt.Errorf("--config: not valid JSON")
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	body := map[string]any{"name": *name, "kind": *kind, "config": json.RawMessage(*config), "agent_ids": splitList(*agents), "description": *desc}
	if *apiKey != "" {
		body["api_key"] = *apiKey
	}
	var e agenttrace.Evaluator
	if err := c.Do(ctx, "POST", "/api/v1/evaluators", body, &e); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created evaluator %s (%s)\n", e.Name, e.ID)
	return nil
}

type evaluationView struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress int64  `json:"progress"`
	Total    int64  `json:"total"`
	Error    string `json:"error"`
	Counts   []struct {
		EvaluatorName string `json:"evaluator_name"`
		Pass          int64  `json:"pass"`
		Fail          int64  `json:"fail"`
		Error         int64  `json:"error"`
	} `json:"counts"`
	Verdicts struct {
		Data []agenttrace.EvalResult `json:"data"`
	} `json:"verdicts"`
}

func evalRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	names := fs.String("evaluator", "", "evaluator names or ids, comma-separated")
	q := fs.String("q", "", "query selecting the runs (see docs/query.md)")
	runs := fs.String("runs", "", "run ids, comma-separated (instead of -q)")
	wait := fs.Bool("wait", false, "wait for the job and print the results")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *names == "" {
		return fmt.Errorf("eval run: --evaluator is required")
	}
	qSet := false
	fs.Visit(func(f *flag.Flag) { qSet = qSet || f.Name == "q" })
	if qSet == (*runs != "") {
		return fmt.Errorf("eval run: give -q QUERY or --runs ID,ID (one of them; -q '' selects all runs)")
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	var list evaluatorList
	if err := c.Do(ctx, "GET", "/api/v1/evaluators", nil, &list); err != nil {
		return err
	}
	var ids []string
	for _, n := range splitList(*names) {
		found := ""
		for _, e := range list.Data {
			if e.Name == n || e.ID == n {
				found = e.ID
			}
		}
		if found == "" {
			return fmt.Errorf("--evaluator: no evaluator named %q (see agenttrace eval list)", n)
		}
		ids = append(ids, found)
	}
	body := map[string]any{"evaluator_ids": ids}
	if qSet {
		body["q"] = *q
	} else {
		body["run_ids"] = splitList(*runs)
	}
	var job evaluationView
	if err := c.Do(ctx, "POST", "/api/v1/evaluations", body, &job); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "evaluation %s: %d runs queued\n", job.ID, job.Total)
	if !*wait {
		fmt.Fprintf(stdout, "follow it with: agenttrace eval show %s\n", job.ID)
		return nil
	}
	tty := evalIsTerminal(stdout)
	for {
		if err := c.Do(ctx, "GET", "/api/v1/evaluations/"+url.PathEscape(job.ID)+"?limit=1", nil, &job); err != nil {
			return err
		}
		if tty {
			fmt.Fprintf(stdout, "\r%s %d/%d runs", job.Status, job.Progress, job.Total)
		}
		if job.Status != "queued" && job.Status != "running" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	if tty {
		fmt.Fprintln(stdout)
	}
	return printEvaluation(ctx, c, job.ID, stdout)
}

func evalIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func evalShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("eval show: say which evaluation job (agenttrace eval show JOB_ID)")
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	return printEvaluation(ctx, c, fs.Arg(0), stdout)
}

func printEvaluation(ctx context.Context, c *client.Client, id string, stdout io.Writer) error {
	var job evaluationView
	if err := c.Do(ctx, "GET", "/api/v1/evaluations/"+url.PathEscape(id)+"?verdict=fail&limit=20", nil, &job); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "evaluation %s: %s, %d/%d runs\n", job.ID, job.Status, job.Progress, job.Total)
	if job.Error != "" {
		fmt.Fprintln(stdout, "error:", job.Error)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVALUATOR\tPASS\tFAIL\tERROR")
	for _, n := range job.Counts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", n.EvaluatorName, n.Pass, n.Fail, n.Error)
	}
	tw.Flush()
	if len(job.Verdicts.Data) > 0 {
		fmt.Fprintln(stdout, "\nfailures (first 20):")
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, v := range job.Verdicts.Data {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.RunID, v.EvaluatorName, clipText(v.Reason, 100))
		}
		tw.Flush()
	}
	return nil
}
