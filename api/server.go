// Package api serves the JSON HTTP API of agenttrace: ingest, queries,
// accounts and keys, prices, and the operational endpoints. Other packages
// (web, export, otlp, mcp) mount their routes beside it and reuse its
// authentication and error envelope.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Server holds what the API handlers need.
type Server struct {
	Store   store.Store
	Logger  *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
	// Ready reports whether the server takes traffic (false while shutting down).
	Ready func() bool
	// OnIngest hooks run after a batch is written (evaluations on new runs).
	OnIngest []func(ctx context.Context, accountID string, b *agenttrace.Batch)
}

// New returns a server over st, registering its metrics in reg.
func New(st store.Store, logger *slog.Logger, reg prometheus.Registerer) *Server {
	return &Server{Store: st, Logger: logger, Metrics: NewMetrics(reg), Now: time.Now, Ready: func() bool { return true }}
}

// Register mounts the API routes on mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)

	mux.Handle("POST /api/v1/ingest", s.Auth(agenttrace.ScopeIngest, s.ingest))
	mux.Handle("GET /api/v1/agents", s.Auth(agenttrace.ScopeRead, s.listAgents))
	mux.Handle("GET /api/v1/agents/{id}", s.Auth(agenttrace.ScopeRead, s.getAgent))
	mux.Handle("PUT /api/v1/agents/{id}", s.Auth(agenttrace.ScopeAdmin, s.putAgent))
	mux.Handle("GET /api/v1/runs", s.Auth(agenttrace.ScopeRead, s.listRuns))
	mux.Handle("GET /api/v1/runs/{id}", s.Auth(agenttrace.ScopeRead, s.getRun))
	mux.Handle("GET /api/v1/runs/{id}/steps", s.Auth(agenttrace.ScopeRead, s.listSteps))
	mux.Handle("GET /api/v1/usage", s.Auth(agenttrace.ScopeRead, s.usage))
	mux.Handle("GET /api/v1/prices", s.Auth(agenttrace.ScopeRead, s.getPrices))
	mux.Handle("PUT /api/v1/prices", s.Auth(agenttrace.ScopeAdmin, s.putPrices))

	mux.Handle("POST /api/v1/accounts", s.Auth(agenttrace.ScopeAdmin, s.createAccount))
	mux.Handle("GET /api/v1/keys", s.Auth(agenttrace.ScopeAdmin, s.listKeys))
	mux.Handle("POST /api/v1/keys", s.Auth(agenttrace.ScopeAdmin, s.createKey))
	mux.Handle("DELETE /api/v1/keys/{id}", s.Auth(agenttrace.ScopeAdmin, s.deleteKey))

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, agenttrace.Errorf(agenttrace.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if !s.Ready() {
		WriteError(w, r, agenttrace.Errorf(agenttrace.EUNAVAILABLE, "shutting down"))
		return
	}
	if err := s.Store.Ping(ctx); err != nil {
		WriteError(w, r, agenttrace.Errorf(agenttrace.EUNAVAILABLE, "database: %v", err))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// StatusOf maps an error code to its HTTP status.
func StatusOf(code string) int {
	switch code {
	case agenttrace.EINVALID:
		return http.StatusBadRequest
	case agenttrace.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case agenttrace.EFORBIDDEN:
		return http.StatusForbidden
	case agenttrace.ENOTFOUND:
		return http.StatusNotFound
	case agenttrace.ECONFLICT:
		return http.StatusConflict
	case agenttrace.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case agenttrace.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case agenttrace.EBADGATEWAY:
		return http.StatusBadGateway
	case agenttrace.ENOTIMPL:
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// ErrorBody is the one error envelope of every endpoint.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Logger is used for internal errors by WriteError; set by serve.
var Logger = slog.Default()

// WriteError writes err in the error envelope. Internal causes are logged
// here, once, and the client sees only "Internal error.".
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code := agenttrace.ErrorCode(err)
	if errors.Is(err, context.Canceled) {
		return
	}
	if code == agenttrace.EINTERNAL {
		Logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body ErrorBody
	body.Error.Code = code
	body.Error.Message = agenttrace.ErrorMessage(err)
	if code == agenttrace.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="agenttrace"`)
	}
	WriteJSON(w, StatusOf(code), body)
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON reads a JSON body of at most limit bytes into v, strictly.
func DecodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	return nil
}

func jsonError(err error, limit int64) error {
	var maxErr *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return agenttrace.Errorf(agenttrace.ETOOLARGE, "body: larger than the limit of %d bytes", limit)
	case errors.As(err, &syn):
		return agenttrace.Errorf(agenttrace.EINVALID, "body: malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ):
		return agenttrace.Errorf(agenttrace.EINVALID, "body: field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return agenttrace.Errorf(agenttrace.EINVALID, "body: malformed JSON: it ends before the value is complete")
	case errors.Is(err, io.EOF), errors.Is(err, errEmpty):
		return agenttrace.Errorf(agenttrace.EINVALID, "body: empty")
	}
	var ae *agenttrace.Error
	if errors.As(err, &ae) {
		return err
	}
	return agenttrace.Errorf(agenttrace.EINVALID, "body: %v", err)
}

var errEmpty = errors.New("empty body")

// intParam reads an optional integer query parameter.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, agenttrace.Errorf(agenttrace.EINVALID, "%s: %q is not an integer", name, v)
	}
	return n, nil
}
