// Package fault is the one error type of whistlegrid: what kind of failure
// it is, which input is at fault, and a message a client may read. Every
// package that answers a caller (grid, whistle, hotspot, auth, ingest,
// live) returns it, and the HTTP edge (api/errors.go) turns its Kind into a
// status and its Field and Message into the JSON error, in one place. It
// imports no project package, so every package can use it.
//
// A package declares its sentinels with New, one per kind it returns:
//
//	var ErrNotFound = fault.New(fault.NotFound, "whistle: not found")
//
// and returns errors made from them, which say what exactly is wrong:
//
//	return fault.Errorf(ErrNotFound, "whistle %d (or outside your jurisdiction)", id)
//	return fault.FieldErrorf(ErrInvalid, "grade", "grade must be routine, priority or hard")
//
// errors.Is(err, whistle.ErrNotFound) is then true, and so is
// errors.Is(err, fault.NotFound), which asks for the kind whatever the
// package. The message goes to the client as it is, so it never holds SQL
// or a database's error text: a database error the store does not
// recognise stays a plain wrapped error, which the edge answers as an
// Internal error without its text, and logs.
package fault

import (
	"fmt"
	"time"
)

// Kind is what a failure is to the caller; the HTTP edge gives each kind
// one status. Kind is an error itself, so that errors.Is(err, fault.NotFound)
// asks whether err is of that kind. The zero Kind is Internal.
type Kind uint8

// The kinds, with the HTTP status and the error code the API answers.
const (
	// Internal is a failure of the server (500, "internal"): its message
	// and cause are logged, never sent.
	Internal Kind = iota
	// Invalid is well-formed input that breaks a rule (422, "invalid");
	// Field names the input.
	Invalid
	// BadRequest is a request that cannot be read at all: a body that is
	// not JSON, a malformed path (400, "bad_request").
	BadRequest
	// Unauthorized is a missing, wrong or expired credential (401,
	// "unauthorized").
	Unauthorized
	// Forbidden is a caller whose role may not do this (403, "forbidden").
	Forbidden
	// NotFound is something that does not exist, or lies outside the
	// caller's jurisdiction (404, "not_found").
	NotFound
	// Conflict is a request the current state does not allow, or a
	// duplicate (409, "conflict").
	Conflict
	// TooLarge is a body over its limit (413, "too_large").
	TooLarge
	// TooMany is a caller over a rate limit (429, "too_many_requests").
	TooMany
	// Unavailable is a part of the server that is not running, or not
	// yet (503, "unavailable").
	Unavailable
	// UnsupportedMedia is an upload whose content (read from its magic
	// bytes, not its name or declared type) is of a type not accepted
	// (415, "unsupported_media_type").
	UnsupportedMedia
)

// Kinds lists every kind, Internal first: for tests that walk them all.
func Kinds() []Kind {
	return []Kind{Internal, Invalid, BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, TooMany, Unavailable, UnsupportedMedia}
}

// String is the kind's error code, as the API's JSON carries it:
// "not_found", "invalid", ...
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case BadRequest:
		return "bad_request"
	case Unauthorized:
		return "unauthorized"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case TooLarge:
		return "too_large"
	case TooMany:
		return "too_many_requests"
	case Unavailable:
		return "unavailable"
	case UnsupportedMedia:
		return "unsupported_media_type"
	}
	return "internal"
}

// Error makes a Kind an error, for errors.Is(err, fault.NotFound).
func (k Kind) Error() string { return k.String() }

// Error is a failure the caller can act on.
type Error struct {
	Kind Kind
	// Field is the input at fault, as the client named it ("lon",
	// "weeks", "reporter.phone"); empty when no single input is.
	Field string
	// Message says what is wrong, for the client to read; never SQL.
	Message string
	// Err is either the sentinel this error is one of (an *Error made by
	// New, such as whistle.ErrNotFound: Errorf and FieldErrorf set it) or
	// the cause, logged but never sent.
	Err error
	// RetryAfter says, for TooMany and Unavailable, when the client may
	// try again; the edge sends it as Retry-After in whole seconds. Zero
	// leaves it to the edge's default.
	RetryAfter time.Duration
}

// New returns an error of kind with message and nothing under it: a
// package's sentinel, or an error that needs no sentinel (the API's own).
func New(kind Kind, message string) *Error { return &Error{Kind: kind, Message: message} }

// Newf is New with a formatted message.
func Newf(kind Kind, format string, a ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, a...)}
}

// Errorf returns an error of sentinel's kind, one of sentinel for
// errors.Is, with a formatted message. It formats with fmt.Sprintf: %w
// does not wrap here; a cause goes in Err.
func Errorf(sentinel *Error, format string, a ...any) *Error {
	return &Error{Kind: sentinel.Kind, Message: fmt.Sprintf(format, a...), Err: sentinel}
}

// FieldErrorf is Errorf naming the field at fault.
func FieldErrorf(sentinel *Error, field, format string, a ...any) *Error {
	return &Error{Kind: sentinel.Kind, Field: field, Message: fmt.Sprintf(format, a...), Err: sentinel}
}

// Error reads "sentinel: field: message: cause", each part when there is
// one: "whistle: not found: whistle 7", "whistle: invalid: grade: grade
// must be routine, priority or hard". An error with no message reads as
// its kind.
func (e *Error) Error() string {
	s := e.Message
	if s == "" {
		s = e.Kind.String()
	}
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	switch err := e.Err.(type) {
	case nil:
	case *Error:
		s = err.Error() + ": " + s
	default:
		s += ": " + err.Error()
	}
	return s
}

// Unwrap returns the sentinel or the cause, so errors.Is(err,
// whistle.ErrNotFound) and errors.Is(err, context.Canceled) see them.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is e's Kind: errors.Is(err, fault.NotFound).
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}
