package verifier

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pdfsign/sign"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

type fixture struct {
	pki    *testdoc.PKI
	signer testdoc.Key
	online *Verifier
	offl   *Verifier
	plain  []byte
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p := testdoc.NewPKI(t)
	u, _ := url.Parse(p.Server.URL)
	return &fixture{
		pki:    p,
		signer: p.Issue(t, testdoc.Profile{CN: "Nguyễn Văn An", UID: "CCCD:001234567890"}),
		online: New(Options{Roots: []*x509.Certificate{p.Root.Cert}, Revocation: revocation.New(revocation.Config{AllowedHosts: []string{u.Host}})}),
		offl:   New(Options{Roots: []*x509.Certificate{p.Root.Cert}, Revocation: revocation.New(revocation.Config{Offline: true})}),
		plain:  testdoc.MinimalPDF("Giay xac nhan"),
	}
}

// editByteRange rewrites the last /ByteRange in place (same length).
func editByteRange(t *testing.T, doc []byte, f func([4]int64) string) []byte {
	t.Helper()
	re := regexp.MustCompile(`/ByteRange ?\[(\d+) (\d+) (\d+) (\d+)\] *`)
	locs := re.FindAllSubmatchIndex(doc, -1)
	if len(locs) == 0 {
		t.Fatal("no ByteRange")
	}
	l := locs[len(locs)-1]
	var br [4]int64
	for i := range 4 {
		fmt.Sscan(string(doc[l[2+2*i]:l[3+2*i]]), &br[i])
	}
	repl := f(br)
	old := l[1] - l[0]
	if len(repl) > old {
		t.Fatalf("replacement too long")
	}
	repl += strings.Repeat(" ", old-len(repl))
	out := bytes.Clone(doc)
	copy(out[l[0]:], repl)
	return out
}

func lastContents(doc []byte) (int, int) {
	i := bytes.LastIndex(doc, []byte("/Contents<"))
	start := i + len("/Contents<")
	end := start + bytes.IndexByte(doc[start:], '>')
	return start, end
}

