package verifier

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"kyso/cms"
	"kyso/verifier/report"
)

// attribute encodes a CMS Attribute with the given DER values (as a DER
// SET OF, sorted).
func attribute(t *testing.T, oid asn1.ObjectIdentifier, values ...[]byte) []byte {
	t.Helper()
	sorted := append([][]byte(nil), values...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 })
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, v := range sorted {
				b.AddBytes(v)
			}
		})
	})
	return b.BytesOrPanic()
}

// algorithmProtection encodes CMSAlgorithmProtection naming a digest and
// a signature algorithm (RFC 6211).
func algorithmProtection(digest, sig asn1.ObjectIdentifier) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(digest) })
		b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(sig) })
	})
	return b.BytesOrPanic()
}

// opensslVerifies says whether `openssl cms -verify` accepts the detached
// signature over content with the fixture's root as trust anchor.
func opensslVerifies(t *testing.T, fx *fixture, der, content []byte) bool {
	t.Helper()
	requireTool(t, "openssl")
	dir := t.TempDir()
	root := fx.pki.WriteRootPEM(t, dir)
	for name, b := range map[string][]byte{"sig.p7s": der, "data.txt": content} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", "sig.p7s", "-content", "data.txt", "-CAfile", root, "-purpose", "any", "-out", os.DevNull)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	t.Logf("openssl cms -verify: %v %s", err, bytes.TrimSpace(out))
	return err == nil
}

// Signed attributes that break CMS's rules, in signatures whose value is
// valid (so a validator checking only the value passes them): each is
// TOTAL-FAILED/FORMAT_FAILURE, as EU DSS and BouncyCastle judge them.
// OpenSSL 3 refuses the repeated values and the signed countersignature
// itself, and accepts the algorithm substitution that RFC 6211's
// attribute exposes.
func TestSignedAttributeRules(t *testing.T) {
	fx := newFixture(t)
	content := []byte("Giấy xác nhận kết quả học tập\n")
	now := time.Now().UTC().Truncate(time.Second)
	oidSHA256, oidSHA512 := asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSA256, oidECDSA512 := asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	scv2 := func(k *x509.Certificate) []byte {
		v, err := cms.SigningCertificateV2(k)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	utc := func(tm time.Time) []byte { v, _ := asn1.MarshalWithParams(tm, "utc"); return v }
	other, err := cms.Parse(goCAdES(t, fx.pki.TSA, []byte("other"), now, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		der     []byte
		want    report.Indication
		sub     report.SubIndication
		openssl bool // whether openssl accepts it
	}{
		{"CMS algorithm protection matching", goCAdES(t, fx.signer, content, now, false,
			attribute(t, cms.OIDCMSAlgorithmProtection, algorithmProtection(oidSHA256, oidECDSA256))), report.TotalPassed, "", true},
		{"CMS algorithm protection naming other algorithms", goCAdES(t, fx.signer, content, now, false,
			attribute(t, cms.OIDCMSAlgorithmProtection, algorithmProtection(oidSHA512, oidECDSA512))), report.TotalFailed, report.FormatFailure, true},
		{"countersignature as a signed attribute", goCAdES(t, fx.signer, content, now, false,
			attribute(t, cms.OIDCounterSignature, other.Signers[0].Raw)), report.TotalFailed, report.FormatFailure, false},
		{"signing-certificate-v2 with two values", goCAdES(t, fx.signer, content, now, true,
			attribute(t, cms.OIDSigningCertificateV2, scv2(fx.signer.Cert), scv2(fx.pki.TSA.Cert))), report.TotalFailed, report.FormatFailure, false},
		{"signing-time with two values", goCAdES(t, fx.signer, content, time.Time{}, false,
			attribute(t, cms.OIDSigningTime, utc(now), utc(now.Add(-24*time.Hour)))), report.TotalFailed, report.FormatFailure, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := cms.Parse(tc.der)
			if err != nil {
				t.Fatal(err)
			}
			if err := sd.Signers[0].VerifySignature(fx.signer.Cert, nil); err != nil {
				t.Fatalf("the signature value does not verify: %v", err)
			}
			if got := opensslVerifies(t, fx, tc.der, content); got != tc.openssl {
				t.Errorf("openssl accepts: %t, expected %t", got, tc.openssl)
			}
			rep, err := fx.online.Verify(context.Background(), Input{Data: tc.der, Detached: content})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub {
				dump(t, rep)
				t.Fatalf("got %s/%s, want %s/%s", rep.Status.MainIndication, rep.Status.SubIndication, tc.want, tc.sub)
			}
		})
	}
}
