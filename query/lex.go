package query

// The lexer splits a query into raw terms: runs of non-space bytes, where a
// double-quoted section (with \" and \\ escapes) may contain spaces. Each raw
// term keeps its byte offset so that errors can point at it.

// rawTerm is one whitespace-delimited term of the input, before parsing.
type rawTerm struct {
	pos  int    // byte offset in the input
	text string // the term as written
}

func isSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// lex splits s into raw terms. An unterminated quote is an error pointing at
// the term that holds it.
func lex(s string) ([]rawTerm, error) {
	var terms []rawTerm
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return terms, nil
		}
		start := i
		quoted := false
		for i < len(s) {
			c := s[i]
			if quoted {
				switch c {
				case '\\':
					if i+1 < len(s) {
						i++
					}
				case '"':
					quoted = false
				}
				i++
				continue
			}
			if isSpace(c) {
				break
			}
			if c == '"' {
				quoted = true
			}
			i++
		}
		if quoted {
			return nil, newError(start, s[start:], "unterminated quote (close it with \")")
		}
		terms = append(terms, rawTerm{pos: start, text: s[start:i]})
	}
}

// unquote reads a quoted string at the start of s (s[0] == '"'). It returns
// the unescaped content and what follows the closing quote. \" stands for "
// and \\ for \; any other backslash is kept as it is. ok is false when the
// quote is not closed.
func unquote(s string) (content, rest string, ok bool) {
	var b []byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
				i++
				b = append(b, s[i])
				continue
			}
			b = append(b, c)
		case '"':
			return string(b), s[i+1:], true
		default:
			b = append(b, c)
		}
	}
	return "", "", false
}

// quote renders s as a quoted string that unquote reads back as s.
func quote(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(append(b, '"'))
}
