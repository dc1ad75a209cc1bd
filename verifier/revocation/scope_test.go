package revocation_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/ca/crl"
	"kyso/verifier/revocation"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type pki struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newIssuer(t testing.TB) pki {
	k := mustKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Issuing CA"}, NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return pki{c, k}
}

func (p pki) issue(t testing.TB, tmpl *x509.Certificate) pki {
	k := mustKey(t)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = t0.AddDate(0, -1, 0)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = t0.AddDate(1, 0, 0)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, k.Public(), p.key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return pki{c, k}
}

const shard0, shard1 = "http://crl.kyso.test/ca/0.crl", "http://crl.kyso.test/ca/1.crl"

// shardCRL is a CRL of one shard made by Kyso's CA code (critical issuing
// distribution point naming the shard, user certificates only).
func (p pki) shardCRL(t testing.TB, url string, this time.Time, entries ...crl.Entry) []byte {
	der, err := crl.Build(p.cert, p.key, crl.Params{Number: big.NewInt(this.Unix()), ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour), URL: url, Scope: crl.UserCerts, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (p pki) rawCRL(t *testing.T, this time.Time, exts []pkix.Extension, entries ...x509.RevocationListEntry) []byte {
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(this.Unix()), ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour), ExtraExtensions: exts, RevokedCertificateEntries: entries}, p.cert, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (p pki) ocspBy(t testing.TB, responder pki, leaf *x509.Certificate, this time.Time, revokedAt time.Time) []byte {
	r := ocsp.Response{Status: ocsp.Good, SerialNumber: leaf.SerialNumber, ThisUpdate: this, NextUpdate: this.Add(4 * time.Hour), ProducedAt: this}
	if !revokedAt.IsZero() {
		r.Status, r.RevokedAt, r.RevocationReason = ocsp.Revoked, revokedAt, ocsp.KeyCompromise
	}
	if responder.cert != p.cert {
		r.Certificate = responder.cert
	}
	der, err := ocsp.CreateResponse(p.cert, responder.cert, r, responder.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func idpExt(t *testing.T, der []byte) []pkix.Extension {
	return []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: der}}
}

// The cases of a CRL or an OCSP response that must not decide a
// certificate's status, and the ones that must.
func TestScopeAndAuthority(t *testing.T) {
	ca := newIssuer(t)
	leaf := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "Signer"}, CRLDistributionPoints: []string{shard0}}).cert
	caCert := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(43), Subject: pkix.Name{CommonName: "Sub CA"}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, CRLDistributionPoints: []string{shard0}}).cert
	at := t0
	revoked := crl.Entry{Serial: big.NewInt(42), RevokedAt: at.Add(-48 * time.Hour), Reason: 1}
	delegated := func(tmpl *x509.Certificate) pki {
		if tmpl.SerialNumber == nil {
			tmpl.SerialNumber = big.NewInt(900)
		}
		tmpl.Subject = pkix.Name{CommonName: "OCSP Responder"}
		return ca.issue(t, tmpl)
	}
	noCheck := pkix.Extension{Id: revocation.OIDOCSPNoCheck, Value: []byte{5, 0}}
	good := delegated(&x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}, ExtraExtensions: []pkix.Extension{noCheck}})
	noEKU := delegated(&x509.Certificate{ExtraExtensions: []pkix.Extension{noCheck}})
	expiredResponder := delegated(&x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}, ExtraExtensions: []pkix.Extension{noCheck}, NotBefore: t0.AddDate(-1, 0, 0), NotAfter: t0.AddDate(0, 0, -1)})
	withoutNoCheck := delegated(&x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
	revokedResponder := delegated(&x509.Certificate{SerialNumber: big.NewInt(901), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}, CRLDistributionPoints: []string{shard1}})
	stranger := newIssuer(t)
	// An IDP naming shard0 but marking the CRL indirect.
	indirect := []byte{0x30, 0x23, 0xa0, 0x1e, 0xa0, 0x1c, 0x86, 0x1a}
	indirect = append(indirect, shard0[:26]...)
	indirect = append(indirect, 0x84, 0x01, 0xff)
	chk := revocation.New(revocation.Config{Offline: true})
	for _, tc := range []struct {
		name   string
		cert   *x509.Certificate
		ev     revocation.Evidence
		want   revocation.Status
		detail string
	}{
		{"own shard, revoked", leaf, revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard0, at, revoked)}}, revocation.Revoked, ""},
		{"own shard, good", leaf, revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard0, at)}}, revocation.Good, ""},
		// Finding: a fresh CRL of another shard proved "good".
		{"other shard", leaf, revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard1, at)}}, revocation.Unknown, "not one of the certificate's"},
		{"user-certs CRL for a CA", caCert, revocation.Evidence{CRLs: [][]byte{ca.shardCRL(t, shard0, at)}}, revocation.Unknown, "end-entity certificates only"},
		{"indirect CRL", leaf, revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, at, idpExt(t, indirect[:len(indirect)]))}}, revocation.Unknown, ""},
		{"unknown critical extension", leaf, revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, at, []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5, 0}}})}}, revocation.Unknown, "critical"},
		{"delta CRL", leaf, revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, at, []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: []byte{2, 1, 1}}})}}, revocation.Unknown, "delta"},
		{"CRL of another issuer", leaf, revocation.Evidence{CRLs: [][]byte{stranger.shardCRL(t, shard0, at)}}, revocation.Unknown, ""},
		{"OCSP by the CA", leaf, revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, ca, leaf, at, time.Time{})}}, revocation.Good, ""},
		{"OCSP by a delegated responder", leaf, revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, good, leaf, at, time.Time{})}}, revocation.Good, ""},
		{"OCSP responder without id-kp-OCSPSigning", leaf, revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, noEKU, leaf, at, time.Time{})}}, revocation.Unknown, "OCSPSigning"},
		{"OCSP responder expired when producing", leaf, revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, expiredResponder, leaf, at, time.Time{})}}, revocation.Unknown, "not valid when the response was produced"},
		{"OCSP responder without nocheck, status unknown", leaf, revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, withoutNoCheck, leaf, at, time.Time{})}}, revocation.Unknown, "revocation status unknown"},
		{"OCSP responder without nocheck, CRL shows it good", leaf, revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, withoutNoCheck, leaf, at, time.Time{})}, CRLs: [][]byte{ca.rawCRL(t, at.Add(-time.Hour), nil)}}, revocation.Good, ""},
		{"OCSP responder without nocheck, revoked", leaf, revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, revokedResponder, leaf, at, time.Time{})}, CRLs: [][]byte{ca.shardCRL(t, shard1, at.Add(-time.Hour), crl.Entry{Serial: big.NewInt(901), RevokedAt: at.Add(-2 * time.Hour)})}}, revocation.Unknown, "responder certificate: revoked"},
		{"OCSP signed by another CA's responder", leaf, revocation.Evidence{OCSP: [][]byte{stranger.ocspBy(t, stranger, leaf, at, time.Time{})}}, revocation.Unknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chk.Check(context.Background(), tc.cert, ca.cert, at, []revocation.Evidence{tc.ev})
			if r.Status != tc.want || !strings.Contains(r.Detail, tc.detail) {
				t.Fatalf("got %+v, want %s with %q", r, tc.want, tc.detail)
			}
		})
	}
}

