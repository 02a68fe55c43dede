// Package rerun asks agents to run again. POST /api/v1/runs/{id}/rerun sends
// the run's input and the caller's overrides (prompt, model, metadata, input)
// to the agent's rerun_url, signed with the account's secret, and records
// the request; the agent then reports the new run (with rerun_of and
// trigger "rerun") through the SDK or the ingest API like any other run.
//
// The webhook call is made synchronously, within the request, with a 10 s
// timeout: the person who pressed Re-run learns at once whether the agent
// took the request or why not (unreachable, timed out, answered 4xx/5xx),
// and a failed call is not retried behind their back (a re-run is not
// idempotent for the agent: it spends model credits). Agents are expected
// to answer 2xx as soon as they have accepted the request and to run in the
// background; the new run shows up when the agent reports it.
package rerun

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

// Webhook headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the raw
	// body keyed with the account's re-run secret.
	SignatureHeader = "X-Agenttrace-Signature"
	// TimestampHeader carries the Unix time (seconds) the request was
	// signed; the body's "timestamp" holds the same value, so it is signed.
	TimestampHeader = "X-Agenttrace-Timestamp"
	// IDHeader carries the re-run request's id.
	IDHeader = "X-Agenttrace-Rerun-Id"
)

// DefaultTimeout is how long the agent has to answer the webhook.
const DefaultTimeout = 10 * time.Second

// Scope is the API key scope POST /api/v1/runs/{id}/rerun needs: a re-run
// makes the agent produce a new run, the same right as reporting runs
// (admin keys, which imply every scope, may too; read-only keys may not).
const Scope = agenttrace.ScopeIngest

// Outcomes of a request.
const (
	Accepted = "accepted"
	Failed   = "failed"
)

