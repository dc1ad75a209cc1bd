package api_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"kyso/api"
	"kyso/dossier"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/verifier"
)

// resultCheckEnv is the dossier environment with a service whose public
// URL is the test server's, so that e-results carry a working QR code.
func resultCheckEnv(t *testing.T) *dossierEnv {
	t.Helper()
	ctx := context.Background()
	e := newDossierEnv(t, storetest.SQLite(t))
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	svc, err := dossier.New(ctx, dossier.Config{DB: e.db, Audit: e.log, EventKey: e.key, Sealer: e.sealer, Forms: e.pki.Forms(),
		PublicURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	v := verifier.New(verifier.Options{Roots: []*x509.Certificate{e.sealer.PKI.Root.Cert}})
	check, err := api.NewResultCheckArea(svc, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	h = api.New(api.Deps{Principals: e.ps, Assertions: citizenTokens{"alice.jwt": aliceID, "bob.jwt": bobID}},
		api.NewDossierArea(svc, nil), check)
	e.svc, e.url = svc, srv.URL
	return e
}

func outside(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(signertest.NeedTool(t, name), args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.Bytes())
	}
	return string(out)
}

// The QR code of a sealed e-result, read by zbarimg from a poppler
// rendering, leads to a public page that says TOTAL-PASSED, compares files
// with the original by hash and shows nothing the document does not print.
func TestResultQRCodeLeadsToVerification(t *testing.T) {
	e := resultCheckEnv(t)
	id := e.submit(t)
	expect(t, e.json(t, "hn", "POST", "/v1/dossiers/"+id+"/receive", map[string]any{}), 200, "receive")
	expect(t, e.json(t, "hn", "POST", "/v1/dossiers/"+id+"/decisions", map[string]any{"decision": "approve",
		"officer_name": "Trần Văn Bình", "officer_title": "Phó Chủ tịch"}), 200, "decide")
	// Before sealing there is nothing to verify.
	expect(t, e.call(t, "", "GET", "/v1/verify/r/"+id, "", nil), 404, "unsealed")
	r := e.json(t, "hn", "POST", "/v1/dossiers/"+id+"/result", nil)
	expect(t, r, 200, "sign result")
	res := r.json["result"].(map[string]any)
	if res["number"] != "1/KQ-UBND-HN" || res["verify_href"] != "/verify/r/"+id {
		t.Fatalf("result view %v", res)
	}
	if dec := r.json["decision"].(map[string]any); dec["officer_name"] != "Trần Văn Bình" || dec["officer_title"] != "Phó Chủ tịch" {
		t.Fatalf("decision view %v", dec)
	}
	pdfReply := e.call(t, "hn", "GET", "/v1/dossiers/"+id+"/result", "", nil)
	expect(t, pdfReply, 200, "download")
	pdf := pdfReply.body
	dir := t.TempDir()
	path := filepath.Join(dir, "result.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	outside(t, "pdftoppm", "-r", "150", "-png", "-singlefile", path, filepath.Join(dir, "page"))
	url := strings.TrimSpace(outside(t, "zbarimg", "--quiet", "--raw", filepath.Join(dir, "page.png")))
	if url != e.url+"/verify/r/"+id {
		t.Fatalf("QR code %q", url)
	}
	text := outside(t, "pdftotext", path, "-")
	for _, want := range []string{"KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH", "Trần Văn Bình", "Citizen " + aliceID} {
		if !strings.Contains(text, want) {
			t.Errorf("e-result lacks %q", want)
		}
	}

	// The page the QR code opens.
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	_, _ = page.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(page.String(), "TOTAL-PASSED") {
		t.Fatalf("page %d:\n%s", resp.StatusCode, page.String())
	}
	for _, secret := range []string{aliceID, "household.pdf", "Citizen " + aliceID, "returned", "result_signed"} {
		if strings.Contains(page.String(), secret) {
			i := strings.Index(page.String(), secret)
			t.Errorf("the public page reveals %q: …%s…", secret, page.String()[max(0, i-300):i+100])
		}
	}

	// The JSON route.
	r = e.call(t, "", "GET", "/v1/verify/r/"+id, "", nil)
	expect(t, r, 200, "json check")
	if rep := r.json["report"].(map[string]any); rep["ValidationStatus"].(map[string]any)["MainIndication"] != "TOTAL-PASSED" {
		t.Fatalf("report %s", r.body)
	}
	if raw, _ := json.Marshal(r.json); bytes.Contains(raw, []byte(aliceID)) {
		t.Error("the JSON check reveals the applicant")
	}

	// Comparing files and digests.
	cmp := e.call(t, "", "POST", "/v1/verify/r/"+id, "application/pdf", pdf)
	expect(t, cmp, 200, "compare original")
	if cmp.json["matches"] != true {
		t.Fatalf("original does not match: %s", cmp.body)
	}
	forged := bytes.Replace(pdf, []byte("/Producer"), []byte("/Producex"), 1)
	if cmp = e.call(t, "", "POST", "/v1/verify/r/"+id, "application/pdf", forged); cmp.json["matches"] != false {
		t.Fatalf("a changed file matches: %s", cmp.body)
	}
	body, ctype := multipartBody(t, map[string]string{"sha256": strings.ToUpper(res["sha256"].(string))}, nil)
	if cmp = e.call(t, "", "POST", "/v1/verify/r/"+id, ctype, body); cmp.json["matches"] != true {
		t.Fatalf("typed digest: %s", cmp.body)
	}
	body, ctype = multipartBody(t, map[string]string{"sha256": "abc"}, nil)
	expect(t, e.call(t, "", "POST", "/v1/verify/r/"+id, ctype, body), 400, "bad digest")
	expect(t, e.call(t, "", "GET", "/v1/verify/r/dos_000000000000000000000000", "", nil), 404, "unknown")
	expect(t, e.call(t, "", "GET", "/v1/verify/r/..%2f..%2fetc", "", nil), 404, "bad id")
	if r := e.call(t, "", "GET", "/verify/r/dos_000000000000000000000000", "", nil); r.status != 404 || !strings.Contains(string(r.body), "No such e-result") {
		t.Fatalf("unknown page: %d %s", r.status, r.body)
	}

	screenshotResultPage(t, url, path)
}

// screenshotResultPage opens the page in headless Chromium, compares the
// downloaded file through the form and saves a screenshot.
func screenshotResultPage(t *testing.T, url, file string) {
	chromium := requireChromium(t)
	artifacts := os.Getenv("KYSO_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.ArtifactDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 1600))
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("report")),
		chromedp.SetUploadFiles(chromedp.ID("file"), []string{file}),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.ID("compare")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	indication, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("indication")))
	if err != nil {
		t.Fatal(err)
	}
	compare, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("compare")))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(indication, "TOTAL-PASSED") || !strings.Contains(compare, "identical to the original") {
		t.Fatalf("page says %q / %q", indication, compare)
	}
	if err := os.WriteFile(filepath.Join(artifacts, "verify-result.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("e-result page: %s (screenshot %s)", indication, filepath.Join(artifacts, "verify-result.png"))
}
