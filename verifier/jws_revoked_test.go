package verifier

import (
	"context"
	"testing"
	"time"

	"kyso/signer/jws"
	"kyso/verifier/report"
)

// A JAdES signature by a revoked certificate, with nothing proving it was
// made before the revocation, fails; the status is fetched online (OCSP).
func TestJWSRevokedSigner(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	tok, err := jws.Sign(ctx, fx.signer.Key, fx.signer.Cert, nil, []byte(`{"form":"CT01"}`), jws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fx.pki.Revoke(fx.signer.Cert, time.Now().Add(-time.Hour))
	rep, err := fx.online.Verify(ctx, Input{Data: tok})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status.MainIndication != report.TotalFailed || rep.Status.SubIndication != report.Revoked {
		t.Fatalf("got %+v", rep.Status)
	}
	if src := rep.Signatures[0].Revocation[0].Source; src == "" {
		t.Fatal("no revocation source")
	}
}
