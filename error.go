package agenttrace

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the api package.
const (
	EINVALID      = "invalid"         // 400
	EUNAUTHORIZED = "unauthorized"    // 401
	EFORBIDDEN    = "forbidden"       // 403
	ENOTFOUND     = "not_found"       // 404
	ECONFLICT     = "conflict"        // 409
	ETOOLARGE     = "too_large"       // 413
	EUNAVAILABLE  = "unavailable"     // 503
	EINTERNAL     = "internal"        // 500
	EBADGATEWAY   = "bad_gateway"     // 502: an agent's re-run URL or a judge failed
	ENOTIMPL      = "not_implemented" // 501
)

// Error is an application error: a code for machines and a message for people.
// The message must name the field and what was wrong with it.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the application error in err's chain, or
// EINTERNAL for any other error (and "" for nil).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors show
// only "Internal error." so that no detail of the server leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
