package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
)

// clientFlags adds --url and --key to fs and returns a constructor.
func clientFlags(fs *flag.FlagSet) func() (*client.Client, error) {
	url := fs.String("url", envOr("AGENTTRACE_URL", "http://127.0.0.1:7070"), "server URL (AGENTTRACE_URL)")
	key := fs.String("key", os.Getenv("AGENTTRACE_KEY"), "API key (AGENTTRACE_KEY; default: the admin.key of AGENTTRACE_DATA or ./agenttrace-data)")
	return func() (*client.Client, error) {
		k := *key
		if k == "" {
			b, err := os.ReadFile(filepath.Join(envOr("AGENTTRACE_DATA", "agenttrace-data"), "admin.key"))
			if err != nil {
				return nil, fmt.Errorf("--key: no API key given (set --key or AGENTTRACE_KEY)")
			}
			k = strings.TrimSpace(string(b))
		}
		return client.New(*url, k), nil
	}
}

func runRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("runs: say list or show (agenttrace runs list -q 'status:failed')")
	}
	switch args[0] {
	case "list":
		return runsList(ctx, args[1:], stdout, stderr)
	case "show":
		return runsShow(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("runs: unknown subcommand %q (list, show)", args[0])
}

func runsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("runs list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	q := fs.String("q", "", "query, e.g. 'status:failed agent:support-bot \"timeout\"' (see docs/query.md)")
	limit := fs.Int("limit", 20, "runs to show (1..1000)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	page, err := c.ListRuns(ctx, *q, *limit, "")
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, page)
	}
	if len(page.Runs) == 0 {
		fmt.Fprintln(stdout, "no runs match")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tRUN\tAGENT\tSTATUS\tSTEPS\tDURATION\tCREDITS\tERROR")
	for _, r := range page.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%.4f\t%s\n", fmtTime(r.StartedAt), r.ID, r.AgentID, r.Status, r.StepCount,
			fmtDur(r.DurationMS), r.Credits, errText(r.Error, 60))
	}
	tw.Flush()
	if page.NextCursor != "" {
		fmt.Fprintf(stdout, "(more runs: raise --limit or narrow -q)\n")
	}
	return nil
}

func runsShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("runs show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	id, rest := splitID(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if id == "" {
		return fmt.Errorf("runs show: give a run id")
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	r, err := c.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "Run      %s\nAgent    %s\nStatus   %s\nTrigger  %s\nStarted  %s\nDuration %s\nCredits  %.6f\nTokens   %d in / %d out\n",
		r.ID, r.AgentID, r.Status, r.Trigger, fmtTime(r.StartedAt), fmtDur(r.DurationMS), r.Credits, r.Usage.InputTokens, r.Usage.OutputTokens)
	if r.RerunOf != "" {
		fmt.Fprintf(stdout, "Re-runs  %s\n", r.RerunOf)
	}
	if r.Error != nil {
		fmt.Fprintf(stdout, "Error    %s", errText(r.Error, 0))
		if r.Error.StepID != "" {
			fmt.Fprintf(stdout, " (first failed step: %s)", r.Error.StepID)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tSTEP\tTYPE\tSTATUS\tDURATION\tCREDITS\tMODEL\tERROR")
	depth := map[string]int{}
	for _, s := range r.Steps {
		d := 0
		if s.ParentID != "" {
			d = depth[s.ParentID] + 1
		}
		depth[s.ID] = d
		mark := ""
		if r.Error != nil && r.Error.StepID == s.ID {
			mark = " <- first failure"
		}
		var msg string
		if s.Error != nil {
			msg = s.Error.Message
		}
		fmt.Fprintf(tw, "%d\t%s%s\t%s\t%s\t%s\t%.6f\t%s\t%s%s\n", s.Seq, strings.Repeat("  ", d), s.Name, s.Type, s.Status, fmtDur(s.DurationMS), s.Credits, s.Model, trunc(msg, 60), mark)
	}
	return tw.Flush()
}

// splitID lets the id come before the flags (runs show ID --json).
func splitID(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func fmtDur(ms float64) string {
	switch {
	case ms <= 0:
		return "-"
	case ms < 1000:
		return fmt.Sprintf("%.0fms", ms)
	case ms < 60000:
		return fmt.Sprintf("%.1fs", ms/1000)
	}
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Second).String()
}

func errText(e *agenttrace.RunError, n int) string {
	if e == nil {
		return ""
	}
	s := e.Message
	if e.Type != "" {
		s = e.Type + ": " + s
	}
	return trunc(s, n)
}

func trunc(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if n > 0 && len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
