package compare

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Diff operations.
const (
	OpChanged = "changed"
	OpAdded   = "added"   // only in B
	OpRemoved = "removed" // only in A
)

// MaxDiffs bounds the differences listed for one payload; a last entry
// with Op "truncated" says that more were left out.
const MaxDiffs = 200

// Diff is one difference between two JSON values, at a path from the root
// "$" ($.order.id, $.items[2], $["odd key"]). For two strings, Text is a
// line diff (when either has several lines) or a word diff.
type Diff struct {
	Path     string          `json:"path"`
	Op       string          `json:"op"`
	A        json.RawMessage `json:"a,omitempty"`
	B        json.RawMessage `json:"b,omitempty"`
	TextUnit string          `json:"text_unit,omitempty"` // "line" or "word"
	Text     []Edit          `json:"text,omitempty"`
}

// Edit is a piece of a text diff: "=" kept, "-" only in A, "+" only in B.
type Edit struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// JSON diffs two JSON payloads (empty means absent). A payload that is not
// valid JSON is compared as a string.
func JSON(a, b json.RawMessage) []Diff {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if bytes.Equal(a, b) {
		return nil
	}
	d := &differ{}
	switch {
	case len(a) == 0:
		d.add(Diff{Path: "$", Op: OpAdded, B: compact(b)})
	case len(b) == 0:
		d.add(Diff{Path: "$", Op: OpRemoved, A: compact(a)})
	default:
		d.walk("$", decode(a), decode(b))
	}
	return d.out
}

func compact(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		return buf.Bytes()
	}
	s, _ := json.Marshal(string(b))
	return s
}

func decode(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return string(b)
	}
	return v
}

type differ struct {
	out  []Diff
	full bool
}

func (d *differ) add(x Diff) {
	if d.full {
		return
	}
	if len(d.out) >= MaxDiffs {
		d.out = append(d.out, Diff{Path: "$", Op: "truncated"})
		d.full = true
		return
	}
	d.out = append(d.out, x)
}

