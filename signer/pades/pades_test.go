package pades_test

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/hex"
	"regexp"
	"strconv"

	"github.com/digitorus/pdf"
	"golang.org/x/crypto/ocsp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kyso/signer/pades"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/tsa"
)

type env struct {
	pki    *signertest.PKI
	tsa    *tsa.Server
	nss    string
	dir    string
	pdfsig string
}

func newEnv(t *testing.T, kind signertest.KeyKind) *env {
	t.Helper()
	pdfsig := signertest.NeedTool(t, "pdfsig")
	pki := signertest.New(t, kind, nil)
	db := storetest.SQLite(t)
	if err := tsa.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	return &env{pki: pki, tsa: ts, nss: signertest.NSSDB(t, pki.Root.Cert), dir: t.TempDir(), pdfsig: pdfsig}
}

func (e *env) opts(level pades.Level) pades.Options {
	return pades.Options{
		Level: level, Signer: e.pki.Leaf.Key, Cert: e.pki.Leaf.Cert, Chain: e.pki.Chain(), Root: e.pki.Root.Cert,
		Reason: "Đồng ý nội dung", Location: "Hà Nội", Stamper: e.tsa, Revocation: e.pki,
	}
}

func (e *env) sign(t *testing.T, in []byte, o pades.Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := pades.Sign(context.Background(), bytes.NewReader(in), int64(len(in)), &out, o); err != nil {
		t.Fatalf("sign: %v", err)
	}
	if !bytes.HasPrefix(out.Bytes(), in) {
		t.Fatal("output does not start with the original document")
	}
	return out.Bytes()
}

func (e *env) pdfsigOut(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(e.dir, "out.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-nssdir", "sql:" + e.nss}, strings.Fields(os.Getenv("PDFSIG_EXTRA"))...)
	out, err := exec.Command(e.pdfsig, append(args, path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	return string(out)
}

// signatures splits pdfsig output per signature.
func signatures(out string) []string {
	parts := strings.Split(out, "Signature #")
	if len(parts) > 0 {
		parts = parts[1:]
	}
	return parts
}

func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("missing %q in:\n%s", w, s)
		}
	}
}

func TestLevelsVerifyInPdfsig(t *testing.T) {
	for _, kind := range []struct {
		name string
		kind signertest.KeyKind
	}{{"p256", signertest.P256}, {"rsa2048", signertest.RSA2048}} {
		e := newEnv(t, kind.kind)
		for _, xs := range []bool{false, true} {
			for _, level := range []pades.Level{pades.BB, pades.BT, pades.BLT, pades.BLTA} {
				name := kind.name + "/" + level.String()
				if xs {
					name += "/xrefstream"
				}
				t.Run(name, func(t *testing.T) {
					in := signertest.PDF(t, signertest.PDFOptions{Pages: 2, XRefStream: xs})
					signed := e.sign(t, in, e.opts(level))
					out := e.pdfsigOut(t, signed)
					sigs := signatures(out)
					want := 1
					if level == pades.BLTA {
						want = 2
					}
					if len(sigs) != want {
						t.Fatalf("%d signatures, want %d:\n%s", len(sigs), want, out)
					}
					mustContain(t, sigs[0], "Signature is Valid", "Certificate is Trusted", "ETSI.CAdES.detached")
					if level <= pades.BT {
						mustContain(t, sigs[0], "Total document signed")
					}
					if level >= pades.BLT {
						e.checkDSS(t, signed)
					}
					if level == pades.BLTA {
						// poppler 22 lists document time-stamps but cannot
						// validate /ETSI.RFC3161; openssl checks the token.
						mustContain(t, sigs[1], "DocTimeStamp1", "Kyso Test TSA", "Total document signed")
						e.checkDocTimeStamp(t, signed)
					}
				})
			}
		}
	}
}

// checkDSS asserts the catalog's /DSS holds an OCSP response for the signer.
func (e *env) checkDSS(t *testing.T, signed []byte) {
	t.Helper()
	r, err := pdf.NewReader(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatal(err)
	}
	dss := r.Trailer().Key("Root").Key("DSS")
	if dss.Kind() != pdf.Dict {
		t.Fatal("no /DSS in the catalog")
	}
	found := false
	ocsps := dss.Key("OCSPs")
	for i := 0; i < ocsps.Len(); i++ {
		rc := ocsps.Index(i).Reader()
		var b bytes.Buffer
		_, _ = b.ReadFrom(rc)
		rc.Close()
		resp, err := ocsp.ParseResponse(b.Bytes(), nil)
		if err != nil {
			t.Fatalf("DSS OCSP %d: %v", i, err)
		}
		if resp.SerialNumber.Cmp(e.pki.Leaf.Cert.SerialNumber) == 0 && resp.Status == ocsp.Good {
			found = true
		}
	}
	if !found {
		t.Fatal("DSS lacks the signer's OCSP response")
	}
	if dss.Key("Certs").Len() < 3 || dss.Key("CRLs").Len() < 1 {
		t.Fatalf("DSS has %d certificates and %d CRLs", dss.Key("Certs").Len(), dss.Key("CRLs").Len())
	}
}

var byteRangeRE = regexp.MustCompile(`/ByteRange \[0 (\d+) (\d+) (\d+) *\]`)

// checkDocTimeStamp verifies the last signature (a document time-stamp)
// with openssl ts -verify over the signed byte ranges.
func (e *env) checkDocTimeStamp(t *testing.T, signed []byte) {
	t.Helper()
	openssl := signertest.NeedTool(t, "openssl")
	m := byteRangeRE.FindAllSubmatch(signed, -1)
	last := m[len(m)-1]
	a, _ := strconv.Atoi(string(last[1]))
	b, _ := strconv.Atoi(string(last[2]))
	c, _ := strconv.Atoi(string(last[3]))
	if b+c != len(signed) {
		t.Fatalf("last byte range %d+%d does not end the file (%d)", b, c, len(signed))
	}
	data := append(append([]byte(nil), signed[:a]...), signed[b:b+c]...)
	all, err := hex.DecodeString(string(signed[a+1 : b-1]))
	if err != nil {
		t.Fatal(err)
	}
	var rv asn1.RawValue
	if _, err := asn1.Unmarshal(all, &rv); err != nil {
		t.Fatal(err)
	}
	tok := rv.FullBytes
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := signertest.WritePEM(t, dir, "root.pem", e.pki.Root.Cert)
	tsaPEM := signertest.WritePEM(t, dir, "tsa.pem", e.pki.TSA.Cert)
	out, err := exec.Command(openssl, "ts", "-verify", "-data", write("data", data), "-in", write("tok.der", tok), "-token_in",
		"-CAfile", root, "-untrusted", tsaPEM).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl ts -verify of the document time-stamp: %v\n%s", err, out)
	}
}
