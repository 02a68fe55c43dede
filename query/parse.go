package query

import (
	"math"
	"strconv"
	"strings"
	"time"
)

const dateLayout = "2006-01-02"

// kind groups fields by how their values are read.
type kind int

const (
	kindString   kind = iota // any non-empty string, equality only
	kindStatus               // one of Statuses
	kindHas                  // one of HasValues
	kindEval                 // NAME=VERDICT
	kindFloat                // credits
	kindInt                  // steps
	kindDuration             // duration
	kindTime                 // after, before
)

var fieldKinds = map[Field]kind{
	FieldAgent:    kindString,
	FieldStatus:   kindStatus,
	FieldModel:    kindString,
	FieldTrigger:  kindString,
	FieldTag:      kindString,
	FieldSession:  kindString,
	FieldRerunOf:  kindString,
	FieldID:       kindString,
	FieldCredits:  kindFloat,
	FieldSteps:    kindInt,
	FieldDuration: kindDuration,
	FieldAfter:    kindTime,
	FieldBefore:   kindTime,
	FieldHas:      kindHas,
	FieldEval:     kindEval,
}

// Parse parses a query, resolving relative times against Now. The error, if
// any, is an *Error (see there).
func Parse(s string) (*Query, error) { return ParseAt(s, Now()) }

// ParseAt parses a query, resolving relative times such as after:7d against
// now.
func ParseAt(s string, now time.Time) (*Query, error) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		// no stored text holds one (the domain refuses it), and
		// PostgreSQL cannot take it as a parameter
		return nil, newError(i, s[i:i+1], "a NUL character (\\u0000) is not allowed")
	}
	raws, err := lex(s)
	if err != nil {
		return nil, err
	}
	q := &Query{}
	for i, r := range raws {
		if i == MaxTerms {
			return nil, newError(r.pos, r.text, "too many terms (at most %d)", MaxTerms)
		}
		t, err := parseTerm(r, now)
		if err != nil {
			return nil, err
		}
		q.Terms = append(q.Terms, t)
	}
	return q, nil
}

// parseTerm parses one raw term.
func parseTerm(r rawTerm, now time.Time) (Term, error) {
	t := Term{Pos: r.pos, Len: len(r.text), Raw: r.text, Op: OpEq}
	fail := func(format string, args ...any) (Term, error) {
		return Term{}, newError(r.pos, r.text, format, args...)
	}
	body := r.text
	if body[0] == '-' {
		if len(body) == 1 {
			return fail(`nothing after "-" (write -TERM to exclude runs that match TERM)`)
		}
		t.Negated = true
		body = body[1:]
	}

	// Quoted full-text search.
	if body[0] == '"' {
		text, rest, ok := unquote(body)
		if !ok {
			return fail("unterminated quote (close it with \")")
		}
		if rest != "" {
			return fail("unexpected %q after the closing quote (put a space between terms)", rest)
		}
		if strings.TrimSpace(text) == "" {
			return fail("empty search text")
		}
		t.Field, t.Value = FieldText, text
		return t, nil
	}

	i := strings.IndexAny(body, `:<>="`)
	if i < 0 { // a bare word: full-text search
		t.Field, t.Value = FieldText, body
		return t, nil
	}
	if body[i] == '"' {
		return fail(`a quote may only start a term or a value (write "text" or field:"value")`)
	}
	if i == 0 {
		return fail("missing field name before %q (fields: %s)", body[:1], fieldList())
	}
	name := strings.ToLower(body[:i])
	t.Field = Field(name)
	k, known := fieldKinds[t.Field]
	if !known {
		return fail("unknown field %q (fields: %s)", body[:i], fieldList())
	}

	// The operator: ":" "=" ">" ">=" "<" "<=", and ":>" ":>=" ":<" ":<=".
	rest := body[i:]
	opText := rest[:1]
	switch rest[0] {
	case ':':
		rest = rest[1:]
		if op, n := compareOp(rest); n > 0 {
			t.Op, opText, rest = op, ":"+rest[:n], rest[n:]
		}
	case '=':
		rest = rest[1:]
	default:
		op, n := compareOp(rest)
		t.Op, opText, rest = op, rest[:n], rest[n:]
	}
	if t.Op != OpEq && k != kindFloat && k != kindInt && k != kindDuration {
		return fail("field %q does not take %q (write %s:VALUE)", name, opText, name)
	}

	// The value, bare or quoted.
	value, suffix := rest, ""
	if value == "" {
		return fail("empty value for %q (write %s)", name, example(t.Field))
	}
	if value[0] == '"' {
		var ok bool
		value, suffix, ok = unquote(value)
		if !ok {
			return fail("unterminated quote (close it with \")")
		}
		if suffix != "" && k != kindEval {
			return fail("unexpected %q after the closing quote (put a space between terms)", suffix)
		}
		if value == "" && suffix == "" {
			return fail("empty value for %q (write %s)", name, example(t.Field))
		}
	} else if strings.IndexByte(value, '"') >= 0 {
		return fail(`a quote may only start a value (write %s:"value")`, name)
	}

	switch k {
	case kindString:
		t.Value = value
	case kindStatus:
		v := strings.ToLower(value)
		if !oneOf(v, Statuses) {
			return fail("unknown status %q (statuses: %s)", value, strings.Join(Statuses, ", "))
		}
		t.Value = v
	case kindHas:
		v := strings.ToLower(value)
		if !oneOf(v, HasValues) {
			return fail("unknown has: value %q (has: %s)", value, strings.Join(HasValues, ", "))
		}
		t.Value = v
	case kindEval:
		var evalName, verdict string
		if suffix != "" { // eval:"name"=verdict
			if suffix[0] != '=' {
				return fail("unexpected %q after the closing quote (write eval:NAME=pass|fail|error)", suffix)
			}
			evalName, verdict = value, suffix[1:]
		} else { // eval:name=verdict or eval:"name=verdict"
			j := strings.LastIndexByte(value, '=')
			if j < 0 {
				return fail("expected eval:NAME=VERDICT (verdicts: %s)", strings.Join(Verdicts, ", "))
			}
			evalName, verdict = value[:j], value[j+1:]
		}
		if evalName == "" {
			return fail("empty evaluator name (write eval:NAME=pass|fail|error)")
		}
		v := strings.ToLower(verdict)
		if !oneOf(v, Verdicts) {
			return fail("unknown verdict %q (verdicts: %s)", verdict, strings.Join(Verdicts, ", "))
		}
		t.Value, t.Verdict = evalName, v
	case kindFloat:
		f, ok := parseNumber(value)
		if !ok {
			return fail("%q is not a number", value)
		}
		t.Number = f
	case kindInt:
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			if _, ok := parseNumber(value); ok {
				return fail("%q is not a whole number", value)
			}
			return fail("%q is not a number", value)
		}
		t.Int = n
	case kindDuration:
		ms, ok := parseDuration(value)
		if !ok {
			return fail("%q is not a duration (write a number of ms, s, m or h, like 30s; a bare number is ms)", value)
		}
		t.Number = ms
	case kindTime:
		tm, err := parseTime(value, now)
		if err != "" {
			return fail("%s", err)
		}
		t.Time = tm
	}
	return t, nil
}

