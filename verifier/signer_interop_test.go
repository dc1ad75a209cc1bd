package verifier_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"net/url"
	"testing"

	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/tsa"
	"kyso/verifier"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// TestSignerLevels validates documents made by kyso/signer at every PAdES
// baseline level (its /DSS writer and document time-stamps included), with
// a three-level chain (root, issuing CA, signer).
func TestSignerLevels(t *testing.T) {
	ctx := context.Background()
	pki, ts, online, offline := signerSetup(t)
	doc := signertest.PDF(t, signertest.PDFOptions{Pages: 2})
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	for _, tc := range []struct {
		level signer.Level
		want  string
		v     *verifier.Verifier
	}{
		{signer.BB, "PAdES-BASELINE-B", online},
		{signer.BT, "PAdES-BASELINE-T", online},
		{signer.BLT, "PAdES-BASELINE-LT", offline},
		{signer.BLTA, "PAdES-BASELINE-LTA", offline},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			var out bytes.Buffer
			err := signer.SignPDF(ctx, key, bytes.NewReader(doc), int64(len(doc)), &out, signer.PDFOptions{
				Level: tc.level, Name: "Nguyễn Văn An", Reason: "Đồng ý",
				Deps: signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert},
			})
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			rep, err := tc.v.Verify(ctx, verifier.Input{Data: out.Bytes()})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != report.TotalPassed || rep.Signatures[0].Level != tc.want {
				var b bytes.Buffer
				rep.Text(&b)
				t.Fatalf("got %s/%s level %q, want TOTAL-PASSED %s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, rep.Signatures[0].Level, tc.want, b.String())
			}
		})
	}
}

// CAdES signatures made by Kyso's signer reach the level they were made at;
// at B-LT the validation data inside the SignedData suffices offline.
func TestSignerCAdESLevels(t *testing.T) {
	ctx := context.Background()
	pki, ts, online, offline := signerSetup(t)
	content := []byte("Đơn đăng ký khai sinh\n")
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	for _, tc := range []struct {
		level signer.Level
		want  string
		v     *verifier.Verifier
	}{
		{signer.BB, "CAdES-BASELINE-B", online},
		{signer.BT, "CAdES-BASELINE-T", online},
		{signer.BLT, "CAdES-BASELINE-LT", offline},
		{signer.BLTA, "CAdES-BASELINE-LTA", offline},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			p7s, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: tc.level,
				Deps: signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert}})
			if err != nil {
				t.Fatalf("sign: %v", err)
			}
			rep, err := tc.v.Verify(ctx, verifier.Input{Data: p7s, Detached: content})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != report.TotalPassed || rep.Signatures[0].Level != tc.want {
				var b bytes.Buffer
				rep.Text(&b)
				t.Fatalf("got %s/%s level %q, want TOTAL-PASSED %s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, rep.Signatures[0].Level, tc.want, b.String())
			}
		})
	}
}

// signerSetup is a test PKI with a time-stamp authority, and verifiers
// trusting its root with online revocation checks and without.
func signerSetup(t *testing.T) (*signertest.PKI, *tsa.Server, *verifier.Verifier, *verifier.Verifier) {
	t.Helper()
	pki := signertest.New(t, signertest.P256, nil)
	db := storetest.SQLite(t)
	if err := tsa.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pki.Leaf.Cert.OCSPServer[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := []*x509.Certificate{pki.Root.Cert}
	online := verifier.New(verifier.Options{Roots: roots, Revocation: revocation.New(revocation.Config{AllowedHosts: []string{u.Host}})})
	offline := verifier.New(verifier.Options{Roots: roots})
	return pki, ts, online, offline
}

// signingKit is signerSetup with the signer's dependencies (the TSA, the
// PKI's revocation data and root) and the leaf's key, as most tests sign.
func signingKit(t *testing.T) (*signertest.PKI, signer.Deps, signer.Key, *verifier.Verifier, *verifier.Verifier) {
	t.Helper()
	pki, ts, online, offline := signerSetup(t)
	return pki, signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert},
		signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}, online, offline
}
