package signer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"kyso/cms"
	"kyso/problem"
	"kyso/signer"
	"kyso/signer/jws"
	"kyso/signer/signertest"
)

func TestCMSLevels(t *testing.T) {
	openssl := signertest.NeedTool(t, "openssl")
	pki := signertest.New(t, signertest.P256, nil)
	deps := signer.Deps{Stamper: newStamper(t, pki), Revocation: pki, Root: pki.Root.Cert}
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	dir := t.TempDir()
	content := []byte("tờ khai\n")
	file := filepath.Join(dir, "tokhai.txt")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	root := signertest.WritePEM(t, dir, "root.pem", pki.Root.Cert)
	for _, level := range []signer.Level{signer.BB, signer.BT, signer.BLT, signer.BLTA} {
		t.Run(level.String(), func(t *testing.T) {
			p7s, err := signer.SignCMS(context.Background(), key, bytes.NewReader(content), signer.CMSOptions{Level: level, Deps: deps})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, level.String()+".p7s")
			if err := os.WriteFile(path, p7s, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", file, "-inform", "DER", "-in", path, "-CAfile", root, "-out", os.DevNull).CombinedOutput(); err != nil {
				t.Fatalf("openssl cms -verify: %v\n%s", err, out)
			}
			sd, err := cms.Parse(p7s)
			if err != nil {
				t.Fatal(err)
			}
			if (level >= signer.BT) != (sd.TimeStampToken() != nil) {
				t.Fatal("signature time-stamp presence does not match the level")
			}
			if level >= signer.BLT {
				out, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", path).CombinedOutput()
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"crls:", "1.3.6.1.5.5.7.16.2", "Kyso Test Root CA", "Kyso Test TSA"} {
					if !bytes.Contains(out, []byte(want)) {
						t.Errorf("%s CMS lacks %q", level, want)
					}
				}
			}
			if got := len(sd.Signers[0].Unsigned(cms.OIDArchiveTimeStampV3)); got != map[bool]int{true: 1}[level == signer.BLTA] {
				t.Fatalf("%d archive time-stamps at %s", got, level)
			}
		})
	}
}

