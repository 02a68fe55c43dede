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
	fs.StringVar(&o.Text, "text", loadgen.TextProse, "payload text: "+loadgen.TextProse+" (a 30,000-word vocabulary with Zipf's law, a reference per payload, like agent transcripts) or "+loadgen.TextRepeat+" (ten words repeated, the payloads of the older figures in docs/benchmarks.md; it flatters the full-text index)")
	otlp := fs.Bool("otlp", false, "send OTLP/HTTP protobuf traces (one span per run and per step) instead of ingest batches")
	otlpURL := fs.String("otlp-url", "", "with --otlp: the traces endpoint (default: --url + /v1/traces); any OTLP/HTTP receiver, e.g. Jaeger's http://127.0.0.1:4318/v1/traces")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Text != loadgen.TextProse && o.Text != loadgen.TextRepeat {
		return fmt.Errorf("--text: %q is not %s or %s", o.Text, loadgen.TextProse, loadgen.TextRepeat)
	}
	var res loadgen.Result
	unit := "steps"
	c, keyErr := newClient()
	switch {
	case *otlp:
		unit = "spans"
		t := loadgen.OTLPTarget{URL: *otlpURL, Headers: map[string]string{}}
		if keyErr == nil {
			t.Headers["Authorization"] = "Bearer " + c.Key
			if t.URL == "" {
				t.URL = c.BaseURL + "/v1/traces"
			}
		} else if t.URL == "" {
			return keyErr
		} // else another backend's receiver, which needs no agenttrace key
		res = loadgen.RunOTLP(ctx, t, o)
	case keyErr != nil:
		return keyErr
	default:
		res = loadgen.Run(ctx, c, o)
	}
	fmt.Fprintf(stdout, "sent %d runs, %d %s in %s: %.0f %s/s, %.0f runs/s, %d failed batches\n",
		res.Runs, res.Steps, unit, res.Elapsed.Round(1e6), res.StepsPerSecond(), unit, float64(res.Runs)/res.Elapsed.Seconds(), res.Errors)
	if res.Errors > 0 {
		return fmt.Errorf("%d batches failed; the first: %s", res.Errors, res.FirstError)
	}
	return nil
}
