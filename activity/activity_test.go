package activity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"kyso/activity"
	"kyso/audit"
	"kyso/ca"
	"kyso/store"
	"kyso/store/storetest"
)

func cert(t *testing.T, serial int64, province string, nb, na time.Time) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Nguyễn Thị Mai", Province: []string{province}},
		NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCitizenActivity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := ca.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		_, edKey, _ := ed25519.GenerateKey(rand.Reader)
		signer, err := audit.NoteSigner("kyso.test/activity", edKey)
		if err != nil {
			t.Fatal(err)
		}
		log, err := audit.New(ctx, db, signer)
		if err != nil {
			t.Fatal(err)
		}
		march := func(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC) }
		from, to := march(1), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		year := 365 * 24 * time.Hour
		certs := []struct {
			serial          string
			profile         string
			province        string
			created         time.Time
			status          string
			revokedAt       time.Time
			notAfter        time.Time
			credID, credKnd string
			agency          string
		}{
			{"01", "citizen", "Hà Nội", march(2), "valid", time.Time{}, march(2).Add(3 * year), "c1", "citizen", ""},
			{"02", "citizen", "Hà Nội", march(3), "revoked", march(20), march(3).Add(3 * year), "c2", "citizen", ""},     // revoked in the period
			{"03", "citizen", "Hồ Chí Minh", march(4), "revoked", to.Add(time.Hour), march(4).Add(3 * year), "", "", ""}, // revoked after it
			{"04", "citizen", "Hà Nội", from.Add(-year), "valid", time.Time{}, from.Add(-year / 2), "", "", ""},          // expired before the end
			{"05", "citizen", "Đà Nẵng", to.Add(time.Hour), "valid", time.Time{}, to.Add(3 * year), "", "", ""},          // issued after the period
			{"06", "seal", "Hà Nội", march(5), "valid", time.Time{}, march(5).Add(year), "s1", "seal", "UBND-HN"},
		}
		for i, c := range certs {
			nb := c.created
			der := cert(t, int64(i+1), c.province, nb, c.notAfter)
			revoked := int64(0)
			if !c.revokedAt.IsZero() {
				revoked = c.revokedAt.UnixMilli()
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO ca_certificates (serial, issuer, profile, subject, subject_id, credential_id, shard, not_before, not_after, status, reason, revoked_at, der, created_at)
				VALUES ($1, 'citizen', $2, '', '', $3, 0, $4, $5, $6, -1, $7, $8, $9)`,
				c.serial, c.profile, c.credID, nb.UnixMilli(), c.notAfter.UnixMilli(), c.status, revoked, der, c.created.UnixMilli()); err != nil {
				t.Fatal(err)
			}
			if c.credID != "" {
				if _, err := db.ExecContext(ctx, `INSERT INTO credentials (id, kind, subject, agency_code, profile, key_label, key_type, cert_serial, cert_der, chain_der, status, failed_pins, pin_hash, created_at, updated_at)
					VALUES ($1, $2, $3, $4, $5, '', '', $6, $7, $8, 'active', 0, $9, 0, 0)`,
					c.credID, c.credKnd, "s-"+c.credID, c.agency, c.profile, c.serial, der, []byte{}, []byte{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		clock := march(1)
		log.SetClock(func() time.Time { return clock })
		for _, ev := range []struct {
			at     time.Time
			action string
			object string
		}{
			{march(6), "signature.create", "credential:c1"},
			{march(7), "signature.create", "credential:c1"},
			{march(8), "signature.create", "credential:c2"},
			{march(8), "signature.authorize", "credential:c2"}, // not a signature
			{march(9), "signature.create", "credential:s1"},
			{to.Add(time.Hour), "signature.create", "credential:c1"}, // after the period
		} {
			clock = ev.at
			if err := log.Append(ctx, audit.Event{Actor: "x", Role: "citizen", Action: ev.action, Object: ev.object}); err != nil {
				t.Fatal(err)
			}
		}

		// Half the entries sequenced into the log, the rest still pending:
		// each is counted once.
		if _, err := log.Sequence(ctx, audit.SequencerOptions{Batch: 3}); err != nil {
			t.Fatal(err)
		}
		if n, err := log.Pending(ctx); err != nil || n != 3 {
			t.Fatalf("pending = %d, %v; want 3", n, err)
		}
		got, err := activity.New(db).CitizenActivity(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		count := func(evs []string, p string) int {
			n := 0
			for _, e := range evs {
				if e == p {
					n++
				}
			}
			return n
		}
		var issued, sigs []string
		for _, e := range got.Issued {
			issued = append(issued, e.Province)
		}
		for _, e := range got.Signatures {
			sigs = append(sigs, e.Province)
		}
		if len(issued) != 3 || count(issued, "Hà Nội") != 2 || count(issued, "Hồ Chí Minh") != 1 {
			t.Errorf("issued = %v", issued)
		}
		if len(sigs) != 3 || count(sigs, "Hà Nội") != 3 {
			t.Errorf("citizen signatures = %v", sigs)
		}
		if len(got.Seals) != 1 || got.Seals[0].Agency != "UBND-HN" {
			t.Errorf("seal signatures = %+v", got.Seals)
		}
		if got.Active["Hà Nội"] != 1 || got.Active["Hồ Chí Minh"] != 1 || got.Active["Đà Nẵng"] != 0 || len(got.Active) != 2 {
			t.Errorf("active = %v", got.Active)
		}
	})
}