func verify(t *testing.T, v *Verifier, doc []byte) *report.Report {
	t.Helper()
	rep, err := v.Verify(context.Background(), Input{Name: "doc.pdf", Data: doc})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func dump(t *testing.T, rep *report.Report) {
	var b strings.Builder
	rep.Text(&b)
	t.Log("\n" + b.String())
}

type pdfCase struct {
	name     string
	build    func(t *testing.T, fx *fixture) []byte
	offline  bool
	untrust  bool
	want     report.Indication
	sub      report.SubIndication
	level    string // level of the first signature, when checked
	tampered bool   // pdfsig comparison: we must fail
}

func pdfCases() []pdfCase {
	signBT := func(t *testing.T, fx *fixture) []byte {
		return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, TSA: true})
	}
	withDSS := func(t *testing.T, fx *fixture, doc []byte) []byte {
		now := time.Now().UTC().Truncate(time.Second)
		crl, err := fx.pki.CRL(now)
		if err != nil {
			t.Fatal(err)
		}
		return testdoc.AddDSS(t, doc, []*x509.Certificate{fx.signer.Cert, fx.pki.Root.Cert}, [][]byte{fx.pki.OCSP(t, fx.signer.Cert, now)}, [][]byte{crl})
	}
	return []pdfCase{
		{name: "B-B", want: report.TotalPassed, level: "PAdES-BASELINE-B", build: func(t *testing.T, fx *fixture) []byte {
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer})
		}},
		{name: "B-T", want: report.TotalPassed, level: "PAdES-BASELINE-T", build: signBT},
		{name: "B-LT offline", offline: true, want: report.TotalPassed, level: "PAdES-BASELINE-LT", build: func(t *testing.T, fx *fixture) []byte {
			return withDSS(t, fx, signBT(t, fx))
		}},
		{name: "B-LTA offline", offline: true, want: report.TotalPassed, level: "PAdES-BASELINE-LTA", build: func(t *testing.T, fx *fixture) []byte {
			return fx.pki.DocTimeStamp(t, withDSS(t, fx, signBT(t, fx)))
		}},
		{name: "adbe.pkcs7.detached", want: report.TotalPassed, build: func(t *testing.T, fx *fixture) []byte {
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, Legacy: true})
		}},
		{name: "adbe revocation info archival, offline", offline: true, want: report.TotalPassed, build: func(t *testing.T, fx *fixture) []byte {
			now := time.Now().UTC().Truncate(time.Second)
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, Legacy: true, OCSP: [][]byte{fx.pki.OCSP(t, fx.signer.Cert, now)}})
		}},
		{name: "adbe revocation info archival says revoked, offline", offline: true, tampered: true, want: report.TotalFailed, sub: report.Revoked, build: func(t *testing.T, fx *fixture) []byte {
			k := fx.pki.Issue(t, testdoc.Profile{CN: "Revoked Signer"})
			now := time.Now().UTC().Truncate(time.Second)
			fx.pki.Revoke(k.Cert, now.Add(-time.Hour))
			crl, err := fx.pki.CRL(now)
			if err != nil {
				t.Fatal(err)
			}
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, Legacy: true, CRLs: [][]byte{crl}})
		}},
		{name: "openssl cms signature", want: report.TotalPassed, level: "PAdES-BASELINE-B", build: func(t *testing.T, fx *fixture) []byte {
			requireTool(t, "openssl")
			return testdoc.OpenSSLSignedPDF(t, fx.plain, fx.signer, t.TempDir())
		}},
		// openssl -stream writes BER and embeds the signed bytes: PDF
		// signatures must be detached.
		{name: "openssl cms BER with attached content", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			requireTool(t, "openssl")
			return testdoc.OpenSSLSignedPDF(t, fx.plain, fx.signer, t.TempDir(), "-stream")
		}},
		{name: "two approval signatures", want: report.TotalPassed, build: func(t *testing.T, fx *fixture) []byte {
			second := fx.pki.Issue(t, testdoc.Profile{CN: "Trần Thị Bình", UID: "CCCD:079200001234"})
			return fx.pki.Sign(t, signBT(t, fx), testdoc.SignOptions{Signer: second, TSA: true})
		}},
		{name: "B-B offline without revocation data", offline: true, want: report.Indeterminate, sub: report.TryLater, build: func(t *testing.T, fx *fixture) []byte {
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer})
		}},
		{name: "byte changed", tampered: true, want: report.TotalFailed, sub: report.HashFailure, build: func(t *testing.T, fx *fixture) []byte {
			return bytes.Replace(signBT(t, fx), []byte("(Giay xac nhan)"), []byte("(Giay xac nhaN)"), 1)
		}},
		{name: "truncated", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := signBT(t, fx)
			return d[:len(d)-200]
		}},
		{name: "page added after signing", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := signBT(t, fx)
			_, next := testdoc.Object(t, d, 1)
			return testdoc.Update(t, d, map[int]string{
				2:    fmt.Sprintf("<< /Type /Pages /Kids [3 0 R %d 0 R] /Count 2 >>", next),
				next: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
			}, 0)
		}},
		{name: "content changed in an incremental update", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			c := "BT /F1 24 Tf 72 720 Td (Giay tu choi) Tj ET"
			return testdoc.Update(t, signBT(t, fx), map[int]string{4: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(c), c)}, 0)
		}},
		{name: "shadow attack: page replaced by later object", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := signBT(t, fx)
			_, next := testdoc.Object(t, d, 1)
			c := "BT /F1 24 Tf 72 720 Td (Hidden) Tj ET"
			return testdoc.Update(t, d, map[int]string{
				3:    fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R /Resources << /Font << /F1 5 0 R >> >> >>", next),
				next: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(c), c),
			}, 0)
		}},
		// Annotations are allowed after an approval signature (as EU DSS
		// and pyHanko allow them) and after a certification with P=3.
		{name: "annotation added after an approval signature", want: report.TotalPassed, build: func(t *testing.T, fx *fixture) []byte {
			d := signBT(t, fx)
			_, next := testdoc.Object(t, d, 1)
			return testdoc.Update(t, d, map[int]string{
				3:    fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [%d 0 R] >>", next),
				next: "<< /Type /Annot /Subtype /Text /Rect [72 600 92 620] /Contents (checked) >>",
			}, 0)
		}},
		{name: "annotation added after certification P=2", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, TSA: true, CertType: sign.CertificationSignature, DocMDP: sign.AllowFillingExistingFormFieldsAndSignaturesPerms})
			_, next := testdoc.Object(t, d, 1)
			return testdoc.Update(t, d, map[int]string{
				3:    fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [%d 0 R] >>", next),
				next: "<< /Type /Annot /Subtype /FreeText /Rect [72 600 400 650] /Contents (VOID) /DA (/Helv 24 Tf 1 0 0 rg) >>",
			}, 0)
		}},
		{name: "incremental saving attack: data after %%EOF", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			return append(signBT(t, fx), []byte("4 0 obj\n<< /Length 10 >>\nstream\nBT (x) ET\nendstream\nendobj\n")...)
		}},
		{name: "ByteRange leaves a gap", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			return editByteRange(t, signBT(t, fx), func(b [4]int64) string {
				return fmt.Sprintf("/ByteRange [%d %d %d %d]", b[0], b[1]-20, b[2], b[3])
			})
		}},
		{name: "ByteRange short of the revision end", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			return editByteRange(t, signBT(t, fx), func(b [4]int64) string {
				return fmt.Sprintf("/ByteRange [%d %d %d %d]", b[0], b[1], b[2], b[3]-30)
			})
		}},
		{name: "ByteRange missing", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			return editByteRange(t, signBT(t, fx), func([4]int64) string { return "/ByteRangX [0 0 0 0]" })
		}},
		{name: "ByteRange malformed", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			return editByteRange(t, signBT(t, fx), func([4]int64) string { return "/ByteRange [0 -5 (x) 1]" })
		}},
		{name: "Contents zeros", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := signBT(t, fx)
			s, e := lastContents(d)
			copy(d[s:e], bytes.Repeat([]byte("0"), e-s))
			return d
		}},
		{name: "second Contents", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := signBT(t, fx)
			sigNum := 7
			obj, _ := testdoc.Object(t, d, sigNum)
			obj = strings.Replace(obj, "/Type /Sig", "/Type /Sig /Contents <3000>", 1)
			return testdoc.Update(t, d, map[int]string{sigNum: obj}, 0)
		}},
		{name: "signature value changed", tampered: true, want: report.TotalFailed, sub: report.SigCryptoFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer})
			return flipSignatureValue(t, d)
		}},
		{name: "revoked before signing", tampered: true, want: report.TotalFailed, sub: report.Revoked, build: func(t *testing.T, fx *fixture) []byte {
			k := fx.pki.Issue(t, testdoc.Profile{CN: "Revoked Signer"})
			fx.pki.Revoke(k.Cert, time.Now().Add(-time.Hour))
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, TSA: true})
		}},
		{name: "expired before signing", tampered: true, want: report.TotalFailed, sub: report.Expired, build: func(t *testing.T, fx *fixture) []byte {
			k := fx.pki.Issue(t, testdoc.Profile{CN: "Expired Signer", NotAfter: testdoc.Base.AddDate(1, 0, 0)})
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, TSA: true})
		}},
		{name: "expired without time-stamp", tampered: true, want: report.Indeterminate, sub: report.OutOfBoundsNoPOE, build: func(t *testing.T, fx *fixture) []byte {
			k := fx.pki.Issue(t, testdoc.Profile{CN: "Expired Signer", NotAfter: testdoc.Base.AddDate(1, 0, 0)})
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k})
		}},
		{name: "not yet valid", tampered: true, want: report.TotalFailed, sub: report.NotYetValid, build: func(t *testing.T, fx *fixture) []byte {
			k := fx.pki.Issue(t, testdoc.Profile{CN: "Future Signer", NotBefore: time.Now().AddDate(1, 0, 0), NotAfter: time.Now().AddDate(2, 0, 0)})
			return fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: k, TSA: true})
		}},
		{name: "untrusted root", untrust: true, tampered: true, want: report.Indeterminate, sub: report.NoCertificateChainFound, build: signBT},
		{name: "certification P=1 then another signature", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, TSA: true, CertType: sign.CertificationSignature, DocMDP: sign.DoNotAllowAnyChangesPerms})
			return fx.pki.Sign(t, d, testdoc.SignOptions{Signer: fx.signer, TSA: true})
		}},
		{name: "form filled after an approval signature", want: report.TotalPassed, build: func(t *testing.T, fx *fixture) []byte {
			return fillForm(t, fx.pki.Sign(t, testdoc.FormPDF(), testdoc.SignOptions{Signer: fx.signer, TSA: true}))
		}},
		{name: "form filled after certification P=2", want: report.TotalPassed, build: func(t *testing.T, fx *fixture) []byte {
			d := fx.pki.Sign(t, testdoc.FormPDF(), testdoc.SignOptions{Signer: fx.signer, TSA: true, CertType: sign.CertificationSignature, DocMDP: sign.AllowFillingExistingFormFieldsAndSignaturesPerms})
			return fillForm(t, d)
		}},
		{name: "form filled after certification P=1", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := fx.pki.Sign(t, testdoc.FormPDF(), testdoc.SignOptions{Signer: fx.signer, TSA: true, CertType: sign.CertificationSignature, DocMDP: sign.DoNotAllowAnyChangesPerms})
			return fillForm(t, d)
		}},
		{name: "form field moved after signing", tampered: true, want: report.TotalFailed, sub: report.FormatFailure, build: func(t *testing.T, fx *fixture) []byte {
			d := fx.pki.Sign(t, testdoc.FormPDF(), testdoc.SignOptions{Signer: fx.signer, TSA: true})
			return testdoc.Update(t, d, map[int]string{6: "<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (A) /Rect [72 100 300 130] /P 3 0 R >>"}, 0)
		}},
		{name: "certification P=1 then DSS and document time-stamp", offline: true, want: report.TotalPassed, level: "PAdES-BASELINE-LTA", build: func(t *testing.T, fx *fixture) []byte {
			d := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, TSA: true, CertType: sign.CertificationSignature, DocMDP: sign.DoNotAllowAnyChangesPerms})
			return fx.pki.DocTimeStamp(t, withDSS(t, fx, d))
		}},
	}
}

