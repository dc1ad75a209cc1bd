package jws_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"testing"

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
