package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// decodeStd is the encoding/json decoding that decodeBatch must match.
func decodeStd(body []byte) (wireBatch, error) {
	var wb wireBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&wb); err != nil {
		return wireBatch{}, err
	}
	if dec.More() {
		return wireBatch{}, errEmpty
	}
	return wb, nil
}

// decodeBodies are bodies where JSON decoders commonly differ.
var decodeBodies = []string{
	`{"runs":[{"id":"r1","agent_id":"a","status":"completed","input":{"q": [1, 2.5e3, "x"]},"started_at":"2026-11-01T10:00:00.123456789Z"}],
	  "steps":[{"id":"s1","run_id":"r1","seq":0,"name":"n","type":"llm","status":"completed","usage":{"input_tokens":3},"metadata":{"k":{"n":[null,true]}}}]}`,
	`{"RUNS":[{"ID":"r1","Agent_ID":"a","Status":"failed","Error":{"Type":"T","Message":"m"}}]}`, // v1 matches names ignoring case
	`{"runs":[{"id":"r1","id":"r2","agent_id":"a","status":"completed"}]}`,                       // v1 takes the last duplicate
	`{"steps":[{"id":"s","run_id":"r","seq":null,"input":null,"started_at":null,"error":null}]}`,
	`{"steps":[{"id":"s","run_id":"r","seq":1e3}]}`,       // not an integer for v1
	`{"steps":[{"id":"s","run_id":"r","seq":1.0}]}`,       // not an integer for v1
	`{"steps":[{"id":"s","run_id":"r","seq":"1"}]}`,       // a string
	`{"steps":[{"id":"s","run_id":"r","credits":1e400}]}`, // out of range
	`{"steps":[{"id":"s","run_id":"r","bogus":1}]}`,       // unknown field
	`{"steps":[{"id":"s","run_id":"r","error":{"x":1}}]}`, // unknown nested field
	`{"runs":[{"id":"\ud800x","agent_id":"a\u0000b"}]}`,   // lone surrogate, NUL
	`{"runs":[{"id":"r","agent_id":"a","input":"\u00e9\n"}]}`,
	`{"runs":[{"id":"r","agent_id":"a","started_at":"2026-11-01 10:00:00"}]}`, // not RFC 3339
	`{"runs":[{"id":"r","agent_id":"a","started_at":"2026-11-01T10:00:00+01:00"}]}`,
	`{"runs":null,"steps":null}`,
	`{"runs":[]} {"runs":[]}`, // two values
	`{"runs":[]} x`,
	`[]`,
	`{"runs":{}}`,
	`{"runs":[{"id":1}]}`,
	`{"runs":[{"id":"r","agent_id":"a","metadata":[]}]}`,
	`{"runs":[{"id":"r","agent_id":"a","usage":{"input_tokens":-1,"output_tokens":9223372036854775808}}]}`,
	`{"runs":[{"id":"r","agent_id":"a","input": {"a":1,"a":2}}]}`,
	`{"runs":[{"id":"r","agent_id":"a","duration_ms":-0}]}`,
	`{"runs":[{"id":"r","agent_id":"a","step_count":3,"steps":[{"id":"x"}]}]}`,
	` {"runs":[]} `,
	`{"runs":[],}`,
	`{"runs":[{"id":"r","agent_id":"a","status":"completed","input":{"q":1}}]`,
}

// TestDecodeBatchMatchesEncodingJSON holds decodeBatch to encoding/json:
// the same batch for every body encoding/json accepts, and a refusal for
// every body it refuses.
func TestDecodeBatchMatchesEncodingJSON(t *testing.T) {
	for _, body := range decodeBodies {
		checkDecodeMatches(t, []byte(body))
	}
	// The fast decoder must take ordinary bodies itself, or it buys nothing.
	for _, body := range decodeBodies[:4] {
		if _, err := decodeBatchFast([]byte(body)); err != nil {
			t.Errorf("%s: the fast decoder refused it: %v", body, err)
		}
	}
}

func FuzzDecodeBatch(f *testing.F) {
	for _, body := range decodeBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(checkDecodeMatches)
}

// checkDecodeMatches compares the fast decoder with encoding/json (it may
// refuse more, since decodeBatch then falls back) and decodeBatch with both.
func checkDecodeMatches(t *testing.T, body []byte) {
	want, stdErr := decodeStd(body)
	fast, fastErr := decodeBatchFast(body)
	if fastErr == nil && stdErr != nil {
		t.Fatalf("%s: the fast decoder accepted what encoding/json refuses (%v)", body, stdErr)
	}
	if fastErr == nil && !reflect.DeepEqual(fast, want) {
		t.Fatalf("%s: the fast decoder decoded\n%+v\nencoding/json decodes\n%+v", body, fast, want)
	}
	got, err := decodeBatch(body)
	switch {
	case stdErr != nil && err == nil:
		t.Fatalf("%s: decodeBatch accepted what encoding/json refuses (%v)", body, stdErr)
	case stdErr == nil && err != nil:
		t.Fatalf("%s: decodeBatch refused what encoding/json accepts: %v", body, err)
	case stdErr == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("%s: decoded\n%+v\nencoding/json decodes\n%+v", body, got, want)
	}
}
