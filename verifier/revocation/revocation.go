// Package revocation decides whether a certificate was revoked at a given
// time, per RFC 5280 §6.3 and ETSI EN 319 102-1 §5.2.5, from revocation
// data carried by the document (a PDF's /DSS, CMS revocation values) and
// data fetched online (OCSP first, then the CRL); see Checker.Check for
// which evidence applies and how it is weighed. Online
// fetching is bounded by a timeout and a response size, limited to the hosts
// the configuration allows, cached per checker, and can be turned off.
package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Status is a certificate's revocation status.
type Status string

// Statuses.
const (
	Good    Status = "good"
	Revoked Status = "revoked"
	Unknown Status = "unknown"
)

// Evidence is revocation data found with a signature.
type Evidence struct {
	Origin string   // "DSS", "CMS", …
	OCSP   [][]byte // DER OCSPResponse
	Basic  [][]byte // DER BasicOCSPResponse (CAdES revocation values)
	CRLs   [][]byte // DER CertificateList
}

// Result is the outcome for one certificate.
type Result struct {
	Status Status `json:"status"`
	// RevokedAt is set when the certificate is revoked, also when the
	// revocation came after the time asked about (Status is then Good).
	RevokedAt time.Time `json:"revokedAt,omitzero"`
	// Reason is the RFC 5280 CRLReason of the revocation.
	Reason int       `json:"reason,omitempty"`
	Source string    `json:"source,omitempty"` // e.g. "DSS OCSP", "online CRL http://…"
	Issued time.Time `json:"issued,omitzero"`  // thisUpdate of the evidence used
	Detail string    `json:"detail,omitempty"`
	// DocumentSource is the source that decides the same status from the
	// evidence given alone (what the document carries), "" when that
	// evidence alone does not decide it. A baseline level such as B-LT
	// depends on it, not on whether an online answer fetched later was
	// newer.
	DocumentSource string `json:"documentSource,omitempty"`
}

// Config configures a Checker.
type Config struct {
	Offline      bool
	AllowedHosts []string      // hosts online checks may contact; "*" allows any
	Timeout      time.Duration // per request; default 5s
	Client       *http.Client
	MaxResponse  int64 // bytes; default 10 MiB
	// Freshness is how long before the time asked about a "good" may have
	// been issued; zero means the evidence's own validity period
	// (nextUpdate - thisUpdate), and evidence without nextUpdate must then
	// be issued at or after that time.
	Freshness time.Duration
	// ClockSkew is how far after the current time evidence may say it was
	// issued (thisUpdate, OCSP producedAt); evidence dated later is
	// refused. Zero means DefaultClockSkew.
	ClockSkew time.Duration
	Now       func() time.Time
}

// DefaultClockSkew is the default Config.ClockSkew.
const DefaultClockSkew = 5 * time.Minute

// Checker checks revocation. It is safe for concurrent use.
type Checker struct {
	cfg   Config
	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	body    []byte
	expires time.Time
}

// New returns a Checker.
func New(cfg Config) *Checker {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.MaxResponse == 0 {
		cfg.MaxResponse = 10 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClockSkew <= 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	return &Checker{cfg: cfg, cache: map[string]cached{}}
}

// wrapBasic turns a BasicOCSPResponse into a successful OCSPResponse.
func wrapBasic(basic []byte) ([]byte, error) {
	type responseBytes struct {
		Type     asn1.ObjectIdentifier
		Response []byte
	}
	type response struct {
		Status asn1.Enumerated
		Bytes  responseBytes `asn1:"explicit,tag:0"`
	}
	return asn1.Marshal(response{Status: 0, Bytes: responseBytes{Type: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}, Response: basic}})
}

// candidate is one piece of revocation evidence that applies to a
// certificate: signed by its issuer (or a delegated responder), in scope.
type candidate struct {
	source                 string
	thisUpdate, nextUpdate time.Time
	producedAt             time.Time // OCSP producedAt; zero for a CRL
	status                 Status    // Good or Revoked
	revokedAt              time.Time
	reason                 int
}

