package agenttrace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what one ingest batch may hold. They are part of the API contract
// (docs/api.md) and every rejection names the limit.
const (
	MaxBodyBytes      = 10 << 20 // one request body
	MaxBatchItems     = 10000    // runs + steps in one batch
	MaxIDLen          = 128
	MaxNameLen        = 256
	MaxShortLen       = 128     // trigger, type names, model, session id
	MaxPayloadBytes   = 1 << 20 // one input, output or metadata value
	MaxErrorLen       = 64 << 10
	MaxDescriptionLen = 4096
	// MaxTags and MaxTagLen bound metadata.tags: tags are labels to filter
	// by (tag:T), and PostgreSQL cannot index a tag of more than ~2.7 KB.
	MaxTags   = 100
	MaxTagLen = 256
)

// seqAbsent marks a seq the JSON did not give (no client sends this value).
const seqAbsent = math.MinInt64

// UnmarshalJSON decodes a step and records whether seq was given, in one pass.
func (s *Step) UnmarshalJSON(b []byte) error {
	type plain Step
	p := plain{Seq: seqAbsent}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Step(p)
	s.seqSet = s.Seq != seqAbsent
	if !s.seqSet {
		s.Seq = 0
	}
	return nil
}

func fieldErr(field, format string, args ...any) *Error {
	return Errorf(EINVALID, "%s: %s", field, fmt.Sprintf(format, args...))
}

// StorableText makes text from outside (a webhook's answer, a judge's
// reason, an OTLP attribute) fit a text field: invalid UTF-8 and NUL
// characters, which checkLen refuses in a client's input, become U+FFFD.
func StorableText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// CheckText checks a text field outside a batch (a key's name, an
// evaluator's description) as a batch's are: at most max bytes, valid UTF-8,
// no NUL character.
func CheckText(field, v string, max int) error {
	if e := checkLen(field, v, max, false); e != nil {
		return e
	}
	return nil
}

func checkLen(field, v string, max int, required bool) *Error {
	if required && v == "" {
		return fieldErr(field, "required")
	}
	if len(v) > max {
		return fieldErr(field, "%d bytes, the limit is %d", len(v), max)
	}
	if !utf8.ValidString(v) {
		return fieldErr(field, "invalid UTF-8")
	}
	if strings.IndexByte(v, 0) >= 0 {
		// PostgreSQL's text cannot hold it: the batch would fail there
		return fieldErr(field, `contains a NUL character ("\u0000"), which a text field cannot hold`)
	}
	return nil
}

// checkSlug accepts letters, digits and . _ - : (agent ids appear in URLs and queries).
func checkSlug(field, v string) *Error {
	if err := checkLen(field, v, MaxIDLen, true); err != nil {
		return err
	}
	for i, c := range v {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':'
		if !ok {
			return fieldErr(field, "character %q at position %d is not allowed (use letters, digits, '-', '_', '.', ':')", c, i)
		}
	}
	return nil
}

// CheckAgentID validates an agent id slug.
func CheckAgentID(field, id string) error {
	if e := checkSlug(field, id); e != nil {
		return e
	}
	return nil
}

func checkPayload(field string, v json.RawMessage) *Error {
	if len(v) > MaxPayloadBytes {
		return fieldErr(field, "%d bytes, the limit is %d", len(v), MaxPayloadBytes)
	}
	if len(v) > 0 && !utf8.Valid(v) {
		return fieldErr(field, "invalid UTF-8")
	}
	return nil
}

func checkMetadata(field string, md map[string]any) *Error {
	if md == nil {
		return nil
	}
	b, err := json.Marshal(md)
	if err != nil {
		return fieldErr(field, "not encodable: %v", err)
	}
	if len(b) > MaxPayloadBytes {
		return fieldErr(field, "%d bytes, the limit is %d", len(b), MaxPayloadBytes)
	}
	if t, ok := md["tags"]; ok {
		var tags []string
		switch list := t.(type) {
		case []string:
			tags = list
		case []any:
			for i, x := range list {
				s, ok := x.(string)
				if !ok {
					return fieldErr(fmt.Sprintf("%s.tags[%d]", field, i), "must be a string")
				}
				tags = append(tags, s)
			}
		default:
			return fieldErr(field+".tags", "must be a list of strings")
		}
		if len(tags) > MaxTags {
			return fieldErr(field+".tags", "%d tags, the limit is %d", len(tags), MaxTags)
		}
		for i, tag := range tags {
			if e := checkLen(fmt.Sprintf("%s.tags[%d]", field, i), tag, MaxTagLen, false); e != nil {
				return e
			}
		}
	}
	return nil
}

