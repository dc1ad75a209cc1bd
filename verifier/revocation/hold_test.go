package revocation_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/ca/crl"
	"kyso/ca/ocspresp"
	"kyso/verifier/revocation"
)

// A certificate on hold (CRLReason certificateHold) is suspended, not
// revoked: its status is unknown (EN 319 102-1 and EU DSS give
// INDETERMINATE/TRY_LATER), unless later evidence shows the hold lifted;
// a definitive revocation still wins.
func TestCertificateHold(t *testing.T) {
	ca := newIssuer(t)
	leaf := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(66), Subject: pkix.Name{CommonName: "Signer"}, CRLDistributionPoints: []string{shard0}}).cert
	at := t0
	hold := func(this time.Time) []byte {
		return ca.shardCRL(t, shard0, this, crl.Entry{Serial: leaf.SerialNumber, RevokedAt: at.Add(-2 * time.Hour), Reason: 6})
	}
	ocspHold := func(this time.Time) []byte {
		der, err := ocspresp.CreateResponse(ca.cert, ca.key, ocspresp.ResponseTemplate{ProducedAt: this, Responses: []ocspresp.SingleResponse{{
			CertID: certID(t, leaf, ca.cert, crypto.SHA1), Status: ocsp.Revoked, RevokedAt: at.Add(-2 * time.Hour), Reason: ocsp.CertificateHold, ThisUpdate: this, NextUpdate: this.Add(time.Hour)}}})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	chk := revocation.New(revocation.Config{Offline: true})
	for _, tc := range []struct {
		name   string
		ev     revocation.Evidence
		want   revocation.Status
		detail string
	}{
		{"CRL: on hold", revocation.Evidence{CRLs: [][]byte{hold(at)}}, revocation.Unknown, "on hold"},
		{"OCSP: on hold", revocation.Evidence{OCSP: [][]byte{ocspHold(at)}}, revocation.Unknown, "on hold"},
		{"on hold, a good of before the hold", revocation.Evidence{CRLs: [][]byte{hold(at), ca.shardCRL(t, shard0, at.Add(-3*time.Hour))}}, revocation.Unknown, "on hold"},
		{"on hold, lifted by a later CRL", revocation.Evidence{CRLs: [][]byte{hold(at.Add(-time.Hour)), ca.shardCRL(t, shard0, at)}}, revocation.Good, ""},
		{"on hold, then revoked", revocation.Evidence{CRLs: [][]byte{hold(at), ca.shardCRL(t, shard0, at, crl.Entry{Serial: leaf.SerialNumber, RevokedAt: at.Add(-time.Hour), Reason: 1})}}, revocation.Revoked, ""},
		{"on hold only after the time of interest", revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard0, at.Add(time.Hour), crl.Entry{Serial: leaf.SerialNumber, RevokedAt: at.Add(30 * time.Minute), Reason: 6})}}, revocation.Good, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chk.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{tc.ev})
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("got %+v, want %s with %q", r, tc.want, tc.detail)
			}
		})
	}
}
