package api

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"strings"

	"kyso/auth"
	"kyso/problem"
)

// TokenAuthenticator resolves API tokens and client certificates to
// principals (auth.Principals implements it).
type TokenAuthenticator interface {
	ByToken(ctx context.Context, token string) (*auth.Principal, error)
	ByClientCert(ctx context.Context, cert *x509.Certificate) (*auth.Principal, error)
}

// Access says who may call a route. The zero value admits nobody.
type Access struct {
	public bool
	roles  []auth.Role
}

// Public admits anyone, authenticated or not; a credential that is
// presented is still checked and attached to the request.
var Public = Access{public: true}

// Roles admits authenticated principals with one of the roles.
func Roles(roles ...auth.Role) Access { return Access{roles: roles} }

func (a Access) String() string {
	if a.public {
		return "public"
	}
	var s []string
	for _, r := range a.roles {
		s = append(s, string(r))
	}
	return strings.Join(s, ",")
}

// RouteOption adjusts one route.
type RouteOption func(*routeConfig)

type routeConfig struct {
	maxBody int64
	limit   string
	session bool
}

// MaxBody sets the request body limit of a route.
func MaxBody(n int64) RouteOption { return func(c *routeConfig) { c.maxBody = n } }

// AcceptSession lets a route's callers authenticate with the browser
// session cookie of the dashboard besides the usual credentials. Only the
// dashboard's own pages accept it, so that the API stays free of
// cookie-borne requests a foreign site could forge.
func AcceptSession() RouteOption { return func(c *routeConfig) { c.session = true } }

// SessionCookie is the name of the dashboard's session cookie.
const SessionCookie = "kyso_session"

// SessionAuthenticator resolves the secret of a session cookie
// (auth.Principals implements it).
type SessionAuthenticator interface {
	BySession(ctx context.Context, secret string) (*auth.Principal, error)
}

// RouteInfo describes a registered route.
type RouteInfo struct {
	Method, Path string
	Access       Access
}

// Router registers routes with their access rule.
type Router struct {
	s      *Server
	routes []RouteInfo
}

// Handle registers h for method and path (a gorilla/mux template). Every
// route states who may call it; authentication happens before h runs and
// h sees the principal through auth.FromContext.
func (rt *Router) Handle(method, path string, access Access, h http.HandlerFunc, opts ...RouteOption) {
	if !access.public && len(access.roles) == 0 {
		panic("api: route " + method + " " + path + " admits nobody") // programming error, caught by tests
	}
	cfg := routeConfig{maxBody: rt.s.deps.MaxBodyBytes}
	for _, o := range opts {
		o(&cfg)
	}
	rt.routes = append(rt.routes, RouteInfo{Method: method, Path: path, Access: access})
	s := rt.s
	rt.s.mux.Methods(method).Path(path).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = path
		}
		if cfg.limit != "" {
			if err := s.admit(w, r, cfg.limit); err != nil {
				s.finish(w, r, err)
				return
			}
		}
		if r.ContentLength > cfg.maxBody {
			s.finish(w, r, problem.Newf(http.StatusRequestEntityTooLarge, "body-too-large", "the request body is larger than %d bytes", cfg.maxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, cfg.maxBody)
		p, err := s.authenticate(r)
		if err != nil {
			s.finish(w, r, err)
			return
		}
		if p == nil && cfg.session {
			p = s.sessionPrincipal(r)
		}
		if p != nil {
			if rec, ok := w.(*statusRecorder); ok {
				rec.principal = string(p.Role) + ":" + p.Subject
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		if !access.public {
			if p == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="kyso"`)
				s.finish(w, r, auth.ErrUnauthenticated)
				return
			}
			if !slices.Contains(access.roles, p.Role) {
				s.finish(w, r, auth.ErrForbidden)
				return
			}
		}
		h(w, r)
	})
}

// authenticate finds the caller: a bearer API token (agency, officer,
// admin), a bearer identity assertion (citizen), or a verified TLS client
// certificate bound to a principal. No credential is not an error here; a
// bad credential is.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	if h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return nil, problem.New(http.StatusUnauthorized, "unauthenticated", "the Authorization header must be 'Bearer <token>'")
		}
		token = strings.TrimSpace(token)
		if strings.HasPrefix(token, auth.TokenPrefix) {
			if s.deps.Principals == nil {
				return nil, auth.ErrUnauthenticated
			}
			return s.deps.Principals.ByToken(r.Context(), token)
		}
		if s.deps.Assertions == nil {
			return nil, auth.ErrUnauthenticated
		}
		a, err := s.deps.Assertions.VerifyAssertion(r.Context(), token)
		if err != nil {
			if _, ok := problem.As(err); ok {
				return nil, err
			}
			return nil, problem.Wrap(http.StatusUnauthorized, "assertion-invalid", errors.New("the identity assertion is not valid"))
		}
		return &auth.Principal{Role: auth.RoleCitizen, Subject: a.Subject, Name: a.Name, Assertion: a}, nil
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && s.deps.Principals != nil {
		return s.deps.Principals.ByClientCert(r.Context(), r.TLS.VerifiedChains[0][0])
	}
	return nil, nil
}

// sessionPrincipal is the principal of a valid session cookie, nil without
// one (an unknown or expired session is no credential, not an error: the
// page sends the browser to sign in).
func (s *Server) sessionPrincipal(r *http.Request) *auth.Principal {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	sa, ok := s.deps.Principals.(SessionAuthenticator)
	if !ok {
		return nil
	}
	p, err := sa.BySession(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, auth.ErrUnauthenticated) {
			s.deps.Log.Error("session look-up", "err", err)
		}
		return nil
	}
	return p
}
