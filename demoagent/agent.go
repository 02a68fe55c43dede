// Package demoagent is a sample support agent built on the Go SDK, with a
// scripted model (no network, deterministic): it answers customer questions
// with a few tool calls (lookup_order, search_kb), fails in realistic ways
// depending on its model and prompt, and serves the re-run webhook so that
// agenttrace's debugging loop can be shown end to end:
//
//   - model "gpt-4o-mini" (the default) passes the order id to lookup_order
//     as a number: the tool rejects it with a ValidationError;
//   - a prompt that does not mention "order id" makes the model look the
//     order up by e-mail, which times out (ToolTimeoutError);
//   - model "rate-limited-model" is answered 429 (RateLimitError);
//   - any other model (gpt-4o, claude-sonnet-4, …) with the default prompt
//     answers the question.
//
// `agenttrace demo-agent` runs it against a server; `agenttrace serve
// --demo` runs it inside the server.
package demoagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/sdk"
)

// Defaults of the agent's settings.
const (
	DefaultAgentID = "support-demo"
	DefaultModel   = "gpt-4o-mini"
	DefaultPrompt  = "You are the support agent of Acme Shop. Look the customer's order up with lookup_order, " +
		"passing the order id exactly as the customer wrote it (a string like \"A1042\"), check the policy with " +
		"search_kb, then answer in three sentences at most."
	// DefaultListen is where `agenttrace demo-agent` serves its webhook.
	DefaultListen = "127.0.0.1:7071"
	// MaxClockSkew is how old (or how far in the future) a signed re-run
	// request may be.
	MaxClockSkew = 5 * time.Minute
)

// Config configures an agent.
type Config struct {
	URL     string // the agenttrace server, e.g. http://127.0.0.1:7070
	Key     string // an admin API key (registers the agent, reads the re-run secret, ingests)
	AgentID string // default support-demo
	// Secret verifies re-run requests; empty: read from GET /api/v1/rerun-secret.
	Secret string
	// HTTPClient reaches the server (serve --demo passes an in-process one).
	HTTPClient *http.Client
	// Latency scales the simulated model and tool latencies: 1 is
	// realistic (an LLM call takes about a second), 0 is instant.
	Latency float64
	Logger  *slog.Logger
	// Now is the clock checking request timestamps (tests).
	Now func() time.Time
}

// Settings are what a run is configured with (and what a re-run overrides).
type Settings struct {
	Model  string `json:"model"`
	Prompt string `json:"prompt"`
}

// Ticket is the input of a run: a customer's question.
type Ticket struct {
	Customer string `json:"customer,omitempty"`
	Question string `json:"question"`
}

// DefaultTicket is the question the first run asks.
var DefaultTicket = Ticket{
	Customer: "jane.doe@example.com",
	Question: "Hi, my order A1042 was supposed to arrive on Monday and the tracking hasn't moved since. " +
		"Where is it, and can I get the shipping fee refunded?",
}

// Agent is a running demo agent.
type Agent struct {
	cfg    Config
	sdk    *sdk.Client
	api    *client.Client
	ctx    context.Context // background runs live as long as the agent
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	secret    string
	refreshed time.Time
	seen      map[string]string // re-run request id → new run id
	rerunURL  string
	srv       *http.Server
}

// New returns an agent; it sends nothing until asked.
func New(cfg Config) *Agent {
	if cfg.AgentID == "" {
		cfg.AgentID = DefaultAgentID
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	a := &Agent{cfg: cfg, secret: cfg.Secret, seen: map[string]string{}}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.sdk = sdk.New(sdk.Options{URL: cfg.URL, Key: cfg.Key, HTTPClient: cfg.HTTPClient, FlushInterval: 200 * time.Millisecond, Logger: cfg.Logger})
	a.api = client.New(cfg.URL, cfg.Key)
	a.api.HTTP = cfg.HTTPClient
	return a
}

// AgentID is the agent's id.
func (a *Agent) AgentID() string { return a.cfg.AgentID }

// RerunURL is the webhook URL the agent registered ("" before Register).
func (a *Agent) RerunURL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rerunURL
}

