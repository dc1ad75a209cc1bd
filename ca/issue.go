package ca

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"time"

	"github.com/smallstep/certificates/authority/provisioner"
	"go.step.sm/crypto/x509util"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca/crl"
	"kyso/ca/lint"
	"kyso/ca/profile"
	"kyso/problem"
)

// Certificate statuses in the store.
const (
	StatusValid   = "valid"
	StatusRevoked = "revoked"
	StatusHold    = "hold"
)

// IssueRequest asks for one certificate.
type IssueRequest struct {
	Profile profile.Name
	Subject profile.Subject
	// SubjectID indexes the certificate: the citizen's 12-digit ID or the
	// agency code.
	SubjectID string
	CSR       *x509.CertificateRequest
	// CredentialID links a remote credential (empty for CSR issuance).
	CredentialID string
	// Actor is who asked (nil: the CA itself, e.g. the ceremony).
	Actor *auth.Principal
	// Tx, when set, is the transaction the certificate row is written in.
	Tx *sql.Tx
}

// Issued is a freshly issued certificate.
type Issued struct {
	Serial      string
	Certificate *x509.Certificate
	Chain       []*x509.Certificate // issuing CA, not the root
	Issuer      string
	Shard       int
	CRLURL      string
}

// CRLURL is the distribution point of an issuer's shard.
func (c *CA) CRLURL(issuer string, shard int) string {
	return c.cfg.BaseURL + "/crl/" + issuer + "/" + strconv.Itoa(shard) + ".crl"
}

// OCSPURL is the responder's URL.
func (c *CA) OCSPURL() string { return c.cfg.BaseURL + "/ocsp" }

// CAIssuersURL is where a CA's certificate is published (DER).
func (c *CA) CAIssuersURL(issuer string) string { return c.cfg.BaseURL + "/ca/" + issuer + ".crt" }

// NewSerial returns a random positive 127-bit serial.
func NewSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("ca: serial: %w", err)
		}
		b[0] &= 0x7f
		n := new(big.Int).SetBytes(b)
		if n.BitLen() > 64 {
			return n, nil
		}
	}
}

func (c *CA) validity(spec profile.Spec) time.Duration {
	if d, ok := c.cfg.Validity[spec.Name]; ok && d > 0 {
		return d
	}
	return spec.DefaultValidity
}

// Issue signs a certificate of a profile for a CSR through the issuing
// CA's embedded smallstep authority, after linting it, and stores it before
// returning. The CSR's own subject and extensions are ignored; only its
// key (whose possession its signature proves) is certified.
func (c *CA) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	spec, ok := profile.Lookup(req.Profile)
	if !ok {
		return nil, ErrUnknownProfile
	}
	if req.CSR == nil {
		return nil, ErrBadCSR
	}
	if err := req.CSR.CheckSignature(); err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "bad-csr", fmt.Errorf("CSR signature: %w", err))
	}
	if err := spec.Validate(req.Subject); err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "bad-subject", err)
	}
	role := RoleCitizenCA
	if spec.Issuer == profile.AgencyCA {
		role = RoleAgencyCA
	}
	ic, err := c.activeIssuer(role)
	if err != nil {
		return nil, err
	}
	serial, err := NewSerial()
	if err != nil {
		return nil, err
	}
	shard := crl.Shard(serial, ic.shards)
	now := c.cfg.Now().UTC()
	notBefore := now.Add(-time.Minute)
	notAfter := now.Add(c.validity(spec))
	if notAfter.After(ic.cert.NotAfter) {
		notAfter = ic.cert.NotAfter
	}
	params := profile.Params{
		Serial: serial, NotBefore: notBefore, NotAfter: notAfter,
		CRLURL: c.CRLURL(ic.name, shard), OCSPURL: c.OCSPURL(), CAIssuersURL: c.CAIssuersURL(ic.name),
		PolicyArc: c.cfg.PolicyArc,
	}
	if spec.Name == profile.OCSPResponder {
		params.CRLURL, params.OCSPURL = "", ""
	}
	xopts, err := spec.Options(req.Subject, params)
	if err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "bad-subject", err)
	}
	hx := SerialHex(serial)
	c.authDB.pending.Store(hx, &pending{
		ctx: ctx, tx: req.Tx, issuer: ic.name, profile: string(spec.Name), subjectID: req.SubjectID,
		credentialID: req.CredentialID, shard: shard, createdAt: now,
	})
	defer c.authDB.pending.Delete(hx)
	chain, err := ic.step.SignWithContext(ctx, req.CSR, provisioner.SignOptions{},
		templateOptions(xopts),
		provisioner.CertificateModifierFunc(func(cert *x509.Certificate, _ provisioner.SignOptions) error {
			return profile.Finish(cert, params)
		}),
	)
	if err != nil {
		var le *lint.Error
		if errors.As(err, &le) {
			c.cfg.Log.ErrorContext(ctx, "ca: lint stopped issuance", "profile", spec.Name, "err", le)
			return nil, ErrLintFailed.With("findings", le.Findings)
		}
		return nil, fmt.Errorf("ca: sign %s: %w", spec.Name, err)
	}
	leaf := chain[0]
	iss := &Issued{Serial: hx, Certificate: leaf, Chain: c.chainFor(ic), Issuer: ic.name, Shard: shard, CRLURL: params.CRLURL}
	if req.Tx == nil {
		// The row is committed; pre-sign the OCSP response now so that a
		// look-up never has to sign. Inside a caller's transaction the
		// caller does it after commit (PresignOCSP). A client that goes
		// away now must not cut these steps short.
		ctx := context.WithoutCancel(ctx)
		if err := c.PresignOCSP(ctx, hx); err != nil {
			c.cfg.Log.WarnContext(ctx, "ca: pre-sign OCSP", "serial", hx, "err", err)
		}
		c.auditIssued(ctx, req.Actor, iss, spec.Name, req.CredentialID)
	}
	return iss, nil
}

// auditIssued records an issuance (after the certificate is committed).
func (c *CA) auditIssued(ctx context.Context, p *auth.Principal, iss *Issued, pn profile.Name, credentialID string) {
	name, role := actor(p)
	c.audit(ctx, audit.Event{Actor: name, Role: role, Action: "ca.certificate.issue", Object: "certificate:" + iss.Serial, Details: map[string]any{
		"profile": string(pn), "issuer": iss.Issuer, "subject": iss.Certificate.Subject.String(), "shard": iss.Shard,
		"credential_id": credentialID, "not_after": iss.Certificate.NotAfter.Format(time.RFC3339),
	}})
}

// templateOptions adapts x509util options to a smallstep sign option.
type templateOptions []x509util.Option

func (t templateOptions) Options(provisioner.SignOptions) []x509util.Option { return t }

var _ provisioner.CertificateOptions = templateOptions(nil)
