package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"kyso/problem"
	"kyso/ratelimit"
)

// Rate-limit classes: every public endpoint that costs an HSM operation,
// an Argon2id run or comparable work belongs to one. The limits are per
// client (its IP address) and configured under http.rate_limits.
const (
	// LimitIdentity: identity challenges and chip verifications (a
	// database write, chip cryptography and an HSM-signed assertion).
	LimitIdentity = "identity"
	// LimitTSA: RFC 3161 time-stamps (one HSM signature each).
	LimitTSA = "tsa"
	// LimitOCSPSigned: OCSP requests that need a signature on demand (a
	// nonce, a non-SHA-1 CertID or several CertIDs); pre-signed answers
	// are not limited.
	LimitOCSPSigned = "ocsp-signed"
	// LimitCRL: CRL downloads (a stale shard is regenerated and signed).
	LimitCRL = "crl"
	// LimitVerify: signature validation of uploaded documents.
	LimitVerify = "verify"
	// LimitEnrol: certificate enrolment (an HSM key and signature, an
	// Argon2id PIN hash).
	LimitEnrol = "enrol"
)

// ErrRateLimited is the problem a client over its limit gets (with a
// Retry-After header).
var ErrRateLimited = problem.New(http.StatusTooManyRequests, "rate-limited", "too many requests from this client for this endpoint; retry after the time in the Retry-After header")

// RateLimit makes a route take a token of class before anything else runs
// (authentication included).
func RateLimit(class string) RouteOption { return func(c *routeConfig) { c.limit = class } }

// clientOf is the client's address: the connection's peer, or, when the
// peer is a trusted proxy, the last X-Forwarded-For hop before the trusted
// proxies.
func (s *Server) clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.deps.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// admit takes a token of class for the request's client; when none is
// left it sets Retry-After and returns ErrRateLimited.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, class string) error {
	if s.deps.Limits == nil {
		return nil
	}
	ok, wait := s.deps.Limits.Allow(class, s.clientOf(r))
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return ErrRateLimited.With("retry_after", secs)
}

// Admit is admit for areas that decide inside a handler whether a request
// is costly (OCSP with a nonce).
func (rt *Router) Admit(w http.ResponseWriter, r *http.Request, class string) error {
	return rt.s.admit(w, r, class)
}

// Limits builds the limiter for the configured rules.
func Limits(rules map[string]ratelimit.Rule) *ratelimit.Limiter {
	return ratelimit.New(rules, 0, nil)
}