// Register tells the server the agent's name and rerun_url
// (PUT /api/v1/agents/{id}) and reads the re-run secret unless configured.
func (a *Agent) Register(ctx context.Context, rerunURL string) error {
	body := map[string]string{
		"name":        "Support demo agent",
		"description": "agenttrace's demo support agent (scripted model, no network): answers order questions with lookup_order and search_kb. Re-run it with model gpt-4o to fix its failures.",
		"rerun_url":   rerunURL,
	}
	if err := a.api.Do(ctx, http.MethodPut, "/api/v1/agents/"+url.PathEscape(a.cfg.AgentID), body, nil); err != nil {
		return fmt.Errorf("register agent %s: %w", a.cfg.AgentID, err)
	}
	a.mu.Lock()
	a.rerunURL = rerunURL
	a.mu.Unlock()
	if a.cfg.Secret == "" {
		if err := a.fetchSecret(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (a *Agent) fetchSecret(ctx context.Context) error {
	var out struct {
		Secret string `json:"secret"`
	}
	if err := a.api.Do(ctx, http.MethodGet, "/api/v1/rerun-secret", nil, &out); err != nil {
		return fmt.Errorf("read the re-run secret (GET /api/v1/rerun-secret needs an admin key; or pass --secret): %w", err)
	}
	a.mu.Lock()
	a.secret, a.refreshed = out.Secret, time.Now()
	a.mu.Unlock()
	return nil
}

// Listen serves the webhook on addr (host:port; port 0 picks a free one),
// registers the agent with the webhook's URL, and answers that URL.
func (a *Agent) Listen(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	a.mu.Lock()
	a.srv = srv
	a.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	u := "http://" + ln.Addr().String() + "/rerun"
	if err := a.Register(ctx, u); err != nil {
		_ = srv.Close()
		return "", err
	}
	return u, nil
}

// Close stops the webhook, waits for runs in progress and flushes them.
func (a *Agent) Close(ctx context.Context) error {
	a.mu.Lock()
	srv := a.srv
	a.mu.Unlock()
	if srv != nil {
		_ = srv.Shutdown(ctx)
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		a.cancel()
	}
	a.cancel()
	return a.sdk.Close(ctx)
}

// Flush waits until every finished run was sent.
func (a *Agent) Flush(ctx context.Context) error { return a.sdk.Flush(ctx) }

// Task is one run to do.
type Task struct {
	Ticket   Ticket
	Settings Settings
	Metadata map[string]any
	RunID    string // "" generates one
	RerunOf  string
	Trigger  string // default "api"
}

// Run does one task, records it and waits until it was sent; it answers
// the run's id and its failure, if any (a failed run is still recorded).
func (a *Agent) Run(ctx context.Context, t Task) (string, error) {
	id, err := a.run(ctx, t)
	if ferr := a.sdk.Flush(ctx); ferr != nil && err == nil {
		return id, ferr
	}
	if st := a.sdk.Stats(); st.LastError != "" && st.Dropped > 0 {
		a.cfg.Logger.Warn("demo agent: runs dropped", "err", st.LastError)
	}
	return id, err
}

// Stats are the SDK's counters (what was sent or dropped).
func (a *Agent) Stats() sdk.Stats { return a.sdk.Stats() }

// Handler serves POST /rerun (the webhook) and GET / (a hint).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rerun", a.serveRerun)
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "agenttrace demo agent %q: agenttrace POSTs signed re-run requests to /rerun\n", a.cfg.AgentID)
	})
	return mux
}

// rerunRequest is the webhook body (see package rerun).
type rerunRequest struct {
	RerunID   string          `json:"rerun_id"`
	RerunOf   string          `json:"rerun_of"`
	RunID     string          `json:"run_id"`
	AgentID   string          `json:"agent_id"`
	Trigger   string          `json:"trigger"`
	Input     json.RawMessage `json:"input"`
	Metadata  map[string]any  `json:"metadata"`
	Timestamp int64           `json:"timestamp"`
	Overrides struct {
		Prompt   string          `json:"prompt"`
		Model    string          `json:"model"`
		Metadata map[string]any  `json:"metadata"`
		Input    json.RawMessage `json:"input"`
	} `json:"overrides"`
}

func httpError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg}})
}

