package verifier

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/digitorus/pdfsign/sign"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/pdfscan"
	"kyso/verifier/report"
)

// Attacks on signed PDFs: each builds a forged document, proves with
// poppler that a reader shows the forged content, and shows the verifier
// refuses it.

const forgedText = "FORGED"

func forgedContent() string {
	c := "BT /F1 24 Tf 72 720 Td (" + forgedText + ") Tj ET"
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(c), c)
}

// incrOpts shape an incremental update written by incr.
type incrOpts struct {
	trailer string // extra trailer entries, e.g. "/Info 4 0 R"
	// hidden objects are listed only in a hybrid /XRefStm stream encoded
	// with ASCIIHexDecode, not in the table.
	hidden []int
}

// incr appends an incremental update defining objs.
func incr(t *testing.T, in []byte, objs map[int]string, o incrOpts) []byte {
	t.Helper()
	f, err := pdfscan.Parse(in, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	last := len(f.Revisions) - 1
	tr := f.Trailer(last)
	size := int(tr.Get("Size").Int)
	var b bytes.Buffer
	b.Write(in)
	if !bytes.HasSuffix(in, []byte("\n")) {
		b.WriteString("\n")
	}
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
		size = max(size, n+1)
	}
	sort.Ints(nums)
	offs := map[int]int{}
	for _, n := range nums {
		offs[n] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, objs[n])
	}
	hidden := map[int]bool{}
	for _, n := range o.hidden {
		hidden[n] = true
	}
	extra := o.trailer
	if len(o.hidden) > 0 {
		xs := size
		size++
		var rows []byte
		var index []string
		for _, n := range o.hidden {
			row := make([]byte, 7)
			row[0] = 1
			binary.BigEndian.PutUint32(row[1:5], uint32(offs[n]))
			rows = append(rows, row...)
			index = append(index, fmt.Sprintf("%d 1", n))
		}
		data := strings.ToUpper(hex.EncodeToString(rows)) + ">"
		offs[xs] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Index [%s] /Filter /ASCIIHexDecode /Length %d >>\nstream\n%s\nendstream\nendobj\n", xs, size, strings.Join(index, " "), len(data), data)
		extra += fmt.Sprintf(" /XRefStm %d", offs[xs])
	}
	xref := b.Len()
	b.WriteString("xref\n0 1\n0000000000 65535 f \n")
	for _, n := range nums {
		if !hidden[n] {
			fmt.Fprintf(&b, "%d 1\n%010d 00000 n \n", n, offs[n])
		}
	}
	if !strings.Contains(extra, "/Info") {
		if i := tr.Get("Info"); i.Kind == pdfscan.Reference {
			extra += fmt.Sprintf(" /Info %d 0 R", i.Ref.Num)
		}
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R /Prev %d %s >>\nstartxref\n%d\n%%%%EOF\n", size, tr.Get("Root").Ref.Num, f.Revisions[last].StartXref, extra, xref)
	return b.Bytes()
}

