package loadgen

import "github.com/agenttrace/agenttrace/loadgen/text"

// The payload texts (Options.Text).
const (
	// TextProse is text.Prose: a real vocabulary, a reference per payload,
	// as agent transcripts are. The default.
	TextProse = "prose"
	// TextRepeat is text.Repeat, the same for every payload of a batch: what
	// the older figures in docs/benchmarks.md measured. It flatters the
	// full-text index.
	TextRepeat = "repeat"
)

// texts makes the payload texts of batch n, size bytes each: each call of
// the answered function gives the next payload's text.
func (o Options) texts(n, size int) func() string {
	if o.Text == TextRepeat {
		t := text.Repeat(size, n)
		return func() string { return t }
	}
	seq := uint64(0)
	return func() string {
		seq++
		return text.Prose(size, uint64(n)<<24|seq)
	}
}
