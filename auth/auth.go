// Package auth says who is calling and what they may do. Citizens are known
// by a signed identity assertion (a JWT the identity package issues and
// verifies); agencies, officers and administrators by API tokens (only a
// hash is stored) and optionally by a client certificate. The principal of a
// request travels in its context.
package auth

import (
	"context"
	"embed"
	"net/http"
	"time"

	"kyso/problem"
)

// Role is what a principal is allowed to act as.
type Role string

// The roles.
const (
	RoleCitizen Role = "citizen"
	RoleAgency  Role = "agency"
	RoleOfficer Role = "officer"
	RoleAdmin   Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleCitizen, RoleAgency, RoleOfficer, RoleAdmin:
		return true
	}
	return false
}

// Principal is an authenticated caller.
type Principal struct {
	Role Role
	// Subject is the 12-digit personal ID number for a citizen and the
	// principal ID for everyone else.
	Subject    string
	Name       string
	AgencyCode string
	// Assertion is the verified identity assertion of a citizen.
	Assertion *Assertion
}

// Assertion is the content of a verified identity assertion.
type Assertion struct {
	Raw       string
	JTI       string
	Subject   string
	Name      string
	BirthDate string
	Sex       string
	// Province comes from the chip's verified place of residence.
	Province string
	LoA      string
	AMR      []string
	IssuedAt time.Time
	Expiry   time.Time
}

// AssertionVerifier checks a citizen's bearer identity assertion.
type AssertionVerifier interface {
	VerifyAssertion(ctx context.Context, raw string) (*Assertion, error)
}

// ReplayGuard accepts an assertion once per purpose.
type ReplayGuard interface {
	Consume(ctx context.Context, jti, purpose string, exp time.Time) error
}

// Errors callers branch on.
var (
	ErrUnauthenticated = problem.New(http.StatusUnauthorized, "unauthenticated", "credentials are missing or invalid")
	ErrForbidden       = problem.New(http.StatusForbidden, "forbidden", "the caller's role may not do this")
	ErrReplayed        = problem.New(http.StatusUnauthorized, "assertion-replayed", "this identity assertion was already used for this purpose")
)

// Migrations are the auth tables.
//
//go:embed migrations/*.sql
var migrations embed.FS

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of ctx, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}
