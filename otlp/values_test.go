package otlp

import (
	"encoding/json"
	"testing"
)

// TestIsJSONMatchesEncodingJSON: isJSON decides as json.Valid does.
func TestIsJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":1}`, `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`, `{"a":1,"a":2}`,
		`{"a":}`, `[1,]`, `{"a":1}x`, `[1e5, -0.5, true, null, "\u00e9\n"]`, `{"a":"\x"}`, "[\"\xff\"]", `[01]`,
		`{'a':1}`, `[NaN]`, `{"a":1} {"b":2}`, `[` + string(make([]byte, 0)) + `]`, `{"deep":[[[[[[[[[[1]]]]]]]]]]}`,
	} {
		if got, want := isJSON(s), json.Valid([]byte(s)); got != want {
			t.Errorf("%q: isJSON %v, json.Valid %v", s, got, want)
		}
	}
}

func FuzzIsJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x"]}`, `[1,]`, `{"a":1,"a":2}`, "[\"\xff\"]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isJSON(s), json.Valid([]byte(s)); got != want {
			t.Fatalf("%q: isJSON %v, json.Valid %v", s, got, want)
		}
	})
}
