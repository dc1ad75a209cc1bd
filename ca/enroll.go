package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca/profile"
	"kyso/credential"
	"kyso/problem"
)

// ReplayPurpose is the purpose under which an identity assertion is
// consumed for certificate issuance.
const ReplayPurpose = "certificate-issuance"

// MaxCSRSize bounds an encoded CSR.
const MaxCSRSize = 64 << 10

// EnrollRequest is a citizen's request for a certificate: either a key
// generated in the HSM for remote signing (Key "remote" with a PIN) or a
// CSR from the citizen's own device.
type EnrollRequest struct {
	Key     string `json:"key,omitempty"`
	PIN     string `json:"pin,omitempty"`
	CSR     string `json:"csr,omitempty"`
	Profile string `json:"profile,omitempty"`
	// Province is refused: the ST of a citizen's certificate comes only
	// from the verified place of residence in the identity assertion. The
	// field is decoded so that a request naming it gets a clear refusal.
	Province *string `json:"province,omitempty"`
}

// ErrCertificateHeld refuses a CSR enrolment while the citizen holds a
// valid certificate of the profile for a key of their own.
var ErrCertificateHeld = problem.New(http.StatusConflict, "certificate-exists",
	"the citizen already holds a valid certificate of this profile for a key of their own; revoke it first")

// ErrSubjectFromChip refuses a request that tries to choose a subject
// attribute.
var ErrSubjectFromChip = problem.New(http.StatusBadRequest, "subject-attribute-not-requestable",
	"the subject of a citizen certificate comes only from the verified chip data: its province (ST) is the place of residence on the card and cannot be set in the request")

// Enrollment is the result of Enroll.
type Enrollment struct {
	*Issued
	CredentialID string
}

// ParseCSR reads a PKCS#10 request given as PEM or as base64 DER (standard
// or URL alphabet) and checks its signature and key.
func ParseCSR(s string) (*x509.CertificateRequest, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxCSRSize {
		return nil, ErrBadCSR.With("detail", "empty or too large")
	}
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		block, _ := pem.Decode([]byte(s))
		if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
			return nil, ErrBadCSR.With("detail", "not a PEM CERTIFICATE REQUEST")
		}
		der = block.Bytes
	} else {
		compact := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
		var err error
		if der, err = base64.StdEncoding.DecodeString(compact); err != nil {
			if der, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(compact, "=")); err != nil {
				return nil, ErrBadCSR.With("detail", "neither PEM nor base64 DER")
			}
		}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "bad-csr", fmt.Errorf("parse CSR: %w", err))
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "bad-csr", fmt.Errorf("CSR signature: %w", err))
	}
	if err := checkKey(csr.PublicKey); err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "bad-csr", err)
	}
	return csr, nil
}

// checkKey accepts ECDSA P-256/P-384 and RSA 2048 to 8192 bits.
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return errors.New("ECDSA keys must be on P-256 or P-384")
		}
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 8192 {
			return errors.New("RSA keys must be 2048 to 8192 bits")
		}
		if k.E < 3 || k.E%2 == 0 {
			return errors.New("bad RSA public exponent")
		}
	default:
		return errors.New("unsupported key type")
	}
	return nil
}

// enrolLimits enforces, inside the issuance transaction, the per-citizen
// limits: at most MaxIssuancePerDay certificates in 24 hours and, for keys
// from the citizen's own device (CSR), one valid certificate per profile
// at a time, as for remote keys. The citizen's row in ca_enrol_subjects is
// taken first, so concurrent enrolments of one citizen (on any replica)
// are counted one after the other.
func (c *CA) enrolLimits(ctx context.Context, tx *sql.Tx, subjectID string, pn profile.Name, csr bool) error {
	now := c.cfg.Now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO ca_enrol_subjects (subject_id, updated_at) VALUES ($1, $2)
		ON CONFLICT (subject_id) DO UPDATE SET updated_at = excluded.updated_at`, subjectID, now.UnixMilli()); err != nil {
		return fmt.Errorf("ca: enrolment limit: %w", err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ca_certificates WHERE subject_id = $1 AND created_at > $2`,
		subjectID, now.Add(-24*time.Hour).UnixMilli()).Scan(&n); err != nil {
		return fmt.Errorf("ca: enrolment limit: %w", err)
	}
	if n >= c.cfg.MaxIssuancePerDay {
		return ErrRateLimited
	}
	if !csr {
		return nil
	}
	var serial string
	err := tx.QueryRowContext(ctx, `SELECT serial FROM ca_certificates WHERE subject_id = $1 AND profile = $2 AND credential_id = ''
		AND status <> $3 AND not_after > $4 ORDER BY created_at LIMIT 1`, subjectID, string(pn), StatusRevoked, now.UnixMilli()).Scan(&serial)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("ca: enrolment limit: %w", err)
	}
	return ErrCertificateHeld.With("serial", serial)
}

