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

// pending carries what the store needs about a certificate being signed,
// keyed by serial, from Issue to authDB.StoreCertificateChain (smallstep
// calls the latter without a context or our metadata).
type pending struct {
	ctx          context.Context
	tx           *sql.Tx
	issuer       string
	profile      string
	subjectID    string
	credentialID string
	shard        int
	createdAt    time.Time
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
	res, err := d.ca.db.ExecContext(context.Background(),
		`UPDATE ca_certificates SET status = $1, reason = $2, revoked_at = $3 WHERE serial = $4 AND status <> $1`,
		StatusRevoked, rci.ReasonCode, rci.RevokedAt.UnixMilli(), hx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return stepdb.ErrAlreadyExists
	}
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

// StoreCertificateChain stores the leaf durably with the metadata Issue
// registered for its serial; smallstep calls it before it returns the
// certificate.
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
	p := v.(*pending)
	var ex execer = d.ca.db
	if p.tx != nil {
		ex = p.tx
	}
	return insertCertificate(p.ctx, ex, leaf, p)
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