// Evidence is weighed, not taken in order: any revocation before the time
// asked about wins over any "good", wherever it comes from.
func TestEvidenceWeighed(t *testing.T) {
	ca := newIssuer(t)
	leaf := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Signer"}, CRLDistributionPoints: []string{shard0}}).cert
	at := t0
	oldGood := ca.ocspBy(t, ca, leaf, at.Add(-time.Hour), time.Time{})
	newerRevoked := ca.shardCRL(t, shard0, at.Add(time.Hour), crl.Entry{Serial: big.NewInt(7), RevokedAt: at.Add(-30 * time.Minute), Reason: 1})
	chk := revocation.New(revocation.Config{Offline: true})
	// Document evidence first, DSS second: the order must not matter.
	for _, evs := range [][]revocation.Evidence{
		{{Origin: "CMS", OCSP: [][]byte{oldGood}}, {Origin: "DSS", CRLs: [][]byte{newerRevoked}}},
		{{Origin: "DSS", CRLs: [][]byte{newerRevoked}}, {Origin: "CMS", OCSP: [][]byte{oldGood}}},
	} {
		r := chk.Check(context.Background(), leaf, ca.cert, at, evs)
		if r.Status != revocation.Revoked || r.Source != "DSS CRL" || r.Reason != 1 {
			t.Fatalf("an old good beat a newer revocation: %+v", r)
		}
	}
	// A good issued 20 hours before the time asked about is not fresh for
	// an OCSP response valid 4 hours, nor under a 1 hour policy.
	stale := ca.ocspBy(t, ca, leaf, at.Add(-20*time.Hour), time.Time{})
	if r := chk.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{{OCSP: [][]byte{stale}}}); r.Status != revocation.Unknown {
		t.Fatalf("stale evidence accepted: %+v", r)
	}
	crlBefore := ca.shardCRL(t, shard0, at.Add(-20*time.Hour))
	if r := chk.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{{CRLs: [][]byte{crlBefore}}}); r.Status != revocation.Good {
		t.Fatalf("a CRL within its own validity: %+v", r)
	}
	strict := revocation.New(revocation.Config{Offline: true, Freshness: time.Hour})
	if r := strict.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{{CRLs: [][]byte{crlBefore}}}); r.Status != revocation.Unknown {
		t.Fatalf("freshness policy ignored: %+v", r)
	}
	// The closest good after the time asked about is the one reported.
	g1, g2 := ca.ocspBy(t, ca, leaf, at.Add(3*time.Hour), time.Time{}), ca.ocspBy(t, ca, leaf, at.Add(time.Hour), time.Time{})
	if r := chk.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{{Origin: "A", OCSP: [][]byte{g1, g2}}}); r.Status != revocation.Good || !r.Issued.Equal(at.Add(time.Hour)) {
		t.Fatalf("closest after: %+v", r)
	}
	// A revocation after the time asked about: good then, but noted.
	later := ca.shardCRL(t, shard0, at.Add(2*time.Hour), crl.Entry{Serial: big.NewInt(7), RevokedAt: at.Add(time.Hour)})
	if r := chk.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{{CRLs: [][]byte{oldGood, later}}}); r.Status != revocation.Good || !r.RevokedAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("revoked later: %+v", r)
	}
}