// errNotForCert marks evidence about other certificates; it is skipped
// silently.
var errNotForCert = errors.New("not about this certificate")

// Check returns cert's status at time at, issued by issuer, from every
// source: the evidence given, then (unless offline) the certificate's OCSP
// responders and, when they give no answer, its CRL distribution points.
//
// Evidence applies only when it is about cert and authentic: a CRL of
// cert's issuer whose scope covers cert (RFC 5280 §6.3.3: issuing
// distribution point, certificate type, all reasons, no indirect or delta
// CRL, no unknown critical extension), an OCSP response whose CertID
// names cert's issuer and which the issuer or its delegated responder
// signed, and dated (thisUpdate, producedAt) no later than the current
// time plus Config.ClockSkew. A "good" issued after cert expired counts
// only under ExpiredCertsOnCRL or an OCSP archive cutoff. Then:
//   - any evidence that cert was revoked at or before at decides Revoked,
//     whatever else says good;
//   - else evidence that cert was on hold (certificateHold) at at gives
//     Unknown (EN 319 102-1: INDETERMINATE/TRY_LATER), unless a "good"
//     issued after that evidence and by at shows the hold lifted;
//   - else evidence of a revocation after at gives Good with RevokedAt;
//   - else a "good" issued at or after at (the closest after at is
//     reported), or issued before at within the freshness window
//     (Config.Freshness, or the evidence's own nextUpdate - thisUpdate
//     when unset), gives Good;
//   - else Unknown, with the reasons each piece of evidence was refused.
func (c *Checker) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time, evidence []Evidence) Result {
	var notes []string
	var cands []*candidate
	add := func(cand *candidate, err error, source string) {
		if err == nil {
			err = c.notFuture(cand)
		}
		switch {
		case errors.Is(err, errNotForCert):
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s: %v", source, err))
		default:
			cands = append(cands, cand)
		}
	}
	crls := func(evidence []Evidence) [][]byte {
		var out [][]byte
		for _, ev := range evidence {
			out = append(out, ev.CRLs...)
		}
		return out
	}(evidence)
	responder := c.responderCheck(ctx, issuer, crls)
	for _, ev := range evidence {
		ocsps := slices.Clone(ev.OCSP)
		for _, b := range ev.Basic {
			if w, err := wrapBasic(b); err == nil {
				ocsps = append(ocsps, w)
			}
		}
		for _, der := range ocsps {
			src := ev.Origin + " OCSP"
			cand, err := fromOCSP(der, cert, issuer, src, responder)
			add(cand, err, src)
		}
		for _, der := range ev.CRLs {
			src := ev.Origin + " CRL"
			cand, err := fromCRL(der, cert, issuer, src)
			add(cand, err, src)
		}
	}
	doc, docOK := decide(cands, at, c.cfg.Freshness)
	if docOK && doc.Status == Revoked {
		doc.DocumentSource = doc.Source
		return doc
	}
	if c.cfg.Offline {
		notes = append(notes, "online checks disabled")
	} else {
		online := 0
		for _, u := range cert.OCSPServer {
			der, err := c.fetchOCSP(ctx, u, cert, issuer)
			if err != nil {
				notes = append(notes, err.Error())
				continue
			}
			src := "online OCSP " + u
			cand, err := fromOCSP(der, cert, issuer, src, responder)
			add(cand, err, src)
			if err == nil {
				online++
				break
			}
		}
		if online == 0 {
			for _, u := range cert.CRLDistributionPoints {
				der, err := c.get(ctx, u, "")
				if err != nil {
					notes = append(notes, err.Error())
					continue
				}
				src := "online CRL " + u
				cand, err := fromCRL(der, cert, issuer, src)
				add(cand, err, src)
				if err == nil {
					break
				}
			}
		}
	}
	if r, ok := decide(cands, at, c.cfg.Freshness); ok {
		if docOK && doc.Status == r.Status {
			r.DocumentSource = doc.Source
		}
		return r
	}
	for _, cand := range cands {
		if cand.status == Good {
			notes = append(notes, fmt.Sprintf("%s: issued %s, not fresh for %s", cand.source, stamp(cand.thisUpdate), stamp(at)))
		}
	}
	if len(notes) == 0 {
		notes = append(notes, "no revocation information")
	}
	return Result{Status: Unknown, Detail: strings.Join(notes, "; ")}
}

