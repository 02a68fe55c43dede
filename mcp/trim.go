package mcp

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/agenttrace/agenttrace"
)

// Assistants have small context windows and traces have large payloads
// (whole documents, long prompts), so run and step payloads larger than a
// limit are answered as a JSON string: the start of the payload's JSON and
// a marker saying how much was left out and how to get all of it.

// trimRun trims the run's payloads and its steps' and answers how many were trimmed.
func trimRun(r *agenttrace.Run, limit int) int {
	hint := fmt.Sprintf("call get_run with run_id=%s full=true", r.ID)
	n := 0
	r.Input, n = trimPayload(r.Input, limit, hint, n)
	r.Output, n = trimPayload(r.Output, limit, hint, n)
	if r.Error != nil && len(r.Error.Message) > limit {
		e := *r.Error
		e.Message = trimString(e.Message, limit, hint)
		r.Error = &e
		n++
	}
	for i := range r.Steps {
		n += trimStep(&r.Steps[i], limit)
	}
	return n
}

// trimStep trims the step's payloads and answers how many were trimmed.
func trimStep(s *agenttrace.Step, limit int) int {
	hint := fmt.Sprintf("call get_step with run_id=%s, step_id=%s, full=true", s.RunID, s.ID)
	n := 0
	s.Input, n = trimPayload(s.Input, limit, hint, n)
	s.Output, n = trimPayload(s.Output, limit, hint, n)
	if s.Error != nil && len(s.Error.Message) > limit {
		e := *s.Error
		e.Message = trimString(e.Message, limit, hint)
		s.Error = &e
		n++
	}
	return n
}

func trimPayload(raw json.RawMessage, limit int, hint string, n int) (json.RawMessage, int) {
	if len(raw) <= limit {
		return raw, n
	}
	b, err := json.Marshal(trimString(string(raw), limit, hint))
	if err != nil {
		return raw, n
	}
	return b, n + 1
}

// trimString cuts s to at most limit bytes (on a character boundary) and
// appends the marker `…[trimmed N bytes; HINT]`.
func trimString(s string, limit int, hint string) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if hint == "" {
		return s[:cut] + "…"
	}
	return fmt.Sprintf("%s…[trimmed %d bytes; %s]", s[:cut], len(s)-cut, hint)
}
