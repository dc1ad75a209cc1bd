package main

import (
	"context"

	"kyso/api"
	"kyso/auth"
)

// wired are the components behind the HTTP server.
type wired struct {
	areas      []api.Area
	assertions auth.AssertionVerifier
	stop       func()
}

// wire opens the domain components and their HTTP areas.
func wire(ctx context.Context, e *env, principals *auth.Principals) (*wired, error) {
	w := &wired{stop: func() {}}
	return w, nil
}
