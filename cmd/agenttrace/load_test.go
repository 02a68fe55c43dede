package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/client"
)

// TestLoadCommand: `agenttrace load` stores what it says it sent, with prose
// payloads the full-text search finds (each payload starts with its own
// reference), and refuses an unknown --text naming the flag.
func TestLoadCommand(t *testing.T) {
	url := startTestServer(t)
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"load", "--url", url, "--key", testKey, "--batches", "2", "--runs", "3", "--steps", "2", "--payload", "300"}, &stdout, &stderr)
	if code != 0 || !strings.Contains(stdout.String(), "sent 6 runs, 12 steps") {
		t.Fatalf("exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
	c := client.New(url, testKey)
	// Batch 0's first payload (seed 0<<24|1) is its first run's input.
	page, err := c.ListRuns(ctx, `"ref1"`, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Runs) != 1 || !strings.HasSuffix(page.Runs[0].ID, "-0-0") {
		t.Fatalf(`"ref1" finds %+v, want batch 0's first run`, page.Runs)
	}

	stdout.Reset()
	stderr.Reset()
	code = run(ctx, []string{"load", "--url", url, "--key", testKey, "--text", "lorem"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), `--text: "lorem" is not prose or repeat`) {
		t.Fatalf("--text lorem: exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}
}
