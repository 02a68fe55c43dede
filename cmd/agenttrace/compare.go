package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/compare"
	"github.com/agenttrace/agenttrace/rerun"
)

func init() {
	commands["compare"] = runCompare
	commands["rerun"] = runRerun
}

// agenttrace compare A B [--json]
func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: agenttrace compare RUN_A RUN_B [--json] [--url URL] [--key KEY]")
		fs.PrintDefaults()
	}
	newClient := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	ids, rest := leadingIDs(args, 2)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	ids = append(ids, fs.Args()...)
	if len(ids) != 2 {
		fs.Usage()
		return fmt.Errorf("compare: give two run ids (agenttrace compare RUN_A RUN_B)")
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	res, err := c.CompareRuns(ctx, ids[0], ids[1])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	return compare.WriteText(stdout, res)
}

// leadingIDs takes up to n arguments before the first flag.
func leadingIDs(args []string, n int) ([]string, []string) {
	var ids []string
	for len(args) > 0 && len(ids) < n && !strings.HasPrefix(args[0], "-") {
		ids, args = append(ids, args[0]), args[1:]
	}
	return ids, args
}

type metaFlag map[string]any

func (m metaFlag) String() string { return "" }

func (m metaFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	var parsed any
	if json.Unmarshal([]byte(val), &parsed) == nil {
		m[k] = parsed
	} else {
		m[k] = val
	}
	return nil
}

// agenttrace rerun RUN [--model M] [--prompt P] [--meta k=v] [--input JSON] [--wait 60s]
func runRerun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rerun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	model := fs.String("model", "", "override the model")
	prompt := fs.String("prompt", "", "override the prompt")
	input := fs.String("input", "", "override the input (JSON; a bare word is sent as a string)")
	meta := metaFlag{}
	fs.Var(meta, "meta", "override a metadata key: key=value (repeatable; JSON values are parsed)")
	wait := fs.Duration("wait", time.Minute, "wait this long for the new run to finish, then compare it with the original (0: do not wait)")
	ids, rest := leadingIDs(args, 1)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	ids = append(ids, fs.Args()...)
	if len(ids) != 1 {
		return fmt.Errorf("rerun: give one run id (agenttrace rerun RUN_ID --model gpt-4o)")
	}
	o := rerun.Overrides{Model: *model, Prompt: *prompt}
	if len(meta) > 0 {
		o.Metadata = meta
	}
	if *input != "" {
		if json.Valid([]byte(*input)) {
			o.Input = json.RawMessage(*input)
		} else {
			o.Input, _ = json.Marshal(*input)
		}
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	ans, err := c.Rerun(ctx, ids[0], o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\nNew run: %s (re-run request %s)\n", ans.Message, ans.NewRunID, ans.Rerun.ID)
	if *wait <= 0 {
		fmt.Fprintf(stdout, "Compare when it has finished: agenttrace compare %s %s\n", ids[0], ans.NewRunID)
		return nil
	}
	run, err := waitRun(ctx, c, ans.NewRunID, *wait)
	if err != nil {
		return fmt.Errorf("%w; compare later with: agenttrace compare %s %s", err, ids[0], ans.NewRunID)
	}
	fmt.Fprintf(stdout, "The new run %s.\n\n", run.Status)
	res, err := c.CompareRuns(ctx, ids[0], ans.NewRunID)
	if err != nil {
		return err
	}
	return compare.WriteText(stdout, res)
}

// waitRun polls the run until it has ended (completed or failed).
func waitRun(ctx context.Context, c *client.Client, id string, d time.Duration) (agenttrace.Run, error) {
	deadline := time.Now().Add(d)
	for {
		r, err := c.GetRun(ctx, id)
		var ce *client.Error
		switch {
		case err == nil && (r.Status == agenttrace.StatusCompleted || r.Status == agenttrace.StatusFailed):
			return r, nil
		case err != nil && !(errors.As(err, &ce) && ce.Status == 404):
			return r, err
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("run %s has not finished within %s", id, d)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
