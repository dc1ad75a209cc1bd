package testdoc

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"

	"kyso/verifier/pdfscan"
)

// MinimalPDF returns a one-page PDF showing text.
func MinimalPDF(text string) []byte {
	content := fmt.Sprintf("BT /F1 24 Tf 72 720 Td (%s) Tj ET", text)
	return build([]string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	})
}

// FormPDF returns a one-page PDF with a text field (object 6, value
// "A") whose widget is on the page.
func FormPDF() []byte {
	content := "BT /F1 24 Tf 72 720 Td (Form) Tj ET"
	return build([]string{
		"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /DA (/Helv 12 Tf 0 g) >> >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (A) /Rect [72 600 300 630] /P 3 0 R >>",
	})
}

// Build returns a PDF of one revision whose objects 1…n are objs (object
// 1 is the catalog).
func Build(objs []string) []byte { return build(objs) }

func build(objs []string) []byte {
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

// SignOptions configure Sign.
type SignOptions struct {
	Signer   Key
	Chain    []*x509.Certificate // default [root]
	Legacy   bool                // adbe.pkcs7.detached instead of ETSI.CAdES.detached
	TSA      bool                // add a signature time-stamp
	CertType sign.CertType       // default approval
	DocMDP   sign.DocMDPPerm
	Date     time.Time
	Reason   string
	// OCSP and CRLs are embedded in the legacy profile's Adobe
	// revocation-info-archival attribute (Legacy only).
	OCSP [][]byte
	CRLs [][]byte
}

// Sign signs in with pdfsign.
func (p *PKI) Sign(t testing.TB, in []byte, o SignOptions) []byte {
	t.Helper()
	rdr, err := pdf.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatalf("pdf reader: %v", err)
	}
	if o.CertType == 0 {
		o.CertType = sign.ApprovalSignature
	}
	if o.Date.IsZero() {
		o.Date = time.Now()
	}
	chain := o.Chain
	if chain == nil {
		chain = []*x509.Certificate{p.Root.Cert}
	}
	sd := sign.SignData{
		Signature: sign.SignDataSignature{
			CertType: o.CertType, DocMDPPerm: o.DocMDP,
			Info: sign.SignDataSignatureInfo{Name: "test", Reason: o.Reason, Date: o.Date},
		},
		SubFilter: sign.SubFilterETSICAdESDetached,
		Context:   context.Background(),
	}
	if o.Legacy {
		sd.SubFilter = sign.SubFilterAdbePKCS7Detached
		for _, b := range o.OCSP {
			if err := sd.RevocationData.AddOCSP(b); err != nil {
				t.Fatal(err)
			}
		}
		for _, b := range o.CRLs {
			if err := sd.RevocationData.AddCRL(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if o.CertType != sign.TimeStampSignature {
		sd.Signer = o.Signer.Key
		sd.Certificate = o.Signer.Cert
		sd.CertificateChains = [][]*x509.Certificate{append([]*x509.Certificate{o.Signer.Cert}, chain...)}
	}
	if o.TSA || o.CertType == sign.TimeStampSignature {
		sd.TSA = sign.TSA{URL: p.TSAURL}
	}
	var out bytes.Buffer
	if err := sign.Sign(bytes.NewReader(in), &out, rdr, int64(len(in)), sd); err != nil {
		t.Fatalf("pdfsign: %v", err)
	}
	return out.Bytes()
}

// DocTimeStamp adds a document time-stamp.
func (p *PKI) DocTimeStamp(t testing.TB, in []byte) []byte {
	return p.Sign(t, in, SignOptions{CertType: sign.TimeStampSignature})
}

// Update appends an incremental update that defines objs (object number →
// body, e.g. "<< … >>" or "<< /Length n >>\nstream\n…\nendstream"). New
// object numbers above the trailer's /Size extend it. rootNum, when not 0,
// replaces the trailer /Root.
func Update(t testing.TB, in []byte, objs map[int]string, rootNum int) []byte {
	t.Helper()
	f, err := pdfscan.Parse(in, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	last := len(f.Revisions) - 1
	tr := f.Trailer(last)
	size := int(tr.Get("Size").Int)
	root := tr.Get("Root").Ref
	if rootNum != 0 {
		root = pdfscan.Ref{Num: rootNum}
	}
	var b bytes.Buffer
	b.Write(in)
	if !bytes.HasSuffix(in, []byte("\n")) {
		b.WriteString("\n")
	}
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
		if n >= size {
			size = n + 1
		}
	}
	sort.Ints(nums)
	offs := map[int]int{}
	for _, n := range nums {
		offs[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, objs[n])
	}
	xref := b.Len()
	b.WriteString("xref\n0 1\n0000000000 65535 f \n")
	for _, n := range nums {
		fmt.Fprintf(&b, "%d 1\n%010d 00000 n \n", n, offs[n])
	}
	info := ""
	if i := tr.Get("Info"); i.Kind == pdfscan.Reference {
		info = fmt.Sprintf(" /Info %d 0 R", i.Ref.Num)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R%s /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size, root.Num, info, f.Revisions[last].StartXref, xref)
	return b.Bytes()
}

// Object returns the source text of object num as the last revision sees
// it (dictionary objects only), and the next free object number.
func Object(t testing.TB, in []byte, num int) (string, int) {
	t.Helper()
	f, err := pdfscan.Parse(in, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	last := len(f.Revisions) - 1
	o, err := f.Get(last, num)
	if err != nil || o.Pos < 0 {
		t.Fatalf("object %d: %v", num, err)
	}
	return string(in[o.Pos:o.End]), int(f.Trailer(last).Get("Size").Int)
}

// RootNum returns the catalog's object number in the last revision.
func RootNum(t testing.TB, in []byte) int {
	f, err := pdfscan.Parse(in, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return f.Trailer(len(f.Revisions) - 1).Get("Root").Ref.Num
}

// AddDSS appends a /DSS with certificates, OCSP responses and CRLs.
func AddDSS(t testing.TB, in []byte, certs []*x509.Certificate, ocsps, crls [][]byte) []byte {
	t.Helper()
	rootNum := RootNum(t, in)
	cat, next := Object(t, in, rootNum)
	objs := map[int]string{}
	arr := func(items [][]byte) string {
		var refs []string
		for _, it := range items {
			n := next
			next++
			objs[n] = fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(it), it)
			refs = append(refs, fmt.Sprintf("%d 0 R", n))
		}
		return "[" + strings.Join(refs, " ") + "]"
	}
	var raw [][]byte
	for _, c := range certs {
		raw = append(raw, c.Raw)
	}
	dssNum := next
	next++
	objs[dssNum] = fmt.Sprintf("<< /Type /DSS /Certs %s /OCSPs %s /CRLs %s >>", arr(raw), arr(ocsps), arr(crls))
	cat = strings.TrimSpace(cat)
	cat = strings.TrimSuffix(cat, ">>") + fmt.Sprintf(" /DSS %d 0 R >>", dssNum)
	objs[rootNum] = cat
	return Update(t, in, objs, 0)
}

// OpenSSLSignedPDF hand-assembles a PDF signature whose CMS is made by
// `openssl cms -sign` (an implementation independent of ours and pdfsign's).
func OpenSSLSignedPDF(t testing.TB, in []byte, k Key, dir string, extra ...string) []byte {
	t.Helper()
	rootNum := RootNum(t, in)
	cat, next := Object(t, in, rootNum)
	pageObj, _ := Object(t, in, 3)
	sigNum, fieldNum := next, next+1
	const slots = 8192
	sigDict := fmt.Sprintf("<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M (D:20250601120000Z) /ByteRange [0 ********** ********** **********] /Contents <%s> >>", strings.Repeat("0", slots))
	field := fmt.Sprintf("<< /FT /Sig /T (OpenSSL) /V %d 0 R /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R >>", sigNum)
	cat = strings.TrimSuffix(strings.TrimSpace(cat), ">>") + fmt.Sprintf(" /AcroForm << /Fields [%d 0 R] /SigFlags 3 >> >>", fieldNum)
	page := strings.TrimSuffix(strings.TrimSpace(pageObj), ">>") + fmt.Sprintf(" /Annots [%d 0 R] >>", fieldNum)
	out := Update(t, in, map[int]string{rootNum: cat, 3: page, sigNum: sigDict, fieldNum: field}, 0)
	ci := bytes.Index(out, []byte("/Contents <"+strings.Repeat("0", 16)))
	b1 := ci + len("/Contents ")
	b2 := b1 + slots + 2
	br := fmt.Sprintf("[0 %d %d %d]", b1, b2, len(out)-b2)
	placeholder := "[0 ********** ********** **********]"
	br += strings.Repeat(" ", len(placeholder)-len(br))
	out = bytes.Replace(out, []byte(placeholder), []byte(br), 1)
	signed := append(append([]byte(nil), out[:b1]...), out[b2:]...)
	certPEM, keyPEM := KeyPEM(t, k)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER", "-cades",
		"-in", write("data.bin", signed), "-signer", write("cert.pem", certPEM), "-inkey", write("key.pem", keyPEM), "-out", filepath.Join(dir, "sig.der")}
	cmd := exec.Command("openssl", append(args, extra...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms: %v: %s", err, msg)
	}
	der, err := os.ReadFile(filepath.Join(dir, "sig.der"))
	if err != nil {
		t.Fatal(err)
	}
	hexSig := fmt.Sprintf("%X", der)
	if len(hexSig) > slots {
		t.Fatalf("signature too large")
	}
	copy(out[b1+1:], hexSig)
	return out
}
