package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace/export"
	"golang.org/x/term"
)

func init() { commands["export"] = runExport }

// exportPoll is how often the CLI polls a running export.
var exportPoll = 300 * time.Millisecond

// stdinIsTerminal and stderrIsTerminal are variables so tests can pretend.
var (
	stdinIsTerminal            = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
	stderrIsTerminal           = func() bool { return term.IsTerminal(int(os.Stderr.Fd())) }
	stdin            io.Reader = os.Stdin
)

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: agenttrace export [-q QUERY] [--agent ID] [--format jsonl|json] [--gzip] -o FILE [--yes]")
		fs.PrintDefaults()
	}
	newClient := clientFlags(fs)
	q := fs.String("q", "", "query selecting the runs, e.g. 'status:failed after:7d' (see docs/query.md)")
	agent := fs.String("agent", "", "export only this agent's runs")
	format := fs.String("format", "jsonl", "jsonl (one run per line) or json (one document)")
	from := fs.String("from", "", "runs started at or after this RFC 3339 time or date")
	to := fs.String("to", "", "runs started before this RFC 3339 time or date")
	status := fs.String("status", "", "runs with this status: pending, processing, completed, failed")
	gz := fs.Bool("gzip", false, "gzip the file")
	out := fs.String("o", "", "the file to write (required)")
	yes := fs.Bool("yes", false, "do not ask to confirm")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("export: -o FILE is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected argument %q (quote the query: -q 'a b')", fs.Arg(0))
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	req := export.Request{ResourceType: export.ResourceType, AgentID: *agent, Format: *format, Gzip: *gz,
		Filters: export.Filters{Q: *q, From: *from, To: *to, Status: *status}}
	est, err := c.EstimateExport(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Export of %d runs (%d steps), about %s.\n", est.Runs, est.Steps, humanBytes(est.Bytes))
	if !*yes && stdinIsTerminal() {
		fmt.Fprint(stderr, "Export? [y/N] ")
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return errors.New("export: not confirmed")
		}
	}
	v, err := c.CreateExport(ctx, req)
	if err != nil {
		return err
	}
	bar := stderrIsTerminal()
	last := ""
	for v.Status != "completed" {
		switch v.Status {
		case "failed", "canceled":
			if bar {
				fmt.Fprintln(stderr)
			}
			return fmt.Errorf("export %s %s: %s", v.ID, v.Status, v.Error)
		}
		if bar {
			fmt.Fprintf(stderr, "\r%s", progressBar(v.Progress.RunsWritten, v.Progress.RunsTotal, 30))
		} else if v.Status != last {
			fmt.Fprintf(stderr, "export %s %s\n", v.ID, v.Status)
		}
		last = v.Status
		select {
		case <-ctx.Done():
			return fmt.Errorf("export %s: stopped waiting (it goes on on the server): %w", v.ID, ctx.Err())
		case <-time.After(exportPoll):
		}
		if v, err = c.GetExport(ctx, v.ID); err != nil {
			return err
		}
	}
	if bar {
		fmt.Fprintf(stderr, "\r%s\n", progressBar(v.Progress.RunsWritten, v.Progress.RunsWritten, 30))
	}
	n, err := c.DownloadExportFile(ctx, v.ID, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Wrote %s: %d runs, %s (export %s).\n", *out, v.Progress.RunsWritten, humanBytes(n), v.ID)
	return nil
}

func progressBar(done, total int64, width int) string {
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	n := int(frac * float64(width))
	return fmt.Sprintf("[%s%s] %3.0f%% %d/%d runs", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, done, total)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
