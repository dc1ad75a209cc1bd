// Package revocation decides whether a certificate was revoked at a given
// time, from revocation data carried by the document (a PDF's /DSS, CMS
// revocation values) or fetched online: OCSP first, then the CRL. Online
// fetching is bounded by a timeout and a response size, limited to the hosts
// the configuration allows, cached per checker, and can be turned off.
package revocation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
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
	Source    string    `json:"source,omitempty"` // e.g. "DSS OCSP", "online CRL http://…"
	Issued    time.Time `json:"issued,omitzero"`  // thisUpdate of the evidence used
	Detail    string    `json:"detail,omitempty"`
}

// Config configures a Checker.
type Config struct {
	Offline      bool
	AllowedHosts []string      // hosts online checks may contact; "*" allows any
	Timeout      time.Duration // per request; default 5s
	Client       *http.Client
	MaxResponse  int64         // bytes; default 10 MiB
	Freshness    time.Duration // how long before the asked time evidence may be issued; default 24h
	Now          func() time.Time
}

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
	if cfg.Freshness == 0 {
		cfg.Freshness = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
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

func (c *Checker) fresh(this, next, at time.Time) bool {
	if !this.Before(at.Add(-c.cfg.Freshness)) {
		return true
	}
	return !next.IsZero() && !at.Before(this) && !at.After(next)
}

// Check returns cert's status at time at, issued by issuer.
func (c *Checker) Check(ctx context.Context, cert, issuer *x509.Certificate, at time.Time, evidence []Evidence) Result {
	var notes []string
	for _, ev := range evidence {
		ocsps := slices.Clone(ev.OCSP)
		for _, b := range ev.Basic {
			if w, err := wrapBasic(b); err == nil {
				ocsps = append(ocsps, w)
			}
		}
		for _, der := range ocsps {
			r, ok, note := c.fromOCSP(der, cert, issuer, at, ev.Origin+" OCSP", false)
			if note != "" {
				notes = append(notes, note)
			}
			if ok {
				return r
			}
		}
		for _, der := range ev.CRLs {
			r, ok, note := c.fromCRL(der, cert, issuer, at, ev.Origin+" CRL", false)
			if note != "" {
				notes = append(notes, note)
			}
			if ok {
				return r
			}
		}
	}
	if c.cfg.Offline {
		notes = append(notes, "online checks disabled")
		return Result{Status: Unknown, Detail: strings.Join(notes, "; ")}
	}
	for _, u := range cert.OCSPServer {
		der, err := c.fetchOCSP(ctx, u, cert, issuer)
		if err != nil {
			notes = append(notes, err.Error())
			continue
		}
		r, ok, note := c.fromOCSP(der, cert, issuer, at, "online OCSP "+u, true)
		if note != "" {
			notes = append(notes, note)
		}
		if ok {
			return r
		}
	}
	for _, u := range cert.CRLDistributionPoints {
		der, err := c.get(ctx, u, "")
		if err != nil {
			notes = append(notes, err.Error())
			continue
		}
		r, ok, note := c.fromCRL(der, cert, issuer, at, "online CRL "+u, true)
		if note != "" {
			notes = append(notes, note)
		}
		if ok {
			return r
		}
	}
	if len(notes) == 0 {
		notes = append(notes, "no revocation information")
	}
	return Result{Status: Unknown, Detail: strings.Join(notes, "; ")}
}

func (c *Checker) fromOCSP(der []byte, cert, issuer *x509.Certificate, at time.Time, source string, current bool) (Result, bool, string) {
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		if strings.Contains(err.Error(), "no response matching") || strings.Contains(err.Error(), "bad serial") {
			return Result{}, false, ""
		}
		return Result{}, false, fmt.Sprintf("%s: %v", source, err)
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		return Result{}, false, ""
	}
	if resp.Certificate != nil && !bytes.Equal(resp.Certificate.Raw, issuer.Raw) && !slices.Contains(resp.Certificate.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return Result{}, false, fmt.Sprintf("%s: responder certificate lacks id-kp-OCSPSigning", source)
	}
	switch resp.Status {
	case ocsp.Revoked:
		r := Result{Status: Revoked, RevokedAt: resp.RevokedAt.UTC(), Source: source, Issued: resp.ThisUpdate.UTC()}
		if resp.RevokedAt.After(at) {
			r.Status = Good
		}
		return r, true, ""
	case ocsp.Good:
		if !current && !c.fresh(resp.ThisUpdate, resp.NextUpdate, at) {
			return Result{}, false, fmt.Sprintf("%s: response of %s too old for %s", source, resp.ThisUpdate.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
		}
		return Result{Status: Good, Source: source, Issued: resp.ThisUpdate.UTC()}, true, ""
	}
	return Result{}, false, fmt.Sprintf("%s: status unknown", source)
}

func (c *Checker) fromCRL(der []byte, cert, issuer *x509.Certificate, at time.Time, source string, current bool) (Result, bool, string) {
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return Result{}, false, fmt.Sprintf("%s: %v", source, err)
	}
	if !bytes.Equal(crl.RawIssuer, cert.RawIssuer) {
		return Result{}, false, ""
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return Result{}, false, fmt.Sprintf("%s: CRL signature: %v", source, err)
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			r := Result{Status: Revoked, RevokedAt: e.RevocationTime.UTC(), Source: source, Issued: crl.ThisUpdate.UTC()}
			if e.RevocationTime.After(at) {
				r.Status = Good
			}
			return r, true, ""
		}
	}
	if !current && !c.fresh(crl.ThisUpdate, crl.NextUpdate, at) {
		return Result{}, false, fmt.Sprintf("%s: CRL of %s too old for %s", source, crl.ThisUpdate.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return Result{Status: Good, Source: source, Issued: crl.ThisUpdate.UTC()}, true, ""
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
