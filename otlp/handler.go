// Package otlp takes OpenTelemetry traces over OTLP/HTTP (POST /v1/traces,
// protobuf or JSON, optionally gzipped) and maps GenAI-convention spans to
// agenttrace runs and steps. The mapping is documented in docs/otel.md.
package otlp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/store"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// MaxDecodedBytes bounds a gzipped body once inflated (the wire body is
// bounded by agenttrace.MaxBodyBytes).
const MaxDecodedBytes = 4 * agenttrace.MaxBodyBytes

// maxChunk is the most runs and steps written in one transaction; larger
// requests are written in several (each whole or not at all).
const maxChunk = 5000

// Handler takes export requests over HTTP (ServeHTTP) and gRPC (GRPCServer).
type Handler struct {
	API *api.Server

	// traceLocks serialize the parent fix-up and the write of requests that
	// share a trace: a trace's run span and its children may arrive in
	// concurrent requests, and each must see the other's rows once written
	// (see fixParents). Striped by run id, so that requests about other
	// traces go on in parallel (one global lock cost 10–15 % of OTLP ingest).
	traceLocks [lockStripes]sync.Mutex
}

const lockStripes = 1 << 14

// lockTraces locks the stripes of the runs whose run span or orphaned
// children c holds, in index order (no deadlock), and answers the unlock.
func (h *Handler) lockTraces(c *converted) (unlock func()) {
	idx := make([]uint32, 0, len(c.rootSpan)+len(c.orphans))
	stripe := func(runID string) uint32 {
		f := fnv.New32a()
		f.Write([]byte(runID))
		return f.Sum32() % lockStripes
	}
	for id := range c.rootSpan {
		idx = append(idx, stripe(id))
	}
	for id := range c.orphans {
		idx = append(idx, stripe(id))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		h.traceLocks[i].Lock()
	}
	return func() {
		for _, i := range idx {
			h.traceLocks[i].Unlock()
		}
	}
}

// NewHandler returns a handler writing through a.
func NewHandler(a *api.Server) *Handler { return &Handler{API: a} }

// Register mounts POST /v1/traces on mux, behind a bearer key with the ingest scope.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST /v1/traces", h.API.Auth(agenttrace.ScopeIngest, h.ServeHTTP))
}

type encoding int

const (
	encProto encoding = iota
	encJSON
)

func (e encoding) contentType() string {
	if e == encJSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// ServeHTTP handles one export request (authentication is done by Register's wrapper).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	enc := encProto
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-protobuf", "application/protobuf":
	case "application/json":
		enc = encJSON
	default:
		writeStatus(w, enc, http.StatusUnsupportedMediaType, 3,
			fmt.Sprintf("Content-Type: %q is not supported (send application/x-protobuf or application/json)", r.Header.Get("Content-Type")))
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		h.fail(w, r, enc, err)
		return
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if enc == encJSON {
		fixed, jerr := fixHexIDs(body)
		if jerr == nil {
			jerr = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, req)
		}
		if jerr != nil {
			h.fail(w, r, enc, agenttrace.Errorf(agenttrace.EINVALID, "body: malformed OTLP/JSON ExportTraceServiceRequest: %v", jerr))
			return
		}
	} else if err := proto.Unmarshal(body, req); err != nil {
		h.fail(w, r, enc, agenttrace.Errorf(agenttrace.EINVALID, "body: malformed OTLP protobuf ExportTraceServiceRequest: %v", err))
		return
	}
	resp, err := h.export(r.Context(), req)
	if err != nil {
		h.fail(w, r, enc, err)
		return
	}
	writeMessage(w, enc, http.StatusOK, resp)
}

// export maps and writes one request for the account of the key in ctx.
func (h *Handler) export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c := convert(req)
	defer h.lockTraces(c)()
	if err := h.fixParents(ctx, c); err != nil {
		return nil, err
	}
	if err := h.write(ctx, c); err != nil {
		return nil, err
	}
	resp := &coltracepb.ExportTraceServiceResponse{}
	if c.rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{
			RejectedSpans: c.rejected,
			ErrorMessage:  fmt.Sprintf("%d span(s) rejected: %s", c.rejected, strings.Join(c.reasons, "; ")),
		}
	}
	return resp, nil
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	tooLarge := func(limit int64) error {
		return agenttrace.Errorf(agenttrace.ETOOLARGE, "body: larger than the limit of %d bytes; lower the exporter's batch size", limit)
	}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, agenttrace.MaxBodyBytes)
	limit := int64(agenttrace.MaxBodyBytes)
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return nil, tooLarge(limit)
			}
			return nil, agenttrace.Errorf(agenttrace.EINVALID, "body: not valid gzip: %v", err)
		}
		defer zr.Close()
		limit = MaxDecodedBytes
		rd = io.LimitReader(zr, limit+1)
	default:
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "Content-Encoding: %q is not supported (send gzip or none)", r.Header.Get("Content-Encoding"))
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return nil, tooLarge(agenttrace.MaxBodyBytes)
		}
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, tooLarge(limit)
	}
	return body, nil
}

