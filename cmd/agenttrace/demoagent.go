package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/agenttrace/agenttrace/demoagent"
)

func init() { commands["demo-agent"] = runDemoAgent }

// agenttrace demo-agent [--url URL] [--key KEY] [--listen ADDR] [--agent ID]
func runDemoAgent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	listen := fs.String("listen", demoagent.DefaultListen, "where to serve the re-run webhook (POST /rerun)")
	agentID := fs.String("agent", demoagent.DefaultAgentID, "the agent id to report runs under")
	secret := fs.String("secret", "", "the re-run signing secret (default: read from GET /api/v1/rerun-secret with the admin key)")
	model := fs.String("model", demoagent.DefaultModel, "the model of the first run (gpt-4o-mini fails on a tool argument; gpt-4o succeeds)")
	latency := fs.Float64("latency", 0.3, "scale of the simulated model and tool latencies (1: realistic, 0: instant)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newClient() // resolves --key, AGENTTRACE_KEY or ./agenttrace-data/admin.key
	if err != nil {
		return err
	}
	a := demoagent.New(demoagent.Config{URL: c.BaseURL, Key: c.Key, AgentID: *agentID, Secret: *secret, Latency: *latency})
	hook, err := a.Listen(ctx, *listen)
	if err != nil {
		_ = a.Close(context.Background())
		return err
	}
	fmt.Fprintf(stdout, "Demo agent %q registered with %s; re-run webhook %s\n", *agentID, c.BaseURL, hook)
	id, runErr := a.Run(ctx, demoagent.Task{Settings: demoagent.Settings{Model: *model}})
	if runErr != nil {
		fmt.Fprintf(stdout, "Sent run %s: failed (%v)\n", id, runErr)
	} else {
		fmt.Fprintf(stdout, "Sent run %s: completed\n", id)
	}
	fmt.Fprintf(stdout, `
Next:
  open   %[1]s/runs/%[2]s
  rerun  agenttrace rerun %[2]s --model gpt-4o
  or     curl -X POST -H "Authorization: Bearer $AGENTTRACE_KEY" -d '{"model":"gpt-4o"}' %[1]s/api/v1/runs/%[2]s/rerun

Serving re-runs until interrupted (Ctrl-C).
`, c.BaseURL, id)
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return a.Close(closeCtx)
}
