package otlp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace"
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

// TestFixTags: tags within the domain's limits stay tags; the rest (too
// long, past the count, not strings) move to otel.tags, and the metadata
// then passes the domain's validation.
func TestFixTags(t *testing.T) {
	long := strings.Repeat("x", agenttrace.MaxTagLen+1)
	many := make([]any, agenttrace.MaxTags+2)
	for i := range many {
		many[i] = fmt.Sprint("t", i)
	}
	cases := []struct {
		tags           any
		kept, moved    int
		movedFirstLong bool
	}{
		{"prod", 1, 0, false},
		{[]any{"prod", long, "eu"}, 2, 1, true},
		{many, agenttrace.MaxTags, 2, false},
		{[]any{long}, 0, 1, true},
		{map[string]any{"a": 1.0}, 0, -1, false}, // not a list: moved whole
		{[]any{"a\x00b", "ok"}, 1, 1, false},     // the domain refuses NUL in a tag
	}
	for _, c := range cases {
		md := map[string]any{"tags": c.tags}
		fixTags(md)
		kept, _ := md["tags"].([]any)
		if len(kept) != c.kept {
			t.Errorf("%.30v: kept %d tags, want %d", c.tags, len(kept), c.kept)
		}
		switch moved := md["otel.tags"].(type) {
		case []any:
			if len(moved) != c.moved || c.movedFirstLong && moved[0] != long {
				t.Errorf("%.30v: moved %.40v", c.tags, moved)
			}
		case nil:
			if c.moved != 0 {
				t.Errorf("%.30v: nothing moved", c.tags)
			}
		default:
			if c.moved != -1 {
				t.Errorf("%.30v: moved %v", c.tags, moved)
			}
		}
		b := agenttrace.Batch{Runs: []agenttrace.Run{{ID: "r", AgentID: "a", Metadata: md}}}
		if err := b.Normalize(); err != nil {
			t.Errorf("%.30v: %v", c.tags, err)
		}
	}
}

// TestClipMakesDomainText: what clip answers passes the domain's checks of
// a text field (no NUL, valid UTF-8, within the limit).
func TestClipMakesDomainText(t *testing.T) {
	for in, want := range map[string]string{"a\x00b": "a\uFFFDb", "ok": "ok", "bad\xffutf8": "bad\uFFFDutf8"} {
		got := clip(in, 64)
		b := agenttrace.Batch{Steps: []agenttrace.Step{{RunID: "r", Name: got}}}
		if got != want || b.Normalize() != nil {
			t.Errorf("clip(%q) = %q (%v), want %q", in, got, b.Normalize(), want)
		}
	}
}
