package otlp

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// fixHexIDs rewrites the hex trace and span ids of OTLP/JSON (the OTLP spec
// encodes them as hex, not as protobuf JSON's base64) so that protojson can
// decode the body.
func fixHexIDs(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	walkIDs(v)
	return json.Marshal(v)
}

var idKeys = map[string]bool{"traceId": true, "spanId": true, "parentSpanId": true, "trace_id": true, "span_id": true, "parent_span_id": true}

func walkIDs(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && idKeys[k] {
				if (len(s) == 32 || len(s) == 16) && isHex(s) {
					b, _ := hex.DecodeString(s)
					x[k] = b // encoded back as base64 by json.Marshal
				}
				continue
			}
			walkIDs(e)
		}
	case []any:
		for _, e := range x {
			walkIDs(e)
		}
	}
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