func raw(v any) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return json.RawMessage("null")
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func (d *differ) walk(path string, a, b any) {
	if d.full || equal(a, b) {
		return
	}
	switch va := a.(type) {
	case map[string]any:
		if vb, ok := b.(map[string]any); ok {
			keys := make([]string, 0, len(va)+len(vb))
			for k := range va {
				keys = append(keys, k)
			}
			for k := range vb {
				if _, ok := va[k]; !ok {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := path + keyPath(k)
				xa, inA := va[k]
				xb, inB := vb[k]
				switch {
				case !inB:
					d.add(Diff{Path: p, Op: OpRemoved, A: raw(xa)})
				case !inA:
					d.add(Diff{Path: p, Op: OpAdded, B: raw(xb)})
				default:
					d.walk(p, xa, xb)
				}
			}
			return
		}
	case []any:
		if vb, ok := b.([]any); ok {
			d.array(path, va, vb)
			return
		}
	case string:
		if vb, ok := b.(string); ok {
			unit, edits := Text(va, vb)
			d.add(Diff{Path: path, Op: OpChanged, A: raw(va), B: raw(vb), TextUnit: unit, Text: edits})
			return
		}
	}
	d.add(Diff{Path: path, Op: OpChanged, A: raw(a), B: raw(b)})
}

func equal(a, b any) bool { return reflect.DeepEqual(a, b) }

// array diffs two lists: index by index when they have the same length,
// else aligned by an LCS of their elements so that an inserted element
// does not make every later one differ.
func (d *differ) array(path string, a, b []any) {
	idx := func(i int) string { return path + "[" + strconv.Itoa(i) + "]" }
	if len(a) == len(b) {
		for i := range a {
			d.walk(idx(i), a[i], b[i])
		}
		return
	}
	ka := make([]string, len(a))
	kb := make([]string, len(b))
	for i, v := range a {
		ka[i] = string(raw(v))
	}
	for j, v := range b {
		kb[j] = string(raw(v))
	}
	matches := lcsStrings(ka, kb)
	i, j := 0, 0
	for _, m := range append(matches, [2]int{len(a), len(b)}) {
		// Unmatched elements between anchors: pair them up as changes,
		// the rest were removed or added.
		for i < m[0] && j < m[1] {
			d.walk(idx(i), a[i], b[j])
			i++
			j++
		}
		for ; i < m[0]; i++ {
			d.add(Diff{Path: idx(i), Op: OpRemoved, A: raw(a[i])})
		}
		for ; j < m[1]; j++ {
			d.add(Diff{Path: idx(j), Op: OpAdded, B: raw(b[j])})
		}
		i, j = m[0]+1, m[1]+1
	}
}

func keyPath(k string) string {
	ok := k != ""
	for i, r := range k {
		if !(r == '_' || unicode.IsLetter(r) || (i > 0 && (unicode.IsDigit(r) || r == '-'))) {
			ok = false
			break
		}
	}
	if ok {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

// Text diffs two strings: by lines when either has several, else by words.
func Text(a, b string) (unit string, edits []Edit) {
	unit = "word"
	split := words
	if strings.Contains(a, "\n") || strings.Contains(b, "\n") {
		unit, split = "line", lines
	}
	ta, tb := split(a), split(b)
	if len(ta)*len(tb) > maxCells {
		return unit, []Edit{{"-", a}, {"+", b}}
	}
	matches := lcsStrings(ta, tb)
	emit := func(op, s string) {
		if s == "" {
			return
		}
		if n := len(edits); n > 0 && edits[n-1].Op == op {
			edits[n-1].Text += s
			return
		}
		edits = append(edits, Edit{op, s})
	}
	i, j := 0, 0
	for _, m := range append(matches, [2]int{len(ta), len(tb)}) {
		for ; i < m[0]; i++ {
			emit("-", ta[i])
		}
		for ; j < m[1]; j++ {
			emit("+", tb[j])
		}
		if m[0] < len(ta) {
			emit("=", ta[m[0]])
		}
		i, j = m[0]+1, m[1]+1
	}
	return unit, edits
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.SplitAfter(s, "\n")
}

// words splits into words and the whitespace between them.
func words(s string) []string {
	var out []string
	start := 0
	prev := false
	for i, r := range s {
		sp := unicode.IsSpace(r)
		if i > 0 && sp != prev {
			out = append(out, s[start:i])
			start = i
		}
		prev = sp
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// lcsStrings answers the index pairs of a longest common subsequence.
func lcsStrings(a, b []string) [][2]int {
	n, m := len(a), len(b)
	var head [][2]int
	for len(head) < n && len(head) < m && a[len(head)] == b[len(head)] {
		head = append(head, [2]int{len(head), len(head)})
	}
	p := len(head)
	t := 0
	for t < n-p && t < m-p && a[n-1-t] == b[m-1-t] {
		t++
	}
	ka, kb := a[p:n-t], b[p:m-t]
	rows, cols := len(ka), len(kb)
	out := head
	if rows > 0 && cols > 0 && rows*cols <= maxCells {
		w := cols + 1
		tab := make([]int32, (rows+1)*w)
		for i := rows - 1; i >= 0; i-- {
			for j := cols - 1; j >= 0; j-- {
				if ka[i] == kb[j] {
					tab[i*w+j] = tab[(i+1)*w+j+1] + 1
				} else {
					tab[i*w+j] = max(tab[(i+1)*w+j], tab[i*w+j+1])
				}
			}
		}
		for i, j := 0, 0; i < rows && j < cols; {
			switch {
			case ka[i] == kb[j]:
				out = append(out, [2]int{p + i, p + j})
				i++
				j++
			case tab[(i+1)*w+j] >= tab[i*w+j+1]:
				i++
			default:
				j++
			}
		}
	}
	for k := t - 1; k >= 0; k-- {
		out = append(out, [2]int{n - 1 - k, m - 1 - k})
	}
	return out
}
