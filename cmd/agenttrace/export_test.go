package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/server"
)

const testKey = "at_clitestadminkey000000000000000000000"

func startTestServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), BootstrapKey: testKey, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Close(c)
	})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitDemoAgent(wctx); err != nil {
		t.Fatalf("the demo agent's first run: %v", err)
	}
	return ts.URL
}

func TestExportCommand(t *testing.T) {
	url := startTestServer(t)
	exportPoll = 20 * time.Millisecond
	ctx := context.Background()
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "failed.jsonl")
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"export", "--url", url, "--key", testKey, "-q", "status:failed", "--format", "jsonl", "-o", jsonl, "--yes"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "Export of ") || !strings.Contains(stdout.String(), "Wrote "+jsonl) {
		t.Fatalf("output:\n%s%s", stdout.String(), stderr.String())
	}
	want, err := client.New(url, testKey).ListRuns(ctx, "status:failed", 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	n := 0
	for sc.Scan() {
		var r struct {
			Status string            `json:"status"`
			Steps  []json.RawMessage `json:"steps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Status != "failed" {
			t.Fatalf("line %d: %v %q", n+1, err, r.Status)
		}
		n++
	}
	if n == 0 || n != len(want.Runs) {
		t.Fatalf("%d runs in the file, %d failed runs on the server", n, len(want.Runs))
	}
	if _, err := os.Stat(jsonl + ".part"); !os.IsNotExist(err) {
		t.Fatal("the .part file was left behind")
	}

	// JSON, gzipped, one agent.
	gz := filepath.Join(dir, "bot.json.gz")
	stdout.Reset()
	stderr.Reset()
	if code := run(ctx, []string{"export", "--url", url, "--key", testKey, "--agent", "support-bot", "--format", "json", "--gzip", "-o", gz, "--yes"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if b, _ := os.ReadFile(gz); len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatal("not a gzip file")
	}

	// On a terminal it asks; anything but y stops before creating a job.
	stdinIsTerminal = func() bool { return true }
	stdin = strings.NewReader("n\n")
	defer func() { stdinIsTerminal = func() bool { return false }; stdin = os.Stdin }()
	stderr.Reset()
	no := filepath.Join(dir, "no.jsonl")
	if code := run(ctx, []string{"export", "--url", url, "--key", testKey, "-o", no}, &stdout, &stderr); code == 0 {
		t.Fatal("export went on without confirmation")
	}
	if !strings.Contains(stderr.String(), "Export? [y/N]") {
		t.Fatalf("no prompt: %s", stderr.String())
	}
	if list, _ := client.New(url, testKey).ListExports(ctx); len(list) != 2 {
		t.Fatalf("%d exports, want 2", len(list))
	}
	// Bad input is the server's 400, shown as is.
	stderr.Reset()
	if code := run(ctx, []string{"export", "--url", url, "--key", testKey, "-q", "colour:red", "-o", no, "--yes"}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "colour:red") {
		t.Fatalf("bad query: %d %s", code, stderr.String())
	}
}
