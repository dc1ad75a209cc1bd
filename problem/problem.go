// Package problem carries the errors a client must see, as RFC 9457 problem
// details. Domain packages return (or wrap) *Error for outcomes that the caller
// can act on; the HTTP layer renders them as application/problem+json. Any
// other error is an internal failure and is rendered without detail.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// TypeBase is the prefix of every problem type URI.
const TypeBase = "https://kyso.vn/problems/"

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Error is a problem a client must see: an HTTP status, a stable machine
// readable code and a human readable detail.
type Error struct {
	Status int
	Code   string
	Title  string
	Detail string
	// Extra members are added to the problem document (for example the
	// current state of an object in a 409).
	Extra map[string]any
	// Err is the underlying cause, kept for logs, never sent to clients.
	Err error
}

// New returns a problem with the given status, code and detail.
func New(status int, code, detail string) *Error {
	return &Error{Status: status, Code: code, Detail: detail}
}

// Newf is New with a formatted detail.
func Newf(status int, code, format string, args ...any) *Error {
	return New(status, code, fmt.Sprintf(format, args...))
}

// Wrap returns a problem whose detail is err's message and whose cause is err.
func Wrap(status int, code string, err error) *Error {
	return &Error{Status: status, Code: code, Detail: err.Error(), Err: err}
}

// With returns a copy of e with an extra member set.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Extra = make(map[string]any, len(e.Extra)+1)
	for k, v := range e.Extra {
		c.Extra[k] = v
	}
	c.Extra[key] = value
	return &c
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Code + ": " + e.Detail
	}
	return e.Code
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is a problem with the same code, so that
// errors.Is(err, SomeSentinelProblem) works across wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Status == e.Status
}

// As returns the problem in err's chain, if any.
func As(err error) (*Error, bool) {
	var p *Error
	if errors.As(err, &p) {
		return p, true
	}
	return nil, false
}

// Document is the JSON form of a problem (RFC 9457 section 3).
func (e *Error) Document(instance string) map[string]any {
	title := e.Title
	if title == "" {
		title = http.StatusText(e.Status)
	}
	doc := map[string]any{}
	for k, v := range e.Extra {
		doc[k] = v
	}
	doc["type"] = TypeBase + e.Code
	doc["title"] = title
	doc["status"] = e.Status
	doc["code"] = e.Code
	if e.Detail != "" {
		doc["detail"] = e.Detail
	}
	if instance != "" {
		doc["instance"] = instance
	}
	return doc
}

// internal is the problem shown for any error that is not a *Error.
var internal = Error{Status: http.StatusInternalServerError, Code: "internal", Detail: "the server could not complete the request"}

// Write renders err as problem+json. Errors that are not problems become a
// 500 without detail; the caller is expected to have logged them.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := As(err)
	if !ok {
		c := internal
		p = &c
	}
	instance := ""
	if r != nil {
		instance = r.URL.Path
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p.Document(instance))
}