// compareOp reads a comparison operator at the start of s and returns it
// with its length, or 0 if there is none.
func compareOp(s string) (Op, int) {
	switch {
	case strings.HasPrefix(s, ">="):
		return OpGE, 2
	case strings.HasPrefix(s, "<="):
		return OpLE, 2
	case strings.HasPrefix(s, ">"):
		return OpGT, 1
	case strings.HasPrefix(s, "<"):
		return OpLT, 1
	}
	return OpEq, 0
}

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}

func fieldList() string {
	names := make([]string, len(Fields))
	for i, f := range Fields {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

func example(f Field) string {
	switch fieldKinds[f] {
	case kindStatus:
		return "status:" + strings.Join(Statuses, "|")
	case kindHas:
		return "has:" + strings.Join(HasValues, "|")
	case kindEval:
		return "eval:NAME=pass|fail|error"
	case kindFloat:
		return "credits>0.5"
	case kindInt:
		return "steps>=3"
	case kindDuration:
		return "duration>30s"
	case kindTime:
		return string(f) + ":2026-11-01 or " + string(f) + ":7d"
	}
	return string(f) + `:VALUE or ` + string(f) + `:"a value"`
}

// parseNumber reads a finite float.
func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// parseDuration reads a duration in ms, s, m or h (a bare number is ms) and
// returns it in milliseconds.
func parseDuration(s string) (float64, bool) {
	s = strings.ToLower(s)
	unit := 1.0
	switch {
	case strings.HasSuffix(s, "ms"):
		s = s[:len(s)-2]
	case strings.HasSuffix(s, "s"):
		s, unit = s[:len(s)-1], 1000
	case strings.HasSuffix(s, "m"):
		s, unit = s[:len(s)-1], 60000
	case strings.HasSuffix(s, "h"):
		s, unit = s[:len(s)-1], 3600000
	}
	f, ok := parseNumber(s)
	if !ok {
		return 0, false
	}
	f *= unit
	if math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// ageUnits are the units of relative ages in after: and before:.
var ageUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

// parseTime reads a date (UTC midnight), an RFC 3339 time, or an age such as
// 7d before now. It returns a message on error.
func parseTime(s string, now time.Time) (time.Time, string) {
	bad := func() (time.Time, string) {
		return time.Time{}, strconv.Quote(s) + " is not a date (write 2026-11-01, an RFC 3339 time like 2026-11-01T09:30:00Z, or an age like 30m, 24h, 7d)"
	}
	if len(s) >= 2 {
		if unit, ok := ageUnits[s[len(s)-1]]; ok && allDigits(s[:len(s)-1]) {
			n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
			if err != nil || n > int64(math.MaxInt64/unit) {
				return time.Time{}, strconv.Quote(s) + " is too long ago"
			}
			return checkYear(now.Add(-time.Duration(n) * unit).UTC())
		}
	}
	if len(s) == len(dateLayout) {
		t, err := time.Parse(dateLayout, s)
		if err != nil {
			return bad()
		}
		return checkYear(t)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return bad()
	}
	return checkYear(t.UTC())
}

func checkYear(t time.Time) (time.Time, string) {
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, "time out of range (years 0001 to 9999)"
	}
	return t, ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