// normPayload compacts a JSON payload and turns null into nothing, so that
// "absent" has one form and stored payloads carry no formatting whitespace.
// Payloads reach it already validated (by the HTTP decoder, or produced by
// json.Marshal in the OTLP mapping and the SDK); most are compact already,
// which a plain byte loop sees far faster than json.Compact.
func normPayload(field string, v json.RawMessage) (json.RawMessage, *Error) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	if IsCompactJSON(t) {
		return t, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(t))
	if err := json.Compact(&buf, t); err != nil {
		return nil, fieldErr(field, "not valid JSON: %v", err)
	}
	return buf.Bytes(), nil
}

// IsCompactJSON reports whether the JSON text b has no whitespace outside its
// strings. It jumps from quote to quote with bytes.IndexByte rather than
// looking at every byte of a string, as payloads are mostly string content.
func IsCompactJSON(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			end, ok := stringEnd(b, i)
			if !ok {
				return true // an unterminated string holds the rest
			}
			i = end
		}
	}
	return true
}

// stringEnd answers the index of the quote that closes the string opened by
// the quote at b[open]: the next quote preceded by an even number of
// backslashes.
func stringEnd(b []byte, open int) (int, bool) {
	from := open + 1
	for {
		k := bytes.IndexByte(b[from:], '"')
		if k < 0 {
			return 0, false
		}
		q := from + k
		backslashes := 0
		for p := q - 1; p > open && b[p] == '\\'; p-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q, true
		}
		from = q + 1
	}
}

func normPayloads(f string, in, out *json.RawMessage) *Error {
	var e *Error
	if *in, e = normPayload(f+".input", *in); e != nil {
		return e
	}
	if *out, e = normPayload(f+".output", *out); e != nil {
		return e
	}
	return nil
}

