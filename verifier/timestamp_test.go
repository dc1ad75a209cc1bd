package verifier

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"kyso/cms"
	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

// signatureTST returns the signature time-stamp token of a B-T document
// and the signature value it covers.
func signatureTST(t *testing.T, fx *fixture) (token, sigValue []byte) {
	t.Helper()
	doc := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, TSA: true})
	s, e := lastContents(doc)
	raw, err := hex.DecodeString(string(doc[s:e]))
	if err != nil {
		t.Fatal(err)
	}
	n, err := derLength(raw)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Parse(raw[:n])
	if err != nil {
		t.Fatal(err)
	}
	toks := sd.Signers[0].Unsigned(cms.OIDTimeStampToken)
	if len(toks) != 1 {
		t.Fatalf("%d time-stamp tokens", len(toks))
	}
	return toks[0], sd.Signers[0].Signature
}

func TestTimeStampToken(t *testing.T) {
	fx := newFixture(t)
	tok, sig := signatureTST(t, fx)
	ctx := context.Background()
	untrusted := New(Options{Roots: []*x509.Certificate{testdoc.NewPKI(t).Root.Cert}})
	broken := append([]byte(nil), tok...)
	broken[len(broken)-3] ^= 0x01
	for _, tc := range []struct {
		name string
		v    *Verifier
		tok  []byte
		data []byte
		want report.Status
	}{
		{"valid", fx.online, tok, sig, report.Status{MainIndication: report.TotalPassed}},
		{"imprint over other data", fx.online, tok, []byte("other"), report.Status{MainIndication: report.TotalFailed, SubIndication: report.HashFailure}},
		{"token signature changed", fx.online, broken, sig, report.Status{MainIndication: report.TotalFailed, SubIndication: report.SigCryptoFailure}},
		{"untrusted TSA", untrusted, tok, sig, report.Status{MainIndication: report.Indeterminate, SubIndication: report.NoCertificateChainFound}},
		{"not a token", fx.online, []byte{0x30, 0x00}, sig, report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, _, ok := tc.v.verifyTimeStamp(ctx, tc.tok, tc.data, "signature")
			if ts.Status.MainIndication != tc.want.MainIndication || ts.Status.SubIndication != tc.want.SubIndication || ok != (tc.want.MainIndication == report.TotalPassed) {
				t.Fatalf("got %+v (ok %t), want %+v", ts.Status, ok, tc.want)
			}
		})
	}
}
