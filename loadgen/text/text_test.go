package text

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestProse(t *testing.T) {
	if Prose(1000, 7) != Prose(1000, 7) {
		t.Fatal("Prose(1000, 7) differs between calls")
	}
	if Prose(1000, 7) == Prose(1000, 8) {
		t.Fatal("Prose is the same for seeds 7 and 8")
	}
	distinct := map[string]bool{}
	for seed := range uint64(2200) { // one batch's payloads
		p := Prose(1013, seed)
		if len(p) != 1013 {
			t.Fatalf("Prose(1013, %d) has %d bytes", seed, len(p))
		}
		if b, _ := json.Marshal(p); string(b) != `"`+p+`"` {
			t.Fatalf("Prose(1013, %d) has a character JSON escapes: %s", seed, b)
		}
		for _, w := range strings.Fields(p) {
			distinct[w] = true
		}
	}
	// A real vocabulary: English prose of 2 MB holds tens of thousands of
	// distinct words, ten words repeated hold ten.
	if n := len(distinct); n < 15000 || n > 40000 {
		t.Fatalf("2,200 payloads hold %d distinct terms, want 15,000–40,000", n)
	}
}

func TestRepeat(t *testing.T) {
	p := Repeat(1013, 3)
	distinct := map[string]bool{}
	for _, w := range strings.Fields(p) {
		distinct[w] = true
	}
	if len(p) != 1013 || len(distinct) > 11 { // ten words, and the last one cut short
		t.Fatalf("Repeat(1013, 3): %d bytes, %d distinct words", len(p), len(distinct))
	}
}
