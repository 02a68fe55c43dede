package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/agenttrace/agenttrace"
)

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, agenttrace.MaxBodyBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			WriteError(w, r, agenttrace.Errorf(agenttrace.ETOOLARGE, "body: larger than the limit of %d bytes (10 MiB); split the batch", agenttrace.MaxBodyBytes))
			return
		}
		WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "body: %v", err))
		return
	}
	res, err := s.IngestJSON(r, body)
	if err != nil {
		s.Metrics.Rejected.Inc()
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// IngestJSON decodes, validates and writes one ingest body for the request's account.
func (s *Server) IngestJSON(r *http.Request, body []byte) (agenttrace.IngestResult, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return agenttrace.IngestResult{}, agenttrace.Errorf(agenttrace.EINVALID, "body: empty; send {\"runs\": [...], \"steps\": [...]}")
	}
	// encoding/json would silently replace invalid UTF-8; refuse it instead.
	if !utf8.Valid(body) {
		i := 0
		for i < len(body) {
			c, size := utf8.DecodeRune(body[i:])
			if c == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return agenttrace.IngestResult{}, agenttrace.Errorf(agenttrace.EINVALID, "body: invalid UTF-8 at byte %d", i)
	}
	wb, err := decodeBatch(body)
	if err != nil {
		return agenttrace.IngestResult{}, err
	}
	b := agenttrace.Batch{Runs: wb.Runs, Steps: make([]agenttrace.Step, len(wb.Steps))}
	for i := range wb.Steps {
		b.Steps[i] = agenttrace.Step(wb.Steps[i].stepFields)
		if wb.Steps[i].Seq != nil {
			b.Steps[i].SetSeq(*wb.Steps[i].Seq)
		}
	}
	return s.IngestBatch(r.Context(), &b)
}

// decodeBatch decodes an ingest body. The JSON v2 decoder, with every
// option that makes it behave as encoding/json, does it about four times
// faster than encoding/json (a sixth of ingest's CPU went to decoding);
// a body it refuses is decoded again by encoding/json, whose errors name the
// field and the byte offset, so that a bad body gets the same clear message
// as before, and a body encoding/json accepts is never refused.
func decodeBatch(body []byte) (wireBatch, error) {
	if wb, err := decodeBatchFast(body); err == nil {
		return wb, nil
	}
	var wb wireBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wb); err != nil {
		return wireBatch{}, jsonError(err, agenttrace.MaxBodyBytes)
	}
	if dec.More() {
		return wireBatch{}, agenttrace.Errorf(agenttrace.EINVALID, "body: more than one JSON value")
	}
	return wb, nil
}

func decodeBatchFast(body []byte) (wireBatch, error) {
	var wb wireBatch
	err := jsonv2.Unmarshal(body, &wb, jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true))
	return wb, err
}

// wireBatch is an ingest body as decoded. Steps are decoded field by field
// (stepFields has none of Step's methods) with seq as a pointer, which tells
// an absent seq from seq 0 in the same pass. Step.UnmarshalJSON does that
// too, but by decoding each step a second time: a fifth of ingest's CPU.
type wireBatch struct {
	Runs  []agenttrace.Run `json:"runs"`
	Steps []wireStep       `json:"steps"`
}

type stepFields agenttrace.Step

type wireStep struct {
	stepFields
	Seq *int64 `json:"seq"`
}

// IngestBatch validates and writes a batch built in Go (used by OTLP ingest)
// for the account of the key in ctx.
func (s *Server) IngestBatch(ctx context.Context, b *agenttrace.Batch) (agenttrace.IngestResult, error) {
	if err := b.Normalize(); err != nil {
		return agenttrace.IngestResult{}, err
	}
	k, _ := KeyFrom(ctx)
	res, err := s.Store.Ingest(ctx, k.AccountID, b)
	if err != nil {
		return res, err
	}
	s.Metrics.IngestedRuns.Add(float64(res.Runs))
	s.Metrics.IngestedSteps.Add(float64(res.Steps))
	for _, h := range s.OnIngest {
		h(ctx, k.AccountID, b)
	}
	return res, nil
}