// Enroll issues a free signing certificate to the citizen whose identity
// assertion authenticated the request. The assertion is consumed (a replay
// is refused), the certificate is stored before Enroll returns, and a
// remote key is usable only with the PIN set here.
func (c *CA) Enroll(ctx context.Context, p *auth.Principal, req EnrollRequest) (*Enrollment, error) {
	if p == nil || p.Role != auth.RoleCitizen || p.Assertion == nil {
		return nil, problem.New(http.StatusForbidden, "assertion-required", "a citizen identity assertion is required")
	}
	a := p.Assertion
	now := c.cfg.Now()
	if !a.Expiry.IsZero() && !now.Before(a.Expiry) {
		return nil, auth.ErrUnauthenticated
	}
	if p.Subject == "" || a.Subject != p.Subject {
		return nil, ErrForbidden
	}
	op := auth.OpEnrolCSR
	if req.Key == "remote" {
		op = auth.OpEnrolRemote
	}
	assurance := c.cfg.Assurance
	if assurance == nil {
		assurance = auth.DefaultAssurance()
	}
	if err := assurance.Check(op, a); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(a.Name)
	if name == "" {
		name = strings.TrimSpace(p.Name)
	}
	pn := profile.Name(req.Profile)
	if pn == "" {
		pn = profile.Citizen
	}
	spec, ok := profile.Lookup(pn)
	if !ok || !spec.Public {
		return nil, ErrUnknownProfile
	}
	if req.Province != nil {
		return nil, ErrSubjectFromChip.With("field", "province")
	}
	sub := profile.Subject{CommonName: name, Province: a.Province, UID: profile.CitizenUID(p.Subject)}
	if err := spec.Validate(sub); err != nil {
		return nil, problem.Wrap(http.StatusBadRequest, "bad-subject", err)
	}
	remote := req.Key == "remote"
	switch {
	case remote && req.CSR != "":
		return nil, ErrBadRequest.With("detail", `give either "key":"remote" or "csr", not both`)
	case !remote && req.Key != "":
		return nil, ErrBadRequest.With("detail", `"key" must be "remote"`)
	case !remote && req.CSR == "":
		return nil, ErrBadRequest.With("detail", `give "key":"remote" with a "pin", or a "csr"`)
	}
	var csr *x509.CertificateRequest
	if remote {
		// The slow PIN stretch comes after the cheap checks and after the
		// assertion is consumed, so one assertion cannot start many.
		if !credential.ValidPIN(req.PIN) {
			return nil, credential.ErrBadPIN
		}
		if c.cfg.CitizenKeys == nil {
			return nil, ErrNoCitizenKeys
		}
	} else {
		var err error
		if csr, err = ParseCSR(req.CSR); err != nil {
			return nil, err
		}
	}
	// A cheap early refusal; the limits that count are enforced again
	// inside the issuance transaction.
	if err := c.db.InTx(ctx, func(tx *sql.Tx) error { return c.enrolLimits(ctx, tx, p.Subject, pn, !remote) }); err != nil {
		return nil, err
	}
	if remote {
		creds, err := c.creds.ListBySubject(ctx, credential.KindCitizen, p.Subject)
		if err != nil {
			return nil, err
		}
		for _, cr := range creds {
			if cr.Profile == string(pn) && cr.Status != credential.StatusRevoked {
				return nil, ErrCredentialTaken.With("credential_id", cr.ID)
			}
		}
	}
	if c.cfg.Replay != nil {
		exp := a.Expiry
		if exp.IsZero() {
			exp = now.Add(time.Hour)
		}
		if err := c.cfg.Replay.Consume(ctx, a.JTI, ReplayPurpose, exp); err != nil {
			return nil, err
		}
	}
	if !remote {
		iss, rec, err := c.sign(ctx, IssueRequest{Profile: pn, Subject: sub, SubjectID: p.Subject, CSR: csr, Actor: p})
		if err != nil {
			return nil, err
		}
		if err := c.db.InTx(ctx, func(tx *sql.Tx) error {
			if err := c.enrolLimits(ctx, tx, p.Subject, pn, true); err != nil {
				return err
			}
			return c.record(ctx, tx, iss, rec, p)
		}); err != nil {
			return nil, err
		}
		c.presignAfterCommit(ctx, iss.Serial)
		return &Enrollment{Issued: iss}, nil
	}
	return c.enrollRemote(ctx, p, pn, sub, req.PIN)
}

