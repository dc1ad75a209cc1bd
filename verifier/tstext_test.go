package verifier

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"

	"github.com/digitorus/timestamp"

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
