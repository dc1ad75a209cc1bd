package api

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"kyso/problem"
)

// OpenAPI is the API description served at /openapi.json; docs/openapi.json
// is the same file (a test keeps them equal and checks that every route is
// described).
//
//go:embed openapi.json
var OpenAPI []byte

// coreRoutes are the routes every deployment has. Functional areas add
// theirs by implementing Area (see identity_*.go, ca_*.go, sign_*.go,
// verify_*.go, dossier_*.go) and being passed to New by cmd/kyso.
func (s *Server) coreRoutes(r *Router) {
	r.Handle(http.MethodGet, "/healthz", Public, s.healthz)
	r.Handle(http.MethodGet, "/readyz", Public, s.readyz)
	r.Handle(http.MethodGet, "/metrics", Public, s.metricsHandler().ServeHTTP)
	r.Handle(http.MethodGet, "/openapi.json", Public, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(OpenAPI)
	})
	r.Handle(http.MethodGet, "/v1/whoami", Roles(allRoles...), s.whoami)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.deps.Version})
}

// readyz answers 200 when every readiness check (an HSM session, the
// database) passes within a few seconds.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	for _, c := range s.deps.Ready {
		if err := c.Check(ctx); err != nil {
			checks[c.Name] = "failing"
			ok = false
			s.deps.Log.WarnContext(ctx, "readiness check failed", "check", c.Name, "err", err)
			continue
		}
		checks[c.Name] = "ok"
	}
	if !ok {
		problem.Write(w, r, problem.New(http.StatusServiceUnavailable, "not-ready", "a dependency is not answering").With("checks", checks))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}