// enrollRemote makes the citizen's key wrapped for their PIN (see
// credential.Keys: no private key object stays on any token), certifies it
// and stores the certificate and the credential with the wrapped key.
func (c *CA) enrollRemote(ctx context.Context, p *auth.Principal, pn profile.Name, sub profile.Subject, pin string) (*Enrollment, error) {
	id, err := credential.NewID()
	if err != nil {
		return nil, err
	}
	label := credential.KeyLabel(id)
	nk, err := c.cfg.CitizenKeys.Generate(ctx, pin)
	if err != nil {
		return nil, fmt.Errorf("ca: generate remote key: %w", err)
	}
	defer nk.Signer.Forget()
	// Signing the CSR proves that the wrapped key opens with the PIN.
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, nk.Signer)
	if err != nil {
		return nil, fmt.Errorf("ca: CSR for remote key: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("ca: CSR for remote key: %w", err)
	}
	// The HSM signs outside the transaction; the certificate row, the
	// credential row and both audit events then commit together or not at
	// all (and the key is destroyed).
	iss, rec, err := c.sign(ctx, IssueRequest{Profile: pn, Subject: sub, SubjectID: p.Subject, CSR: csr, CredentialID: id, Actor: p})
	if err != nil {
		return nil, err
	}
	err = c.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := c.enrolLimits(ctx, tx, p.Subject, pn, false); err != nil {
			return err
		}
		if err := c.record(ctx, tx, iss, rec, p); err != nil {
			return err
		}
		chain := make([][]byte, 0, len(iss.Chain))
		for _, cc := range iss.Chain {
			chain = append(chain, cc.Raw)
		}
		if err := c.creds.CreateHashed(ctx, tx, credential.Credential{
			ID: id, Kind: credential.KindCitizen, Subject: p.Subject, Profile: string(pn), KeyLabel: label,
			KeyType: string(c.cfg.CitizenKeys.KeyType()), CertSerial: iss.Serial, CertDER: iss.Certificate.Raw, ChainDER: chain,
			KDF: nk.KDF, Wrapped: nk.Wrapped,
		}, nil); err != nil {
			return err
		}
		name, role := actor(p)
		return c.auditTx(ctx, tx, audit.Event{Actor: name, Role: role, Action: "credential.create", Object: "credential:" + id, Details: map[string]any{
			"serial": iss.Serial, "profile": string(pn), "key_label": label, "key_type": string(c.cfg.CitizenKeys.KeyType()), "key_storage": "wrapped",
		}})
	})
	if err != nil {
		if errors.Is(err, credential.ErrExists) {
			return nil, ErrCredentialTaken
		}
		return nil, err
	}
	c.presignAfterCommit(ctx, iss.Serial)
	return &Enrollment{Issued: iss, CredentialID: id}, nil
}

// Seal returns an agency's active seal credential and its HSM key.
func (c *CA) Seal(ctx context.Context, agencyCode string) (*credential.Credential, crypto.Signer, error) {
	creds, err := c.creds.ListBySubject(ctx, credential.KindSeal, agencyCode)
	if err != nil {
		return nil, nil, err
	}
	for i := len(creds) - 1; i >= 0; i-- {
		cr := creds[i]
		if cr.Status != credential.StatusActive {
			continue
		}
		key, err := c.h.FindKey(ctx, cr.KeyLabel)
		if err != nil {
			return nil, nil, fmt.Errorf("ca: seal key %s: %w", cr.KeyLabel, err)
		}
		return &cr, key, nil
	}
	return nil, nil, credential.ErrNotFound
}

// RemoteKey returns the key of a citizen's remote credential, opened with
// the signing PIN (credential.ErrWrongPIN, ErrLocked,
// ErrCertificateExpired, ErrKeyUnavailable, …).
func (c *CA) RemoteKey(ctx context.Context, credentialID, pin string) (*credential.Credential, crypto.Signer, error) {
	if c.cfg.CitizenKeys == nil {
		return nil, nil, ErrNoCitizenKeys
	}
	cr, err := c.creds.Get(ctx, credentialID)
	if err != nil {
		return nil, nil, err
	}
	if cr.Kind != credential.KindCitizen {
		return nil, nil, credential.ErrNotFound
	}
	cert, err := cr.Certificate()
	if err != nil {
		return nil, nil, fmt.Errorf("ca: credential %s certificate: %w", cr.ID, err)
	}
	if now := c.cfg.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, nil, credential.ErrCertificateExpired
	}
	act, err := c.cfg.CitizenKeys.Activate(ctx, cr, pin, c.cfg.MaxPINFailures)
	if err != nil {
		return nil, nil, err
	}
	key, err := c.cfg.CitizenKeys.Open(ctx, cr, act)
	clear(act)
	if err != nil {
		return nil, nil, err
	}
	return cr, key, nil
}
