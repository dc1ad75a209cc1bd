package verifier_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"kyso/signer/signertest"
	"kyso/verifier"
	"kyso/verifier/report"
)

// signSegment signs protected "." segment with an ECDSA P-256 key (alg
// ES256 unless the header names another) and returns the base64url
// protected header and signature.
func signSegment(t *testing.T, key crypto.Signer, header map[string]any, segment string) (string, string) {
	t.Helper()
	if _, ok := header["alg"]; !ok {
		header["alg"] = "ES256"
	}
	prot := base64.RawURLEncoding.EncodeToString(mustJSON(t, header))
	sum := sha256.Sum256([]byte(prot + "." + segment))
	r, s, err := ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return prot, base64.RawURLEncoding.EncodeToString(sig)
}

// TestJAdESDetachedAndCounterSignatures: detached content referenced by
// sigD (ObjectIdByURIHash and ObjectIdByURI), unencoded detached payloads,
// the content given taking precedence, and counter-signatures (etsiU cSig)
// — valid, tampered, and moved onto another signature.
func TestJAdESDetachedAndCounterSignatures(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	pki := env.pki
	content := []byte(`{"form":"TK01","ho_ten":"Nguyễn Văn An"}`)
	other := []byte(`{"form":"TK01","ho_ten":"Trần Văn B"}`)
	digest := sha256.Sum256(content)
	hdr := func(extra map[string]any) map[string]any {
		h := jadesHeader(pki.Leaf.Cert, pki.Issuing.Cert)
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	compact := func(prot, sig string) []byte { return []byte(prot + ".." + sig) }

	byHash := compact(signSegment(t, pki.Leaf.Key, hdr(map[string]any{"crit": []string{"sigD"}, "sigD": map[string]any{
		"mId": "http://uri.etsi.org/19182/ObjectIdByURIHash", "pars": []string{"form.json"}, "hashM": "S256",
		"hashV": []string{base64.RawURLEncoding.EncodeToString(digest[:])}, "ctys": []string{"json"}}}), ""))
	byURI := compact(signSegment(t, pki.Leaf.Key, hdr(map[string]any{"crit": []string{"sigD"}, "sigD": map[string]any{
		"mId": "http://uri.etsi.org/19182/ObjectIdByURI", "pars": []string{"form.json"}}}), base64.RawURLEncoding.EncodeToString(content)))
	badHashM := compact(signSegment(t, pki.Leaf.Key, hdr(map[string]any{"crit": []string{"sigD"}, "sigD": map[string]any{
		"mId": "http://uri.etsi.org/19182/ObjectIdByURIHash", "pars": []string{"form.json"}, "hashM": "http://www.w3.org/2001/04/xmlenc#sha256",
		"hashV": []string{base64.RawURLEncoding.EncodeToString(digest[:])}}}), ""))
	unencodedDetached := compact(signSegment(t, pki.Leaf.Key, hdr(map[string]any{"b64": false, "crit": []string{"b64"}}), string(content)))

	// A signature with a counter-signature by a second signer: its payload
	// is the countersigned signature value.
	second := pki.NewSigner(t, signertest.P256, nil, "Trần Thị Bình")
	mainProt, mainSig := signSegment(t, pki.Leaf.Key, hdr(nil), base64.RawURLEncoding.EncodeToString(content))
	otherProt, otherSig := signSegment(t, pki.Leaf.Key, hdr(nil), base64.RawURLEncoding.EncodeToString(content))
	counterFor := func(parent string) string {
		p, s := signSegment(t, second.Key, map[string]any{"x5c": jadesHeader(second.Cert, pki.Issuing.Cert)["x5c"], "iat": jadesHeader(second.Cert)["iat"]}, parent)
		return p + ".." + s
	}
	withCounter := func(prot, sig, counter string) []byte {
		return mustJSON(t, map[string]any{"payload": base64.RawURLEncoding.EncodeToString(content), "protected": prot, "signature": sig,
			"header": map[string]any{"etsiU": []any{map[string]any{"cSig": counter}}}})
	}
	counter := counterFor(mainSig)
	// The counter-signature's value with one bit changed (decoded first,
	// so the result is still base64url).
	cut := strings.LastIndex(counter, ".")
	value, err := base64.RawURLEncoding.DecodeString(counter[cut+1:])
	if err != nil {
		t.Fatal(err)
	}
	value[5] ^= 1
	tamperedCounter := counter[:cut+1] + base64.RawURLEncoding.EncodeToString(value)

	cases := []struct {
		name     string
		data     []byte
		detached []byte
		want     report.Indication
		sub      report.SubIndication
		sigs     int
	}{
		{"sigD ObjectIdByURIHash", byHash, content, report.TotalPassed, "", 1},
		{"sigD ObjectIdByURIHash, other content", byHash, other, report.TotalFailed, report.HashFailure, 1},
		{"sigD ObjectIdByURIHash, no content", byHash, nil, report.Indeterminate, report.SignedDataNotFound, 1},
		{"sigD hashM not a JWS digest name", badHashM, content, report.TotalFailed, report.FormatFailure, 1},
		{"sigD ObjectIdByURI", byURI, content, report.TotalPassed, "", 1},
		{"sigD ObjectIdByURI, other content", byURI, other, report.TotalFailed, report.SigCryptoFailure, 1},
		{"b64 false, detached", unencodedDetached, content, report.TotalPassed, "", 1},
		{"b64 false, detached, other content", unencodedDetached, other, report.TotalFailed, report.SigCryptoFailure, 1},
		{"counter-signature", withCounter(mainProt, mainSig, counter), nil, report.TotalPassed, "", 2},
		// A failed counter-signature is reported (see below) and leaves
		// the document's indication to the signature (EU DSS).
		{"counter-signature changed", withCounter(mainProt, mainSig, tamperedCounter), nil, report.TotalPassed, "", 2},
		{"counter-signature moved onto another signature", withCounter(otherProt, otherSig, counter), nil, report.TotalPassed, "", 2},
		{"attached payload, other content given", withCounter(mainProt, mainSig, counter), other, report.TotalFailed, report.HashFailure, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := env.online.Verify(context.Background(), verifier.Input{Data: tc.data, Detached: tc.detached})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub || len(rep.Signatures) != tc.sigs {
				b, _ := json.MarshalIndent(rep.Signatures, "", " ")
				t.Fatalf("got %s/%s with %d signatures, want %s/%s with %d\n%s", rep.Status.MainIndication, rep.Status.SubIndication, len(rep.Signatures), tc.want, tc.sub, tc.sigs, b)
			}
		})
	}
	for _, data := range [][]byte{withCounter(mainProt, mainSig, tamperedCounter), withCounter(otherProt, otherSig, counter)} {
		rep, err := env.online.Verify(context.Background(), verifier.Input{Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if cs := rep.Signatures[1]; !cs.CounterSignature || cs.Status.MainIndication != report.TotalFailed || cs.Status.SubIndication != report.SigCryptoFailure {
			t.Fatalf("counter-signature reported as %+v", cs.Status)
		}
	}
}