func writeTemp(t *testing.T, doc []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(p, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pdftotext returns the text poppler extracts from doc.
func pdftotext(t *testing.T, doc []byte) string {
	t.Helper()
	tool := requireTool(t, "pdftotext")
	out, err := exec.Command(tool, writeTemp(t, doc), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// render returns the first page as poppler draws it (grey PGM, low
// resolution, annotations included).
func render(t *testing.T, doc []byte) []byte {
	t.Helper()
	tool := requireTool(t, "pdftoppm")
	out, err := exec.Command(tool, "-gray", "-r", "18", "-f", "1", "-l", "1", "-singlefile", writeTemp(t, doc)).Output()
	if err != nil {
		t.Fatalf("pdftoppm: %v", err)
	}
	return out
}

// meanGrey is the mean pixel of a binary PGM (P5, 8-bit).
func meanGrey(t *testing.T, pgm []byte) float64 {
	t.Helper()
	var w, h, maxv int
	n, err := fmt.Sscanf(string(pgm), "P5\n%d %d\n%d\n", &w, &h, &maxv)
	if err != nil || n != 3 {
		t.Fatalf("not a PGM: %v", err)
	}
	px := pgm[len(pgm)-w*h:]
	sum := 0
	for _, p := range px {
		sum += int(p)
	}
	return float64(sum) / float64(len(px))
}

// proveText requires poppler to extract the forged text from forged and
// not from signed.
func proveText(t *testing.T, signed, forged []byte) {
	t.Helper()
	if strings.Contains(pdftotext(t, signed), forgedText) {
		t.Fatal("the signed document already shows the forged text")
	}
	if got := pdftotext(t, forged); !strings.Contains(got, forgedText) {
		t.Fatalf("poppler does not show the forged text, the attack is not real: %q", got)
	}
}

// proveOverlay requires poppler to draw the forged page much darker than
// the signed one (a black overlay).
func proveOverlay(t *testing.T, signed, forged []byte) {
	t.Helper()
	a, b := meanGrey(t, render(t, signed)), meanGrey(t, render(t, forged))
	if b > a/2 {
		t.Fatalf("poppler does not draw the overlay (mean grey %.0f signed, %.0f forged)", a, b)
	}
}

// proveDifferent requires poppler to draw the forged page differently.
func proveDifferent(t *testing.T, signed, forged []byte) {
	t.Helper()
	if bytes.Equal(render(t, signed), render(t, forged)) {
		t.Fatal("poppler draws the forged document as the signed one: the attack is not real")
	}
}

// catalogWith returns the catalog's source with extra entries.
func catalogWith(t *testing.T, doc []byte, extra string) (int, string) {
	t.Helper()
	n := testdoc.RootNum(t, doc)
	cat, _ := testdoc.Object(t, doc, n)
	cat = strings.TrimSpace(cat)
	return n, strings.TrimSuffix(cat, ">>") + " " + extra + " >>"
}

var (
	fieldsRe = regexp.MustCompile(`/Fields\s*\[`)
	annotsRe = regexp.MustCompile(`/Annots\s*\[`)
)

// addField adds field num to the form and its widget to page 3.
func addField(t *testing.T, doc []byte, num int) map[int]string {
	t.Helper()
	objs := map[int]string{}
	f, err := pdfscan.Parse(doc, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	last := len(f.Revisions) - 1
	rootNum := testdoc.RootNum(t, doc)
	af := f.Root(last).Get("AcroForm")
	switch af.Kind {
	case pdfscan.Reference:
		src, _ := testdoc.Object(t, doc, af.Ref.Num)
		objs[af.Ref.Num] = fieldsRe.ReplaceAllString(src, fmt.Sprintf("/Fields [%d 0 R ", num))
	default:
		cat, _ := testdoc.Object(t, doc, rootNum)
		if fieldsRe.MatchString(cat) {
			objs[rootNum] = fieldsRe.ReplaceAllString(cat, fmt.Sprintf("/Fields [%d 0 R ", num))
		} else {
			_, objs[rootNum] = catalogWith(t, doc, fmt.Sprintf("/AcroForm << /Fields [%d 0 R] >>", num))
		}
	}
	page, _ := testdoc.Object(t, doc, 3)
	if annotsRe.MatchString(page) {
		page = annotsRe.ReplaceAllString(page, fmt.Sprintf("/Annots [%d 0 R ", num))
	} else {
		page = strings.TrimSuffix(strings.TrimSpace(page), ">>") + fmt.Sprintf(" /Annots [%d 0 R] >>", num)
	}
	objs[3] = page
	return objs
}

const blackPage = "<< /Type /XObject /Subtype /Form /BBox [0 0 595 842] /Length 20 >>\nstream\n0 g 0 0 595 842 re f\nendstream"

type attack struct {
	name  string
	build func(t *testing.T, fx *fixture) (signed, forged []byte)
	prove func(t *testing.T, signed, forged []byte)
}

func attacks() []attack {
	signBT := func(t *testing.T, fx *fixture, doc []byte, o testdoc.SignOptions) []byte {
		o.Signer, o.TSA = fx.signer, true
		return fx.pki.Sign(t, doc, o)
	}
	return []attack{
		{"DSS certificates reference the page content, which is redefined", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			d := signBT(t, fx, fx.plain, testdoc.SignOptions{})
			_, next := testdoc.Object(t, d, 1)
			root, cat := catalogWith(t, d, fmt.Sprintf("/DSS %d 0 R", next))
			return d, incr(t, d, map[int]string{root: cat, next: "<< /Certs [4 0 R] >>", 4: forgedContent()}, incrOpts{})
		}, proveText},
		{"document information is the page content, which is redefined", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			d := signBT(t, fx, fx.plain, testdoc.SignOptions{})
			return d, incr(t, d, map[int]string{4: forgedContent()}, incrOpts{trailer: "/Info 4 0 R"})
		}, proveText},
		{"page re-emitted with a second /Contents", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			d := signBT(t, fx, fx.plain, testdoc.SignOptions{})
			page, next := testdoc.Object(t, d, 3)
			page = strings.TrimSuffix(strings.TrimSpace(page), ">>") + fmt.Sprintf(" /Contents %d 0 R >>", next)
			return d, incr(t, d, map[int]string{3: page, next: forgedContent()}, incrOpts{})
		}, proveText},
		{"hybrid update hides the content in an ASCIIHex /XRefStm", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			d := signBT(t, fx, fx.plain, testdoc.SignOptions{})
			return d, incr(t, d, map[int]string{4: forgedContent()}, incrOpts{hidden: []int{4}})
		}, proveText},
		{"reference dangling at signing time defined afterwards", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			content := "BT /F1 24 Tf 72 760 Td (Giay xac nhan) Tj ET"
			base := testdoc.Build([]string{
				"<< /Type /Catalog /Pages 2 0 R >>",
				"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
				"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents [4 0 R 50 0 R] /Resources << /Font << /F1 5 0 R >> >> >>",
				fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
				"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
			})
			d := signBT(t, fx, base, testdoc.SignOptions{})
			return d, incr(t, d, map[int]string{50: forgedContent()}, incrOpts{})
		}, proveText},
		{"unsigned signature field overlays the page after certification P=1", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			d := signBT(t, fx, fx.plain, testdoc.SignOptions{CertType: sign.CertificationSignature, DocMDP: sign.DoNotAllowAnyChangesPerms})
			_, next := testdoc.Object(t, d, 1)
			objs := addField(t, d, next)
			objs[next] = fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (Overlay) /F 4 /Rect [0 0 595 842] /P 3 0 R /AP << /N %d 0 R >> >>", next+1)
			objs[next+1] = blackPage
			return d, incr(t, d, objs, incrOpts{})
		}, proveOverlay},
		{"unsigned signature field overlays the page after an approval signature", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			d := signBT(t, fx, fx.plain, testdoc.SignOptions{})
			_, next := testdoc.Object(t, d, 1)
			objs := addField(t, d, next)
			objs[next] = fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (Overlay) /F 4 /Rect [0 0 595 842] /P 3 0 R /AP << /N %d 0 R >> >>", next+1)
			objs[next+1] = blackPage
			return d, incr(t, d, objs, incrOpts{})
		}, proveOverlay},
		{"new text field after certification P=2", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			d := signBT(t, fx, fx.plain, testdoc.SignOptions{CertType: sign.CertificationSignature, DocMDP: sign.AllowFillingExistingFormFieldsAndSignaturesPerms})
			_, next := testdoc.Object(t, d, 1)
			objs := addField(t, d, next)
			objs[next] = fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Tx /T (Overlay) /V (x) /F 4 /Rect [0 0 595 842] /P 3 0 R /AP << /N %d 0 R >> >>", next+1)
			objs[next+1] = blackPage
			return d, incr(t, d, objs, incrOpts{})
		}, proveOverlay},
		{"form made indirect, then given /NeedAppearances", func(t *testing.T, fx *fixture) ([]byte, []byte) {
			ap := "BT /Helv 12 Tf 2 8 Td (A) Tj ET"
			base := testdoc.Build([]string{
				"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /DA (/Helv 12 Tf 0 g) /DR << /Font << /Helv 5 0 R >> >> >> >>",
				"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
				"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>",
				"<< /Length 35 >>\nstream\nBT /F1 24 Tf 72 720 Td (Form) Tj ET\nendstream",
				"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
				"<< /Type /Annot /Subtype /Widget /FT /Tx /T (amount) /V (WWWWWWWWWWWWWWWWWWWWWWWWWWWW) /DA (/Helv 20 Tf 0 g) /F 4 /Rect [72 500 520 560] /P 3 0 R /AP << /N 7 0 R >> >>",
				fmt.Sprintf("<< /Type /XObject /Subtype /Form /BBox [0 0 448 60] /Resources << /Font << /Helv 5 0 R >> >> /Length %d >>\nstream\n%s\nendstream", len(ap), ap),
			})
			d := signBT(t, fx, base, testdoc.SignOptions{})
			f, err := pdfscan.Parse(d, pdfscan.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			root := f.Root(len(f.Revisions) - 1)
			afv := root.Get("AcroForm")
			if afv.Kind != pdfscan.Dictionary {
				t.Skip("the signing library made the form indirect itself")
			}
			afSrc := string(d[afv.Pos:afv.End])
			_, next := testdoc.Object(t, d, 1)
			rootNum, cat := catalogWith(t, d, "")
			cat = strings.Replace(cat, afSrc, fmt.Sprintf("%d 0 R", next), 1)
			step1 := incr(t, d, map[int]string{rootNum: cat, next: afSrc}, incrOpts{})
			if rep := verify(t, fx.online, step1); rep.Status.MainIndication != report.TotalPassed {
				dump(t, rep)
				t.Fatalf("making the form indirect without changing it: %s", rep.Status.MainIndication)
			}
			forged := strings.TrimSuffix(strings.TrimSpace(afSrc), ">>") + " /NeedAppearances true >>"
			return d, incr(t, step1, map[int]string{next: forged}, incrOpts{})
		}, proveDifferent},
	}
}

