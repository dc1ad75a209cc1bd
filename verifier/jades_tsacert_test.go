package verifier

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"kyso/signer/jws"
	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// bareStamper issues time-stamp tokens that do not carry the TSA
// certificate (certReq false).
type bareStamper struct {
	p  *testdoc.PKI
	at time.Time
}

func (s bareStamper) Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	ts := timestamp.Timestamp{HashAlgorithm: h, HashedMessage: digest, Time: s.at, Policy: asn1.ObjectIdentifier{1, 2, 3, 4, 1}, SerialNumber: big.NewInt(s.at.UnixNano())}
	resp, err := ts.CreateResponseWithOpts(s.p.TSA.Cert, s.p.TSA.Key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, err
	}
	return parsed.RawToken, nil
}

// A JAdES time-stamp token without its TSA certificate is validated with
// the certificate values of the signature (xVals), as TS 119 182-1 places
// validation data there.
func TestJAdESTimeStampCertificateFromXVals(t *testing.T) {
	p := testdoc.NewPKI(t)
	an := p.Issue(t, testdoc.Profile{CN: "Nguyễn Văn An", UID: "CCCD:001234567890"})
	signAt := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	bt, err := jws.Sign(context.Background(), an.Key, an.Cert, nil, []byte(`{"form":"TK01"}`),
		jws.Options{Serialization: jws.JSON, Time: signAt, Stamper: bareStamper{p, signAt.Add(time.Minute)}})
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	if err := json.Unmarshal(bt, &f); err != nil {
		t.Fatal(err)
	}
	hdr := f["header"].(map[string]any)
	crl, err := p.CRL(signAt.Add(2 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	rVals := map[string]any{"rVals": map[string]any{
		"ocspVals": []any{map[string]any{"val": b64(p.OCSP(t, an.Cert, signAt.Add(2*time.Minute)))}},
		"crlVals":  []any{map[string]any{"val": b64(crl)}},
	}}
	v := New(Options{Roots: []*x509.Certificate{p.Root.Cert}, At: signAt.AddDate(0, 6, 0), Revocation: revocation.New(revocation.Config{Offline: true})})
	for _, tc := range []struct {
		name string
		vals []any
		want report.Indication
	}{
		{"TSA certificate in xVals", []any{map[string]any{"x509Cert": map[string]any{"val": b64(p.TSA.Cert.Raw)}}}, report.TotalPassed},
		{"no TSA certificate", []any{}, report.Indeterminate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr["etsiU"] = []any{hdr["etsiU"].([]any)[0], map[string]any{"xVals": tc.vals}, rVals}
			doc, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := v.Verify(context.Background(), Input{Data: doc})
			if err != nil {
				t.Fatal(err)
			}
			ts := rep.Signatures[0].TimeStamps
			if len(ts) != 1 || ts[0].Status.MainIndication != tc.want {
				t.Fatalf("time-stamps %+v", ts)
			}
		})
	}
}
