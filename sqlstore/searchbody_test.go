package sqlstore

import (
	"strings"
	"testing"
)

func TestSearchBody(t *testing.T) {
	cases := []struct{ input, output, msg, want string }{
		{`"plain text"`, `{"a":1}`, "boom", "\"plain text\"\n{\"a\":1}\nboom"},
		{`"first\nsecond\ttab"`, ``, "", "\"first\nsecond\ttab\"\n\n"},
		{`{"k\u00e9y":"caf\u00e9 \"q\" \ud83d\ude00","n":[1,"x\/y"]}`, `null`, "", "{\"kéy\":\"café \"q\" 😀\",\"n\":[1,\"x/y\"]}\nnull\n"},
		{`"a\\nb"`, ``, "", "\"a\\nb\"\n\n"}, // an escaped backslash, then n
		{`"unterminated \n`, ``, "", "\"unterminated \\n\n\n"},
		{`"bad \x escape"`, ``, "", "\"bad \\x escape\"\n\n"},
		{`["\n", "", "\""]`, ``, "", "[\"\n\", \"\", \"\"\"]\n\n"},
	}
	for _, c := range cases {
		if got := SearchBody([]byte(c.input), []byte(c.output), c.msg); got != c.want {
			t.Errorf("SearchBody(%q, %q, %q) = %q, want %q", c.input, c.output, c.msg, got, c.want)
		}
	}
}

// BenchmarkSearchBody: a step of 1 KiB of JSON input and output, with a line
// break every ~60 bytes, as model transcripts have them.
func BenchmarkSearchBody(b *testing.B) {
	line := `the order was refunded and the customer was told about it\n`
	payload := []byte(`{"role":"assistant","content":"` + strings.Repeat(line, 1024/len(line)) + `"}`)
	b.SetBytes(int64(2 * len(payload)))
	for b.Loop() {
		SearchBody(payload, payload, "")
	}
}
