package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/ca/crl"
	"kyso/ca/ocspresp"
	"kyso/problem"
)

func (c *CA) lock(m *sync.Map, key string) func() {
	v, _ := m.LoadOrStore(key, &sync.Mutex{})
	mu := v.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// CRL returns the current DER CRL of an issuer's shard, regenerating it
// when none is stored or less than half of its validity is left.
func (c *CA) CRL(ctx context.Context, issuerName string, shard int) ([]byte, error) {
	ic, ok := c.issuers[issuerName]
	if !ok {
		return nil, ErrUnknownIssuer
	}
	if shard < 0 || shard >= ic.shards {
		return nil, problem.New(http.StatusNotFound, "unknown-shard", "no such CRL shard")
	}
	now := c.cfg.Now()
	var der []byte
	var next int64
	err := c.db.QueryRowContext(ctx, `SELECT der, next_update FROM ca_crls WHERE issuer = $1 AND shard = $2`, issuerName, shard).Scan(&der, &next)
	if err == nil && len(der) > 0 && (ic.signer == nil || now.Add(c.crlValidity(ic)/2).Before(time.UnixMilli(next))) {
		// Without its key (the root outside a ceremony) an issuer's
		// CRL is the one last signed, until a ceremony signs the next.
		return der, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("ca: read CRL: %w", err)
	}
	return c.RegenerateCRL(ctx, issuerName, shard)
}

// crlValidity is nextUpdate - thisUpdate of an issuer's CRLs: the root's
// are signed only in ceremonies and last RootCRLValidity.
func (c *CA) crlValidity(ic *issuerCA) time.Duration {
	if ic.role == RoleRoot {
		return c.cfg.RootCRLValidity
	}
	return c.cfg.CRLValidity
}

// RegenerateCRL signs a new CRL for an issuer's shard with the next CRL
// number and stores it. The number is allocated atomically in the
// database, so replicas sharing it never sign two CRLs with one number.
func (c *CA) RegenerateCRL(ctx context.Context, issuerName string, shard int) ([]byte, error) {
	ic, ok := c.issuers[issuerName]
	if !ok {
		return nil, ErrUnknownIssuer
	}
	if ic.signer == nil {
		return nil, ErrRootOffline
	}
	unlock := c.lock(&c.crlLocks, fmt.Sprintf("%s/%d", issuerName, shard))
	defer unlock()
	now := c.cfg.Now().UTC()
	var der []byte
	err := c.db.InTx(ctx, func(tx *sql.Tx) error {
		// The number is allocated by the upsert itself: it takes the
		// shard's row lock (PostgreSQL) or runs in an immediate
		// transaction (SQLite), so replicas regenerating the same shard
		// at once wait for each other and never sign the same number.
		// The placeholder row of a first CRL is invisible until the
		// transaction commits with the signed CRL in it.
		var number int64
		err := tx.QueryRowContext(ctx, `INSERT INTO ca_crls (issuer, shard, number, this_update, next_update, der) VALUES ($1, $2, 1, 0, 0, $3)
			ON CONFLICT (issuer, shard) DO UPDATE SET number = ca_crls.number + 1
			RETURNING number`, issuerName, shard, []byte{}).Scan(&number)
		if err != nil {
			return fmt.Errorf("allocate CRL number: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT serial, revoked_at, reason FROM ca_certificates
			WHERE issuer = $1 AND shard = $2 AND status IN ('revoked', 'hold') AND not_after > $3 ORDER BY serial`,
			issuerName, shard, now.UnixMilli())
		if err != nil {
			return err
		}
		var entries []crl.Entry
		for rows.Next() {
			var hx string
			var at int64
			var reason int
			if err := rows.Scan(&hx, &at, &reason); err != nil {
				rows.Close()
				return err
			}
			n, ok := new(big.Int).SetString(hx, 16)
			if !ok {
				rows.Close()
				return fmt.Errorf("bad stored serial %q", hx)
			}
			if reason < 0 {
				reason = 0
			}
			entries = append(entries, crl.Entry{Serial: n, RevokedAt: time.UnixMilli(at), Reason: reason})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		scope := crl.UserCerts
		if ic.role == RoleRoot {
			scope = crl.All
		}
		next := now.Add(c.crlValidity(ic))
		der, err = crl.Build(ic.cert, ic.signer, crl.Params{
			Number: big.NewInt(number), ThisUpdate: now, NextUpdate: next,
			URL: c.CRLURL(issuerName, shard), Scope: scope, Entries: entries,
		})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE ca_crls SET this_update = $1, next_update = $2, der = $3 WHERE issuer = $4 AND shard = $5 AND number = $6`,
			now.Truncate(time.Second).UnixMilli(), next.Truncate(time.Second).UnixMilli(), der, issuerName, shard, number)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ca: regenerate CRL %s/%d: %w", issuerName, shard, err)
	}
	return der, nil
}

// RefreshCRLs regenerates every shard's CRL that is missing or past half
// its validity. It returns how many it signed.
func (c *CA) RefreshCRLs(ctx context.Context) (int, error) {
	n := 0
	for name, ic := range c.issuers {
		if ic.signer == nil {
			continue // the root outside a ceremony
		}
		for shard := 0; shard < ic.shards; shard++ {
			var next int64
			err := c.db.QueryRowContext(ctx, `SELECT next_update FROM ca_crls WHERE issuer = $1 AND shard = $2`, name, shard).Scan(&next)
			if err == nil && c.cfg.Now().Add(c.crlValidity(ic)/2).Before(time.UnixMilli(next)) {
				continue
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return n, fmt.Errorf("ca: refresh CRLs: %w", err)
			}
			if _, err := c.RegenerateCRL(ctx, name, shard); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// issuerFor finds the CA a CertID names.
func (c *CA) issuerFor(id ocspresp.CertID) *issuerCA {
	for _, ic := range c.issuers {
		if bytes.Equal(ic.nameHash[id.HashAlgorithm], id.IssuerNameHash) && bytes.Equal(ic.keyHash[id.HashAlgorithm], id.IssuerKeyHash) {
			return ic
		}
	}
	return nil
}

// Respond answers an OCSP request (ocspresp.Source) with one
// SingleResponse per CertID. The CertIDs must all name the same issuer
// with a delegated responder (its responder certificate signs the answer);
// otherwise the answer is unauthorized. A single SHA-1 CertID without
// nonce (what clients send by default) gets the pre-signed response;
// anything else is signed on demand, echoing the nonce.
func (c *CA) Respond(ctx context.Context, req *ocspresp.Request) ([]byte, error) {
	ids := req.CertIDs
	if len(ids) == 0 {
		ids = []ocspresp.CertID{req.CertID}
	}
	if len(ids) > ocspresp.MaxCertIDs {
		return ocsp.MalformedRequestErrorResponse, nil
	}
	ic := c.issuerFor(ids[0])
	if ic == nil || ic.responder == nil {
		return ocsp.UnauthorizedErrorResponse, nil
	}
	for _, id := range ids[1:] {
		if c.issuerFor(id) != ic {
			return ocsp.UnauthorizedErrorResponse, nil
		}
	}
	if len(ids) > 1 {
		infos := make([]*CertInfo, len(ids))
		for i, id := range ids {
			info, err := getCert(ctx, c.db, SerialHex(id.Serial))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if info.Issuer == ic.name {
				infos[i] = info
			}
		}
		return c.signOCSP(ic, ids, infos, req.Nonce)
	}
	id := ids[0]
	hx := SerialHex(id.Serial)
	cacheable := req.Nonce == nil && id.HashAlgorithm == crypto.SHA1
	if cacheable {
		if der, ok, err := c.cachedOCSP(ctx, hx, ic.name); err != nil {
			return nil, err
		} else if ok {
			return der, nil
		}
	}
	info, err := getCert(ctx, c.db, hx)
	if errors.Is(err, ErrNotFound) || (err == nil && info.Issuer != ic.name) {
		return c.signOCSP(ic, ids, []*CertInfo{nil}, req.Nonce)
	}
	if err != nil {
		return nil, err
	}
	if cacheable {
		if err := c.PresignOCSP(ctx, hx); err != nil {
			return nil, err
		}
		if der, ok, err := c.cachedOCSP(ctx, hx, ic.name); err != nil || ok {
			return der, err
		}
	}
	return c.signOCSP(ic, ids, []*CertInfo{info}, req.Nonce)
}

// cachedOCSP returns the pre-signed response for serial when it states
// the certificate's current status version and is fresh.
func (c *CA) cachedOCSP(ctx context.Context, serial, issuer string) ([]byte, bool, error) {
	var der []byte
	var iss string
	var this, next int64
	err := c.db.QueryRowContext(ctx, `SELECT o.issuer, o.this_update, o.next_update, o.der FROM ca_ocsp o
		JOIN ca_certificates c ON c.serial = o.serial AND c.status_version = o.status_version WHERE o.serial = $1`, serial).Scan(&iss, &this, &next, &der)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("ca: read OCSP response: %w", err)
	}
	now := c.cfg.Now()
	if iss != issuer || now.Before(time.UnixMilli(this).Add(-time.Minute)) || !now.Before(time.UnixMilli(next)) {
		return nil, false, nil
	}
	return der, true, nil
}

// singleResponse states what ic's records say about id at now; info nil
// means unknown.
func (c *CA) singleResponse(id ocspresp.CertID, info *CertInfo, now time.Time) ocspresp.SingleResponse {
	r := ocspresp.SingleResponse{CertID: id, Status: ocsp.Unknown, ThisUpdate: now, NextUpdate: now.Add(c.cfg.OCSPValidity)}
	if info != nil {
		switch info.Status {
		case StatusValid:
			r.Status = ocsp.Good
		default:
			r.Status = ocsp.Revoked
			r.RevokedAt = info.RevokedAt.UTC().Truncate(time.Second)
			r.Reason, _ = ReasonCode(info.Reason)
		}
	}
	return r
}

// signOCSP signs a response about ids for ic with its delegated
// responder, infos[i] stating ids[i]'s status (nil: unknown). producedAt
// and thisUpdate are the current second, so thisUpdate is never before a
// revocation time and never after producedAt.
func (c *CA) signOCSP(ic *issuerCA, ids []ocspresp.CertID, infos []*CertInfo, nonce *pkix.Extension) ([]byte, error) {
	now := c.cfg.Now().UTC().Truncate(time.Second)
	singles := make([]ocspresp.SingleResponse, len(ids))
	for i, id := range ids {
		singles[i] = c.singleResponse(id, infos[i], now)
	}
	der, err := ocspresp.CreateResponse(ic.responder, c.ocspKey, ocspresp.ResponseTemplate{ProducedAt: now, Responses: singles, Nonce: nonce})
	if err != nil {
		return nil, fmt.Errorf("ca: sign OCSP response: %w", err)
	}
	return der, nil
}

// PresignOCSP signs and stores the SHA-1 CertID response for a
// certificate. The response is signed for the status version read with
// the status, and stored by compare-and-set: only while that version is
// still the certificate's (its row is locked for the write, so a status
// change commits either before, and the write is dropped, or after, and
// deletes it), and never over a response for a newer version. A replica
// that read "valid" just before another revoked the certificate therefore
// cannot put "good" back.
func (c *CA) PresignOCSP(ctx context.Context, serial string) error {
	unlock := c.lock(&c.ocspLocks, serial)
	defer func() {
		unlock()
		c.ocspLocks.Delete(serial)
	}()
	info, err := getCert(ctx, c.db, serial)
	if err != nil {
		return err
	}
	ic, ok := c.issuers[info.Issuer]
	if !ok || ic.responder == nil {
		return fmt.Errorf("ca: no responder for issuer %s", info.Issuer)
	}
	n, _ := new(big.Int).SetString(info.Serial, 16)
	id := ocspresp.CertID{HashAlgorithm: crypto.SHA1, IssuerNameHash: ic.nameHash[crypto.SHA1], IssuerKeyHash: ic.keyHash[crypto.SHA1], Serial: n}
	der, err := c.signOCSP(ic, []ocspresp.CertID{id}, []*CertInfo{info}, nil)
	if err != nil {
		return err
	}
	if c.beforeOCSPStore != nil {
		c.beforeOCSPStore(der)
	}
	now := c.cfg.Now().UTC().Truncate(time.Second)
	err = c.db.InTx(ctx, func(tx *sql.Tx) error {
		// Lock the certificate's row at the version signed for; a status
		// change in flight is waited for and then makes this match nothing.
		res, err := tx.ExecContext(ctx, `UPDATE ca_certificates SET status_version = status_version WHERE serial = $1 AND status_version = $2`,
			info.Serial, info.StatusVersion)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errStatusChanged
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO ca_ocsp (serial, issuer, this_update, next_update, der, status_version) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (serial) DO UPDATE SET issuer = excluded.issuer, this_update = excluded.this_update, next_update = excluded.next_update,
			der = excluded.der, status_version = excluded.status_version WHERE ca_ocsp.status_version <= excluded.status_version`,
			info.Serial, info.Issuer, now.UnixMilli(), now.Add(c.cfg.OCSPValidity).UnixMilli(), der, info.StatusVersion)
		return err
	})
	if errors.Is(err, errStatusChanged) {
		// The status changed since it was read: whoever changed it
		// re-signs after their commit, and look-ups sign on demand.
		c.cfg.Log.InfoContext(ctx, "ca: OCSP response for a superseded status dropped", "serial", info.Serial, "version", info.StatusVersion)
		return nil
	}
	if err != nil {
		return fmt.Errorf("ca: store OCSP response: %w", err)
	}
	return nil
}

var errStatusChanged = errors.New("ca: certificate status changed while its OCSP response was signed")

// RefreshOCSP re-signs up to limit pre-signed responses that have less
// than half of their validity left, and signs responses for unexpired
// certificates that have none. It returns how many it signed.
func (c *CA) RefreshOCSP(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = 1000
	}
	now := c.cfg.Now()
	rows, err := c.db.QueryContext(ctx, `SELECT o.serial FROM ca_ocsp o JOIN ca_certificates c ON c.serial = o.serial
		WHERE o.next_update < $1 AND c.not_after > $2 ORDER BY o.next_update LIMIT $3`,
		now.Add(c.cfg.OCSPValidity/2).UnixMilli(), now.UnixMilli(), limit)
	if err != nil {
		return 0, fmt.Errorf("ca: refresh OCSP: %w", err)
	}
	serials, err := collect(rows)
	if err != nil {
		return 0, err
	}
	if len(serials) < limit {
		rows, err := c.db.QueryContext(ctx, `SELECT c.serial FROM ca_certificates c LEFT JOIN ca_ocsp o ON o.serial = c.serial
			WHERE o.serial IS NULL AND c.not_after > $1 LIMIT $2`, now.UnixMilli(), limit-len(serials))
		if err != nil {
			return 0, fmt.Errorf("ca: refresh OCSP: %w", err)
		}
		more, err := collect(rows)
		if err != nil {
			return 0, err
		}
		serials = append(serials, more...)
	}
	for i, s := range serials {
		if err := c.PresignOCSP(ctx, s); err != nil {
			return i, err
		}
	}
	return len(serials), nil
}

func collect(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// OCSPResponse returns a current DER OCSP response for a certificate the
// CA issued (for embedding in signatures' revocation data).
func (c *CA) OCSPResponse(ctx context.Context, cert *x509.Certificate) ([]byte, error) {
	hx := SerialHex(cert.SerialNumber)
	info, err := getCert(ctx, c.db, hx)
	if err != nil {
		return nil, err
	}
	if der, ok, err := c.cachedOCSP(ctx, hx, info.Issuer); err != nil || ok {
		return der, err
	}
	if err := c.PresignOCSP(ctx, hx); err != nil {
		return nil, err
	}
	der, _, err := c.cachedOCSP(ctx, hx, info.Issuer)
	return der, err
}

// Run refreshes CRLs and pre-signed OCSP responses, and destroys the keys
// of expired credentials, every interval until ctx ends.
func (c *CA) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := c.RefreshCRLs(ctx); err != nil {
			c.cfg.Log.ErrorContext(ctx, "ca: refresh CRLs", "err", err)
		} else if n > 0 {
			c.cfg.Log.InfoContext(ctx, "ca: CRLs regenerated", "count", n)
		}
		if n, err := c.DestroyExpiredKeys(ctx); err != nil {
			c.cfg.Log.ErrorContext(ctx, "ca: destroy expired keys", "err", err)
		} else if n > 0 {
			c.cfg.Log.InfoContext(ctx, "ca: keys of expired credentials destroyed", "count", n)
		}
		for {
			n, err := c.RefreshOCSP(ctx, 1000)
			if err != nil {
				c.cfg.Log.ErrorContext(ctx, "ca: refresh OCSP", "err", err)
			}
			if err != nil || n < 1000 || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