// Overrides change the re-run; empty fields keep the original's settings.
type Overrides struct {
	Prompt   string          `json:"prompt,omitempty"`
	Model    string          `json:"model,omitempty"`
	Metadata map[string]any  `json:"metadata,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
}

// Request is the body POSTed to the agent's rerun_url.
type Request struct {
	RerunID string `json:"rerun_id"`
	// RerunOf is the run to re-run; RunID the id to report the new run
	// under (with rerun_of = RerunOf and trigger = "rerun").
	RerunOf string `json:"rerun_of"`
	RunID   string `json:"run_id"`
	AgentID string `json:"agent_id"`
	Trigger string `json:"trigger"`
	// Input is the original run's input, or overrides.input.
	Input     json.RawMessage `json:"input"`
	Overrides Overrides       `json:"overrides"`
	// Metadata is the original run's metadata (the settings it ran with).
	Metadata  map[string]any `json:"metadata,omitempty"`
	Timestamp int64          `json:"timestamp"`
}

// Sign answers the signature header value of body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header value in constant time.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(strings.TrimSpace(signature)))
}

// NewSecret returns a fresh signing secret.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "whsec_" + hex.EncodeToString(b)
}

// Service serves the re-run API.
type Service struct {
	Store   store.Store
	Reruns  store.Reruns
	API     *api.Server
	HTTP    *http.Client
	Timeout time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// New answers the service, or false when the store keeps no re-runs.
func New(st store.Store, a *api.Server, logger *slog.Logger) (*Service, bool) {
	rs, ok := st.(store.Reruns)
	if !ok {
		return nil, false
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{Store: st, Reruns: rs, API: a, Logger: logger, Now: time.Now, Timeout: DefaultTimeout,
		HTTP: &http.Client{
			// A redirect is an answer, not something to follow with a signed body.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}, true
}

// Register mounts the routes.
func (s *Service) Register(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/runs/{id}/rerun", s.API.Auth(Scope, s.rerun))
	mux.Handle("GET /api/v1/runs/{id}/reruns", s.API.Auth(agenttrace.ScopeRead, s.list))
	mux.Handle("GET /api/v1/rerun-secret", s.API.Auth(agenttrace.ScopeAdmin, s.secret))
	mux.Handle("POST /api/v1/rerun-secret/rotate", s.API.Auth(agenttrace.ScopeAdmin, s.rotate))
}

func keyOf(r *http.Request) agenttrace.APIKey {
	k, _ := api.KeyFrom(r.Context())
	return k
}

// maxBody bounds the overrides.
const maxBody = 2 << 20

func decodeOverrides(w http.ResponseWriter, r *http.Request) (Overrides, error) {
	var o Overrides
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return o, agenttrace.Errorf(agenttrace.ETOOLARGE, "body: larger than the limit of %d bytes", maxBody)
		}
		return o, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return o, nil // no overrides: re-run as it was
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := api.DecodeJSON(w, r, maxBody, &o); err != nil {
		return o, err
	}
	return o, o.check()
}

func (o *Overrides) check() error {
	if len(o.Prompt) > agenttrace.MaxPayloadBytes {
		return agenttrace.Errorf(agenttrace.EINVALID, "prompt: %d bytes, the limit is %d", len(o.Prompt), agenttrace.MaxPayloadBytes)
	}
	if len(o.Model) > agenttrace.MaxShortLen {
		return agenttrace.Errorf(agenttrace.EINVALID, "model: %d bytes, the limit is %d", len(o.Model), agenttrace.MaxShortLen)
	}
	if b, _ := json.Marshal(o.Metadata); len(b) > agenttrace.MaxPayloadBytes {
		return agenttrace.Errorf(agenttrace.EINVALID, "metadata: %d bytes, the limit is %d", len(b), agenttrace.MaxPayloadBytes)
	}
	if len(o.Input) > agenttrace.MaxPayloadBytes {
		return agenttrace.Errorf(agenttrace.EINVALID, "input: %d bytes, the limit is %d", len(o.Input), agenttrace.MaxPayloadBytes)
	}
	if string(bytes.TrimSpace(o.Input)) == "null" {
		o.Input = nil
	}
	return nil
}

func (o Overrides) empty() bool {
	return o.Prompt == "" && o.Model == "" && len(o.Metadata) == 0 && len(o.Input) == 0
}

// Answer is what a successful POST /api/v1/runs/{id}/rerun returns (202).
type Answer struct {
	Rerun      store.Rerun `json:"rerun"`
	NewRunID   string      `json:"new_run_id"`
	RunURL     string      `json:"run_url"`     // the API path of the new run (404 until the agent reports it)
	CompareURL string      `json:"compare_url"` // the API path comparing the original with the new run
	Message    string      `json:"message"`
}

func (s *Service) rerun(w http.ResponseWriter, r *http.Request) {
	k := keyOf(r)
	ov, err := decodeOverrides(w, r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	ans, err := s.Rerun(r.Context(), k, r.PathValue("id"), ov)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusAccepted, ans)
}

// Rerun asks the agent of run id to run it again, records the request and
// answers it; a failed webhook call is an EBADGATEWAY error (also recorded).
func (s *Service) Rerun(ctx context.Context, k agenttrace.APIKey, id string, ov Overrides) (Answer, error) {
	acct := k.AccountID
	run, err := s.Store.GetRun(ctx, acct, id)
	if err != nil {
		if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
			return Answer{}, agenttrace.Errorf(agenttrace.ENOTFOUND, "run %q not found", id)
		}
		return Answer{}, err
	}
	agent, err := s.Store.GetAgent(ctx, acct, run.AgentID)
	if err != nil {
		return Answer{}, err
	}
	if agent.RerunURL == "" {
		return Answer{}, agenttrace.Errorf(agenttrace.ECONFLICT,
			"agent %q has no rerun_url, so agenttrace cannot ask it to run again: set one with PUT /api/v1/agents/%s {\"rerun_url\": \"https://your-agent.example/agenttrace/rerun\"} (admin key); see docs/debugging.md",
			run.AgentID, url.PathEscape(run.AgentID))
	}
	secret, err := s.Reruns.RerunSecret(ctx, acct, NewSecret())
	if err != nil {
		return Answer{}, err
	}
	now := s.Now().UTC()
	req := Request{
		RerunID: agenttrace.NewID("rr_"), RerunOf: run.ID, RunID: agenttrace.NewID("run_"), AgentID: run.AgentID,
		Trigger: "rerun", Input: run.Input, Overrides: ov, Metadata: run.Metadata, Timestamp: now.Unix(),
	}
	if len(ov.Input) > 0 {
		req.Input = ov.Input
	}
	if len(req.Input) == 0 {
		req.Input = json.RawMessage("null")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Answer{}, err
	}
	rec := store.Rerun{ID: req.RerunID, AccountID: acct, RunID: run.ID, NewRunID: req.RunID, AgentID: run.AgentID,
		URL: agent.RerunURL, KeyID: k.ID, KeyName: k.Name, Outcome: Accepted, CreatedAt: now}
	if !ov.empty() {
		rec.Overrides, _ = json.Marshal(ov)
	}
	start := time.Now()
	code, callErr := s.call(ctx, agent.RerunURL, secret, req, body)
	rec.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	rec.StatusCode = code
	if callErr != nil {
		rec.Outcome, rec.Error = Failed, callErr.Error()
	}
	// Record even when the caller went away: the agent may have been asked.
	if err := s.Reruns.CreateRerun(context.WithoutCancel(ctx), rec); err != nil {
		s.Logger.Error("recording a re-run request", "run", run.ID, "err", err)
		if callErr == nil {
			return Answer{}, err
		}
	}
	if callErr != nil {
		return Answer{}, agenttrace.Errorf(agenttrace.EBADGATEWAY, "re-run of %s not started: %s (recorded as re-run request %s; see GET /api/v1/runs/%s/reruns)",
			run.ID, callErr.Error(), rec.ID, url.PathEscape(run.ID))
	}
	return Answer{Rerun: rec, NewRunID: rec.NewRunID, RunURL: "/api/v1/runs/" + url.PathEscape(rec.NewRunID),
		CompareURL: "/api/v1/compare?a=" + url.QueryEscape(run.ID) + "&b=" + url.QueryEscape(rec.NewRunID),
		Message:    fmt.Sprintf("agent %s accepted the re-run (HTTP %d); it will report run %s with rerun_of %s", run.AgentID, code, rec.NewRunID, run.ID)}, nil
}

// excerpt is the start of an agent's answer for an error message: spaces
// folded, at most max bytes cut on a character boundary, invalid UTF-8 and
// NUL characters replaced (the message is stored, and PostgreSQL's text holds
// neither: cutting "é" in two failed the re-run's record there).
func excerpt(body []byte, max int) string {
	msg := strings.Join(strings.Fields(agenttrace.StorableText(string(body))), " ")
	if len(msg) <= max {
		return msg
	}
	for max > 0 && !utf8.RuneStart(msg[max]) {
		max--
	}
	return msg[:max] + "…"
}

// call POSTs the signed body; the error says, for people, what went wrong.
func (s *Service) call(ctx context.Context, target, secret string, req Request, body []byte) (int, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("the agent's rerun_url %s is not a valid URL: %v", target, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "agenttrace-rerun/1")
	hr.Header.Set(SignatureHeader, Sign(secret, body))
	hr.Header.Set(TimestampHeader, strconv.FormatInt(req.Timestamp, 10))
	hr.Header.Set(IDHeader, req.RerunID)
	resp, err := s.HTTP.Do(hr)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return 0, fmt.Errorf("the agent's rerun_url %s did not answer within %s", target, timeout)
		}
		return 0, fmt.Errorf("the agent's rerun_url %s is unreachable (%v); is the agent running? Change the URL with PUT /api/v1/agents/%s {\"rerun_url\": …}",
			target, err, url.PathEscape(req.AgentID))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		msg := excerpt(snippet, 300)
		if msg != "" {
			msg = ": " + msg
		}
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (does the agent verify signatures with the secret of GET /api/v1/rerun-secret?)"
		}
		return resp.StatusCode, fmt.Errorf("the agent's rerun_url %s answered %s%s%s", target, resp.Status, msg, hint)
	}
	return resp.StatusCode, nil
}

// View is a recorded request with whether its new run has arrived.
type View struct {
	store.Rerun
	NewRunArrived bool   `json:"new_run_arrived"`
	NewRunStatus  string `json:"new_run_status,omitempty"`
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	acct := keyOf(r).AccountID
	id := r.PathValue("id")
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "limit: %q is not an integer in 1..1000", v))
			return
		}
		limit = n
	}
	views, err := s.List(r.Context(), acct, id, limit)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"data": views, "next_cursor": ""})
}

// List answers the re-run requests of a run (ENOTFOUND for a run of another
// account), with the status of each new run that has arrived.
func (s *Service) List(ctx context.Context, acct, id string, limit int) ([]View, error) {
	if _, err := s.Store.GetRun(ctx, acct, id); err != nil {
		return nil, err
	}
	recs, err := s.Reruns.ListReruns(ctx, acct, id, limit)
	if err != nil {
		return nil, err
	}
	status := map[string]string{}
	page, err := s.Store.ListRuns(ctx, acct, store.ListOptions{Light: true, Limit: 1000,
		Query: &query.Query{Terms: []query.Term{{Field: query.FieldRerunOf, Op: query.OpEq, Value: id}}}})
	if err != nil {
		return nil, err
	}
	for _, run := range page.Runs {
		status[run.ID] = string(run.Status)
	}
	views := make([]View, 0, len(recs))
	for _, rec := range recs {
		st, ok := status[rec.NewRunID]
		views = append(views, View{Rerun: rec, NewRunArrived: ok, NewRunStatus: st})
	}
	return views, nil
}

func (s *Service) secret(w http.ResponseWriter, r *http.Request) {
	sec, err := s.Reruns.RerunSecret(r.Context(), keyOf(r).AccountID, NewSecret())
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, secretAnswer(sec))
}

func (s *Service) rotate(w http.ResponseWriter, r *http.Request) {
	sec := NewSecret()
	if err := s.Reruns.SetRerunSecret(r.Context(), keyOf(r).AccountID, sec); err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, secretAnswer(sec))
}

func secretAnswer(sec string) map[string]string {
	return map[string]string{
		"secret":           sec,
		"algorithm":        "HMAC-SHA256",
		"signature_header": SignatureHeader,
		"timestamp_header": TimestampHeader,
		"verify":           "hex HMAC-SHA256 of the raw request body keyed with secret, prefixed \"sha256=\"; compare in constant time and reject requests whose timestamp is more than 5 minutes old (docs/debugging.md)",
	}
}