// fixParents makes the run span's direct children top-level steps when the
// run span and its children arrive in different requests (see docs/otel.md).
func (h *Handler) fixParents(ctx context.Context, c *converted) error {
	k, _ := api.KeyFrom(ctx)
	inBatch := make(map[[2]string]bool, len(c.steps))
	for _, st := range c.steps {
		inBatch[[2]string{st.RunID, st.ID}] = true
	}
	// The run span arrived: earlier children still point at it.
	earlier, err := h.stepsOf(ctx, k.AccountID, c.rootSpan)
	if err != nil {
		return err
	}
	for runID, rootHex := range c.rootSpan {
		for _, st := range earlier[runID] {
			if st.ParentID != rootHex || inBatch[[2]string{runID, st.ID}] {
				continue
			}
			st.ParentID = ""
			st.SetSeq(st.Seq)
			if !st.CreditsReported {
				st.Credits = 0 // priced again from the table
			}
			c.steps = append(c.steps, st)
		}
	}
	// Children whose parent is not in the request: is it an earlier run span?
	for runID, parents := range c.orphans {
		run, err := h.API.Store.GetRun(ctx, k.AccountID, runID)
		if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		rootHex, _ := run.Metadata["otel.span_id"].(string)
		if rootHex == "" || !parents[rootHex] || slices.ContainsFunc(run.Steps, func(s agenttrace.Step) bool { return s.ID == rootHex }) {
			continue
		}
		for i := range c.steps {
			if c.steps[i].RunID == runID && c.steps[i].ParentID == rootHex {
				c.steps[i].ParentID = ""
			}
		}
	}
	return nil
}

// stepsOf answers the stored steps of the runs, in one query where the
// store can (most requests carry new traces, whose runs have none yet).
func (h *Handler) stepsOf(ctx context.Context, accountID string, runs map[string]string) (map[string][]agenttrace.Step, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	if ex, ok := h.API.Store.(store.Exports); ok {
		return ex.StepsForRuns(ctx, accountID, ids)
	}
	out := make(map[string][]agenttrace.Step, len(ids))
	for _, id := range ids {
		steps, err := h.API.Store.ListSteps(ctx, accountID, id)
		if err != nil && agenttrace.ErrorCode(err) != agenttrace.ENOTFOUND {
			return nil, err
		}
		out[id] = steps
	}
	return out, nil
}

// write ingests the converted request in chunks. A step whose derived seq
// is already held by another step of its run (same start nanosecond and
// tie-break slot, sent in an earlier request) moves to the next seq.
func (h *Handler) write(ctx context.Context, c *converted) error {
	if len(c.runs) == 0 && len(c.steps) == 0 {
		return nil
	}
	runs, steps := c.runs, c.steps
	for first := true; first || len(steps) > 0; first = false {
		n := min(len(steps), maxChunk)
		var chunkRuns []agenttrace.Run
		if first {
			chunkRuns = runs
		}
		if err := h.ingest(ctx, chunkRuns, steps[:n]); err != nil {
			return err
		}
		steps = steps[n:]
	}
	return nil
}

func (h *Handler) ingest(ctx context.Context, runs []agenttrace.Run, steps []agenttrace.Step) error {
	for attempt := 0; ; attempt++ {
		b := &agenttrace.Batch{Runs: slices.Clone(runs), Steps: slices.Clone(steps)}
		_, err := h.API.IngestBatch(ctx, b)
		if err == nil {
			return nil
		}
		var i int
		var seq int64
		if attempt >= 32 || agenttrace.ErrorCode(err) != agenttrace.EINVALID {
			return err
		}
		msg := agenttrace.ErrorMessage(err)
		if _, serr := fmt.Sscanf(msg, "steps[%d].seq: %d is already taken", &i, &seq); serr != nil || i < 0 || i >= len(steps) {
			return err
		}
		taken := map[int64]bool{}
		for _, st := range steps {
			if st.RunID == steps[i].RunID {
				taken[st.Seq] = true
			}
		}
		next := steps[i].Seq + 1
		for taken[next] {
			next++
		}
		steps = slices.Clone(steps)
		steps[i].SetSeq(next)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, enc encoding, err error) {
	code := h.rejected(r.Method, r.URL.Path, err)
	writeStatus(w, enc, api.StatusOf(code), int32(grpcCode(code)), agenttrace.ErrorMessage(err))
}

// rejected counts a refused export request, logs it when it is the server's
// fault, and answers its error code (for HTTP and gRPC alike).
func (h *Handler) rejected(method, path string, err error) string {
	code := agenttrace.ErrorCode(err)
	if code == agenttrace.EINTERNAL {
		api.Logger.Error("internal error", "method", method, "path", path, "err", err)
	}
	if h.API.Metrics != nil {
		h.API.Metrics.Rejected.Inc()
	}
	return code
}

// writeStatus answers a failure with a google.rpc.Status, as OTLP/HTTP says.
func writeStatus(w http.ResponseWriter, enc encoding, status int, grpcCode int32, msg string) {
	writeMessage(w, enc, status, &spb.Status{Code: grpcCode, Message: msg})
}

func writeMessage(w http.ResponseWriter, enc encoding, status int, m proto.Message) {
	var b []byte
	var err error
	if enc == encJSON {
		b, err = protojson.Marshal(m)
	} else {
		b, err = proto.Marshal(m)
	}
	if err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