// fillForm changes the text field's value and appearance in an
// incremental update.
func fillForm(t *testing.T, doc []byte) []byte {
	t.Helper()
	_, next := testdoc.Object(t, doc, 1)
	ap := "BT /Helv 12 Tf 2 8 Td (B) Tj ET"
	return testdoc.Update(t, doc, map[int]string{
		6:    fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (B) /Rect [72 600 300 630] /P 3 0 R /AP << /N %d 0 R >> >>", next),
		next: fmt.Sprintf("<< /Type /XObject /Subtype /Form /BBox [0 0 228 30] /Length %d >>\nstream\n%s\nendstream", len(ap), ap),
	}, 0)
}

// flipSignatureValue changes one byte of the signature value (the last
// OCTET STRING of the SignerInfo before the unsigned attributes).
func flipSignatureValue(t *testing.T, doc []byte) []byte {
	t.Helper()
	s, e := lastContents(doc)
	hexs := string(doc[s:e])
	raw, err := hex.DecodeString(hexs)
	if err != nil {
		t.Fatal(err)
	}
	n, err := derLength(raw)
	if err != nil {
		t.Fatal(err)
	}
	// For ECDSA the signature value is the last element: an OCTET STRING
	// holding SEQUENCE{r, s}. Flip a byte inside s.
	pos := n - 3
	out := bytes.Clone(doc)
	h := fmt.Sprintf("%02X", raw[pos]^0x01)
	copy(out[s+2*pos:], h)
	return out
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (install it with apt-get)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func TestPDF(t *testing.T) {
	fx := newFixture(t)
	other := testdoc.NewPKI(t)
	for _, tc := range pdfCases() {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.build(t, fx)
			v := fx.online
			if tc.offline {
				v = fx.offl
			}
			if tc.untrust {
				v = New(Options{Roots: []*x509.Certificate{other.Root.Cert}})
			}
			rep := verify(t, v, doc)
			if rep.Status.MainIndication != tc.want || (tc.sub != "" && rep.Status.SubIndication != tc.sub) {
				dump(t, rep)
				t.Fatalf("got %s/%s, want %s/%s", rep.Status.MainIndication, rep.Status.SubIndication, tc.want, tc.sub)
			}
			if tc.level != "" && (len(rep.Signatures) == 0 || rep.Signatures[0].Level != tc.level) {
				dump(t, rep)
				t.Fatalf("level: want %s", tc.level)
			}
			if tc.want == report.TotalPassed {
				s := rep.Signatures[0]
				if s.Signer == nil || s.Signer.UID != "CCCD:001234567890" || s.Signer.Name != "Nguyễn Văn An" {
					t.Fatalf("signer = %+v", s.Signer)
				}
			}
		})
	}
}