// TestAttacks builds each attack on a document signed with a PAdES
// signature, proves that poppler shows the forged content, and requires
// the verifier to fail the signature or refuse the file.
func TestAttacks(t *testing.T) {
	fx := newFixture(t)
	for _, a := range attacks() {
		t.Run(a.name, func(t *testing.T) {
			signed, forged := a.build(t, fx)
			if rep := verify(t, fx.online, signed); rep.Status.MainIndication != report.TotalPassed {
				dump(t, rep)
				t.Fatalf("the signed document does not pass: %s", rep.Status.MainIndication)
			}
			a.prove(t, signed, forged)
			rep, err := fx.online.Verify(context.Background(), Input{Name: "forged.pdf", Data: forged})
			if err != nil {
				if !errors.Is(err, ErrUnreadable) {
					t.Fatalf("verify: %v", err)
				}
				return // refused
			}
			if rep.Status.MainIndication != report.TotalFailed {
				dump(t, rep)
				t.Fatalf("forged document: %s/%s, want TOTAL-FAILED", rep.Status.MainIndication, rep.Status.SubIndication)
			}
			for _, c := range rep.Changes {
				if !c.Allowed {
					t.Logf("revision %d: %s: %s", c.Revision, c.Kind, c.Detail)
				}
			}
			for _, s := range rep.Signatures {
				if s.Status.SubIndication == report.HashFailure {
					t.Fatalf("%s: HASH_FAILURE although its signed bytes are intact", s.ID)
				}
			}
		})
	}
}

