package agenttrace

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestNormPayloadCompactsAndKeepsStrings(t *testing.T) {
	cases := map[string]string{
		`{"a": 1, "b": [1, 2]}`:            `{"a":1,"b":[1,2]}`,
		`{"text":"keep  these  spaces"}`:   `{"text":"keep  these  spaces"}`,
		`{"q":"say \"hi there\"", "n": 1}`: `{"q":"say \"hi there\"","n":1}`,
		`{"p":"back\\ slash", "x" : 2}`:    `{"p":"back\\ slash","x":2}`,
		"  \"padded\"  ":                   `"padded"`,
		`null`:                             ``,
	}
	for in, want := range cases {
		got, err := normPayload("input", json.RawMessage(in))
		if err != nil || string(got) != want {
			t.Errorf("normPayload(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := normPayload("input", json.RawMessage(`{"a": }`)); err == nil {
		t.Error("invalid JSON with whitespace accepted")
	}
}

func TestBatchNormalizeNamesTheField(t *testing.T) {
	b := Batch{Runs: []Run{{ID: "r", AgentID: "a"}, {ID: "r", AgentID: "a"}}}
	if err := b.Normalize(); ErrorMessage(err) != `runs[1].id: "r" repeats runs[0].id in the same batch` {
		t.Fatalf("duplicate run: %v", err)
	}
	b = Batch{Steps: []Step{{RunID: "r", Type: "magic"}}}
	if err := b.Normalize(); ErrorCode(err) != EINVALID || ErrorMessage(err) != `steps[0].type: unknown type "magic" (supported: llm, tool, retrieval, agent, code, http, other)` {
		t.Fatalf("bad type: %v", err)
	}
	b = Batch{Steps: []Step{{RunID: "r"}, {RunID: "r"}, {RunID: "q"}}}
	if err := b.Normalize(); err != nil {
		t.Fatal(err)
	}
	if b.Steps[0].Seq != 0 || b.Steps[1].Seq != 1 || b.Steps[2].Seq != 0 || b.Steps[1].ID != "r.1" {
		t.Fatalf("derived seqs and ids: %+v", b.Steps)
	}
}

// isCompactJSONByteByByte is the plain definition IsCompactJSON must match.
func isCompactJSONByteByByte(b []byte) bool {
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\n', '\r':
			return false
		}
	}
	return true
}

