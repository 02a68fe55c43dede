// Package text makes the payload text of the load tool and the ingest
// benchmarks. Full-text indexing costs far more for text with a real
// vocabulary than for a few words repeated (FTS5 writes and merges every
// distinct term of a batch: 3× the indexer's time, measured in
// docs/benchmarks.md), so benchmarks use Prose unless they say otherwise.
package text

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// vocabulary is 30,000 distinct pronounceable words, shortest first.
var vocabulary = sync.OnceValue(func() []string {
	syllables := strings.Fields("ka lo mi ren tas vo del pri sun ber fen gor hul jin qua wes yor zel bix nup")
	words := make([]string, 30000)
	for i := range words {
		var sb strings.Builder
		for n := i + 1; n > 0; n /= len(syllables) {
			sb.WriteString(syllables[n%len(syllables)])
		}
		words[i] = sb.String()
	}
	return words
})

// Prose is n bytes (at least one) of words drawn from a 30,000-word
// vocabulary with Zipf's law, as in natural language, after a reference
// made from seed, as the ids and numbers of real payloads: the same for the
// same seed, with nothing that JSON escapes. A batch of 2,200 payloads of
// 1 KiB holds ~26,000 distinct terms.
func Prose(n int, seed uint64) string {
	n = max(n, 1)
	words := vocabulary()
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(words)-1))
	var sb strings.Builder
	sb.Grow(n + 16)
	sb.WriteString("ref")
	sb.WriteString(strconv.FormatUint(seed, 36))
	for sb.Len() < n {
		sb.WriteByte(' ')
		sb.WriteString(words[zipf.Uint64()])
	}
	return sb.String()[:n]
}

// Repeat is n bytes (at least one) of ten words in a cycle, varied by seed:
// the payloads of the older figures in docs/benchmarks.md. It flatters the
// full-text index.
func Repeat(n, seed int) string {
	n = max(n, 1)
	words := []string{"refund", "order", "timeout", "invoice", "customer", "search", "answer", "policy", "shipping", "rate"}
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteString(words[(sb.Len()/7+seed)%len(words)])
		sb.WriteByte(' ')
	}
	return sb.String()[:n]
}
