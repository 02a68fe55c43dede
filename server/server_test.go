package server_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/server"
)

func TestFirstStartWritesAdminKeyOnce(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close(context.Background())
	path := filepath.Join(dir, "admin.key")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.key mode %v, want 0600", fi.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	secret := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(secret, agenttrace.KeyPrefix) || !strings.Contains(out.String(), secret) {
		t.Fatalf("key not printed: %q", out.String())
	}
	// A second start prints nothing new and the key still works.
	out.Reset()
	srv, err = server.New(context.Background(), server.Config{DataDir: dir, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	if out.Len() != 0 {
		t.Fatalf("second start printed %q", out.String())
	}
	k, err := srv.Store.APIKeyByHash(context.Background(), agenttrace.HashSecret(secret))
	if err != nil || !k.ServerAdmin || k.AccountID != agenttrace.DefaultAccountID {
		t.Fatalf("admin key: %+v %v", k, err)
	}
	if k.Hash == secret {
		t.Fatal("key stored in clear")
	}
}

func TestDemoFillsAnEmptyStoreOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for range 2 {
		srv, err := server.New(ctx, server.Config{DataDir: dir, Demo: true, BootstrapKey: "at_demo_key_123456"})
		if err != nil {
			t.Fatal(err)
		}
		// the demo agent's one failing run is stored once WaitDemoAgent
		// answers, and a restart does not send another
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = srv.WaitDemoAgent(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		a, err := srv.Store.GetAgent(ctx, agenttrace.DefaultAccountID, "support-demo")
		if err != nil || a.Runs != 1 || a.FailedRuns != 1 {
			t.Fatalf("support-demo after WaitDemoAgent: %+v %v", a, err)
		}
		n, _ := srv.Store.CountRuns(ctx, agenttrace.DefaultAccountID, nil)
		srv.Close(ctx)
		if n < 300 || n > 500 {
			t.Fatalf("demo runs = %d", n)
		}
	}
}

// Every write the server acknowledged before shutdown is in the store after it.
func TestGracefulShutdownKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{DataDir: dir, BootstrapKey: "at_shutdown_key_1234"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln) }()
	c := client.New("http://"+ln.Addr().String(), "at_shutdown_key_1234")
	var acked atomic.Int64
	var ids sync.Map
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := agenttrace.NewID("r")
				_, err := c.Ingest(context.Background(), agenttrace.Batch{Runs: []agenttrace.Run{{ID: id, AgentID: "a", Status: agenttrace.StatusCompleted}}})
				if err != nil {
					return
				}
				ids.Store(id, w)
				acked.Add(1)
			}
		}()
	}
	for acked.Load() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && err != http.ErrServerClosed {
		t.Fatalf("serve: %v", err)
	}
	wg.Wait()
	srv2, err := server.New(context.Background(), server.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close(context.Background())
	missing := 0
	ids.Range(func(k, _ any) bool {
		if _, err := srv2.Store.GetRun(context.Background(), agenttrace.DefaultAccountID, k.(string)); err != nil {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged runs lost of %d", missing, acked.Load())
	}
}

// TestJudgeToInternalAddressRefused: without AGENTTRACE_JUDGE_ALLOW, an
// account admin cannot point a judge at the server's own network.
func TestJudgeToInternalAddressRefused(t *testing.T) {
	ctx := context.Background()
	const key = "at_judge_guard_test_0123456789"
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), BootstrapKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close(ctx) }()
	body := `{"name":"j","kind":"judge","config":{"url":"http://169.254.169.254/v1","model":"m"},"api_key":"x"}`
	req, _ := http.NewRequest("POST", ts.URL+"/api/v1/evaluators", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "AGENTTRACE_JUDGE_ALLOW") {
		t.Fatalf("%d %s: want 400 naming AGENTTRACE_JUDGE_ALLOW", resp.StatusCode, msg)
	}
}

// TestNULInTheURLRefused: a NUL character (%00) in a URL's path or query is
// a 400 for the API and the UI alike (on PostgreSQL every handler answered
// 500: it cannot take one as a parameter).
func TestNULInTheURLRefused(t *testing.T) {
	const key = "at_nultest_0123456789abcdef0123456789"
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), Out: io.Discard, BootstrapKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, path := range []string{"/api/v1/runs/a%00b", "/api/v1/runs?q=tag:a%00", "/runs/a%00b", "/api/v1/agents/x%00"} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(body), "NUL character") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/runs/a%2500b", nil) // a literal "%00"
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("an escaped %%: %d, want 404", resp.StatusCode)
	}
}
