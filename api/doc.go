// Package api is Kyso's HTTP interface on gorilla/mux. Handlers are thin:
// decode the request, authorize the caller, call the domain, render the
// result. Every error is an RFC 9457 problem document. Authorization is
// declared once per route (see Router.Handle) and denies by default.
//
// The core routes (health, readiness, metrics, OpenAPI) live in routes.go.
// Each functional area (identity, CA, signing, verification, dossiers)
// implements Area in its own files and is passed to New by cmd/kyso.
package api
