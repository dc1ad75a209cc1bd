package ca

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	"kyso/store"
)

// AuthorityRecord is a ceremony certificate as stored in ca_authorities:
// the root, issuing CAs, OCSP responders, the TSA, the service seal and the
// TLS server certificate. Keys stay in the HSM; only their labels are
// stored.
type AuthorityRecord struct {
	Name       string // "root", "citizen-1", "agency-1", "ocsp-citizen-1", "tsa-1", …
	Role       string // RoleRoot, RoleCitizenCA, …
	KeyLabel   string
	Issuer     string // name of the issuing record ("" for the root)
	Cert       *x509.Certificate
	ActivateAt time.Time
}

// StoreAuthority records a ceremony certificate. It fails when the name is
// taken: ceremonies never overwrite.
func StoreAuthority(ctx context.Context, db *store.DB, r AuthorityRecord) error {
	now := time.Now()
	if r.ActivateAt.IsZero() {
		r.ActivateAt = now
	}
	_, err := db.ExecContext(ctx, `INSERT INTO ca_authorities (name, role, key_label, issuer, cert_der, fingerprint, not_before, not_after, activate_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		r.Name, r.Role, r.KeyLabel, r.Issuer, r.Cert.Raw, Fingerprint(r.Cert.Raw),
		r.Cert.NotBefore.UnixMilli(), r.Cert.NotAfter.UnixMilli(), r.ActivateAt.UnixMilli(), now.UnixMilli())
	if err != nil {
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("ca: authority %s already exists: %w", r.Name, err)
		}
		return fmt.Errorf("ca: store authority %s: %w", r.Name, err)
	}
	return nil
}

// ListAuthorities returns every stored ceremony certificate.
func ListAuthorities(ctx context.Context, db *store.DB) ([]AuthorityRecord, error) {
	rows, err := loadAuthorities(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]AuthorityRecord, 0, len(rows))
	for _, r := range rows {
		cert, err := x509.ParseCertificate(r.der)
		if err != nil {
			return nil, fmt.Errorf("ca: stored certificate %s: %w", r.name, err)
		}
		out = append(out, AuthorityRecord{Name: r.name, Role: r.role, KeyLabel: r.label, Issuer: r.issuer, Cert: cert, ActivateAt: time.UnixMilli(r.activateAt)})
	}
	return out, nil
}

// RecordIssued stores a certificate a CA signed outside Issue (ceremony
// certificates signed by the root or directly by an issuing CA) so that its
// status is served by OCSP and CRLs.
func RecordIssued(ctx context.Context, db *store.DB, cert *x509.Certificate, issuer, profile, subjectID string) error {
	return insertCertificate(ctx, db, cert, &pending{
		issuer: issuer, profile: profile, subjectID: subjectID, shard: 0, createdAt: time.Now(),
	})
}