// notFuture refuses evidence that says it was issued after the current
// time (plus the clock skew allowed): no issuer can have made it yet, and
// it would otherwise count as the freshest "good".
func (c *Checker) notFuture(cand *candidate) error {
	now := c.cfg.Now().UTC()
	limit := now.Add(c.cfg.ClockSkew)
	for _, t := range []time.Time{cand.thisUpdate, cand.producedAt} {
		if t.After(limit) {
			return fmt.Errorf("issued %s, after the current time %s", stamp(t), stamp(now))
		}
	}
	return nil
}

// reasonCertificateHold is the CRLReason certificateHold (RFC 5280
// §5.3.1): a suspension, which may be lifted.
const reasonCertificateHold = 6

// decide applies Check's rules to the candidates.
func decide(cands []*candidate, at time.Time, freshness time.Duration) (Result, bool) {
	var revokedBefore, revokedAfter, after, before, held *candidate
	for _, c := range cands {
		hold := c.status == Revoked && c.reason == reasonCertificateHold
		switch {
		case hold && !c.revokedAt.After(at):
			if held == nil || c.thisUpdate.After(held.thisUpdate) {
				held = c
			}
		case hold:
			// Suspended only after the time of interest: as of this
			// evidence, the certificate was not revoked then.
			if after == nil || c.thisUpdate.Before(after.thisUpdate) {
				if !c.thisUpdate.Before(at) {
					after = c
				}
			}
		case c.status == Revoked && !c.revokedAt.After(at):
			if revokedBefore == nil || c.revokedAt.Before(revokedBefore.revokedAt) {
				revokedBefore = c
			}
		case c.status == Revoked:
			if revokedAfter == nil || c.revokedAt.Before(revokedAfter.revokedAt) {
				revokedAfter = c
			}
		case !c.thisUpdate.Before(at):
			if after == nil || c.thisUpdate.Before(after.thisUpdate) {
				after = c
			}
		default:
			window := freshness
			if window <= 0 && !c.nextUpdate.IsZero() {
				window = c.nextUpdate.Sub(c.thisUpdate)
			}
			if c.thisUpdate.Before(at.Add(-window)) {
				continue
			}
			if before == nil || c.thisUpdate.After(before.thisUpdate) {
				before = c
			}
		}
	}
	if held != nil && revokedBefore == nil {
		// A certificate on hold at the time of interest is neither good
		// nor revoked (EN 319 102-1: INDETERMINATE/TRY_LATER), unless a
		// "good" issued after the suspension, and by that time, shows it
		// lifted.
		lifted := false
		for _, c := range cands {
			lifted = lifted || (c.status == Good && c.thisUpdate.After(held.thisUpdate) && !c.thisUpdate.After(at))
		}
		if !lifted {
			return Result{Status: Unknown, Reason: held.reason, Source: held.source, Issued: held.thisUpdate,
				Detail: fmt.Sprintf("%s: certificate on hold (certificateHold) since %s", held.source, stamp(held.revokedAt))}, true
		}
	}
	switch {
	case revokedBefore != nil:
		return Result{Status: Revoked, RevokedAt: revokedBefore.revokedAt, Reason: revokedBefore.reason, Source: revokedBefore.source, Issued: revokedBefore.thisUpdate}, true
	case revokedAfter != nil:
		return Result{Status: Good, RevokedAt: revokedAfter.revokedAt, Reason: revokedAfter.reason, Source: revokedAfter.source, Issued: revokedAfter.thisUpdate}, true
	case after != nil:
		return Result{Status: Good, Source: after.source, Issued: after.thisUpdate}, true
	case before != nil:
		return Result{Status: Good, Source: before.source, Issued: before.thisUpdate}, true
	}
	return Result{}, false
}

