package ca

import (
	"bytes"
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
	// Tx, when set, is the caller's transaction: the certificate row and
	// its audit event are written in it (after signing, which happens
	// outside it), the caller commits, and then calls PresignOCSP.
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
	// AuditEntry is the id of the issuance's audit log entry.
	AuditEntry string
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
// CA's embedded smallstep authority, after linting it, and stores it with
// its audit event in one transaction before returning: if either write
// fails, nothing is stored and the certificate is not returned. The CSR's
// own subject and extensions are ignored; only its key (whose possession
// its signature proves) is certified.
func (c *CA) Issue(ctx context.Context, req IssueRequest) (*Issued, error) {
	iss, rec, err := c.sign(ctx, req)
	if err != nil {
		return nil, err
	}
	write := func(tx *sql.Tx) error { return c.record(ctx, tx, iss, rec, req.Actor) }
	if req.Tx != nil {
		if err := write(req.Tx); err != nil {
			return nil, err
		}
		return iss, nil
	}
	if err := c.db.InTx(ctx, write); err != nil {
		return nil, err
	}
	c.presignAfterCommit(ctx, iss.Serial)
	return iss, nil
}

// presignAfterCommit pre-signs the OCSP response of a committed
// certificate so that a look-up need not sign. It is a cache: when it
// fails, look-ups sign on demand and the refresh loop fills it in. A
// client that goes away now must not cut it short.
func (c *CA) presignAfterCommit(ctx context.Context, serial string) {
	ctx = context.WithoutCancel(ctx)
	if err := c.PresignOCSP(ctx, serial); err != nil {
		c.cfg.Log.WarnContext(ctx, "ca: pre-sign OCSP", "serial", serial, "err", err)
	}
}

// sign has a certificate signed for req; smallstep hands the leaf to
// authDB, which stages it in the returned record (nothing is written).
func (c *CA) sign(ctx context.Context, req IssueRequest) (*Issued, *pending, error) {
	spec, ok := profile.Lookup(req.Profile)
	if !ok {
		return nil, nil, ErrUnknownProfile
	}
	if req.CSR == nil {
		return nil, nil, ErrBadCSR
	}
	if err := req.CSR.CheckSignature(); err != nil {
		return nil, nil, problem.Wrap(http.StatusBadRequest, "bad-csr", fmt.Errorf("CSR signature: %w", err))
	}
	if err := spec.Validate(req.Subject); err != nil {
		return nil, nil, problem.Wrap(http.StatusBadRequest, "bad-subject", err)
	}
	role := RoleCitizenCA
	if spec.Issuer == profile.AgencyCA {
		role = RoleAgencyCA
	}
	ic, err := c.activeIssuer(role)
	if err != nil {
		return nil, nil, err
	}
	serial, err := NewSerial()
	if err != nil {
		return nil, nil, err
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
		return nil, nil, problem.Wrap(http.StatusBadRequest, "bad-subject", err)
	}
	hx := SerialHex(serial)
	rec := &pending{
		issuer: ic.name, profile: string(spec.Name), subjectID: req.SubjectID,
		credentialID: req.CredentialID, shard: shard, createdAt: now,
	}
	c.authDB.pending.Store(hx, rec)
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
			return nil, nil, ErrLintFailed.With("findings", le.Findings)
		}
		return nil, nil, fmt.Errorf("ca: sign %s: %w", spec.Name, err)
	}
	leaf := chain[0]
	if rec.leaf == nil || !bytes.Equal(rec.leaf.Raw, leaf.Raw) {
		return nil, nil, fmt.Errorf("ca: certificate %s was not handed to the store", hx)
	}
	iss := &Issued{Serial: hx, Certificate: leaf, Chain: c.chainFor(ic), Issuer: ic.name, Shard: shard, CRLURL: params.CRLURL}
	return iss, rec, nil
}

// record writes a signed certificate's row and its issuance event in tx.
func (c *CA) record(ctx context.Context, tx *sql.Tx, iss *Issued, rec *pending, p *auth.Principal) error {
	if err := insertCertificate(ctx, tx, iss.Certificate, rec); err != nil {
		return err
	}
	name, role := actor(p)
	iss.AuditEntry = audit.NewID()
	return c.auditTx(ctx, tx, audit.Event{ID: iss.AuditEntry, Actor: name, Role: role, Action: "ca.certificate.issue", Object: "certificate:" + iss.Serial, Details: map[string]any{
		"profile": rec.profile, "issuer": iss.Issuer, "subject": iss.Certificate.Subject.String(), "shard": iss.Shard,
		"credential_id": rec.credentialID, "not_after": iss.Certificate.NotAfter.Format(time.RFC3339),
	}})
}

// templateOptions adapts x509util options to a smallstep sign option.
type templateOptions []x509util.Option

func (t templateOptions) Options(provisioner.SignOptions) []x509util.Option { return t }

var _ provisioner.CertificateOptions = templateOptions(nil)
