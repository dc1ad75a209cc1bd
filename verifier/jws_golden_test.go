package verifier

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"kyso/jose"
	"kyso/signer/jws"
	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

var updateJWSFixtures = flag.Bool("update-jws-fixtures", false, "regenerate the signed JWS fixtures in testdata/jws (then run -update)")

// fixedStamper issues time-stamp tokens from the test PKI's TSA at a fixed
// time.
type fixedStamper struct {
	p  *testdoc.PKI
	at time.Time
}

func (s fixedStamper) Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	ts := timestamp.Timestamp{HashAlgorithm: h, HashedMessage: digest, Time: s.at, Policy: asn1.ObjectIdentifier{1, 2, 3, 4, 1},
		AddTSACertificate: true, SerialNumber: big.NewInt(s.at.UnixNano())}
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

// fixedRevocation answers OCSP responses and CRLs as of a fixed time.
type fixedRevocation struct {
	t  testing.TB
	p  *testdoc.PKI
	at time.Time
}

func (r fixedRevocation) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	return r.p.OCSP(r.t, cert, r.at), nil
}

func (r fixedRevocation) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	crl, err := r.p.CRL(r.at)
	return [][]byte{crl}, err
}

// makeJWSFixtures writes JWS made by kyso/signer/jws at fixed times, and
// the root they chain to: a compact B-B, a flattened JSON B-LT and a
// general JSON with two signers (B-LT and B-B).
func makeJWSFixtures(t *testing.T, dir string) {
	p := testdoc.NewPKI(t)
	an := p.Issue(t, testdoc.Profile{CN: "Nguyễn Văn An", UID: "CCCD:001234567890"})
	binh := p.Issue(t, testdoc.Profile{CN: "Trần Thị Bình", UID: "CCCD:001234567891"})
	signAt := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	payload := []byte(`{"form":"TK01","ho_ten":"Nguyễn Văn An","cccd":"001234567890"}`)
	ctx := context.Background()
	sign := func(k testdoc.Key, o jws.Options) []byte {
		o.Time = signAt
		out, err := jws.Sign(ctx, k.Key, k.Cert, nil, payload, o)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	lt := jws.Options{Serialization: jws.JSON, Stamper: fixedStamper{p, signAt.Add(time.Minute)},
		Revocation: fixedRevocation{t, p, signAt.Add(2 * time.Minute)}, Root: p.Root.Cert}
	blt := sign(an, lt)
	second := sign(binh, jws.Options{Serialization: jws.JSON})
	var f1, f2 map[string]json.RawMessage
	if err := json.Unmarshal(blt, &f1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(second, &f2); err != nil {
		t.Fatal(err)
	}
	sig := func(f map[string]json.RawMessage) map[string]json.RawMessage {
		out := map[string]json.RawMessage{"protected": f["protected"], "signature": f["signature"]}
		if h, ok := f["header"]; ok {
			out["header"] = h
		}
		return out
	}
	general, err := json.Marshal(map[string]any{"payload": f1["payload"], "signatures": []any{sig(f1), sig(f2)}})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"root.pem":     pemCert(p.Root.Cert),
		"b-b.jws":      sign(an, jws.Options{Serialization: jws.Compact}),
		"b-lt.json":    blt,
		"general.json": general,
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJWSGolden checks kyso verify's reports on the JWS fixtures (offline,
// at a fixed time): testdata/jws, made by kyso/signer/jws with the claimed
// signing time as iat (ETSI TS 119 182-1 V1.2.1), and testdata/jws-sigt,
// the same forms made earlier with sigT listed in crit, which must keep
// verifying.
func TestJWSGolden(t *testing.T) {
	if *updateJWSFixtures {
		makeJWSFixtures(t, filepath.Join("testdata", "jws"))
	}
	for _, set := range []struct {
		dir, prefix string
		lt          report.Indication
	}{
		{"jws", "jws-", report.TotalPassed},
		// The sigT fixtures' time-stamps come from a TSA certificate whose
		// timeStamping extended key usage is not critical (RFC 3161 §2.3
		// requires it): the time-stamp proves nothing, so at the golden
		// time the revocation values are no longer fresh.
		{"jws-sigt", "jws-sigt-", report.Indeterminate},
	} {
		dir := filepath.Join("testdata", set.dir)
		root := filepath.Join(dir, "root.pem")
		for _, tc := range []struct {
			file string
			want report.Indication
		}{
			{"b-b.jws", report.Indeterminate}, // offline: the signer's revocation status is not in the JWS
			{"b-lt.json", set.lt},
			{"general.json", report.Indeterminate},
		} {
			for _, format := range []string{"text", "json"} {
				t.Run(set.dir+"/"+tc.file+"/"+format, func(t *testing.T) {
					stdout, got := goldenReport(t, filepath.Join(dir, tc.file), root, format)
					if got != tc.want {
						t.Fatalf("%s, want %s\n%s", got, tc.want, stdout.String())
					}
					golden := filepath.Join("testdata", "golden", set.prefix+tc.file+"."+format)
					if *update {
						if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
							t.Fatal(err)
						}
					}
					want, err := os.ReadFile(golden)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(stdout.Bytes(), want) {
						t.Fatalf("report differs from %s (run go test -run TestJWSGolden -update):\n%s", golden, stdout.String())
					}
				})
			}
		}
	}
}

// TestJWSFixtureHeaders checks the claimed signing time header of each
// fixture set: iat without crit in testdata/jws, sigT listed in crit in
// testdata/jws-sigt.
func TestJWSFixtureHeaders(t *testing.T) {
	for _, tc := range []struct {
		dir, want, absent string
		crit              bool
	}{{"jws", "iat", "sigT", false}, {"jws-sigt", "sigT", "iat", true}} {
		for _, file := range []string{"b-b.jws", "b-lt.json", "general.json"} {
			data, err := os.ReadFile(filepath.Join("testdata", tc.dir, file))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jose.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range doc.Sigs {
				p, err := s.Params()
				if err != nil {
					t.Fatal(err)
				}
				b, _ := base64.RawURLEncoding.DecodeString(s.Protected)
				var hdr map[string]json.RawMessage
				if err := json.Unmarshal(b, &hdr); err != nil {
					t.Fatal(err)
				}
				_, hasAbsent := hdr[tc.absent]
				_, hasCrit := hdr["crit"]
				if p.ClaimedFrom != tc.want || !p.ClaimedOK || hasAbsent || hasCrit != tc.crit {
					t.Errorf("%s/%s signature %d: claimed from %q (ok %v), header %s", tc.dir, file, i+1, p.ClaimedFrom, p.ClaimedOK, b)
				}
			}
		}
	}
}
