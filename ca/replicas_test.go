package ca_test

import (
	"context"
	"crypto"
	"sync"
	"testing"

	"golang.org/x/crypto/ocsp"

	"kyso/auth"
	"kyso/ca"
	"kyso/ca/ocspresp"
	"kyso/store"
	"kyso/store/storetest"
)

// Two CA instances (replicas) share one database. Replica A reads a
// certificate as valid and signs its pre-signed OCSP response; before A
// stores it, replica B revokes the certificate and re-signs. A's "good"
// response is real (it verifies and says good) but must never be stored
// over B's, nor served: afterwards OCSP from either replica says revoked.
func TestPresignedOCSPAcrossReplicas(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, "")
		ctx := context.Background()
		a := e.ca
		b, err := ca.Load(ctx, db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: e.cfg.CRLShards, Audit: e.audit})
		if err != nil {
			t.Fatal(err)
		}
		iss := citizenCert(t, e, "001099012345")
		issuer := iss.Chain[0]
		officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}

		var once sync.Once
		var stale []byte
		ca.SetBeforeOCSPStore(a, func(der []byte) {
			once.Do(func() {
				stale = der
				if _, err := b.Revoke(ctx, iss.Serial, "keyCompromise", officer); err != nil {
					t.Errorf("revoke on replica B: %v", err)
				}
			})
		})
		if err := a.PresignOCSP(ctx, iss.Serial); err != nil {
			t.Fatal(err)
		}
		ca.SetBeforeOCSPStore(a, nil)
		// The race is real: A signed "good" for a certificate B revoked.
		r, err := ocsp.ParseResponseForCert(stale, iss.Certificate, issuer)
		if err != nil || r.Status != ocsp.Good {
			t.Fatalf("replica A's stale response: %v %+v", err, r)
		}

		lookUp := func(c *ca.CA) *ocsp.Response {
			t.Helper()
			der, err := ocsp.CreateRequest(iss.Certificate, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
			if err != nil {
				t.Fatal(err)
			}
			req, err := ocspresp.ParseRequest(der)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Respond(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			r, err := ocsp.ParseResponseForCert(resp, iss.Certificate, issuer)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		check := func(when string) {
			t.Helper()
			for name, c := range map[string]*ca.CA{"A": a, "B": b} {
				if r := lookUp(c); r.Status != ocsp.Revoked || r.RevocationReason != ocsp.KeyCompromise {
					t.Fatalf("%s: replica %s answers status %d", when, name, r.Status)
				}
			}
			var der []byte
			if err := db.QueryRowContext(ctx, `SELECT der FROM ca_ocsp WHERE serial = $1`, iss.Serial).Scan(&der); err != nil {
				t.Fatal(err)
			}
			if r, err := ocsp.ParseResponseForCert(der, iss.Certificate, issuer); err != nil || r.Status != ocsp.Revoked {
				t.Fatalf("%s: stored pre-signed response %v %+v", when, err, r)
			}
		}
		check("after the race")

		// A writer that ignores the status version (as an unconditional
		// upsert did) cannot make the stale response served either: it is
		// keyed by a version that is no longer the certificate's.
		if _, err := db.ExecContext(ctx, `UPDATE ca_ocsp SET der = $1, status_version = 0 WHERE serial = $2`, stale, iss.Serial); err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]*ca.CA{"A": a, "B": b} {
			if r := lookUp(c); r.Status != ocsp.Revoked {
				t.Fatalf("stale row: replica %s answers status %d", name, r.Status)
			}
		}
		check("after re-signing")
	})
}