// MinTime and MaxTime bound the times a run or step may carry: the stores
// keep nanoseconds since 1970 in 64 bits, which end in 2262 (a time past
// it, or Go's zero time, was stored as another date).
var (
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// MaxCredits, MaxTokens and MaxDurationMS bound what one run or step may
// report: far past any real figure, and low enough that a run's totals and
// an account's sums cannot overflow (two steps of 1e308 credits made a run's
// total +Inf, which no JSON answer can carry: every page listing the run
// failed).
const (
	MaxCredits    = 1e9
	MaxTokens     = 1e10
	MaxDurationMS = 1e13 // ~317 years
)

// checkAmounts checks the credits, token counts and reported duration of a
// run or step: not negative, not over their limits.
func checkAmounts(field string, credits float64, u Usage, durationMS float64) *Error {
	switch {
	case credits < 0:
		return fieldErr(field+".credits", "must not be negative")
	case credits > MaxCredits:
		return fieldErr(field+".credits", "%g, the limit is %g", credits, float64(MaxCredits))
	case u.InputTokens < 0 || u.OutputTokens < 0:
		return fieldErr(field+".usage", "token counts must not be negative")
	case u.InputTokens > MaxTokens:
		return fieldErr(field+".usage.input_tokens", "%d, the limit is %d", u.InputTokens, int64(MaxTokens))
	case u.OutputTokens > MaxTokens:
		return fieldErr(field+".usage.output_tokens", "%d, the limit is %d", u.OutputTokens, int64(MaxTokens))
	case durationMS > MaxDurationMS:
		return fieldErr(field+".duration_ms", "%g, the limit is %g", durationMS, float64(MaxDurationMS))
	}
	return nil
}

func checkTimes(field string, start, end *time.Time) *Error {
	for _, t := range []struct {
		name string
		at   *time.Time
	}{{"started_at", start}, {"ended_at", end}} {
		if t.at != nil && (t.at.Before(MinTime) || !t.at.Before(MaxTime)) {
			return fieldErr(field+"."+t.name, "%s is out of range (%s to %s)", t.at.Format(time.RFC3339Nano),
				MinTime.Format(time.RFC3339), MaxTime.Add(-time.Second).Format(time.RFC3339))
		}
	}
	if start != nil && end != nil && end.Before(*start) {
		return fieldErr(field+".ended_at", "%s is before started_at %s", end.Format(time.RFC3339Nano), start.Format(time.RFC3339Nano))
	}
	return nil
}

func durationMS(start, end *time.Time) float64 {
	if start == nil || end == nil {
		return 0
	}
	return float64(end.Sub(*start).Nanoseconds()) / 1e6
}

// inferStatus gives a run or step without a status the one its fields imply.
func inferStatus(s Status, ended bool, failed bool) Status {
	if s != "" {
		return s
	}
	switch {
	case failed:
		return StatusFailed
	case ended:
		return StatusCompleted
	}
	return StatusProcessing
}

// Normalize validates a batch and fills in defaults: generated run ids,
// derived step ids and seqs, inferred statuses and durations. The first
// problem found is returned as an EINVALID error naming the item index and
// field ("runs[3].agent_id: required"); the batch must then not be written.
func (b *Batch) Normalize() error {
	if n := len(b.Runs) + len(b.Steps); n > MaxBatchItems {
		return Errorf(ETOOLARGE, "batch: %d items, the limit is %d runs and steps per batch", n, MaxBatchItems)
	}
	seenRun := make(map[string]int, len(b.Runs))
	for i := range b.Runs {
		r := &b.Runs[i]
		f := fmt.Sprintf("runs[%d]", i)
		if r.ID == "" {
			r.ID = NewID("run_")
		}
		if e := checkLen(f+".id", r.ID, MaxIDLen, true); e != nil {
			return e
		}
		if j, dup := seenRun[r.ID]; dup {
			return fieldErr(f+".id", "%q repeats runs[%d].id in the same batch", r.ID, j)
		}
		seenRun[r.ID] = i
		if e := checkSlug(f+".agent_id", r.AgentID); e != nil {
			return e
		}
		if r.Status != "" && !r.Status.Valid() {
			return fieldErr(f+".status", "unknown status %q (supported: pending, processing, completed, failed)", r.Status)
		}
		if e := checkLen(f+".trigger", r.Trigger, MaxShortLen, false); e != nil {
			return e
		}
		if e := checkLen(f+".session_id", r.SessionID, MaxNameLen, false); e != nil {
			return e
		}
		if e := checkLen(f+".rerun_of", r.RerunOf, MaxIDLen, false); e != nil {
			return e
		}
		if e := normPayloads(f, &r.Input, &r.Output); e != nil {
			return e
		}
		if e := checkPayload(f+".input", r.Input); e != nil {
			return e
		}
		if e := checkPayload(f+".output", r.Output); e != nil {
			return e
		}
		if e := checkMetadata(f+".metadata", r.Metadata); e != nil {
			return e
		}
		if r.Error != nil {
			if e := checkLen(f+".error.message", r.Error.Message, MaxErrorLen, false); e != nil {
				return e
			}
			if e := checkLen(f+".error.type", r.Error.Type, MaxShortLen, false); e != nil {
				return e
			}
		}
		if e := checkTimes(f, r.StartedAt, r.EndedAt); e != nil {
			return e
		}
		if e := checkAmounts(f, r.Credits, r.Usage, r.DurationMS); e != nil {
			return e
		}
		// The client's credits on a run are the run's own; steps add theirs.
		r.OwnCredits = r.Credits
		r.Status = inferStatus(r.Status, r.EndedAt != nil, r.Error != nil)
		if r.Trigger == "" {
			r.Trigger = "api"
		}
		if r.DurationMS == 0 {
			r.DurationMS = durationMS(r.StartedAt, r.EndedAt)
		}
		if r.DurationMS < 0 {
			return fieldErr(f+".duration_ms", "must not be negative")
		}
	}
	type seqKey struct {
		run string
		seq int64
	}
	seenSeq := make(map[seqKey]int, len(b.Steps))
	seenStep := make(map[[2]string]int, len(b.Steps))
	nextSeq := make(map[string]int64)
	for i := range b.Steps {
		s := &b.Steps[i]
		f := fmt.Sprintf("steps[%d]", i)
		if e := checkLen(f+".run_id", s.RunID, MaxIDLen, true); e != nil {
			return e
		}
		if !s.seqSet && s.Seq == 0 {
			s.Seq = nextSeq[s.RunID]
		}
		if s.Seq < 0 {
			return fieldErr(f+".seq", "must not be negative")
		}
		if s.Seq >= nextSeq[s.RunID] {
			nextSeq[s.RunID] = s.Seq + 1
		}
		if s.ID == "" {
			s.ID = fmt.Sprintf("%s.%d", s.RunID, s.Seq)
		}
		if e := checkLen(f+".id", s.ID, MaxIDLen, true); e != nil {
			return e
		}
		if j, dup := seenStep[[2]string{s.RunID, s.ID}]; dup {
			return fieldErr(f+".id", "%q repeats steps[%d].id in the same batch", s.ID, j)
		}
		seenStep[[2]string{s.RunID, s.ID}] = i
		if j, dup := seenSeq[seqKey{s.RunID, s.Seq}]; dup {
			return fieldErr(f+".seq", "%d repeats steps[%d].seq in run %q", s.Seq, j, s.RunID)
		}
		seenSeq[seqKey{s.RunID, s.Seq}] = i
		if e := checkLen(f+".parent_id", s.ParentID, MaxIDLen, false); e != nil {
			return e
		}
		if s.ParentID == s.ID {
			return fieldErr(f+".parent_id", "a step cannot be its own parent")
		}
		if e := checkLen(f+".name", s.Name, MaxNameLen, false); e != nil {
			return e
		}
		if s.Type == "" {
			s.Type = StepOther
		}
		if !s.Type.Valid() {
			return fieldErr(f+".type", "unknown type %q (supported: llm, tool, retrieval, agent, code, http, other)", s.Type)
		}
		if s.Status != "" && !s.Status.Valid() {
			return fieldErr(f+".status", "unknown status %q (supported: pending, processing, completed, failed)", s.Status)
		}
		if e := checkLen(f+".model", s.Model, MaxShortLen, false); e != nil {
			return e
		}
		if e := normPayloads(f, &s.Input, &s.Output); e != nil {
			return e
		}
		if e := checkPayload(f+".input", s.Input); e != nil {
			return e
		}
		if e := checkPayload(f+".output", s.Output); e != nil {
			return e
		}
		if e := checkMetadata(f+".metadata", s.Metadata); e != nil {
			return e
		}
		if s.Error != nil {
			if e := checkLen(f+".error.message", s.Error.Message, MaxErrorLen, false); e != nil {
				return e
			}
			if e := checkLen(f+".error.type", s.Error.Type, MaxShortLen, false); e != nil {
				return e
			}
		}
		if e := checkTimes(f, s.StartedAt, s.EndedAt); e != nil {
			return e
		}
		if e := checkAmounts(f, s.Credits, s.Usage, s.DurationMS); e != nil {
			return e
		}
		s.CreditsReported = s.Credits > 0
		s.Status = inferStatus(s.Status, s.EndedAt != nil, s.Error != nil)
		if s.DurationMS == 0 {
			s.DurationMS = durationMS(s.StartedAt, s.EndedAt)
		}
		if s.DurationMS < 0 {
			return fieldErr(f+".duration_ms", "must not be negative")
		}
	}
	return nil
}

// CheckAgent validates an agent's descriptive fields.
func CheckAgent(a Agent) error {
	if e := checkSlug("id", a.ID); e != nil {
		return e
	}
	if e := checkLen("name", a.Name, MaxNameLen, false); e != nil {
		return e
	}
	if e := checkLen("description", a.Description, MaxDescriptionLen, false); e != nil {
		return e
	}
	if a.RerunURL != "" {
		if e := checkLen("rerun_url", a.RerunURL, 2048, false); e != nil {
			return e
		}
		if !(len(a.RerunURL) > 7 && (a.RerunURL[:7] == "http://" || len(a.RerunURL) > 8 && a.RerunURL[:8] == "https://")) {
			return fieldErr("rerun_url", "must be an http:// or https:// URL")
		}
	}
	return nil
}

// CheckPrice validates one entry of a price table update.
func CheckPrice(i int, p Price) error {
	f := fmt.Sprintf("prices[%d]", i)
	if e := checkLen(f+".model", p.Model, MaxShortLen, true); e != nil {
		return e
	}
	if p.InputPerMillion < 0 || p.OutputPerMillion < 0 {
		return fieldErr(f, "prices must not be negative")
	}
	// a step's credits from the table stay within MaxCredits
	const maxPerMillion = MaxCredits / (MaxTokens / 1e6)
	if p.InputPerMillion > maxPerMillion || p.OutputPerMillion > maxPerMillion {
		return fieldErr(f, "a price per million tokens over the limit of %g", maxPerMillion)
	}
	return nil
}
