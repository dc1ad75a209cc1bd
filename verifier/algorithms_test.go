package verifier

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/ed448"

	"kyso/cms"
	"kyso/identity/ecc"
	"kyso/verifier/report"
)

// opensslPKI issues certificates from the fixture's root with openssl, for
// keys crypto/x509 cannot create certificates for (brainpool, Ed448,
// RSASSA-PSS, DSA).
type opensslPKI struct {
	t       *testing.T
	dir     string
	fx      *fixture
	serial  int
	rootPEM string
}

func newOpensslPKI(t *testing.T, fx *fixture) *opensslPKI {
	t.Helper()
	requireTool(t, "openssl")
	dir := t.TempDir()
	certPEM, keyPEM := testdocKeyPEM(t, fx)
	for name, b := range map[string][]byte{"root.pem": certPEM, "root.key": keyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ext := fmt.Sprintf("keyUsage=critical,digitalSignature,nonRepudiation\nbasicConstraints=CA:FALSE\nauthorityInfoAccess=OCSP;URI:%s\ncrlDistributionPoints=URI:%s\n", fx.pki.OCSPURL, fx.pki.CRLURL)
	if err := os.WriteFile(filepath.Join(dir, "leaf.ext"), []byte(ext), 0o600); err != nil {
		t.Fatal(err)
	}
	return &opensslPKI{t: t, dir: dir, fx: fx, serial: 5000, rootPEM: filepath.Join(dir, "root.pem")}
}

func (p *opensslPKI) run(args ...string) {
	p.t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = p.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// issue makes a key with genArgs (openssl genpkey/ecparam arguments that
// write name.key) and a certificate name.pem issued by the root.
func (p *opensslPKI) issue(name string, genArgs ...string) {
	p.t.Helper()
	p.run(genArgs...)
	p.serial++
	p.run("req", "-new", "-key", name+".key", "-subj", "/C=VN/CN="+name, "-out", name+".csr")
	p.run("x509", "-req", "-in", name+".csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", fmt.Sprint(p.serial),
		"-days", "3650", "-extfile", "leaf.ext", "-sha256", "-out", name+".pem")
}

func (p *opensslPKI) read(name string) []byte {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, name))
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

func testdocKeyPEM(t *testing.T, fx *fixture) ([]byte, []byte) {
	der, err := x509.MarshalPKCS8PrivateKey(fx.pki.Root.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fx.pki.Root.Cert.Raw}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TestCMSAlgorithms checks that the signatures real signers make verify:
// RSASSA-PSS, SHA-3, Ed25519, Ed448 (SHAKE256), ECDSA on brainpool curves
// (DER and BSI TR-03111 plain), no signed attributes, several SignerInfos,
// and a CMS without certificates whose signer is in the trust store. An
// algorithm Kyso does not implement (DSA) is INDETERMINATE, naming it.
func TestCMSAlgorithms(t *testing.T) {
	fx := newFixture(t)
	p := newOpensslPKI(t, fx)
	content := []byte("Giấy xác nhận cư trú\n")
	if err := os.WriteFile(filepath.Join(p.dir, "data.txt"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	p.issue("rsa", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "rsa.key")
	p.issue("ed25519", "genpkey", "-algorithm", "ED25519", "-out", "ed25519.key")
	p.issue("ed448", "genpkey", "-algorithm", "ED448", "-out", "ed448.key")
	p.issue("bp256", "ecparam", "-name", "brainpoolP256r1", "-genkey", "-noout", "-out", "bp256.key")
	p.issue("bp384", "ecparam", "-name", "brainpoolP384r1", "-genkey", "-noout", "-out", "bp384.key")
	p.issue("dsa", "dsaparam", "-noout", "-genkey", "-out", "dsa.key", "2048")

	sign := func(out string, args ...string) []byte {
		p.run(append([]string{"cms", "-sign", "-binary", "-outform", "DER", "-in", "data.txt", "-nodetach", "-out", out}, args...)...)
		return p.read(out)
	}
	signer := func(name string) []string { return []string{"-signer", name + ".pem", "-inkey", name + ".key"} }
	cases := []struct {
		name     string
		der      []byte
		detached []byte
		roots    []string
		want     report.Indication
		sub      report.SubIndication
		detail   string
	}{
		{name: "RSA SHA-256", der: sign("rsa.p7m", append(signer("rsa"), "-md", "sha256")...), want: report.TotalPassed},
		{name: "RSASSA-PSS", der: sign("pss.p7m", append(signer("rsa"), "-md", "sha256", "-keyopt", "rsa_padding_mode:pss")...), want: report.TotalPassed},
		{name: "RSA SHA3-256", der: sign("sha3.p7m", append(signer("rsa"), "-md", "sha3-256")...), want: report.TotalPassed},
		{name: "Ed25519", der: eddsaCMS(t, p, "ed25519", content, true), want: report.TotalPassed},
		{name: "Ed448 SHAKE256", der: eddsaCMS(t, p, "ed448", content, true), want: report.TotalPassed},
		{name: "Ed448, other content given", der: eddsaCMS(t, p, "ed448", content, true), detached: []byte("other"), want: report.TotalFailed, sub: report.HashFailure},
		{name: "ECDSA brainpoolP256r1", der: sign("bp256.p7m", append(signer("bp256"), "-md", "sha256")...), want: report.TotalPassed},
		{name: "ECDSA brainpoolP384r1 SHA-384", der: sign("bp384.p7m", append(signer("bp384"), "-md", "sha384")...), want: report.TotalPassed},
		{name: "no signed attributes", der: sign("noattr.p7m", append(signer("rsa"), "-md", "sha256", "-noattr")...), want: report.TotalPassed},
		{name: "no signed attributes, brainpool", der: sign("noattr-bp.p7m", append(signer("bp256"), "-md", "sha256", "-noattr")...), want: report.TotalPassed},
		{name: "two SignerInfos", der: sign("two.p7m", append(append(signer("rsa"), signer("bp256")...), "-md", "sha256")...), want: report.TotalPassed},
		{name: "no certificates, signer in the trust store", der: eddsaCMS(t, p, "ed25519", content, false), roots: []string{"ed25519.pem"}, want: report.TotalPassed},
		{name: "no certificates, signer unknown", der: sign("nocerts2.p7m", append(signer("rsa"), "-md", "sha256", "-nocerts")...), want: report.Indeterminate, sub: report.NoSigningCertificateFound},
		{name: "DSA is not implemented", der: sign("dsa.p7m", append(signer("dsa"), "-md", "sha256")...), want: report.Indeterminate, sub: report.CryptoConstraintsFailure, detail: "DSA"},
		{name: "plain ECDSA brainpoolP256r1 (TR-03111)", der: plainBrainpoolCMS(t, p, content, false), want: report.TotalPassed},
		{name: "plain ECDSA brainpoolP256r1, content changed", der: plainBrainpoolCMS(t, p, content, true), want: report.TotalFailed, sub: report.SigCryptoFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := fx.online
			if len(tc.roots) > 0 {
				roots := []*x509.Certificate{fx.pki.Root.Cert}
				for _, r := range tc.roots {
					b, _ := pem.Decode(p.read(r))
					c, err := cms.ParseCertificate(b.Bytes)
					if err != nil {
						t.Fatal(err)
					}
					roots = append(roots, c)
				}
				v = New(Options{Roots: roots, Revocation: fx.online.opts.Revocation})
			}
			rep, err := v.Verify(context.Background(), Input{Data: tc.der, Detached: tc.detached})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub || !strings.Contains(rep.Signatures[0].Status.Detail, tc.detail) {
				dump(t, rep)
				t.Fatalf("got %s/%s (%s), want %s/%s (%s)", rep.Status.MainIndication, rep.Status.SubIndication, rep.Status.Detail, tc.want, tc.sub, tc.detail)
			}
		})
	}
}

// plainBrainpoolCMS signs content with the bp256 key as BSI TR-03111
// plain ECDSA (r‖s, ecdsa-plain-SHA256), the form German and other
// European signature cards produce; corrupt signs other content.
func plainBrainpoolCMS(t *testing.T, p *opensslPKI, content []byte, corrupt bool) []byte {
	t.Helper()
	blk, _ := pem.Decode(p.read("bp256.key"))
	var sec1 struct {
		Version    int
		PrivateKey []byte
		Params     asn1.RawValue  `asn1:"optional,explicit,tag:0"`
		Public     asn1.BitString `asn1:"optional,explicit,tag:1"`
	}
	if _, err := asn1.Unmarshal(blk.Bytes, &sec1); err != nil {
		t.Fatal(err)
	}
	curve := ecc.BrainpoolP256r1()
	key := &ecc.PrivateKey{D: new(big.Int).SetBytes(sec1.PrivateKey)}
	key.PublicKey.Curve = curve
	key.PublicKey.X, key.PublicKey.Y = curve.ScalarBaseMult(key.D)
	cb, _ := pem.Decode(p.read("bp256.pem"))
	cert, err := cms.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := crypto.SHA256.New()
	sum.Write(content)
	attrs, err := cms.SignedAttributes(nil, sum.Sum(nil), cert, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h := crypto.SHA256.New()
	h.Write(attrs)
	r, s, err := ecc.SignRS(rand.Reader, key, h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	signed := content
	if corrupt {
		// The message digest matches this content, the signature does not
		// match the attributes.
		sig[5] ^= 1
	}
	enc := cms.Signed{Hash: crypto.SHA256, SignatureAlgorithm: cms.Algorithm{OID: asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 3}},
		Cert: cert, Certs: [][]byte{cert.Raw}, Content: signed, SignedAttrs: attrs, Signature: sig}
	der, err := enc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// eddsaCMS signs content as attached CMS with the openssl-made Ed25519 or
// Ed448 key (RFC 8419: SHA-512 or SHAKE256 message digest, pure EdDSA over
// the signed attributes); OpenSSL 3.0 cannot make these. withCerts false
// leaves the certificates out.
func eddsaCMS(t *testing.T, p *opensslPKI, name string, content []byte, withCerts bool) []byte {
	t.Helper()
	blk, _ := pem.Decode(p.read(name + ".key"))
	var pkcs8 struct {
		Version int
		Alg     asn1.RawValue
		Key     []byte
	}
	if _, err := asn1.Unmarshal(blk.Bytes, &pkcs8); err != nil {
		t.Fatal(err)
	}
	var seed []byte
	if _, err := asn1.Unmarshal(pkcs8.Key, &seed); err != nil {
		t.Fatal(err)
	}
	cb, _ := pem.Decode(p.read(name + ".pem"))
	cert, err := cms.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	enc := cms.Signed{Cert: cert, Content: content}
	if withCerts {
		enc.Certs = [][]byte{cert.Raw}
	}
	var digest []byte
	switch name {
	case "ed25519":
		sum := crypto.SHA512.New()
		sum.Write(content)
		digest = sum.Sum(nil)
		enc.Hash, enc.SignatureAlgorithm = crypto.SHA512, cms.Algorithm{OID: asn1.ObjectIdentifier{1, 3, 101, 112}}
	default:
		newHash, err := cms.DigestFor(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 12}})
		if err != nil {
			t.Fatal(err)
		}
		sum := newHash()
		sum.Write(content)
		digest = sum.Sum(nil)
		enc.DigestAlgorithm = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 12}
		enc.SignatureAlgorithm = cms.Algorithm{OID: asn1.ObjectIdentifier{1, 3, 101, 113}}
	}
	if enc.SignedAttrs, err = cms.SignedAttributes(nil, digest, cert, time.Now()); err != nil {
		t.Fatal(err)
	}
	if name == "ed25519" {
		enc.Signature = ed25519.Sign(ed25519.NewKeyFromSeed(seed), enc.SignedAttrs)
	} else {
		enc.Signature = ed448.Sign(ed448.NewKeyFromSeed(seed), enc.SignedAttrs, "")
	}
	der, err := enc.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return der
}
