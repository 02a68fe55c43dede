package query

import (
	"fmt"

	"github.com/agenttrace/agenttrace"
)

// Param is the name of the query parameter that errors refer to.
const Param = "q"

// maxErrorTerm is how much of a term an error message quotes.
const maxErrorTerm = 60

// Error is a malformed query. It points at the offending term and unwraps to
// an *agenttrace.Error with code EINVALID, so agenttrace.ErrorCode(err) is
// EINVALID and agenttrace.ErrorMessage(err) is the message, for example
//
//	q: at position 14, "colour:red": unknown field "colour" (fields: agent, status, …)
type Error struct {
	Pos    int    // byte offset of the term in the query, 0-based
	Len    int    // byte length of the term
	Term   string // the term as written
	Reason string // what is wrong with it, without the position prefix
}

func newError(pos int, term, format string, args ...any) *Error {
	return &Error{Pos: pos, Len: len(term), Term: term, Reason: fmt.Sprintf(format, args...)}
}

// Message is the user-facing message: the position, the term and the reason.
func (e *Error) Message() string {
	term := e.Term
	if len(term) > maxErrorTerm {
		term = term[:maxErrorTerm] + "…"
	}
	return fmt.Sprintf("%s: at position %d, %q: %s", Param, e.Pos, term, e.Reason)
}

// Error returns the message with the EINVALID code, like *agenttrace.Error.
func (e *Error) Error() string { return e.Unwrap().Error() }

// Unwrap returns the *agenttrace.Error the query error stands for.
func (e *Error) Unwrap() error {
	return agenttrace.Errorf(agenttrace.EINVALID, "%s", e.Message())
}
