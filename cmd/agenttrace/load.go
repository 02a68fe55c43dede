package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/agenttrace/agenttrace/loadgen"
)

func init() { commands["load"] = runLoad }

// runLoad is the repo's load tool: it sends ingest batches to a server and
// reports the rate (see docs/benchmarks.md).
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	var o loadgen.Options
	fs.IntVar(&o.Batches, "batches", 100, "batches to send")
	fs.IntVar(&o.RunsPerBatch, "runs", 100, "runs per batch")
	fs.IntVar(&o.StepsPerRun, "steps", 10, "steps per run")
	fs.IntVar(&o.PayloadBytes, "payload", 1024, "bytes of each step input and output")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "parallel senders")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	res := loadgen.Run(ctx, c, o)
	fmt.Fprintf(stdout, "sent %d runs, %d steps in %s: %.0f steps/s, %.0f runs/s, %d failed batches\n",
		res.Runs, res.Steps, res.Elapsed.Round(1e6), res.StepsPerSecond(), float64(res.Runs)/res.Elapsed.Seconds(), res.Errors)
	if res.Errors > 0 {
		return fmt.Errorf("%d batches failed", res.Errors)
	}
	return nil
}
