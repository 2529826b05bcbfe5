// Package apperr holds the error kinds that mlgraph shows to its clients.
//
// Every layer (store, service, graph) returns these for conditions the
// client caused or can act on; the GraphQL error presenter turns them into
// an error whose extensions.code is Code. Any other error is internal: it is
// logged and the client sees only a generic message.
package apperr

import (
	"errors"
	"fmt"
)

// Code is the machine-readable kind of an error, sent as extensions.code.
type Code string

const (
	BadInput Code = "BAD_USER_INPUT"
	// BadRequest: the HTTP request is not a GraphQL request the server
	// accepts (an empty or malformed body, a batch, a method or content
	// type /query does not speak); the operation never ran.
	BadRequest Code = "BAD_REQUEST"
	NotFound   Code = "NOT_FOUND"
	Conflict   Code = "CONFLICT"
	// Timeout: the request took longer than the server's per-request limit.
	Timeout Code = "TIMEOUT"
	// Unauthenticated: the request has no valid API key and needs one.
	Unauthenticated Code = "UNAUTHENTICATED"
	// Forbidden: the API key lacks the scope that the request needs.
	Forbidden Code = "FORBIDDEN"
	// RateLimited: the API key (or client) sent more requests than its
	// rate limit allows; retry later.
	RateLimited Code = "RATE_LIMITED"
)

// Error is a client-facing error: its Message is safe to show.
type Error struct {
	Code    Code
	Message string
	// Field optionally names the input field at fault (e.g. "input.target").
	Field string
}

func (e *Error) Error() string { return e.Message }

// Is makes errors.Is(err, &Error{Code: c}) match any error of that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Code == e.Code
}

// Newf returns an error of the given code with a formatted message.
func Newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadInputf is shorthand for Newf(BadInput, ...).
func BadInputf(format string, args ...any) *Error { return Newf(BadInput, format, args...) }

// NotFoundf reports that the kind of resource with the given id does not exist.
func NotFoundf(kind string, id any) *Error {
	return Newf(NotFound, "%s %v not found", kind, id)
}

// As returns the client-facing error in err's chain, if there is one.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// CodeOf returns the code of the client-facing error in err's chain, or "".
func CodeOf(err error) Code {
	if e, ok := As(err); ok {
		return e.Code
	}
	return ""
}