// Extend dispatches by format: a CAdES signature gets its validation data
// and an archive-time-stamp-v3, and still verifies with openssl after a
// renewal; formats it cannot extend are refused.
func TestExtendCMS(t *testing.T) {
	openssl := signertest.NeedTool(t, "openssl")
	ctx := context.Background()
	pki := signertest.New(t, signertest.P256, nil)
	deps := signer.Deps{Stamper: newStamper(t, pki), Revocation: pki, Root: pki.Root.Cert}
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	dir := t.TempDir()
	content := []byte("tờ khai\n")
	file := filepath.Join(dir, "tokhai.txt")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	root := signertest.WritePEM(t, dir, "root.pem", pki.Root.Cert)
	p7s, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: signer.BT, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	extended, ctype, err := signer.Extend(ctx, p7s, nil, deps)
	if err != nil || ctype != signer.MediaCMS {
		t.Fatal(err, ctype)
	}
	renewed, _, err := signer.Extend(ctx, extended, content, deps)
	if err != nil {
		t.Fatal(err)
	}
	for name, der := range map[string][]byte{"extended": extended, "renewed": renewed} {
		path := filepath.Join(dir, name+".p7s")
		if err := os.WriteFile(path, der, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", file, "-inform", "DER", "-in", path, "-CAfile", root, "-out", os.DevNull).CombinedOutput(); err != nil {
			t.Fatalf("%s: openssl cms -verify: %v\n%s", name, err, out)
		}
	}
	sd, err := cms.Parse(renewed)
	if err != nil {
		t.Fatal(err)
	}
	atss := sd.Signers[0].Unsigned(cms.OIDArchiveTimeStampV3)
	if len(atss) != 2 {
		t.Fatalf("%d archive time-stamps after a renewal", len(atss))
	}
	out, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", filepath.Join(dir, "renewed.p7s")).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -cmsout -print: %v\n%s", err, out)
	}
	for _, want := range []string{"0.4.0.1733.2.4", "crls:", "1.3.6.1.5.5.7.16.2"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("openssl does not show %q in the renewed signature", want)
		}
	}
	// Each archive token verifies with openssl against the imprint
	// recomputed from its own ats-hash-index-v3 (ETSI EN 319 122-1 §5.5.3).
	contentHash := sha256.Sum256(content)
	for i, tok := range atss {
		ts, err := cms.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		index := ts.Signers[0].Unsigned(cms.OIDATSHashIndexV3)
		if len(index) != 1 {
			t.Fatalf("archive token %d has %d ats-hash-index-v3 values", i+1, len(index))
		}
		input, err := sd.ArchiveTimeStampV3Input(sd.Signers[0], contentHash[:], index[0])
		if err != nil {
			t.Fatal(err)
		}
		imprint := sha256.Sum256(input)
		path := filepath.Join(dir, fmt.Sprintf("ats%d.tst", i+1))
		if err := os.WriteFile(path, tok, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(imprint[:]), "-in", path, "-token_in", "-CAfile", root).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Verification: OK")) {
			t.Fatalf("openssl ts -verify of archive token %d: %v\n%s", i+1, err, out)
		}
		imprint[0] ^= 1
		if out, err := exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(imprint[:]), "-in", path, "-token_in", "-CAfile", root).CombinedOutput(); err == nil {
			t.Fatalf("openssl ts -verify accepted another imprint: %s", out)
		}
	}
	for _, tc := range []struct {
		name         string
		doc, content []byte
		code         string
	}{
		{"other content", p7s, []byte("khác"), "content-mismatch"},
		{"JSON", []byte(`{"payload":"e30","signature":"AA"}`), nil, "not-extendable"},
		{"text", []byte("hello"), nil, "unsupported-format"},
		{"not CMS", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, nil, "unsupported-format"},
		{"PDF with content", []byte("%PDF-1.7\n"), content, "content-not-applicable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := signer.Extend(ctx, tc.doc, tc.content, deps)
			if p, ok := problem.As(err); !ok || p.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func TestJWSLevels(t *testing.T) {
	pki := signertest.New(t, signertest.RSA2048, nil)
	deps := signer.Deps{Stamper: newStamper(t, pki), Revocation: pki, Root: pki.Root.Cert}
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	payload := []byte(`{"a":1}`)
	out, ctype, err := signer.SignJWS(context.Background(), key, payload, signer.JWSOptions{Serialization: "json", Level: signer.BLT, Deps: deps})
	if err != nil || ctype != jws.JSONType {
		t.Fatal(err, ctype)
	}
	var flat struct {
		Header struct {
			EtsiU []map[string]json.RawMessage `json:"etsiU"`
		} `json:"header"`
	}
	if err := json.Unmarshal(out, &flat); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range flat.Header.EtsiU {
		for k := range e {
			have[k] = true
		}
	}
	if !have["sigTst"] || !have["xVals"] || !have["rVals"] {
		t.Fatalf("etsiU has %v", have)
	}
	if got, _, err := jws.Verify(out); err != nil || !bytes.Equal(got, payload) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ser   string
		level signer.Level
		code  string
	}{{"compact", signer.BT, "unsupported-level"}, {"compact", signer.BLTA, "unsupported-level"}, {"xml", signer.BB, "bad-serialization"}} {
		_, _, err := signer.SignJWS(context.Background(), key, payload, signer.JWSOptions{Serialization: tc.ser, Level: tc.level, Deps: deps})
		var p *problem.Error
		if !errors.As(err, &p) || p.Code != tc.code {
			t.Errorf("%s %s: %v", tc.ser, tc.level, err)
		}
	}

	// B-LTA: the B-T signature extended, every etsiU element base64url
	// encoded, the archive time-stamp last; the base JWS unchanged.
	lta, ctype, err := signer.SignJWS(context.Background(), key, payload, signer.JWSOptions{Serialization: "json", Level: signer.BLTA, Deps: deps})
	if err != nil || ctype != jws.JSONType {
		t.Fatal(err, ctype)
	}
	var enc struct {
		Header struct {
			EtsiU []string `json:"etsiU"`
		} `json:"header"`
	}
	if err := json.Unmarshal(lta, &enc); err != nil || len(enc.Header.EtsiU) != 4 {
		t.Fatalf("B-LTA etsiU: %v %s", err, lta)
	}
	last, err := base64.RawURLEncoding.DecodeString(enc.Header.EtsiU[3])
	if err != nil || !bytes.HasPrefix(last, []byte(`{"arcTst":{"tstTokens":[{"val":"`)) {
		t.Fatalf("last etsiU element %q: %v", last, err)
	}
	if got, _, err := jws.Verify(lta); err != nil || !bytes.Equal(got, payload) {
		t.Fatal(err)
	}
	// Renewal keeps the earlier elements as they are and adds after them.
	renewed, media, err := signer.Extend(context.Background(), lta, nil, deps)
	if err != nil || media != "application/jose+json" {
		t.Fatal(err, media)
	}
	var enc2 struct {
		Header struct {
			EtsiU []string `json:"etsiU"`
		} `json:"header"`
	}
	if err := json.Unmarshal(renewed, &enc2); err != nil || len(enc2.Header.EtsiU) < 5 || !slices.Equal(enc2.Header.EtsiU[:4], enc.Header.EtsiU) {
		t.Fatalf("renewed etsiU: %v", err)
	}
	// A detached payload is extended with its content, which the archive
	// time-stamp covers.
	detached, _, err := signer.SignJWS(context.Background(), key, payload, signer.JWSOptions{Serialization: "compact", Level: signer.BB, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	parts := bytes.Split(detached, []byte("."))
	detached = bytes.Join([][]byte{parts[0], nil, parts[2]}, []byte("."))
	if _, err := signer.ExtendJWS(context.Background(), detached, payload, deps); err != nil {
		t.Fatalf("detached with content: %v", err)
	}
	for _, tc := range []struct {
		name         string
		doc, content []byte
		code         string
	}{
		{"garbage JSON", []byte(`{"signature":5}`), nil, "not-extendable"},
		{"detached without content", detached, nil, "content-required"},
		{"detached other content", detached, []byte(`{"a":2}`), "not-extendable"},
		{"attached other content", lta, []byte(`{"a":2}`), "content-mismatch"},
	} {
		_, err := signer.ExtendJWS(context.Background(), tc.doc, tc.content, deps)
		if p, ok := problem.As(err); !ok || p.Code != tc.code || p.Status != 400 {
			t.Errorf("extend %s: %v", tc.name, err)
		}
	}
	if _, err := signer.ExtendJWS(context.Background(), lta, nil, signer.Deps{}); err == nil {
		t.Error("extended without a time-stamp authority")
	}
	// First archiving needs the signer's revocation status.
	bt, _, err := signer.SignJWS(context.Background(), key, payload, signer.JWSOptions{Serialization: "json", Level: signer.BT, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	noStatus := deps
	noStatus.Revocation = failingFor{pki, pki.Leaf.Cert}
	if _, err := signer.ExtendJWS(context.Background(), bt, nil, noStatus); err == nil {
		t.Error("first archiving without the signer's status succeeded")
	} else if p, ok := problem.As(err); !ok || p.Code != "revocation-unavailable" || p.Status != 422 {
		t.Errorf("first archiving without the signer's status: %v", err)
	}
}

// failingFor is a revocation source that has nothing for one certificate
// (an expired signer whose CA no longer answers for it).
type failingFor struct {
	signer.RevocationSource
	cert *x509.Certificate
}

func (f failingFor) OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error) {
	if cert.Equal(f.cert) {
		return nil, errors.New("unknown certificate")
	}
	return f.RevocationSource.OCSP(ctx, cert, issuer)
}

func (f failingFor) CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error) {
	if cert.Equal(f.cert) {
		return nil, errors.New("unknown certificate")
	}
	return f.RevocationSource.CRLs(ctx, cert)
}

// The first archiving of a CAdES signature needs the signer's current
// status; renewing an archive time-stamp does not (the status that matters
// is archived, the certificate may have expired since).
func TestExtendCMSRenewalWithoutSignerStatus(t *testing.T) {
	ctx := context.Background()
	pki := signertest.New(t, signertest.P256, nil)
	deps := signer.Deps{Stamper: newStamper(t, pki), Revocation: pki, Root: pki.Root.Cert}
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	p7s, err := signer.SignCMS(ctx, key, bytes.NewReader([]byte("tờ khai\n")), signer.CMSOptions{Level: signer.BT, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	lta, _, err := signer.Extend(ctx, p7s, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	noStatus := deps
	noStatus.Revocation = failingFor{pki, pki.Leaf.Cert}
	if _, _, err := signer.Extend(ctx, p7s, nil, noStatus); err == nil {
		t.Fatal("first archiving without the signer's status succeeded")
	} else if p, ok := problem.As(err); !ok || p.Code != "revocation-unavailable" || p.Status != 422 {
		t.Fatalf("first archiving without the signer's status: %v", err)
	}
	if _, _, err := signer.Extend(ctx, lta, nil, noStatus); err != nil {
		t.Fatalf("renewal: %v", err)
	}
}

// Independent reading of a CAdES signature with cryptobyte, to check the
// archive-time-stamp-v3 encoding without kyso/cms (ETSI EN 319 122-1
// §5.5.2, §5.5.3).
type rawSigner struct {
	eContentType []byte   // encoded OID
	certs, crls  [][]byte // encoded elements
	fields       []byte   // version … signature of the first SignerInfo
	unsigned     [][2][]byte
}

func readRaw(t *testing.T, der []byte) rawSigner {
	t.Helper()
	var r rawSigner
	in := cryptobyte.String(der)
	var ci, explicit, sd, encap, oid, sis, si cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&explicit, cbasn1.Tag(0).Constructed().ContextSpecific()) || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) ||
		!sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.ReadASN1(&encap, cbasn1.SEQUENCE) ||
		!encap.ReadASN1Element(&oid, cbasn1.OBJECT_IDENTIFIER) {
		t.Fatal("not SignedData")
	}
	r.eContentType = oid
	elems := func(s cryptobyte.String) [][]byte {
		var out [][]byte
		for !s.Empty() {
			var e cryptobyte.String
			var tag cbasn1.Tag
			if !s.ReadAnyASN1Element(&e, &tag) {
				t.Fatal("bad element")
			}
			out = append(out, e)
		}
		return out
	}
	var certs, crls cryptobyte.String
	var hasCerts, hasCRLs bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!sd.ReadOptionalASN1(&crls, &hasCRLs, cbasn1.Tag(1).Constructed().ContextSpecific()) ||
		!sd.ReadASN1(&sis, cbasn1.SET) || !sis.ReadASN1(&si, cbasn1.SEQUENCE) {
		t.Fatal("bad SignedData")
	}
	r.certs, r.crls = elems(certs), elems(crls)
	for _, f := range elems(si) {
		if f[0] == 0xa1 { // unsignedAttrs
			var attrs cryptobyte.String
			s := cryptobyte.String(f)
			s.ReadASN1(&attrs, cbasn1.Tag(1).Constructed().ContextSpecific())
			for _, a := range elems(attrs) {
				var body, typ, values cryptobyte.String
				s := cryptobyte.String(a)
				if !s.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element(&typ, cbasn1.OBJECT_IDENTIFIER) || !body.ReadASN1(&values, cbasn1.SET) {
					t.Fatal("bad attribute")
				}
				for _, v := range elems(values) {
					r.unsigned = append(r.unsigned, [2][]byte{typ, v})
				}
			}
			break
		}
		r.fields = append(r.fields, f...)
	}
	return r
}

// The archive-time-stamp-v3 made by Extend, read without kyso/cms: its
// ats-hash-index-v3 hashes exactly the certificates, revocation values and
// unsigned attribute values (type followed by value) present before it,
// and the imprint openssl verifies is over the eContentType, the content
// hash, the signer's fields and that index.
func TestArchiveTimeStampEncoding(t *testing.T) {
	openssl := signertest.NeedTool(t, "openssl")
	ctx := context.Background()
	pki := signertest.New(t, signertest.P256, nil)
	deps := signer.Deps{Stamper: newStamper(t, pki), Revocation: pki, Root: pki.Root.Cert}
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	content := []byte("tờ khai\n")
	p7s, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: signer.BT, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	extended, _, err := signer.Extend(ctx, p7s, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	r := readRaw(t, extended)
	atsOID, _ := asn1.Marshal(cms.OIDArchiveTimeStampV3)
	var token []byte
	var b cryptobyte.Builder
	sum := func(x ...[]byte) []byte {
		h := sha256.New()
		for _, p := range x {
			h.Write(p)
		}
		return h.Sum(nil)
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1})
		})
		for _, list := range [][][]byte{r.certs, r.crls} {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, e := range list {
					b.AddASN1OctetString(sum(e))
				}
			})
		}
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, a := range r.unsigned {
				if bytes.Equal(a[0], atsOID) {
					token = a[1]
					continue
				}
				b.AddASN1OctetString(sum(a[0], a[1]))
			}
		})
	})
	wantIndex := b.BytesOrPanic()
	if token == nil || len(r.certs) < 4 || len(r.crls) == 0 {
		t.Fatalf("archive token %t, %d certificates, %d revocation values", token != nil, len(r.certs), len(r.crls))
	}
	tok := readRaw(t, token)
	indexOID, _ := asn1.Marshal(cms.OIDATSHashIndexV3)
	var index []byte
	for _, a := range tok.unsigned {
		if bytes.Equal(a[0], indexOID) {
			index = a[1]
		}
	}
	if !bytes.Equal(index, wantIndex) {
		t.Fatalf("ats-hash-index-v3\n got %x\nwant %x", index, wantIndex)
	}
	imprint := sum(r.eContentType, sum(content), r.fields, index)
	dir := t.TempDir()
	path := filepath.Join(dir, "ats.tst")
	if err := os.WriteFile(path, token, 0o600); err != nil {
		t.Fatal(err)
	}
	root := signertest.WritePEM(t, dir, "root.pem", pki.Root.Cert)
	if out, err := exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(imprint), "-in", path, "-token_in", "-CAfile", root).CombinedOutput(); err != nil {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
}
