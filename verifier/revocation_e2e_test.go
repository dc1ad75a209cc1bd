package verifier

import (
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/ca/crl"
	"kyso/ca/ocspresp"
	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

// shardCRL is a CRL of the test root made by Kyso's CA code, for the shard
// at url, listing the given revocations.
func shardCRL(t *testing.T, fx *fixture, url string, this time.Time, revoked map[*x509.Certificate]time.Time) []byte {
	t.Helper()
	var entries []crl.Entry
	for c, at := range revoked {
		entries = append(entries, crl.Entry{Serial: new(big.Int).Set(c.SerialNumber), RevokedAt: at, Reason: 1})
	}
	der, err := crl.Build(fx.pki.Root.Cert, fx.pki.Root.Key, crl.Params{Number: big.NewInt(this.Unix()), ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour), URL: url, Scope: crl.UserCerts, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// Revocation evidence attacks, each built on a PAdES signature validated
// offline from the evidence the document carries, with the EU DSS
// indication expected.
func TestRevocationEvidence(t *testing.T) {
	fx := newFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	tsaOCSP := func() []byte { return fx.pki.OCSP(t, fx.pki.TSA.Cert, now) }
	signBT := func(k testdoc.Key) []byte {
		return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, TSA: true})
	}
	check := func(t *testing.T, v *Verifier, doc []byte, want report.Indication, sub report.SubIndication) {
		t.Helper()
		rep := verify(t, v, doc)
		if rep.Status.MainIndication != want || rep.Status.SubIndication != sub {
			dump(t, rep)
			t.Fatalf("got %s/%s, want %s/%s", rep.Status.MainIndication, rep.Status.SubIndication, want, sub)
		}
	}
	t.Run("CRL of another shard", func(t *testing.T) {
		k := fx.pki.Issue(t, testdoc.Profile{CN: "Revoked For Key Compromise"})
		fx.pki.Revoke(k.Cert, now.Add(-time.Hour))
		doc := signBT(k)
		other := shardCRL(t, fx, fx.pki.CRLURL+"?shard=1", now, nil)
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, [][]byte{tsaOCSP()}, [][]byte{other}), report.Indeterminate, report.TryLater)
		own := shardCRL(t, fx, fx.pki.CRLURL, now, map[*x509.Certificate]time.Time{k.Cert: now.Add(-time.Hour)})
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, [][]byte{tsaOCSP()}, [][]byte{other, own}), report.TotalFailed, report.Revoked)
	})
	t.Run("old good in the signature, newer revocation in the DSS", func(t *testing.T) {
		k := fx.pki.Issue(t, testdoc.Profile{CN: "Revoked After Its OCSP"})
		good := fx.pki.OCSP(t, k.Cert, now.Add(-2*time.Hour))
		doc := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, Legacy: true, OCSP: [][]byte{good}})
		check(t, fx.offl, doc, report.TotalPassed, "")
		revoked := shardCRL(t, fx, fx.pki.CRLURL, now, map[*x509.Certificate]time.Time{k.Cert: now.Add(-time.Hour)})
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, nil, [][]byte{revoked}), report.TotalFailed, report.Revoked)
	})
	t.Run("revoked after signing, no proof of existence", func(t *testing.T) {
		k := fx.pki.Issue(t, testdoc.Profile{CN: "Revoked Later"})
		doc := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, Date: now.Add(-2 * time.Hour)})
		revoked := shardCRL(t, fx, fx.pki.CRLURL, now, map[*x509.Certificate]time.Time{k.Cert: now.Add(-time.Hour)})
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, nil, [][]byte{revoked}), report.Indeterminate, report.RevokedNoPOE)
	})
	t.Run("CRL issued after expiry without ExpiredCertsOnCRL", func(t *testing.T) {
		fx.pki.TSATime = func() time.Time { return testdoc.Base.AddDate(0, 6, 0) }
		defer func() { fx.pki.TSATime = nil }()
		k := fx.pki.Issue(t, testdoc.Profile{CN: "Expired Signer", NotAfter: testdoc.Base.AddDate(1, 0, 0)})
		doc := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, TSA: true, Date: testdoc.Base.AddDate(0, 6, 0)})
		// Kyso's CA drops expired certificates from its CRLs, revoked or not.
		afterExpiry := shardCRL(t, fx, fx.pki.CRLURL, now, nil)
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, [][]byte{tsaOCSP()}, [][]byte{afterExpiry}), report.Indeterminate, report.TryLater)
	})
	t.Run("CRL dated a year after the validation time", func(t *testing.T) {
		k := fx.pki.Issue(t, testdoc.Profile{CN: "Good Only In The Future"})
		doc := signBT(k)
		future := shardCRL(t, fx, fx.pki.CRLURL, now.AddDate(1, 0, 0), nil)
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, [][]byte{tsaOCSP()}, [][]byte{future}), report.Indeterminate, report.TryLater)
		current := shardCRL(t, fx, fx.pki.CRLURL, now, nil)
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, [][]byte{tsaOCSP()}, [][]byte{future, current}), report.TotalPassed, "")
	})
	t.Run("signer on hold (certificateHold)", func(t *testing.T) {
		k := fx.pki.Issue(t, testdoc.Profile{CN: "Suspended Signer"})
		doc := signBT(k)
		held, err := crl.Build(fx.pki.Root.Cert, fx.pki.Root.Key, crl.Params{Number: big.NewInt(now.Unix()), ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour), URL: fx.pki.CRLURL, Scope: crl.UserCerts,
			Entries: []crl.Entry{{Serial: k.Cert.SerialNumber, RevokedAt: now.Add(-time.Hour), Reason: 6}}})
		if err != nil {
			t.Fatal(err)
		}
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, [][]byte{tsaOCSP()}, [][]byte{held}), report.Indeterminate, report.TryLater)
	})
	t.Run("OCSP response with another CA's entry for the serial first", func(t *testing.T) {
		k := fx.pki.Issue(t, testdoc.Profile{CN: "Revoked Behind A Decoy"})
		fx.pki.Revoke(k.Cert, now.Add(-time.Hour))
		doc := signBT(k)
		other := testdoc.NewPKI(t).Root.Cert
		id := func(issuer *x509.Certificate) ocspresp.CertID {
			req, err := ocsp.CreateRequest(k.Cert, issuer, nil)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := ocspresp.ParseRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			return parsed.CertID
		}
		decoy, err := ocspresp.CreateResponse(fx.pki.Root.Cert, fx.pki.Root.Key, ocspresp.ResponseTemplate{ProducedAt: now, Responses: []ocspresp.SingleResponse{
			{CertID: id(other), Status: ocsp.Good, ThisUpdate: now, NextUpdate: now.Add(time.Hour)},
			{CertID: id(fx.pki.Root.Cert), Status: ocsp.Revoked, RevokedAt: now.Add(-time.Hour), Reason: ocsp.KeyCompromise, ThisUpdate: now, NextUpdate: now.Add(time.Hour)},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if r, err := ocsp.ParseResponseForCert(decoy, k.Cert, fx.pki.Root.Cert); err != nil || r.Status != ocsp.Good {
			t.Fatalf("the OCSP library does not read the decoy: %v", err)
		}
		check(t, fx.offl, testdoc.AddDSS(t, doc, nil, [][]byte{tsaOCSP(), decoy}, nil), report.TotalFailed, report.Revoked)
	})
}