// Kyso's CA drops expired certificates from its CRLs: a CRL issued after
// the certificate expired proves nothing unless it carries
// ExpiredCertsOnCRL from before the expiry; OCSP needs an archive cutoff.
func TestExpiredCertificate(t *testing.T) {
	ca := newIssuer(t)
	leaf := ca.issue(t, &x509.Certificate{SerialNumber: big.NewInt(8), Subject: pkix.Name{CommonName: "Signer"}, NotBefore: t0.AddDate(0, 0, -2), NotAfter: t0.AddDate(0, 0, -1)}).cert
	at := t0.AddDate(0, 0, -1).Add(-time.Hour) // while it was valid
	after := t0
	chk := revocation.New(revocation.Config{Offline: true})
	check := func(ev revocation.Evidence) revocation.Result {
		return chk.Check(context.Background(), leaf, ca.cert, at, []revocation.Evidence{ev})
	}
	if r := check(revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, after, nil)}}); r.Status != revocation.Unknown || !strings.Contains(r.Detail, "ExpiredCertsOnCRL") {
		t.Fatalf("CRL after expiry accepted: %+v", r)
	}
	eco := func(t time.Time) []pkix.Extension {
		v, _ := asn1.MarshalWithParams(t, "generalized")
		return []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 60}, Value: v}}
	}
	if r := check(revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, after, eco(leaf.NotBefore))}}); r.Status != revocation.Good {
		t.Fatalf("CRL with ExpiredCertsOnCRL refused: %+v", r)
	}
	if r := check(revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, after, eco(leaf.NotAfter.Add(time.Hour)))}}); r.Status != revocation.Unknown {
		t.Fatalf("ExpiredCertsOnCRL after the expiry accepted: %+v", r)
	}
	if r := check(revocation.Evidence{OCSP: [][]byte{ca.ocspBy(t, ca, leaf, after, time.Time{})}}); r.Status != revocation.Unknown || !strings.Contains(r.Detail, "archive cutoff") {
		t.Fatalf("OCSP after expiry accepted: %+v", r)
	}
	// Revocation evidence stays valid after expiry.
	if r := check(revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, after, nil, x509.RevocationListEntry{SerialNumber: big.NewInt(8), RevocationTime: at.Add(-time.Hour)})}}); r.Status != revocation.Revoked {
		t.Fatalf("revocation after expiry: %+v", r)
	}
	// Before the expiry the CRL is fine.
	if r := check(revocation.Evidence{CRLs: [][]byte{ca.rawCRL(t, at, nil)}}); r.Status != revocation.Good {
		t.Fatalf("CRL before expiry: %+v", r)
	}
}

func TestParseIDP(t *testing.T) {
	ext, err := crl.IDPExtension(shard0, crl.CACerts)
	if err != nil {
		t.Fatal(err)
	}
	idp, err := revocation.ParseIDP(ext.Value)
	if err != nil || !idp.HasName || len(idp.URLs) != 1 || idp.URLs[0] != shard0 || !idp.OnlyCA || idp.OnlyUser || idp.Indirect {
		t.Fatalf("%+v %v", idp, err)
	}
}

func FuzzParseIDP(f *testing.F) {
	ext, _ := crl.IDPExtension(shard0, crl.UserCerts)
	f.Add(ext.Value)
	f.Add([]byte{0x30, 0x03, 0x84, 0x01, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		revocation.ParseIDP(b)
	})
}
