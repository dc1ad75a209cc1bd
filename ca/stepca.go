package ca

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/smallstep/certificates/authority"
	"github.com/smallstep/certificates/authority/provisioner"
	stepdb "github.com/smallstep/certificates/db"

	"kyso/audit"
	"kyso/store"
)

// newAuthority embeds a smallstep authority for one issuing CA: the HSM key
// signs through authority.WithX509SignerChain, our store is its database,
// and the lint-before-sign check runs as an authority-wide X.509 enforcer,
// the last step before the real signature.
func (c *CA) newAuthority(ic *issuerCA) (*authority.Authority, error) {
	lintEnforcer := provisioner.CertificateEnforcerFunc(func(cert *x509.Certificate) error {
		if err := c.linter.Check(cert, ic.cert); err != nil {
			return err
		}
		return nil
	})
	a, err := authority.NewEmbedded(
		authority.WithX509RootCerts(c.root),
		authority.WithX509SignerChain([]*x509.Certificate{ic.cert}, ic.signer),
		authority.WithDatabase(c.authDB),
		authority.WithX509Enforcers(lintEnforcer),
		authority.WithQuietInit(),
	)
	if err != nil {
		return nil, fmt.Errorf("ca: embedded authority for %s: %w", ic.name, err)
	}
	return a, nil
}

// pending is a certificate being signed, keyed by serial: Issue registers
// what the store needs about it before asking smallstep to sign, and
// authDB.StoreCertificateChain stages the signed leaf in it.
//
// Why staging rather than writing: smallstep calls StoreCertificateChain
// as the last step of signing, without a context and outside any
// transaction of ours. Writing the row there would either commit it on its
// own, before and apart from its audit event (a failure in between would
// leave an issued certificate nobody recorded), or require a transaction
// held open across linting and the HSM signature (SQLite takes the write
// lock at BEGIN, so every other writer would wait for the HSM). So the
// AuthDB only stages the leaf; Issue then writes the row and the audit
// event(s) in one short transaction of its own (or the caller's, with the
// caller's rows) after smallstep returns. A leaf that is signed but whose
// transaction fails is never stored nor returned, so it was never issued.
type pending struct {
	issuer       string
	profile      string
	subjectID    string
	credentialID string
	shard        int
	createdAt    time.Time
	// leaf is set by StoreCertificateChain. Smallstep calls it on the
	// goroutine of SignWithContext, before that returns.
	leaf *x509.Certificate
}

// authDB implements smallstep's db.AuthDB (and the certificate-chain
// storer extension) over the store's ca_* tables.
type authDB struct {
	ca      *CA
	pending sync.Map // serial hex -> *pending
}

var _ stepdb.AuthDB = (*authDB)(nil)

func decimalToHex(sn string) (string, error) {
	n, ok := new(big.Int).SetString(sn, 10)
	if !ok {
		return "", fmt.Errorf("ca: bad serial %q", sn)
	}
	return SerialHex(n), nil
}

// SerialHex formats a serial as Kyso stores and shows it: lower-case hex
// without leading zeros.
func SerialHex(n *big.Int) string { return n.Text(16) }

func (d *authDB) IsRevoked(sn string) (bool, error) {
	hx, err := decimalToHex(sn)
	if err != nil {
		return false, err
	}
	var status string
	err = d.ca.db.QueryRowContext(context.Background(), `SELECT status FROM ca_certificates WHERE serial = $1`, hx).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return status != StatusValid, nil
}

func (d *authDB) IsSSHRevoked(string) (bool, error) { return false, nil }

func (d *authDB) Revoke(rci *stepdb.RevokedCertificateInfo) error {
	hx, err := decimalToHex(rci.Serial)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var info *CertInfo
	err = d.ca.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE ca_certificates SET status = $1, reason = $2, revoked_at = $3, status_version = status_version + 1 WHERE serial = $4 AND status <> $1`,
			StatusRevoked, rci.ReasonCode, rci.RevokedAt.UnixMilli(), hx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return stepdb.ErrAlreadyExists
		}
		if info, err = getCert(ctx, tx, hx); err != nil {
			return err
		}
		if err := invalidateStatus(ctx, tx, info); err != nil {
			return err
		}
		return d.ca.auditTx(ctx, tx, audit.Event{Actor: "step-ca", Role: "system", Action: "ca.certificate.revoke", Object: "certificate:" + info.Serial,
			Details: map[string]any{"reason": info.Reason, "issuer": info.Issuer, "shard": info.Shard, "subject": info.Subject}})
	})
	if err != nil {
		return err
	}
	d.ca.afterStatusChange(ctx, info)
	return nil
}

func (d *authDB) RevokeSSH(*stepdb.RevokedCertificateInfo) error { return stepdb.ErrNotImplemented }

func (d *authDB) GetCertificate(sn string) (*x509.Certificate, error) {
	hx, err := decimalToHex(sn)
	if err != nil {
		return nil, err
	}
	var der []byte
	if err := d.ca.db.QueryRowContext(context.Background(), `SELECT der FROM ca_certificates WHERE serial = $1`, hx).Scan(&der); err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func (d *authDB) UseToken(id, _ string) (bool, error) {
	res, err := d.ca.db.ExecContext(context.Background(),
		`INSERT INTO ca_used_tokens (id, used_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, time.Now().UnixMilli())
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (d *authDB) IsSSHHost(string) (bool, error)          { return false, nil }
func (d *authDB) GetSSHHostPrincipals() ([]string, error) { return nil, nil }
func (d *authDB) Shutdown() error                         { return nil }

// StoreCertificateChain stages the leaf for the serial Issue registered;
// Issue stores it together with its audit event (see pending).
func (d *authDB) StoreCertificateChain(_ provisioner.Interface, chain ...*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("ca: empty chain")
	}
	leaf := chain[0]
	hx := SerialHex(leaf.SerialNumber)
	v, ok := d.pending.Load(hx)
	if !ok {
		return fmt.Errorf("ca: certificate %s was not registered for issuance", hx)
	}
	v.(*pending).leaf = leaf
	return nil
}

func insertCertificate(ctx context.Context, ex execer, leaf *x509.Certificate, p *pending) error {
	_, err := ex.ExecContext(ctx, `INSERT INTO ca_certificates
		(serial, issuer, profile, subject, subject_id, credential_id, shard, not_before, not_after, status, reason, revoked_at, der, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, -1, 0, $11, $12)`,
		SerialHex(leaf.SerialNumber), p.issuer, p.profile, leaf.Subject.String(), p.subjectID, p.credentialID, p.shard,
		leaf.NotBefore.UnixMilli(), leaf.NotAfter.UnixMilli(), StatusValid, leaf.Raw, p.createdAt.UnixMilli())
	if err != nil {
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("ca: serial %s already used: %w", SerialHex(leaf.SerialNumber), err)
		}
		return fmt.Errorf("ca: store certificate: %w", err)
	}
	return nil
}
