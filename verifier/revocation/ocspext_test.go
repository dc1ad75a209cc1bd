package revocation_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/ca/ocspresp"
	"kyso/verifier/revocation"
)

// kysoOCSP makes a "good" response with Kyso's own OCSP encoder, carrying
// ext in responseExtensions, and a CertID naming issuerForID.
func kysoOCSP(t *testing.T, ca pki, issuerForID *x509.Certificate, leaf *x509.Certificate, this time.Time, ext *pkix.Extension) []byte {
	t.Helper()
	req, err := ocsp.CreateRequest(leaf, issuerForID, nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ocspresp.ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	der, err := ocspresp.CreateResponse(ca.cert, ca.key, ocspresp.ResponseTemplate{ProducedAt: this, Nonce: ext,
		Responses: []ocspresp.SingleResponse{{CertID: parsed.CertID, Status: ocsp.Good, ThisUpdate: this, NextUpdate: this.Add(time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// An archive cutoff lets a "good" about an expired certificate count; an
// unknown critical response extension or a CertID naming another issuer
// refuses the response.
func TestOCSPResponseExtensions(t *testing.T) {
	ca := newIssuer(t)
	leaf := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "Signer"}, NotBefore: t0.AddDate(0, 0, -2), NotAfter: t0.AddDate(0, 0, -1)}).cert
	at := leaf.NotAfter.Add(-time.Hour)
	cutoff := func(c time.Time) *pkix.Extension {
		v, _ := asn1.MarshalWithParams(c, "generalized")
		return &pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 6}, Value: v}
	}
	other := newIssuer(t)
	chk := revocation.New(revocation.Config{Offline: true})
	for _, tc := range []struct {
		name   string
		der    []byte
		want   revocation.Status
		detail string
	}{
		{"after expiry with archive cutoff", kysoOCSP(t, ca, ca.cert, leaf, t0, cutoff(leaf.NotBefore)), revocation.Good, ""},
		{"after expiry, cutoff after the expiry", kysoOCSP(t, ca, ca.cert, leaf, t0, cutoff(t0)), revocation.Unknown, "archive cutoff"},
		{"unknown critical response extension", kysoOCSP(t, ca, ca.cert, leaf, at, &pkix.Extension{Id: asn1.ObjectIdentifier{1, 2, 3}, Critical: true, Value: []byte{5, 0}}), revocation.Unknown, "critical"},
		{"CertID of another issuer", kysoOCSP(t, ca, other.cert, leaf, at, nil), revocation.Unknown, ""},
		{"before expiry", kysoOCSP(t, ca, ca.cert, leaf, at, nil), revocation.Good, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chk.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{{OCSP: [][]byte{tc.der}}})
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("got %+v, want %s with %q", r, tc.want, tc.detail)
			}
		})
	}
}

// FuzzCheck feeds arbitrary CRLs and OCSP responses to the checker.
func FuzzCheck(f *testing.F) {
	ca := newIssuer(f)
	leaf := ca.issue(f, &x509.Certificate{SerialNumber: big.NewInt(5), Subject: pkix.Name{CommonName: "Signer"}, CRLDistributionPoints: []string{shard0}}).cert
	f.Add(ca.shardCRL(f, shard0, t0), ca.ocspBy(f, ca, leaf, t0, time.Time{}))
	f.Add([]byte{0x30, 0x00}, []byte{0x30, 0x03, 0x0a, 0x01, 0x00})
	chk := revocation.New(revocation.Config{Offline: true})
	f.Fuzz(func(t *testing.T, crl, resp []byte) {
		chk.Check(context.Background(), leaf, ca.cert, t0, []revocation.Evidence{{CRLs: [][]byte{crl}, OCSP: [][]byte{resp}}})
	})
}

// certID is the CertID naming leaf as issued by issuer, hashed with h.
func certID(t *testing.T, leaf, issuer *x509.Certificate, h crypto.Hash) ocspresp.CertID {
	t.Helper()
	req, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ocspresp.ParseRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.CertID
}

// One OCSP response, signed by the signer's CA, with two single responses
// for the signer's serial: first "good" under a CertID naming another CA,
// then "revoked (keyCompromise)" under the CertID naming the real issuer.
// golang.org/x/crypto/ocsp reads the first entry with the serial; the
// checker must read the one naming the issuer, in whatever hash the CertID
// uses, and refuse a response with two entries about the certificate.
func TestOCSPSingleResponseOfTheIssuer(t *testing.T) {
	ca := newIssuer(t)
	other := newIssuer(t)
	leaf := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: "Signer"}}).cert
	revokedAt := t0.Add(-48 * time.Hour)
	good := func(id ocspresp.CertID) ocspresp.SingleResponse {
		return ocspresp.SingleResponse{CertID: id, Status: ocsp.Good, ThisUpdate: t0, NextUpdate: t0.Add(time.Hour)}
	}
	revoked := func(id ocspresp.CertID) ocspresp.SingleResponse {
		return ocspresp.SingleResponse{CertID: id, Status: ocsp.Revoked, RevokedAt: revokedAt, Reason: ocsp.KeyCompromise, ThisUpdate: t0, NextUpdate: t0.Add(time.Hour)}
	}
	response := func(singles ...ocspresp.SingleResponse) []byte {
		der, err := ocspresp.CreateResponse(ca.cert, ca.key, ocspresp.ResponseTemplate{ProducedAt: t0, Responses: singles})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	decoy := response(good(certID(t, leaf, other.cert, crypto.SHA1)), revoked(certID(t, leaf, ca.cert, crypto.SHA1)))

	// The attack is real: the OCSP library reports the decoy's "good".
	if r, err := ocsp.ParseResponseForCert(decoy, leaf, ca.cert); err != nil || r.Status != ocsp.Good {
		t.Fatalf("attack not reproduced: %v %+v", err, r)
	}

	chk := revocation.New(revocation.Config{Offline: true})
	for _, tc := range []struct {
		name   string
		der    []byte
		want   revocation.Status
		detail string
	}{
		{"decoy entry of another CA first", decoy, revocation.Revoked, ""},
		{"decoy in SHA-1, own issuer in SHA-256", response(good(certID(t, leaf, other.cert, crypto.SHA1)), revoked(certID(t, leaf, ca.cert, crypto.SHA256))), revocation.Revoked, ""},
		{"two entries of the issuer", response(good(certID(t, leaf, ca.cert, crypto.SHA1)), revoked(certID(t, leaf, ca.cert, crypto.SHA256))), revocation.Unknown, "several single responses"},
		{"only the other CA's entry", response(good(certID(t, leaf, other.cert, crypto.SHA256))), revocation.Unknown, ""},
		{"the issuer's good after another CA's revoked", response(revoked(certID(t, leaf, other.cert, crypto.SHA1)), good(certID(t, leaf, ca.cert, crypto.SHA1))), revocation.Good, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chk.Check(context.Background(), leaf, ca.cert, t0, []revocation.Evidence{{OCSP: [][]byte{tc.der}}})
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("got %+v, want %s with %q", r, tc.want, tc.detail)
			}
			if tc.want == revocation.Revoked && (r.Reason != ocsp.KeyCompromise || !r.RevokedAt.Equal(revokedAt)) {
				t.Fatalf("revocation not taken from the issuer's entry: %+v", r)
			}
		})
	}
}
