package verifier_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/verifier"
	"kyso/verifier/report"
)

// realsPDF is a two-page PDF whose page dictionaries hold real numbers
// (MediaBox [0 0 595.0 842.0]), as many producers write them.
func realsPDF() []byte {
	content := "BT /F1 24 Tf 72 720 Td (Hop dong) Tj ET"
	page := "<< /Type /Page /Parent 2 0 R /MediaBox [0.0 0.0 595.0 842.0] /UserUnit 1.0 /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 >>",
		page,
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		page,
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(signertest.NeedTool(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestCoSignPdfsigSignedDocument signs a document with poppler's pdfsig
// (NSS), co-signs it with Kyso's signer (visible stamp, B-T), and requires
// both signatures valid in pdfsig and in the verifier: re-writing the page
// and the form never changes what the first signature covers.
func TestCoSignPdfsigSignedDocument(t *testing.T) {
	ctx := context.Background()
	pki, ts, online, _ := signerSetup(t)
	dir := t.TempDir()
	nss := signertest.NSSDB(t, pki.Root.Cert)

	// The first signer's key and certificate, imported into NSS.
	first := pki.NewSigner(t, signertest.RSA2048, nil, "Pdfsig Signer")
	keyDER, err := x509.MarshalPKCS8PrivateKey(first.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	certPath := signertest.WritePEM(t, dir, "cert.pem", first.Cert)
	chainPath := signertest.WritePEM(t, dir, "chain.pem", pki.Issuing.Cert)
	p12 := filepath.Join(dir, "first.p12")
	run(t, "openssl", "pkcs12", "-export", "-inkey", keyPath, "-in", certPath, "-certfile", chainPath, "-name", "first", "-passout", "pass:", "-out", p12)
	run(t, "pk12util", "-i", p12, "-d", "sql:"+nss, "-W", "")

	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, realsPDF(), 0o600); err != nil {
		t.Fatal(err)
	}
	signed1 := filepath.Join(dir, "signed1.pdf")
	run(t, "pdfsig", "-nssdir", "sql:"+nss, "-add-signature", "-nick", "first", "-reason", "first", in, signed1)
	doc, err := os.ReadFile(signed1)
	if err != nil {
		t.Fatal(err)
	}
	if out := run(t, "pdfsig", "-nssdir", "sql:"+nss, signed1); !strings.Contains(out, "Signature is Valid") {
		t.Fatalf("pdfsig does not validate its own signature:\n%s", out)
	}

	// Kyso co-signs with a visible stamp on the second page, which pdfsig
	// left as written (with reals).
	var out bytes.Buffer
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	err = signer.SignPDF(ctx, key, bytes.NewReader(doc), int64(len(doc)), &out, signer.PDFOptions{
		Level: signer.BT, Name: "Nguyễn Văn An", Reason: "Đồng ý",
		Appearance: &signer.Appearance{Page: 2, X: 300, Y: 40, Width: 250, Height: 70},
		Deps:       signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert},
	})
	if err != nil {
		t.Fatalf("co-sign: %v", err)
	}
	both := filepath.Join(dir, "both.pdf")
	if err := os.WriteFile(both, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ps := run(t, "pdfsig", "-nssdir", "sql:"+nss, both)
	if n := strings.Count(ps, "Signature is Valid"); n != 2 || strings.Contains(ps, "not signed") {
		t.Fatalf("pdfsig finds %d valid signatures, want 2:\n%s", n, ps)
	}

	rep, err := online.Verify(ctx, verifier.Input{Data: out.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	rep.Text(&txt)
	if len(rep.Signatures) != 2 || rep.Status.MainIndication != report.TotalPassed {
		t.Fatalf("want two TOTAL-PASSED signatures:\n%s", txt.String())
	}
	for _, c := range rep.Changes {
		if !c.Allowed {
			t.Fatalf("disallowed change after the first signature:\n%s", txt.String())
		}
	}
}
