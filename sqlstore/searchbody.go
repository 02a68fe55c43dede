package sqlstore

import (
	"bytes"

	"github.com/go-json-experiment/json/jsontext"
)

// SearchBody is the searchable text of a run or step: its input and output
// with their JSON string escapes decoded, and its error message.
//
// The full-text tokenizers (FTS5's unicode61, PostgreSQL's parser) end a
// word at a backslash, so the raw JSON of "first line\nsecond line" would
// index "nsecond" and never "second", and Python's json.dumps("café"),
// "caf\u00e9", would index "caf" and "u00e9". Model output is full of line
// breaks, and many clients escape every non-ASCII letter.
func SearchBody(input, output []byte, errMsg string) string {
	b := make([]byte, 0, len(input)+len(output)+len(errMsg)+2)
	b = appendJSONText(b, input)
	b = append(b, '\n')
	b = appendJSONText(b, output)
	b = append(b, '\n')
	b = append(b, errMsg...)
	return string(b)
}

// appendJSONText appends raw, a JSON value, to dst with each string literal
// that holds an escape decoded (quotes kept); the rest (keys, numbers,
// punctuation) is copied as it is. What is not JSON is copied as it is.
func appendJSONText(dst, raw []byte) []byte {
	for {
		i := bytes.IndexByte(raw, '"')
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		n, escaped := quotedLen(raw)
		if n < 0 {
			return append(dst, raw...)
		}
		literal := raw[:n]
		raw = raw[n:]
		if !escaped {
			dst = append(dst, literal...)
			continue
		}
		dst = append(dst, '"')
		if text, err := jsontext.AppendUnquote(dst, literal); err == nil {
			dst = text
		} else {
			dst = append(dst, literal[1:n-1]...)
		}
		dst = append(dst, '"')
	}
}

// quotedLen answers the length of the JSON string literal s starts with,
// both quotes included (-1 when it does not end), and whether it holds an
// escape.
func quotedLen(s []byte) (n int, escaped bool) {
	for i := 1; i < len(s); {
		q := bytes.IndexByte(s[i:], '"')
		if q < 0 {
			return -1, escaped
		}
		b := bytes.IndexByte(s[i:i+q], '\\')
		if b < 0 {
			return i + q + 1, escaped
		}
		escaped = true
		i += b + 2 // the backslash and the character it escapes
	}
	return -1, escaped
}
