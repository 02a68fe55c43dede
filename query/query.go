// Package query parses the agenttrace query language: one syntax for the UI
// search box, the q= parameter, the CLI's -q flag, MCP tools and export
// filters. See docs/query.md for the user reference.
//
// A query is space-separated terms that must all hold. A term is full-text
// search ("rate limit", or a bare word), or a field with an operator and a
// value (status:failed, credits>0.5, after:7d). A leading - negates a term.
package query

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Field names what a term tests.
type Field string

// The fields. FieldText is full-text search; it has no name in the syntax.
const (
	FieldText     Field = "text"
	FieldAgent    Field = "agent"
	FieldStatus   Field = "status"
	FieldModel    Field = "model"
	FieldTrigger  Field = "trigger"
	FieldTag      Field = "tag"
	FieldSession  Field = "session"
	FieldRerunOf  Field = "rerun_of"
	FieldID       Field = "id"
	FieldCredits  Field = "credits"
	FieldSteps    Field = "steps"
	FieldDuration Field = "duration"
	FieldAfter    Field = "after"
	FieldBefore   Field = "before"
	FieldHas      Field = "has"
	FieldEval     Field = "eval"
)

// Fields lists the field names of the syntax, in the order error messages
// show them.
var Fields = []Field{
	FieldAgent, FieldStatus, FieldModel, FieldTrigger, FieldTag, FieldSession, FieldRerunOf, FieldID,
	FieldCredits, FieldSteps, FieldDuration, FieldAfter, FieldBefore, FieldHas, FieldEval,
}

// Op is a comparison operator. Fields other than credits, steps and duration
// only take OpEq.
type Op string

const (
	OpEq Op = "=" // written ":" or "="
	OpGT Op = ">"
	OpGE Op = ">="
	OpLT Op = "<"
	OpLE Op = "<="
)

// Values of has:.
const (
	HasError   = "error"
	HasInput   = "input"
	HasOutput  = "output"
	HasRerun   = "rerun"
	HasSession = "session"
)

// HasValues lists the values has: accepts.
var HasValues = []string{HasError, HasInput, HasOutput, HasRerun, HasSession}

// Verdicts of eval:NAME=VERDICT.
const (
	VerdictPass  = "pass"
	VerdictFail  = "fail"
	VerdictError = "error"
)

// Verdicts lists the verdicts eval: accepts.
var Verdicts = []string{VerdictPass, VerdictFail, VerdictError}

// Statuses lists the values status: accepts.
var Statuses = []string{"pending", "processing", "completed", "failed"}

// MaxTerms is the most terms a query may have.
const MaxTerms = 50

// Now is the clock Parse uses for relative times such as after:7d.
var Now = time.Now

// Query is a parsed query: all terms must hold.
type Query struct {
	Terms []Term
}

// Term is one condition of a query.
type Term struct {
	Pos int    // byte offset of the term in the query, 0-based (at the - if negated)
	Len int    // byte length of the term
	Raw string // the term as written

	Negated bool
	Field   Field
	Op      Op // OpEq except for credits, steps and duration

	// Value is the string value: the text of FieldText; the ID or name for
	// agent, model, trigger, tag, session, rerun_of and id; the status
	// (lower case) for status; one of HasValues for has; the evaluator name
	// for eval.
	Value string
	// Verdict is the verdict of eval: one of Verdicts.
	Verdict string
	// Number is the value of credits, and of duration in milliseconds.
	Number float64
	// Int is the value of steps.
	Int int64
	// Time is the value of after and before, in UTC. A relative age such as
	// 7d has been resolved against the clock.
	Time time.Time
}

// IsEmpty reports whether the query has no terms, so it matches every run.
func (q *Query) IsEmpty() bool { return q == nil || len(q.Terms) == 0 }

// Has reports whether the query has a term on field f.
func (q *Query) Has(f Field) bool {
	if q == nil {
		return false
	}
	for _, t := range q.Terms {
		if t.Field == f {
			return true
		}
	}
	return false
}

// String renders the query canonically: fields in lower case, ":" for
// equality, durations in the largest exact unit, times in UTC (a date when at
// midnight), values quoted only when they must be. Parsing the result gives
// an equal query.
func (q *Query) String() string {
	if q == nil {
		return ""
	}
	parts := make([]string, len(q.Terms))
	for i, t := range q.Terms {
		parts[i] = t.String()
	}
	return strings.Join(parts, " ")
}

// Equal reports whether two queries have the same terms in the same order,
// ignoring where and how the terms were written.
func (q *Query) Equal(o *Query) bool {
	if q.IsEmpty() || o.IsEmpty() {
		return q.IsEmpty() && o.IsEmpty()
	}
	if len(q.Terms) != len(o.Terms) {
		return false
	}
	for i := range q.Terms {
		if !q.Terms[i].Equal(o.Terms[i]) {
			return false
		}
	}
	return true
}

// Equal reports whether two terms mean the same, ignoring Pos, Len and Raw.
func (t Term) Equal(u Term) bool {
	return t.Negated == u.Negated && t.Field == u.Field && t.Op == u.Op &&
		t.Value == u.Value && t.Verdict == u.Verdict &&
		(t.Number == u.Number || math.IsNaN(t.Number) && math.IsNaN(u.Number)) &&
		t.Int == u.Int && t.Time.Equal(u.Time)
}

// String renders the term canonically.
func (t Term) String() string {
	var b strings.Builder
	if t.Negated {
		b.WriteByte('-')
	}
	if t.Field == FieldText {
		if bareText(t.Value) {
			b.WriteString(t.Value)
		} else {
			b.WriteString(quote(t.Value))
		}
		return b.String()
	}
	b.WriteString(string(t.Field))
	if t.Op == OpEq || t.Op == "" {
		b.WriteByte(':')
	} else {
		b.WriteString(string(t.Op))
	}
	switch t.Field {
	case FieldCredits:
		b.WriteString(formatFloat(t.Number))
	case FieldSteps:
		b.WriteString(strconv.FormatInt(t.Int, 10))
	case FieldDuration:
		b.WriteString(formatDuration(t.Number))
	case FieldAfter, FieldBefore:
		b.WriteString(formatTime(t.Time))
	case FieldEval:
		b.WriteString(renderValue(t.Value))
		b.WriteByte('=')
		b.WriteString(t.Verdict)
	default:
		b.WriteString(renderValue(t.Value))
	}
	return b.String()
}

// bareText reports whether text can be written as a bare word.
func bareText(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', ':', '<', '>', '=':
			return false
		default:
			if isSpace(c) {
				return false
			}
		}
	}
	return true
}

// renderValue writes a field value, quoting it when it must be.
func renderValue(s string) string {
	if s == "" || s[0] == '<' || s[0] == '>' || s[0] == '=' {
		return quote(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || isSpace(s[i]) {
			return quote(s)
		}
	}
	return s
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// durationUnits are the units of duration values, largest first, in ms.
var durationUnits = []struct {
	name string
	ms   float64
}{{"h", 3600000}, {"m", 60000}, {"s", 1000}}

func formatDuration(ms float64) string {
	if ms != 0 && math.Abs(ms) < 1e15 {
		for _, u := range durationUnits {
			n := ms / u.ms
			if n == math.Trunc(n) && n*u.ms == ms {
				return formatFloat(n) + u.name
			}
		}
	}
	return formatFloat(ms) + "ms"
}

func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(dateLayout)
	}
	return t.Format(time.RFC3339Nano)
}