var compactSeeds = []string{
	``, `{}`, `{"a":1}`, `{"a": 1}`, `"a b"`, `"a\" b"`, `"a\\" b`, `"a\\\" b"`, `"\\\\" ,`, `["x","y z",1 ]`,
	`"unterminated \" `, `"\`, `\"`, `{"k":"v\n"}`, "{\"k\":\"v\"}\n", `"é ü" `, `[1,2,"\\\\\\"", " ",3]`,
}

func TestIsCompactJSONMatchesByteByByte(t *testing.T) {
	for _, s := range compactSeeds {
		if got, want := IsCompactJSON([]byte(s)), isCompactJSONByteByByte([]byte(s)); got != want {
			t.Errorf("%q: %v, want %v", s, got, want)
		}
	}
	// Random texts over the characters that matter.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`"\ a{}:,` + "\n\t")
	for range 20000 {
		b := make([]byte, r.IntN(24))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if got, want := IsCompactJSON(b), isCompactJSONByteByByte(b); got != want {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
	}
}

func FuzzIsCompactJSON(f *testing.F) {
	for _, s := range compactSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := IsCompactJSON(b), isCompactJSONByteByByte(b); got != want {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
	})
}

func TestTagLimits(t *testing.T) {
	long := strings.Repeat("t", MaxTagLen+1)
	many := make([]any, MaxTags+1)
	for i := range many {
		many[i] = "t"
	}
	cases := []struct {
		tags any
		want string
	}{
		{[]any{"ok", long}, "runs[0].metadata.tags[1]: 257 bytes, the limit is 256"},
		{[]string{long}, "runs[0].metadata.tags[0]: 257 bytes, the limit is 256"},
		{many, "runs[0].metadata.tags: 101 tags, the limit is 100"},
		{[]any{"ok", 3.0}, "runs[0].metadata.tags[1]: must be a string"},
		{"prod", "runs[0].metadata.tags: must be a list of strings"},
		{[]any{"prod", strings.Repeat("t", MaxTagLen)}, ""},
	}
	for _, c := range cases {
		b := Batch{Runs: []Run{{ID: "r", AgentID: "a", Metadata: map[string]any{"tags": c.tags}}}}
		err := b.Normalize()
		if got := ErrorMessage(err); got != c.want || (c.want != "" && ErrorCode(err) != EINVALID) {
			t.Errorf("tags %.40v: %q (%s), want %q", c.tags, got, ErrorCode(err), c.want)
		}
	}
}

func TestNulRefusedInTextFields(t *testing.T) {
	b := Batch{Runs: []Run{{ID: "r", AgentID: "a", Error: &RunError{Type: "T", Message: "boom\x00"}}}}
	if got := ErrorMessage(b.Normalize()); got != `runs[0].error.message: contains a NUL character ("\u0000"), which a text field cannot hold` {
		t.Errorf("run error message: %q", got)
	}
	b = Batch{Steps: []Step{{RunID: "r", Name: "a\x00b"}}}
	if got := ErrorMessage(b.Normalize()); got != `steps[0].name: contains a NUL character ("\u0000"), which a text field cannot hold` {
		t.Errorf("step name: %q", got)
	}
	b = Batch{Runs: []Run{{ID: "r", AgentID: "a", Metadata: map[string]any{"tags": []any{"a\x00"}, "note": "x\x00y"}}}}
	if got := ErrorMessage(b.Normalize()); got != `runs[0].metadata.tags[0]: contains a NUL character ("\u0000"), which a text field cannot hold` {
		t.Errorf("tag: %q", got)
	}
	// in payloads and metadata values it is JSON (\u0000), which every store holds
	b = Batch{Runs: []Run{{ID: "r", AgentID: "a", Input: []byte(`"a\u0000b"`), Metadata: map[string]any{"note": "x\x00y"}}}}
	if err := b.Normalize(); err != nil {
		t.Errorf("payload with \\u0000: %v", err)
	}
}

func TestTimesOutOfRange(t *testing.T) {
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	zero := time.Time{}
	ok := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	b := Batch{Runs: []Run{{ID: "r", AgentID: "a", StartedAt: &ok, EndedAt: &far}}}
	if got := ErrorMessage(b.Normalize()); got != "runs[0].ended_at: 3000-01-01T00:00:00Z is out of range (1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z)" {
		t.Errorf("far end: %q", got)
	}
	b = Batch{Steps: []Step{{RunID: "r", StartedAt: &zero}}}
	if got := ErrorMessage(b.Normalize()); got != "steps[0].started_at: 0001-01-01T00:00:00Z is out of range (1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z)" {
		t.Errorf("zero start: %q", got)
	}
	b = Batch{Runs: []Run{{ID: "r", AgentID: "a", StartedAt: &ok, EndedAt: &ok}}}
	if err := b.Normalize(); err != nil {
		t.Errorf("a time in range: %v", err)
	}
}

func TestAmountLimits(t *testing.T) {
	cases := []struct {
		run  Run
		want string
	}{
		{Run{Credits: 1e308}, "runs[0].credits: 1e+308, the limit is 1e+09"},
		{Run{Credits: -1}, "runs[0].credits: must not be negative"},
		{Run{Usage: Usage{InputTokens: 1 << 62}}, "runs[0].usage.input_tokens: 4611686018427387904, the limit is 10000000000"},
		{Run{Usage: Usage{OutputTokens: 1e10 + 1}}, "runs[0].usage.output_tokens: 10000000001, the limit is 10000000000"},
		{Run{DurationMS: 1e300}, "runs[0].duration_ms: 1e+300, the limit is 1e+13"},
		{Run{Credits: 1e9, Usage: Usage{InputTokens: 1e10, OutputTokens: 1e10}, DurationMS: 1e13}, ""},
	}
	for _, c := range cases {
		c.run.ID, c.run.AgentID = "r", "a"
		b := Batch{Runs: []Run{c.run}}
		if got := ErrorMessage(b.Normalize()); got != c.want {
			t.Errorf("%+v: %q, want %q", c.run, got, c.want)
		}
	}
	b := Batch{Steps: []Step{{RunID: "r", Credits: 2e9}}}
	if got := ErrorMessage(b.Normalize()); got != "steps[0].credits: 2e+09, the limit is 1e+09" {
		t.Errorf("step credits: %q", got)
	}
	if err := CheckPrice(0, Price{Model: "m", InputPerMillion: 1e6}); err == nil || !strings.Contains(err.Error(), "the limit of 100000") {
		t.Errorf("price over the limit: %v", err)
	}
}