func (a *Agent) serveRerun(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		httpError(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	if err := a.verify(r.Context(), body, r.Header.Get("X-Agenttrace-Signature"), r.Header.Get("X-Agenttrace-Timestamp")); err != nil {
		a.cfg.Logger.Warn("demo agent: re-run request rejected", "err", err)
		httpError(w, http.StatusUnauthorized, err.Error())
		return
	}
	var req rerunRequest
	if err := json.Unmarshal(body, &req); err != nil {
		httpError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	if strconv.FormatInt(req.Timestamp, 10) != r.Header.Get("X-Agenttrace-Timestamp") {
		httpError(w, http.StatusUnauthorized, "timestamp: the signed body's timestamp differs from X-Agenttrace-Timestamp")
		return
	}
	if req.RunID == "" || req.RerunOf == "" {
		httpError(w, http.StatusBadRequest, "run_id and rerun_of: required")
		return
	}
	if req.AgentID != "" && req.AgentID != a.cfg.AgentID {
		httpError(w, http.StatusBadRequest, fmt.Sprintf("agent_id: this is agent %q, not %q", a.cfg.AgentID, req.AgentID))
		return
	}
	a.mu.Lock()
	prev, dup := a.seen[req.RerunID]
	if !dup {
		a.seen[req.RerunID] = req.RunID
	}
	a.mu.Unlock()
	if dup {
		writeJSON(w, http.StatusOK, map[string]any{"accepted": true, "duplicate": true, "run_id": prev})
		return
	}
	task := taskFor(req)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		id, err := a.Run(a.ctx, task)
		a.cfg.Logger.Info("demo agent: re-run finished", "run", id, "rerun_of", task.RerunOf, "model", task.Settings.Model, "err", err)
	}()
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true, "run_id": req.RunID, "model": task.Settings.Model})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// taskFor builds the re-run: the original run's settings (kept in its
// metadata), then the overrides.
func taskFor(req rerunRequest) Task {
	t := Task{RunID: req.RunID, RerunOf: req.RerunOf, Trigger: "rerun", Settings: Settings{Model: DefaultModel, Prompt: DefaultPrompt}}
	md := map[string]any{}
	maps.Copy(md, req.Metadata)
	delete(md, "tags")
	if m, ok := md["model"].(string); ok && m != "" {
		t.Settings.Model = m
	}
	if p, ok := md["prompt"].(string); ok && p != "" {
		t.Settings.Prompt = p
	}
	maps.Copy(md, req.Overrides.Metadata)
	if req.Overrides.Model != "" {
		t.Settings.Model = req.Overrides.Model
	}
	if req.Overrides.Prompt != "" {
		t.Settings.Prompt = req.Overrides.Prompt
	}
	md["rerun_id"] = req.RerunID
	t.Metadata = md
	t.Ticket = ticketOf(req.Input)
	if len(req.Overrides.Input) > 0 {
		t.Ticket = ticketOf(req.Overrides.Input)
	}
	return t
}

// ticketOf reads an input: a ticket object, or a bare question string.
func ticketOf(raw json.RawMessage) Ticket {
	var t Ticket
	if json.Unmarshal(raw, &t) == nil && t.Question != "" {
		return t
	}
	var q string
	if json.Unmarshal(raw, &q) == nil && q != "" {
		return Ticket{Question: q}
	}
	return DefaultTicket
}

// verify checks the signature of a re-run request and its freshness. When
// the signature does not match and the secret came from the server, the
// secret is read again once (it may have been rotated).
func (a *Agent) verify(ctx context.Context, body []byte, sig, ts string) error {
	if sig == "" || ts == "" {
		return errors.New("missing X-Agenttrace-Signature or X-Agenttrace-Timestamp: only agenttrace may ask for a re-run")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("X-Agenttrace-Timestamp: %q is not a Unix time", ts)
	}
	if d := a.cfg.Now().Sub(time.Unix(sec, 0)); d > MaxClockSkew || d < -MaxClockSkew {
		return fmt.Errorf("X-Agenttrace-Timestamp: the request was signed %s away from now (more than %s): replayed or clocks out of sync", d.Round(time.Second), MaxClockSkew)
	}
	a.mu.Lock()
	secret, refreshed := a.secret, a.refreshed
	a.mu.Unlock()
	if secret != "" && ValidSignature(secret, body, sig) {
		return nil
	}
	if a.cfg.Secret == "" && time.Since(refreshed) > 10*time.Second {
		if err := a.fetchSecret(ctx); err == nil {
			a.mu.Lock()
			secret = a.secret
			a.mu.Unlock()
			if ValidSignature(secret, body, sig) {
				return nil
			}
		}
	}
	return errors.New("X-Agenttrace-Signature: the signature does not match (wrong secret, or the body was changed)")
}