// An update of a few kilobytes whose compressed xref stream declares a
// million entries is refused with a clear failure, with bounded memory and
// a small report.
func TestXRefStreamAmplification(t *testing.T) {
	fx := newFixture(t)
	d := fx.pki.Sign(t, fx.plain, testdoc.SignOptions{Signer: fx.signer})
	f, err := pdfscan.Parse(d, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	last := len(f.Revisions) - 1
	e, _, _ := f.Lookup(last, 4)
	const n = 1_000_000
	rows := make([]byte, 0, 7*n)
	for range n {
		rows = append(rows, 1, byte(e.Offset>>24), byte(e.Offset>>16), byte(e.Offset>>8), byte(e.Offset), 0, 0)
	}
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	zw.Write(rows)
	zw.Close()
	var b bytes.Buffer
	b.Write(d)
	off := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Index [1 %d] /Root %d 0 R /Prev %d /Filter /FlateDecode /Length %d >>\nstream\n", n+1, n+2, n, testdoc.RootNum(t, d), f.Revisions[last].StartXref, z.Len())
	b.Write(z.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", off)
	doc := b.Bytes()
	if upd := len(doc) - len(d); upd > 16<<10 {
		t.Fatalf("the update is %d bytes, want a small one", upd)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rep, err := fx.offl.Verify(context.Background(), Input{Name: "amplified.pdf", Data: doc})
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("verification allocated %d MB", alloc>>20)
	}
	if err != nil {
		if !errors.Is(err, ErrUnreadable) {
			t.Fatal(err)
		}
		return
	}
	if rep.Status.MainIndication == report.TotalPassed {
		t.Fatal("the amplified document passes")
	}
	var js bytes.Buffer
	if err := rep.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if js.Len() > 64<<10 {
		t.Errorf("report of %d bytes", js.Len())
	}
	t.Logf("%s/%s: %s", rep.Status.MainIndication, rep.Status.SubIndication, rep.Status.Detail)
}
