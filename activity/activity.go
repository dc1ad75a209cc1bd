// Package activity counts what citizens and agencies do with Kyso's
// certificates and keys, for the programme reports: certificates issued to
// citizens and those valid at a time, by the province their subject names
// (ST), and signatures made with remote credentials, by the province of the
// citizen's certificate or the agency of a seal.
//
// It is a read-only view over three other components' records (the CA's
// certificates, the credentials and the audit log), kept in this one place
// so that the dossier reports need not read other packages' tables and the
// CA, credential and audit packages need not know about reports.
package activity

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"kyso/dossier"
	"kyso/store"
)

// Source implements dossier.CitizenActivity over the store.
type Source struct {
	db *store.DB
}

// New returns the source reading db.
func New(db *store.DB) *Source { return &Source{db: db} }

// Certificates of the citizen profile; statuses as the CA stores them.
const (
	citizenProfile = "citizen"
	statusValid    = "valid"
	signAction     = "signature.create"
	credPrefix     = "credential:"
)

var _ dossier.CitizenActivity = (*Source)(nil)

// CitizenActivity implements dossier.CitizenActivity.
func (s *Source) CitizenActivity(ctx context.Context, from, to time.Time) (*dossier.ActivityCounts, error) {
	out := &dossier.ActivityCounts{Active: map[string]int{}}
	provinces := map[string]string{} // certificate serial -> province
	province := func(serial string, der []byte) string {
		if p, ok := provinces[serial]; ok {
			return p
		}
		p := ""
		if c, err := x509.ParseCertificate(der); err == nil && len(c.Subject.Province) > 0 {
			p = strings.TrimSpace(c.Subject.Province[0])
		}
		provinces[serial] = p
		return p
	}

	// Issued in the period.
	rows, err := s.db.QueryContext(ctx, `SELECT serial, der, created_at FROM ca_certificates
		WHERE profile = $1 AND created_at >= $2 AND created_at < $3`, citizenProfile, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("activity: certificates issued: %w", err)
	}
	for rows.Next() {
		var serial string
		var der []byte
		var at int64
		if err := rows.Scan(&serial, &der, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("activity: certificates issued: %w", err)
		}
		if p := province(serial, der); p != "" {
			out.Issued = append(out.Issued, dossier.ProvinceEvent{Province: p, At: time.UnixMilli(at).UTC()})
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("activity: certificates issued: %w", err)
	}

	// Valid at the end of the period: issued before it, inside their
	// validity, and not revoked or on hold by then.
	end := to.UnixMilli()
	rows, err = s.db.QueryContext(ctx, `SELECT serial, der FROM ca_certificates
		WHERE profile = $1 AND created_at < $2 AND not_before <= $2 AND not_after > $2 AND (status = $3 OR revoked_at > $2)`,
		citizenProfile, end, statusValid)
	if err != nil {
		return nil, fmt.Errorf("activity: certificates active: %w", err)
	}
	for rows.Next() {
		var serial string
		var der []byte
		if err := rows.Scan(&serial, &der); err != nil {
			rows.Close()
			return nil, fmt.Errorf("activity: certificates active: %w", err)
		}
		if p := province(serial, der); p != "" {
			out.Active[p]++
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("activity: certificates active: %w", err)
	}

	// Signatures made with remote credentials, as the audit log records
	// them before each HSM signature (action signature.create on
	// credential:<id>).
	// Entries still waiting for the sequencer count as well: the
	// sequencer moves them to the log in one transaction, so none is seen
	// twice.
	rows, err = s.db.QueryContext(ctx, `SELECT a.at, cr.kind, cr.agency_code, c.serial, c.der FROM
		(SELECT at, action, object FROM audit_log UNION ALL SELECT at, action, object FROM audit_pending) a
		JOIN credentials cr ON a.object = $1 || cr.id
		JOIN ca_certificates c ON c.serial = cr.cert_serial
		WHERE a.action = $2 AND a.at >= $3 AND a.at < $4`, credPrefix, signAction, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("activity: signatures: %w", err)
	}
	for rows.Next() {
		var at int64
		var kind, agency, serial string
		var der []byte
		if err := rows.Scan(&at, &kind, &agency, &serial, &der); err != nil {
			rows.Close()
			return nil, fmt.Errorf("activity: signatures: %w", err)
		}
		t := time.UnixMilli(at).UTC()
		switch kind {
		case "seal":
			out.Seals = append(out.Seals, dossier.AgencyEvent{Agency: agency, At: t})
		case "citizen":
			if p := province(serial, der); p != "" {
				out.Signatures = append(out.Signatures, dossier.ProvinceEvent{Province: p, At: t})
			}
		}
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("activity: signatures: %w", err)
	}
	return out, nil
}

type rowsCloser interface {
	Err() error
	Close() error
}

func closeRows(r rowsCloser) error {
	err := r.Err()
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return err
}
