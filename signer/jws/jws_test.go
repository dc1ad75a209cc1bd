package jws_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"kyso/signer/jws"
	"kyso/signer/signertest"
)

type fakeStamper struct{ called bool }

func (f *fakeStamper) Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	f.called = true
	return []byte{0x30, 0x00}, nil
}

func TestSignAndVerify(t *testing.T) {
	payload := []byte(`{"form":"TK01","ho_ten":"Nguyễn Văn An"}`)
	for _, kind := range []signertest.KeyKind{signertest.P256, signertest.RSA2048} {
		pki := signertest.New(t, kind, nil)
		for _, ser := range []jws.Serialization{jws.Compact, jws.JSON} {
			out, err := jws.Sign(context.Background(), pki.Leaf.Key, pki.Leaf.Cert, pki.Chain(), payload, jws.Options{Serialization: ser})
			if err != nil {
				t.Fatal(err)
			}
			if ser == jws.JSON && !json.Valid(out) {
				t.Fatalf("not JSON: %s", out)
			}
			if ser == jws.Compact && bytes.Count(out, []byte(".")) != 2 {
				t.Fatalf("not compact: %s", out)
			}
			got, cert, err := jws.Verify(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) || !cert.Equal(pki.Leaf.Cert) {
				t.Fatal("payload or certificate mismatch")
			}
			tampered := bytes.Replace(out, []byte("e"), []byte("f"), 1)
			if _, _, err := jws.Verify(tampered); err == nil {
				t.Fatal("tampered JWS verified")
			}
		}
	}
}

func TestTimeStampNeedsJSON(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	st := &fakeStamper{}
	if _, err := jws.Sign(context.Background(), pki.Leaf.Key, pki.Leaf.Cert, nil, []byte(`{}`), jws.Options{Stamper: st}); err == nil {
		t.Fatal("compact with time-stamp accepted")
	}
	out, err := jws.Sign(context.Background(), pki.Leaf.Key, pki.Leaf.Cert, nil, []byte(`{}`), jws.Options{Serialization: jws.JSON, Stamper: st})
	if err != nil || !st.called || !bytes.Contains(out, []byte(`"sigTst"`)) {
		t.Fatalf("no sigTst: %v %s", err, out)
	}
	if _, _, err := jws.Verify(out); err != nil {
		t.Fatal(err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJFUzI1NiJ9.e30.AAAA"))
	f.Add([]byte(`{"payload":"e30","protected":"e30","signature":""}`))
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = jws.Verify(b) })
}

// TestClaimedSigningTime checks the protected header of both serializations:
// the claimed signing time is iat in whole seconds, with no sigT and no crit
// (ETSI TS 119 182-1 V1.2.1 clause 5.1.11).
func TestClaimedSigningTime(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	for _, ser := range []jws.Serialization{jws.Compact, jws.JSON} {
		out, err := jws.Sign(context.Background(), pki.Leaf.Key, pki.Leaf.Cert, pki.Chain(), []byte(`{}`), jws.Options{Serialization: ser, Time: at})
		if err != nil {
			t.Fatal(err)
		}
		protected := strings.Split(string(out), ".")[0]
		if ser == jws.JSON {
			var f struct{ Protected string }
			if err := json.Unmarshal(out, &f); err != nil {
				t.Fatal(err)
			}
			protected = f.Protected
		}
		raw, err := base64.RawURLEncoding.DecodeString(protected)
		if err != nil {
			t.Fatal(err)
		}
		var hdr map[string]json.RawMessage
		if err := json.Unmarshal(raw, &hdr); err != nil {
			t.Fatal(err)
		}
		if string(hdr["iat"]) != strconv.FormatInt(at.Unix(), 10) {
			t.Errorf("%s: iat %s, want %d", ser, hdr["iat"], at.Unix())
		}
		for _, name := range []string{"sigT", "crit"} {
			if _, ok := hdr[name]; ok {
				t.Errorf("%s: protected header has %s: %s", ser, name, raw)
			}
		}
		for _, name := range []string{"x5c", "x5t#S256", "cty", "alg"} {
			if _, ok := hdr[name]; !ok {
				t.Errorf("%s: protected header lacks %s: %s", ser, name, raw)
			}
		}
	}
}

// TestVerifySigT checks that a JWS in the earlier JAdES style, sigT listed
// in crit, still verifies, and that other critical headers are refused.
func TestVerifySigT(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	x5c := []string{base64.StdEncoding.EncodeToString(pki.Leaf.Cert.Raw)}
	for _, tc := range []struct {
		name string
		hdr  map[string]any
		ok   bool
	}{
		{"sigT critical", map[string]any{"sigT": "2025-06-01T12:00:00Z", "crit": []string{"sigT"}}, true},
		{"iat critical", map[string]any{"iat": 1748779200, "crit": []string{"iat"}}, true},
		{"unknown critical", map[string]any{"exp": 1, "crit": []string{"exp"}}, false},
	} {
		opts := (&jose.SignerOptions{}).WithHeader("x5c", x5c)
		for k, v := range tc.hdr {
			opts = opts.WithHeader(jose.HeaderKey(k), v)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: pki.Leaf.Key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Sign([]byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := jws.Verify([]byte(tok)); (err == nil) != tc.ok {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
}
