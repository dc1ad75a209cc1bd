package verifier

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"kyso/cms"
	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

// goCAdES signs content as a detached CMS with k, built with Kyso's CMS
// encoder: content-type, message-digest, signing-certificate-v2 (unless
// noESS) and signing-time (unless zero), plus the extra signed attributes.
func goCAdES(t *testing.T, k testdoc.Key, content []byte, signingTime time.Time, noESS bool, extra ...[]byte) []byte {
	t.Helper()
	sum := sha256.Sum256(content)
	cert := k.Cert
	if noESS {
		cert = nil
	}
	attrs, err := cms.SignedAttributes(nil, sum[:], cert, signingTime, extra...)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(attrs)
	sig, err := k.Key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	alg, err := cms.SigningAlgorithm(k.Cert.PublicKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := (&cms.Signed{Hash: crypto.SHA256, SignatureAlgorithm: alg, Cert: k.Cert, Certs: [][]byte{k.Cert.Raw}, SignedAttrs: attrs, Signature: sig}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// copySigners rewrites a SignedData so that its signerInfos hold its
// (single) SignerInfo n times.
func copySigners(t *testing.T, der []byte, n int) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var ci, oid, explicit, sd cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) {
		t.Fatal("not a ContentInfo with SignedData")
	}
	var fields [][]byte
	for !sd.Empty() {
		var f cryptobyte.String
		if !sd.ReadAnyASN1Element(&f, nil) {
			t.Fatal("malformed SignedData")
		}
		fields = append(fields, f)
	}
	infos := cryptobyte.String(fields[len(fields)-1])
	var set, one cryptobyte.String
	if !infos.ReadASN1(&set, cbasn1.SET) || !set.ReadASN1Element(&one, cbasn1.SEQUENCE) || !set.Empty() {
		t.Fatal("expected one SignerInfo")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(oid)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, f := range fields[:len(fields)-1] {
					b.AddBytes(f)
				}
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					for range n {
						b.AddBytes(one)
					}
				})
			})
		})
	})
	return b.BytesOrPanic()
}

// A detached CAdES whose SignerInfo is copied many times asks the verifier
// to hash the (large) content once per copy. The content is hashed once
// per digest algorithm, and a document with more than maxSigners signers
// is INDETERMINATE without any hashing.
func TestSignerCopiesHashContentOnce(t *testing.T) {
	fx := newFixture(t)
	content := bytes.Repeat([]byte("Giấy xác nhận "), 1<<16) // ~1 MiB
	der := goCAdES(t, fx.signer, content, time.Now(), false)
	passes := 0
	v := New(fx.online.opts)
	v.onContentHash = func() { passes++ }
	for _, tc := range []struct {
		n      int
		want   report.Indication
		passes int
	}{
		{1, report.TotalPassed, 1},
		{maxSigners, report.TotalPassed, 1},
		{maxSigners + 1, report.Indeterminate, 0},
		{10000, report.Indeterminate, 0},
	} {
		passes = 0
		rep, err := v.Verify(context.Background(), Input{Data: copySigners(t, der, tc.n), Detached: content})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status.MainIndication != tc.want || passes != tc.passes {
			dump(t, rep)
			t.Fatalf("%d signers: got %s with %d hash passes, want %s with %d", tc.n, rep.Status.MainIndication, passes, tc.want, tc.passes)
		}
		if tc.want == report.TotalPassed && len(rep.Signatures) != tc.n {
			t.Fatalf("%d signers reported, want %d", len(rep.Signatures), tc.n)
		}
		if tc.want == report.Indeterminate && (len(rep.Signatures) != 0 || !strings.Contains(rep.Status.Detail, "at most 20")) {
			t.Fatalf("%d signers: %+v", tc.n, rep.Status)
		}
	}

	// A PDF signature's byte ranges are hashed once too.
	passes = 0
	rep := verify(t, v, fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer}))
	if passes != 1 || rep.Status.MainIndication != report.TotalPassed {
		t.Fatalf("PDF: %d hash passes, %s", passes, rep.Status.MainIndication)
	}
}

// A JWS in the general serialization with its signature copied more than
// maxSigners times is INDETERMINATE without validating any of them.
func TestJWSSignatureCopiesCapped(t *testing.T) {
	fx := newFixture(t)
	opts := (&jose.SignerOptions{}).WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(fx.signer.Cert.Raw)})
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: fx.signer.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(bytes.Repeat([]byte("x"), 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	var flat struct {
		Protected string `json:"protected"`
		Payload   string `json:"payload"`
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal([]byte(obj.FullSerialize()), &flat); err != nil {
		t.Fatal(err)
	}
	copies := func(n int) []byte {
		type sig struct {
			Protected string `json:"protected"`
			Signature string `json:"signature"`
		}
		g := struct {
			Payload    string `json:"payload"`
			Signatures []sig  `json:"signatures"`
		}{Payload: flat.Payload}
		for range n {
			g.Signatures = append(g.Signatures, sig{flat.Protected, flat.Signature})
		}
		b, _ := json.Marshal(g)
		return b
	}
	for _, tc := range []struct {
		n    int
		want report.Indication
	}{{maxSigners, report.TotalPassed}, {maxSigners + 1, report.Indeterminate}, {100, report.Indeterminate}} {
		rep, err := fx.online.Verify(context.Background(), Input{Data: copies(tc.n)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status.MainIndication != tc.want {
			dump(t, rep)
			t.Fatalf("%d signatures: got %s, want %s", tc.n, rep.Status.MainIndication, tc.want)
		}
		if tc.want == report.Indeterminate && (len(rep.Signatures) != 0 || !strings.Contains(rep.Status.Detail, "at most")) {
			t.Fatalf("%d signatures: %+v", tc.n, rep.Status)
		}
	}
}

// Counter-signatures count against one budget per document: once more
// than maxSigners are asked for, a signature's counter-signatures get one
// INDETERMINATE entry instead of their validation.
func TestCounterSignatureBudget(t *testing.T) {
	fx := newFixture(t)
	opts := (&jose.SignerOptions{}).WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(fx.signer.Cert.Raw)})
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: fx.signer.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(`{"form":"CT01"}`))
	if err != nil {
		t.Fatal(err)
	}
	var flat map[string]any
	if err := json.Unmarshal([]byte(obj.FullSerialize()), &flat); err != nil {
		t.Fatal(err)
	}
	// Eight counter-signatures per signature (what one signature may
	// carry), on three signatures: 24 asked for.
	var etsiU []any
	for range 8 {
		etsiU = append(etsiU, map[string]any{"cSig": "not.a.jws"})
	}
	var sigs []any
	for range 3 {
		sigs = append(sigs, map[string]any{"protected": flat["protected"], "signature": flat["signature"], "header": map[string]any{"etsiU": etsiU}})
	}
	doc, _ := json.Marshal(map[string]any{"payload": flat["payload"], "signatures": sigs})
	rep, err := fx.online.Verify(context.Background(), Input{Data: doc})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Signatures) != 3+8+8+1 {
		t.Fatalf("%d signatures reported, want 20", len(rep.Signatures))
	}
	if last := rep.Signatures[len(rep.Signatures)-1]; last.Status.MainIndication != report.Indeterminate || !strings.Contains(last.Status.Detail, "at most") {
		t.Fatalf("last counter-signature entry: %+v", last.Status)
	}
}
