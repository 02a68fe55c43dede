// Command agenttrace is the agenttrace server and its command-line client.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `agenttrace records every run of an AI agent as a trace.

Usage:
  agenttrace serve [--addr ADDR] [--data DIR] [--database-url URL] [--demo]
  agenttrace runs list [-q QUERY] [--limit N] [--json]
  agenttrace runs show ID [--json]
  agenttrace compare A B [--json]
  agenttrace rerun ID [--model M] [--prompt P] [--meta k=v] [--input JSON] [--wait]
  agenttrace export [-q QUERY] [--agent ID] --format json|jsonl [--gzip] -o FILE [--yes]
  agenttrace eval list|create|run …
  agenttrace mcp --url URL --key KEY          (MCP server over stdio)
  agenttrace demo-agent [--listen ADDR] [--agent ID]
  agenttrace load [--batches N] [--runs N] [--steps N] [--payload BYTES] [--text prose|repeat] [--concurrency N] [--otlp]
  agenttrace version

Client commands take --url (AGENTTRACE_URL, default http://127.0.0.1:7070)
and --key (AGENTTRACE_KEY, or the admin.key file of ./agenttrace-data).
`

// commands maps a command name to its implementation; files add theirs.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"serve": runServe,
	"runs":  runRuns,
	"version": func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fmt.Fprintln(stdout, "agenttrace", version)
		return nil
	},
}

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "agenttrace: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "agenttrace:", err)
		return 1
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
