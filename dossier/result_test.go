package dossier_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kyso/audit"
	"kyso/auth"
	"kyso/dossier"
	"kyso/dossier/dossiertest"
	"kyso/signer/signertest"
	"kyso/store/storetest"
)

// tool runs an outside tool and returns its standard output.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	bin := signertest.NeedTool(t, name)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s%s", name, err, out, stderr.Bytes())
	}
	return string(out)
}

type resultEnv struct {
	svc    *dossier.Service
	sealer *dossiertest.Sealer
	mai    *auth.Principal
	agency *auth.Principal
}

func newResultEnv(t *testing.T) *resultEnv {
	ctx := context.Background()
	db := storetest.SQLite(t)
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sealer := dossiertest.NewSealer(t, db)
	svc, err := dossier.New(ctx, dossier.Config{DB: db, Audit: log, EventKey: key, Sealer: sealer,
		Forms: dossiertest.AcceptForms{}, PublicURL: "https://kyso.example.vn/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dossier.SeedDemoAgencies(ctx, svc.Agencies()); err != nil {
		t.Fatal(err)
	}
	mai := &auth.Principal{Role: auth.RoleCitizen, Subject: "001099008888", Name: "Nguyen Thi Mai",
		// Decomposed on purpose: the document prints the NFC form.
		Assertion: &auth.Assertion{Subject: "001099008888", Name: "Nguye\u0302\u0303n Thị Mai"}}
	return &resultEnv{svc: svc, sealer: sealer, mai: mai,
		agency: &auth.Principal{Role: auth.RoleAgency, Subject: "p-7f3a9c", Name: "Cổng dịch vụ công", AgencyCode: "UBND-HN-BD"}}
}

func (e *resultEnv) decided(t *testing.T) *dossier.Dossier {
	t.Helper()
	ctx := context.Background()
	d, err := e.svc.Submit(ctx, e.mai, dossier.SubmitRequest{ProcedureCode: "1.001193", AgencyCode: "UBND-HN-BD", Form: dossier.Form{JWS: "a.b.c"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Receive(ctx, e.agency, d.ID, nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DecideAs(ctx, e.agency, d.ID, dossier.DecisionApprove, "Hồ sơ hợp lệ, đủ điều kiện.",
		dossier.Officer{Name: "Trần Văn Bình", Title: "Phó Chủ tịch"}); err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *resultEnv) result(t *testing.T, id string) (string, []byte) {
	t.Helper()
	pdf, _, err := e.svc.Result(context.Background(), e.agency, id)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), id+".pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("KYSO_TEST_ARTIFACTS"); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, "e-result.pdf"), pdf, 0o644)
	}
	return path, pdf
}

// The generated e-result is in the administrative format, names the
// applicant and the deciding officer exactly (never an internal id),
// carries a QR code to its verification page and a visible seal stamp,
// and pdfsig validates the seal.
func TestGeneratedResultAdministrativeFormat(t *testing.T) {
	e := newResultEnv(t)
	d := e.decided(t)
	signed, err := e.svc.SignResult(context.Background(), e.agency, d.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if signed.ResultNumber != "1/KQ-UBND-HN-BD" || signed.ApplicantName != "Nguyễn Thị Mai" || signed.DecidedByName != "Trần Văn Bình" {
		t.Fatalf("dossier %+v", signed)
	}
	path, _ := e.result(t, d.ID)

	text := tool(t, "pdftotext", "-raw", path, "-")
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
		"ỦY BAN NHÂN DÂN QUẬN BA ĐÌNH", "Số: 1/KQ-UBND-HN-BD", "Hà Nội, ngày", "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH",
		"Người nộp hồ sơ: Nguyễn Thị Mai", "Số định danh cá nhân (CCCD): 001099008888", "Kết quả giải quyết: Chấp thuận",
		"Người quyết định: Trần Văn Bình, Phó Chủ tịch", "PHÓ CHỦ TỊCH", "Nơi nhận:", "Ông/Bà Nguyễn Thị Mai;",
		"Hồ sơ hợp lệ, đủ điều kiện.", "https://kyso.example.vn/verify/r/" + d.ID,
		// The seal's visible stamp.
		"Ký bởi: UBND-HN-BD", "Thời gian ký:", "Lý do: Kết quả giải quyết thủ tục hành chính"} {
		if !strings.Contains(flat, want) {
			t.Errorf("e-result text lacks %q:\n%s", want, text)
		}
	}
	for _, leak := range []string{"p-7f3a9c", "Cổng dịch vụ công"} {
		if strings.Contains(text, leak) {
			t.Errorf("e-result shows the principal %q", leak)
		}
	}

	nss := signertest.NSSDB(t, e.sealer.PKI.Root.Cert)
	if out := tool(t, "pdfsig", "-nssdir", "sql:"+nss, path); !strings.Contains(out, "Signature is Valid") {
		t.Errorf("pdfsig:\n%s", out)
	}
	fonts := tool(t, "pdffonts", path)
	n := 0
	for _, l := range strings.Split(fonts, "\n") {
		if f := strings.Fields(l); strings.Contains(l, "DejaVu") {
			n++
			if !strings.Contains(f[0], "+") || f[len(f)-5] != "yes" || f[len(f)-4] != "yes" || f[len(f)-3] != "yes" {
				t.Errorf("font not embedded, subset and with ToUnicode: %q", l)
			}
		}
	}
	if n < 3 {
		t.Errorf("want the page's two fonts and the stamp's:\n%s", fonts)
	}

	png := filepath.Join(t.TempDir(), "page")
	tool(t, "pdftoppm", "-r", "150", "-png", "-singlefile", path, png)
	if got := strings.TrimSpace(tool(t, "zbarimg", "--quiet", "--raw", png+".png")); got != e.svc.VerifyURL(d.ID) {
		t.Errorf("QR code %q, want %q", got, e.svc.VerifyURL(d.ID))
	}

	// Numbers run per agency and year.
	d2 := e.decided(t)
	signed2, err := e.svc.SignResultWith(context.Background(), e.agency, d2.ID, dossier.ResultOptions{Invisible: true})
	if err != nil {
		t.Fatal(err)
	}
	if signed2.ResultNumber != "2/KQ-UBND-HN-BD" {
		t.Errorf("second number %q", signed2.ResultNumber)
	}
	_, pdf2 := e.result(t, d2.ID)
	if bytes.Contains(pdf2, []byte("/CIDFontType2")) && bytes.Count(pdf2, []byte("/CIDFontType2")) > 2 {
		t.Error("an invisible seal drew a stamp")
	}
}

// An agency's own PDF is sealed as uploaded, with the stamp where the
// request puts it; bad rectangles are refused.
func TestUploadedResultStampPlacement(t *testing.T) {
	e := newResultEnv(t)
	ctx := context.Background()
	d := e.decided(t)
	page := signertest.PDF(t, signertest.PDFOptions{Pages: 2})
	if _, err := e.svc.SignResultWith(ctx, e.agency, d.ID, dossier.ResultOptions{PDF: page, Stamp: &dossier.Stamp{Page: 0, Width: 10, Height: 10}}); code(err) != "bad-appearance" {
		t.Fatalf("page 0: %v", err)
	}
	if _, err := e.svc.SignResultWith(ctx, e.agency, d.ID, dossier.ResultOptions{PDF: page, Stamp: &dossier.Stamp{Page: 2, X: 300, Y: 700, Width: 250, Height: 80}}); err != nil {
		t.Fatal(err)
	}
	path, _ := e.result(t, d.ID)
	if text := tool(t, "pdftotext", "-f", "2", "-l", "2", path, "-"); !strings.Contains(text, "Ký bởi: UBND-HN-BD") {
		t.Errorf("page 2 lacks the stamp:\n%s", text)
	}
	if text := tool(t, "pdftotext", "-f", "1", "-l", "1", path, "-"); strings.Contains(text, "Ký bởi") {
		t.Errorf("page 1 has the stamp:\n%s", text)
	}
	_ = time.Now
}
