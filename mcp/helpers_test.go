// The test environment: a real server, and MCP clients over both transports.

package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/server"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

const adminKey = "at_mcptestbootstrapadminkey0000000000"

// env is a real server with demo data, reached over HTTP.
type env struct {
	t   *testing.T
	url string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), BootstrapKey: adminKey, Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close(context.Background())
	})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitDemoAgent(wctx); err != nil {
		t.Fatalf("the demo agent's first run: %v", err)
	}
	return &env{t: t, url: ts.URL}
}

// api calls the HTTP API and decodes the answer into out; it answers the status.
func (e *env) api(key, method, path string, body, out any) int {
	e.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type bearerTransport struct{ key string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

// connectHTTP opens an MCP session on the server's /mcp with key.
func (e *env) connectHTTP(key string) *sdk.ClientSession {
	e.t.Helper()
	c := sdk.NewClient(&sdk.Implementation{Name: "agenttrace-test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &sdk.StreamableClientTransport{
		Endpoint: e.url + "/mcp", HTTPClient: &http.Client{Transport: bearerTransport{key}}, DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err != nil {
		e.t.Fatalf("connect /mcp: %v", err)
	}
	e.t.Cleanup(func() { cs.Close() })
	return cs
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// binary builds cmd/agenttrace once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agenttrace-mcp-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "agenttrace")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/agenttrace").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/agenttrace: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (b *buildError) Error() string { return b.err.Error() + "\n" + b.out }

// connectStdio runs `agenttrace mcp --url … --key …` and opens an MCP session on its stdio.
func (e *env) connectStdio(key string) *sdk.ClientSession {
	e.t.Helper()
	cmd := exec.Command(binary(e.t), "mcp", "--url", e.url, "--key", key)
	cmd.Stderr = os.Stderr
	c := sdk.NewClient(&sdk.Implementation{Name: "agenttrace-test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &sdk.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}, nil)
	if err != nil {
		e.t.Fatalf("connect agenttrace mcp: %v", err)
	}
	e.t.Cleanup(func() { cs.Close() })
	return cs
}

// call calls a tool and decodes its structured result into out; it answers
// the error text when the tool failed.
func call(t *testing.T, cs *sdk.ClientSession, name string, args map[string]any, out any) (toolErr string) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error: %v", name, err)
	}
	if res.IsError {
		var parts []string
		for _, c := range res.Content {
			if tc, ok := c.(*sdk.TextContent); ok {
				parts = append(parts, tc.Text)
			}
		}
		if len(parts) == 0 {
			t.Fatalf("%s: tool error without a message", name)
		}
		return strings.Join(parts, "\n")
	}
	if res.StructuredContent == nil {
		t.Fatalf("%s: no structured result", name)
	}
	if out != nil {
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decoding %s: %v", name, b, err)
		}
	}
	return ""
}

func mustCall(t *testing.T, cs *sdk.ClientSession, name string, args map[string]any, out any) {
	t.Helper()
	if msg := call(t, cs, name, args, out); msg != "" {
		t.Fatalf("%s(%v): tool error: %s", name, args, msg)
	}
}

func wantToolError(t *testing.T, cs *sdk.ClientSession, name string, args map[string]any, contains ...string) string {
	t.Helper()
	msg := call(t, cs, name, args, nil)
	if msg == "" {
		t.Fatalf("%s(%v): succeeded, want a tool error", name, args)
	}
	for _, c := range contains {
		if !strings.Contains(msg, c) {
			t.Errorf("%s(%v): error %q does not contain %q", name, args, msg, c)
		}
	}
	return msg
}

// sameJSON compares two values by their JSON.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	var g, w any
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	_ = json.Unmarshal(gb, &g)
	_ = json.Unmarshal(wb, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs:\n got  %s\n want %s", what, gb, wb)
	}
}

var allTools = []string{"search_runs", "get_run", "get_step", "latest_failed_run", "compare_runs", "list_agents", "usage",
	"create_resource_export", "get_resource_export", "run_evaluation", "get_evaluation"}
