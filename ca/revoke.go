package ca

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/audit"
	"kyso/auth"
	"kyso/credential"
	"kyso/hsm"
)

// reasonCodes are the RFC 5280 CRLReason names and codes a revocation may
// give (removeFromCRL is expressed by Release).
func reasonCodes() map[string]int {
	return map[string]int{
		"unspecified":          ocsp.Unspecified,
		"keyCompromise":        ocsp.KeyCompromise,
		"cACompromise":         ocsp.CACompromise,
		"affiliationChanged":   ocsp.AffiliationChanged,
		"superseded":           ocsp.Superseded,
		"cessationOfOperation": ocsp.CessationOfOperation,
		"certificateHold":      ocsp.CertificateHold,
		"privilegeWithdrawn":   ocsp.PrivilegeWithdrawn,
		"aACompromise":         ocsp.AACompromise,
	}
}

// ReasonCode returns the code of an RFC 5280 reason name.
func ReasonCode(name string) (int, bool) {
	c, ok := reasonCodes()[name]
	return c, ok
}

// ReasonName returns the RFC 5280 name of a reason code ("" for none).
func ReasonName(code int) string {
	for n, c := range reasonCodes() {
		if c == code {
			return n
		}
	}
	return ""
}

// mayManage reports whether p may revoke, hold or release a certificate
// whose subject ID is subjectID: officers and admins always, a citizen for
// their own certificates.
func mayManage(p *auth.Principal, subjectID string) bool {
	if p == nil {
		return false
	}
	switch p.Role {
	case auth.RoleOfficer, auth.RoleAdmin:
		return true
	case auth.RoleCitizen:
		return p.Assertion != nil && p.Subject != "" && p.Subject == subjectID
	}
	return false
}

