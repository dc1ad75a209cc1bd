package verifier

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"kyso/cms"
	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

// A signature time-stamp whose TSTInfo carries a critical extension
// (1.2.3.4.5.6.7, which nobody understands) must not prove the signing
// time: the token is TOTAL-FAILED/FORMAT_FAILURE, as EU DSS judges it, and
// the signature's best signature time is the validation time. The same
// TSA with the extension non-critical proves it.
func TestTimeStampCriticalExtension(t *testing.T) {
	fx := newFixture(t)
	value, _ := asn1.Marshal("only valid for internal use")
	for _, tc := range []struct {
		name     string
		critical bool
		proof    string
		tsStatus report.Status
	}{
		{"non-critical", false, "signature-time-stamp", report.Status{MainIndication: report.TotalPassed}},
		{"critical", true, "validation-time", report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx.pki.TSAExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 5, 6, 7}, Critical: tc.critical, Value: value}}
			defer func() { fx.pki.TSAExtensions = nil }()
			tok, _ := signatureTST(t, fx)
			// The token is well formed and carries the extension as built.
			if ts, err := timestamp.Parse(tok); err != nil || len(ts.Extensions) != 1 || ts.Extensions[0].Critical != tc.critical {
				t.Fatalf("token not as built: %v", err)
			}
			doc := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, TSA: true})
			rep := verify(t, fx.online, doc)
			sig := rep.Signatures[0]
			if len(sig.TimeStamps) != 1 || sig.TimeStamps[0].Status.MainIndication != tc.tsStatus.MainIndication || sig.TimeStamps[0].Status.SubIndication != tc.tsStatus.SubIndication || sig.SigningTime.Proof != tc.proof {
				dump(t, rep)
				t.Fatalf("time-stamp %+v, proof %q; want %+v, %q", sig.TimeStamps, sig.SigningTime.Proof, tc.tsStatus, tc.proof)
			}
		})
	}
}

// A time-stamp token's signed attributes follow the same rules as a
// signer's: one whose signing-certificate-v2 attribute has two values (the
// TSA's and another certificate's) is FORMAT_FAILURE, though its
// signature value verifies.
func TestTimeStampSignedAttributeRules(t *testing.T) {
	fx := newFixture(t)
	tok, sigValue := signatureTST(t, fx)
	ts, err := cms.ParseTimeStamp(tok)
	if err != nil {
		t.Fatal(err)
	}
	restamp := func(extra ...[]byte) []byte {
		sum := sha256.Sum256(ts.Token.EContent)
		cert := fx.pki.TSA.Cert
		if len(extra) > 0 {
			cert = nil
		}
		attrs, err := cms.SignedAttributes(cms.OIDTSTInfo, sum[:], cert, time.Time{}, extra...)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(attrs)
		sig, err := fx.pki.TSA.Key.Sign(rand.Reader, h[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		alg, _ := cms.SigningAlgorithm(fx.pki.TSA.Cert.PublicKey, crypto.SHA256)
		der, err := (&cms.Signed{Hash: crypto.SHA256, SignatureAlgorithm: alg, Cert: fx.pki.TSA.Cert, Certs: [][]byte{fx.pki.TSA.Cert.Raw},
			ContentType: cms.OIDTSTInfo, Content: ts.Token.EContent, SignedAttrs: attrs, Signature: sig}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	scv2 := func(c *x509.Certificate) []byte {
		v, err := cms.SigningCertificateV2(c)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ctx := context.Background()
	if r, _, ok := fx.online.verifyTimeStamp(ctx, restamp(), sigValue, "signature"); !ok {
		t.Fatalf("re-signed token: %+v", r.Status)
	}
	two := restamp(attribute(t, cms.OIDSigningCertificateV2, scv2(fx.pki.TSA.Cert), scv2(fx.signer.Cert)))
	if sd, err := cms.Parse(two); err != nil || sd.Signers[0].VerifySignature(fx.pki.TSA.Cert, nil) != nil {
		t.Fatalf("token not as built: %v", err)
	}
	r, _, ok := fx.online.verifyTimeStamp(ctx, two, sigValue, "signature")
	if ok || r.Status.MainIndication != report.TotalFailed || r.Status.SubIndication != report.FormatFailure {
		t.Fatalf("two signing-certificate-v2 values: %+v", r.Status)
	}
}
