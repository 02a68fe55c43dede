package agenttrace

import (
	"encoding/json"
	"testing"
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