// Revoke revokes a certificate, or puts it on hold when reason is
// "certificateHold". The new status is in the OCSP responses at once (the
// pre-signed response is replaced before Revoke returns) and in the
// shard's CRL, which is regenerated.
func (c *CA) Revoke(ctx context.Context, serial, reason string, p *auth.Principal) (*CertInfo, error) {
	code, ok := ReasonCode(reason)
	if !ok {
		return nil, ErrBadReason
	}
	if (code == ocsp.CACompromise || code == ocsp.AACompromise) && (p == nil || p.Role == auth.RoleCitizen) {
		return nil, ErrBadReason.With("detail", "only officers may give this reason")
	}
	var info *CertInfo
	now := c.cfg.Now().UTC()
	err := c.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		info, err = getCert(ctx, tx, serial)
		if err != nil {
			return err
		}
		if !mayManage(p, info.SubjectID) {
			return ErrForbidden
		}
		if ic := c.issuers[info.Issuer]; ic != nil && ic.signer == nil {
			// A certificate the root issued (an issuing CA, the root's
			// responder) is revoked in a key ceremony, which signs the
			// root's CRL.
			return ErrRootOffline
		}
		switch {
		case info.Status == StatusRevoked:
			return ErrAlreadyRevoked
		case info.Status == StatusHold && code == ocsp.CertificateHold:
			return ErrAlreadyRevoked.With("detail", "the certificate is already on hold")
		}
		status := StatusRevoked
		if code == ocsp.CertificateHold {
			status = StatusHold
		}
		holdBy := ""
		if status == StatusHold {
			holdBy = string(p.Role)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ca_certificates SET status = $1, reason = $2, revoked_at = $3, hold_by = $4, status_version = status_version + 1 WHERE serial = $5`,
			status, code, now.UnixMilli(), holdBy, info.Serial); err != nil {
			return fmt.Errorf("ca: revoke: %w", err)
		}
		destroyed := false
		if info.CredentialID != "" {
			cs := credential.StatusRevoked
			if status == StatusHold {
				cs = credential.StatusSuspended
			} else {
				// Revocation destroys the credential's key material
				// in this transaction, with its audit event below.
				if destroyed, err = c.creds.DestroyKeyTx(ctx, tx, info.CredentialID); err != nil {
					return err
				}
			}
			if err := c.creds.SetStatusTx(ctx, tx, info.CredentialID, cs); err != nil && !errors.Is(err, credential.ErrNotFound) {
				return err
			}
		}
		info.Status, info.Reason, info.RevokedAt = status, reason, &now
		if err := invalidateStatus(ctx, tx, info); err != nil {
			return err
		}
		name, role := actor(p)
		action := "ca.certificate.revoke"
		if code == ocsp.CertificateHold {
			action = "ca.certificate.hold"
		}
		info.AuditEntry = audit.NewID()
		if err := c.auditTx(ctx, tx, audit.Event{ID: info.AuditEntry, Actor: name, Role: role, Action: action, Object: "certificate:" + info.Serial, Details: map[string]any{
			"reason": reason, "issuer": info.Issuer, "shard": info.Shard, "subject": info.Subject, "credential_id": info.CredentialID,
		}}); err != nil {
			return err
		}
		if !destroyed {
			return nil
		}
		return c.auditTx(ctx, tx, audit.Event{Actor: name, Role: role, Action: "credential.destroy", Object: "credential:" + info.CredentialID, Details: map[string]any{
			"reason": "revoked", "serial": info.Serial,
		}})
	})
	if err != nil {
		return nil, err
	}
	if info.Status == StatusRevoked && info.CredentialID != "" {
		c.destroyTokenKey(ctx, info.CredentialID)
	}
	c.afterStatusChange(ctx, info)
	return info, nil
}

// destroyTokenKey destroys the token object of a revoked or expired
// credential's key, if the token has one: an agency seal's key, or a
// citizen's key made before citizens' keys were kept wrapped. (A wrapped
// key has no token object: destroying its row's material destroyed it.)
func (c *CA) destroyTokenKey(ctx context.Context, credentialID string) {
	label := credential.KeyLabel(credentialID)
	if cr, err := c.creds.Get(ctx, credentialID); err == nil && cr.KeyLabel != "" {
		label = cr.KeyLabel
	}
	if err := c.h.DestroyKey(context.WithoutCancel(ctx), label); err != nil && !errors.Is(err, hsm.ErrKeyNotFound) {
		c.cfg.Log.ErrorContext(ctx, "ca: destroying the token key of a revoked credential", "key", label, "err", err)
	}
}

// DestroyExpiredKeys destroys the key material of citizen credentials whose
// certificate has expired, each in one transaction with its audit event,
// and returns how many it destroyed.
func (c *CA) DestroyExpiredKeys(ctx context.Context) (int, error) {
	ids, err := c.creds.ExpiredKeys(ctx, c.cfg.Now(), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		var destroyed bool
		err := c.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if destroyed, err = c.creds.DestroyKeyTx(ctx, tx, id); err != nil || !destroyed {
				return err
			}
			return c.auditTx(ctx, tx, audit.Event{Actor: "kyso", Role: "system", Action: "credential.destroy", Object: "credential:" + id,
				Details: map[string]any{"reason": "expired"}})
		})
		if err != nil {
			return n, fmt.Errorf("ca: destroying expired key of credential %s: %w", id, err)
		}
		if destroyed {
			c.destroyTokenKey(ctx, id)
			n++
		}
	}
	return n, nil
}

// Release takes a certificate off hold.
func (c *CA) Release(ctx context.Context, serial string, p *auth.Principal) (*CertInfo, error) {
	var info *CertInfo
	err := c.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		info, err = getCert(ctx, tx, serial)
		if err != nil {
			return err
		}
		if !mayManage(p, info.SubjectID) {
			return ErrForbidden
		}
		if info.Status != StatusHold {
			return ErrNotOnHold
		}
		// A citizen releases only a hold they placed: a hold placed by an
		// officer is lifted by an officer.
		var holdBy string
		if err := tx.QueryRowContext(ctx, `SELECT hold_by FROM ca_certificates WHERE serial = $1`, info.Serial).Scan(&holdBy); err != nil {
			return fmt.Errorf("ca: release: %w", err)
		}
		if p.Role == auth.RoleCitizen && holdBy != string(auth.RoleCitizen) {
			return ErrHoldByOfficer
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ca_certificates SET status = $1, reason = -1, revoked_at = 0, hold_by = '', status_version = status_version + 1 WHERE serial = $2`, StatusValid, info.Serial); err != nil {
			return fmt.Errorf("ca: release: %w", err)
		}
		if info.CredentialID != "" {
			if err := c.creds.SetStatusTx(ctx, tx, info.CredentialID, credential.StatusActive); err != nil && !errors.Is(err, credential.ErrNotFound) {
				return err
			}
		}
		info.Status, info.Reason, info.RevokedAt = StatusValid, "", nil
		if err := invalidateStatus(ctx, tx, info); err != nil {
			return err
		}
		name, role := actor(p)
		info.AuditEntry = audit.NewID()
		return c.auditTx(ctx, tx, audit.Event{ID: info.AuditEntry, Actor: name, Role: role, Action: "ca.certificate.release", Object: "certificate:" + info.Serial, Details: map[string]any{
			"issuer": info.Issuer, "shard": info.Shard, "subject": info.Subject,
		}})
	})
	if err != nil {
		return nil, err
	}
	c.afterStatusChange(ctx, info)
	return info, nil
}

