package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"kyso/hsm"
	"kyso/problem"
	"kyso/store"
)

// WriteJSON renders v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// Fail renders err as a problem document; internal errors are logged with
// the request ID and shown without detail.
func (s *Server) Fail(w http.ResponseWriter, r *http.Request, err error) { s.finish(w, r, err) }

// Fail renders err as a problem document for handlers outside a Server
// method; internal errors are shown without detail.
func Fail(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, hsmUnavailable(w, err))
}

// hsmUnavailable turns an HSM outage that is not already a problem into the
// 503 hsm-unavailable problem, with Retry-After, keeping err as its cause.
//
// A database whose write lock stayed taken for the whole busy timeout
// (store.ErrBusy, SQLite under more writes than it can take) is likewise a
// 503 busy with Retry-After.
func hsmUnavailable(w http.ResponseWriter, err error) error {
	if _, ok := problem.As(err); ok {
		return err
	}
	switch {
	case hsm.IsUnavailable(err):
		w.Header().Set("Retry-After", "2")
		return &problem.Error{Status: http.StatusServiceUnavailable, Code: "hsm-unavailable",
			Detail: "the hardware security module cannot serve this request now; try again", Err: err}
	case errors.Is(err, store.ErrBusy):
		w.Header().Set("Retry-After", "2")
		return &problem.Error{Status: http.StatusServiceUnavailable, Code: "busy",
			Detail: "the database is busy; try again", Err: err}
	}
	return err
}

// failLogged renders err as a problem document and logs it, with the
// request ID, when it is an internal error (shown to the client without
// detail).
//
// A failure of the HSM (a network HSM restarting, a token that refuses a
// mechanism) is a 503 hsm-unavailable with Retry-After, never a 500: the
// request was fine and may succeed on a retry or on another replica.
func failLogged(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	cause := err
	err = hsmUnavailable(w, err)
	if p, ok := problem.As(err); !ok || p.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "request_id", RequestID(r.Context()), "path", r.URL.Path,
			"status", problemStatus(err), "err", cause)
	}
	problem.Write(w, r, err)
}

// problemStatus is the HTTP status err is answered with.
func problemStatus(err error) int {
	if p, ok := problem.As(err); ok {
		return p.Status
	}
	return http.StatusInternalServerError
}

// DecodeJSON reads a JSON request body into v: the content type must be
// JSON, unknown fields and trailing data are refused, and an oversized body
// is a 413.
func DecodeJSON(r *http.Request, v any) error {
	if err := RequireContentType(r, "application/json"); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BodyError(err)
	}
	if dec.More() {
		return problem.New(http.StatusBadRequest, "malformed-body", "the body holds more than one JSON value")
	}
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return BodyError(err)
	}
	return nil
}

// BodyError turns a failure to read or decode a body into a problem.
func BodyError(err error) error {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "the request body is larger than %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return problem.New(http.StatusBadRequest, "malformed-body", "the request body is empty")
	case errors.As(err, &se):
		return problem.Newf(http.StatusBadRequest, "malformed-body", "the body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		return problem.Newf(http.StatusBadRequest, "malformed-body", "field %q must be %s", te.Field, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem.New(http.StatusBadRequest, "malformed-body", "the body ends too early")
	default:
		return problem.Wrap(http.StatusBadRequest, "malformed-body", fmt.Errorf("the body cannot be read: %w", err))
	}
}

// RequireContentType fails with 415 unless the request's media type is one
// of types.
func RequireContentType(r *http.Request, types ...string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil {
		for _, t := range types {
			if mt == t {
				return nil
			}
		}
	}
	return problem.Newf(http.StatusUnsupportedMediaType, "unsupported-media-type", "Content-Type must be %s", joinOr(types))
}

func joinOr(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := ""
	for i, v := range s {
		switch {
		case i == len(s)-1:
			out += " or " + v
		case i > 0:
			out += ", " + v
		default:
			out += v
		}
	}
	return out
}

// htmlPage renders one template of a browser page with the headers every
// page sends: its content security policy (csp), no MIME sniffing, and the
// extra headers given as name, value pairs. A template that fails to render
// answers a plain 500 and is logged.
func htmlPage(w http.ResponseWriter, log *slog.Logger, t *template.Template, name string, data any, status int, csp string, extra ...string) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		log.Error("render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