// TestPDFAgainstPdfsig compares with poppler's pdfsig: a document pdfsig
// finds valid (and untampered) passes here; a tampered one fails here.
func TestPDFAgainstPdfsig(t *testing.T) {
	pdfsig := requireTool(t, "pdfsig")
	fx := newFixture(t)
	dir := t.TempDir()
	for i, tc := range pdfCases() {
		if tc.untrust {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.build(t, fx)
			path := filepath.Join(dir, fmt.Sprintf("doc%d.pdf", i))
			if err := os.WriteFile(path, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			out, _ := exec.Command(pdfsig, path).CombinedOutput()
			valid, total := pdfsigCounts(string(out))
			v := fx.online
			if tc.offline {
				v = fx.offl
			}
			rep := verify(t, v, doc)
			passed := rep.Status.MainIndication == report.TotalPassed
			switch {
			case !tc.tampered && tc.want != report.TotalPassed:
				// Valid signatures we cannot confirm offline: pdfsig must agree
				// they are cryptographically valid.
				if valid != total {
					t.Fatalf("pdfsig rejects an untampered document (%d/%d valid):\n%s", valid, total, out)
				}
			case !tc.tampered && total > 0 && valid == total && !passed:
				t.Fatalf("pdfsig finds it valid, we say %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, out)
			case !tc.tampered && valid != total:
				t.Fatalf("pdfsig rejects an untampered document (%d/%d valid):\n%s", valid, total, out)
			case tc.tampered && passed:
				t.Fatalf("tampered document passes; pdfsig:\n%s", out)
			case strings.Contains(string(out), "Digest Mismatch") && passed:
				t.Fatalf("pdfsig finds a digest mismatch, we pass")
			}
		})
	}
}

// TestSeveralTrustAnchors chains to one of several configured roots.
func TestSeveralTrustAnchors(t *testing.T) {
	fx := newFixture(t)
	doc := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer, TSA: true})
	u, _ := url.Parse(fx.pki.Server.URL)
	roots := []*x509.Certificate{testdoc.NewPKI(t).Root.Cert, fx.pki.Root.Cert, testdoc.NewPKI(t).Root.Cert}
	v := New(Options{Roots: roots, Revocation: revocation.New(revocation.Config{AllowedHosts: []string{u.Host}})})
	if rep := verify(t, v, doc); rep.Status.MainIndication != report.TotalPassed {
		dump(t, rep)
		t.Fatal("not passed with several trust anchors")
	}
}

// pdfsigCounts counts the signatures pdfsig finds valid and all it checks;
// document time-stamps (ETSI.RFC3161, "unknown" to pdfsig), which pdfsig
// cannot validate, are left out.
func pdfsigCounts(out string) (valid, total int) {
	for _, block := range strings.Split(out, "Signature #")[1:] {
		if strings.Contains(block, "ETSI.RFC3161") || strings.Contains(block, "Signature Type: unknown") {
			continue
		}
		total++
		if strings.Contains(block, "Signature Validation: Signature is Valid.") {
			valid++
		}
	}
	return valid, total
}