// invalidateStatus drops, in the transaction of a status change, what was
// signed about the old status: the certificate's pre-signed OCSP response
// (a missing one is signed on demand at the next look-up) and the
// freshness of its shard's CRL (so the next fetch, or the refresh loop,
// regenerates it; the row and its CRL number stay). Then a failure after
// commit can never leave the old status being served.
func invalidateStatus(ctx context.Context, tx *sql.Tx, info *CertInfo) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM ca_ocsp WHERE serial = $1`, info.Serial); err != nil {
		return fmt.Errorf("ca: drop pre-signed OCSP response: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ca_crls SET next_update = 0 WHERE issuer = $1 AND shard = $2`, info.Issuer, info.Shard); err != nil {
		return fmt.Errorf("ca: mark CRL stale: %w", err)
	}
	return nil
}

// afterStatusChange re-signs the certificate's OCSP response and its
// shard's CRL once the new status is committed. Failures are logged: both
// are caches that invalidateStatus emptied, so look-ups sign on demand and
// the refresh loop catches up. A client that goes away now must not cut
// them short.
func (c *CA) afterStatusChange(ctx context.Context, info *CertInfo) {
	ctx = context.WithoutCancel(ctx)
	if err := c.PresignOCSP(ctx, info.Serial); err != nil {
		c.cfg.Log.ErrorContext(ctx, "ca: re-sign OCSP after status change", "serial", info.Serial, "err", err)
	}
	if _, err := c.RegenerateCRL(ctx, info.Issuer, info.Shard); err != nil {
		c.cfg.Log.ErrorContext(ctx, "ca: regenerate CRL after status change", "issuer", info.Issuer, "shard", info.Shard, "err", err)
	}
}

// CertInfo is a stored certificate with its status.
type CertInfo struct {
	Serial       string
	Issuer       string
	Profile      string
	Subject      string
	SubjectID    string
	CredentialID string
	Shard        int
	NotBefore    time.Time
	NotAfter     time.Time
	Status       string
	Reason       string
	RevokedAt    *time.Time
	CreatedAt    time.Time
	DER          []byte
	// StatusVersion is incremented by every status change; a pre-signed
	// OCSP response is valid only for the version it was signed for.
	StatusVersion int64
	// AuditEntry is the id of the audit log entry of the status change
	// that returned this (Revoke, Release); empty otherwise.
	AuditEntry string
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

const certColumns = `serial, issuer, profile, subject, subject_id, credential_id, shard, not_before, not_after, status, reason, revoked_at, created_at, der, status_version`

type scanner interface{ Scan(...any) error }

func scanCert(r scanner) (*CertInfo, error) {
	var ci CertInfo
	var nb, na, ra, ca int64
	var reason int
	if err := r.Scan(&ci.Serial, &ci.Issuer, &ci.Profile, &ci.Subject, &ci.SubjectID, &ci.CredentialID, &ci.Shard, &nb, &na, &ci.Status, &reason, &ra, &ca, &ci.DER, &ci.StatusVersion); err != nil {
		return nil, err
	}
	ci.NotBefore, ci.NotAfter, ci.CreatedAt = time.UnixMilli(nb).UTC(), time.UnixMilli(na).UTC(), time.UnixMilli(ca).UTC()
	if ci.Status != StatusValid {
		t := time.UnixMilli(ra).UTC()
		ci.RevokedAt = &t
		ci.Reason = ReasonName(reason)
	}
	return &ci, nil
}

func getCert(ctx context.Context, q rowQuerier, serial string) (*CertInfo, error) {
	ci, err := scanCert(q.QueryRowContext(ctx, `SELECT `+certColumns+` FROM ca_certificates WHERE serial = $1`, normalizeSerial(serial)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ca: get certificate: %w", err)
	}
	return ci, nil
}

// Get returns a stored certificate by serial (hex, any case, colons and
// leading zeros allowed).
func (c *CA) Get(ctx context.Context, serial string) (*CertInfo, error) {
	return getCert(ctx, c.db, serial)
}

// Unlock reactivates a citizen credential locked by wrong signing PINs, an
// officer's or administrator's decision, recorded in the audit log in the
// same transaction.
func (c *CA) Unlock(ctx context.Context, credentialID string, p *auth.Principal) error {
	if p == nil || (p.Role != auth.RoleOfficer && p.Role != auth.RoleAdmin) {
		return ErrForbidden
	}
	return c.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := c.creds.UnlockTx(ctx, tx, credentialID); err != nil {
			return err
		}
		name, role := actor(p)
		return c.auditTx(ctx, tx, audit.Event{Actor: name, Role: role, Action: "credential.unlock", Object: "credential:" + credentialID})
	})
}