// responderCheck returns the check of a delegated OCSP responder
// certificate without id-pkix-ocsp-nocheck: it must be shown unrevoked by
// a CRL of the issuer (given, or fetched when online) at the time the
// response was produced.
func (c *Checker) responderCheck(ctx context.Context, issuer *x509.Certificate, crls [][]byte) responderCheck {
	return func(r *x509.Certificate, at time.Time) error {
		if !bytes.Equal(r.RawIssuer, issuer.RawSubject) {
			return errors.New("not issued by the certificate's issuer")
		}
		var cands []*candidate
		var notes []string
		for _, der := range crls {
			cand, err := fromCRL(der, r, issuer, "CRL")
			if err == nil {
				err = c.notFuture(cand)
			}
			if err == nil {
				cands = append(cands, cand)
			} else if !errors.Is(err, errNotForCert) {
				notes = append(notes, err.Error())
			}
		}
		if !c.cfg.Offline {
			for _, u := range r.CRLDistributionPoints {
				der, err := c.get(ctx, u, "")
				if err != nil {
					notes = append(notes, err.Error())
					continue
				}
				cand, err := fromCRL(der, r, issuer, "online CRL "+u)
				if err == nil {
					err = c.notFuture(cand)
				}
				if err == nil {
					cands = append(cands, cand)
				} else {
					notes = append(notes, err.Error())
				}
			}
		}
		res, ok := decide(cands, at, c.cfg.Freshness)
		switch {
		case !ok:
			return fmt.Errorf("revocation status unknown (%s)", strings.Join(notes, "; "))
		case res.Status == Revoked:
			return fmt.Errorf("revoked at %s", stamp(res.RevokedAt))
		case res.Status != Good:
			return fmt.Errorf("revocation status unknown (%s)", res.Detail)
		}
		return nil
	}
}

func (c *Checker) allowed(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("revocation URL %q not usable", raw)
	}
	host := u.Hostname()
	for _, h := range c.cfg.AllowedHosts {
		if h == "*" || strings.EqualFold(h, host) || strings.EqualFold(h, u.Host) {
			return u, nil
		}
	}
	return nil, fmt.Errorf("revocation host %q not allowed by configuration", u.Host)
}

func (c *Checker) fetchOCSP(ctx context.Context, u string, cert, issuer *x509.Certificate) ([]byte, error) {
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return nil, err
	}
	return c.post(ctx, u, req)
}

func (c *Checker) post(ctx context.Context, raw string, body []byte) ([]byte, error) {
	return c.do(ctx, raw, body)
}

func (c *Checker) get(ctx context.Context, raw, _ string) ([]byte, error) {
	return c.do(ctx, raw, nil)
}

func (c *Checker) do(ctx context.Context, raw string, body []byte) ([]byte, error) {
	u, err := c.allowed(raw)
	if err != nil {
		return nil, err
	}
	key := raw + "\x00" + string(body)
	now := c.cfg.Now()
	c.mu.Lock()
	if e, ok := c.cache[key]; ok && now.Before(e.expires) {
		c.mu.Unlock()
		return e.body, nil
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var req *http.Request
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/ocsp-request")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	}
	if err != nil {
		return nil, err
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: HTTP %d", u.Redacted(), resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	}
	if int64(len(b)) > c.cfg.MaxResponse {
		return nil, fmt.Errorf("fetch %s: response larger than %d bytes", u.Redacted(), c.cfg.MaxResponse)
	}
	c.mu.Lock()
	if len(c.cache) > 4096 {
		clear(c.cache)
	}
	c.cache[key] = cached{body: b, expires: now.Add(5 * time.Minute)}
	c.mu.Unlock()
	return b, nil
}
