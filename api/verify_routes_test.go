package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
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
	"kyso/verifier"
)

// The verifier's golden fixtures: a PAdES B-LTA document signed at fixed
// times, its root, and the same document with a page added after signing.
const (
	verifyFixtures = "../verifier/testdata"
	verifyAt       = "2026-01-15T08:00:00Z"
)

func newVerifyServer(t *testing.T) *httptest.Server {
	t.Helper()
	roots, err := verifier.LoadCertificates(filepath.Join(verifyFixtures, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	at, _ := time.Parse(time.RFC3339, verifyAt)
	area, err := api.NewVerifyArea(verifier.New(verifier.Options{Roots: roots, At: at}), nil)
	if err != nil {
		t.Fatal(err)
	}
	area.MaxDocument = 1 << 20
	srv := httptest.NewServer(api.New(api.Deps{}, area))
	t.Cleanup(srv.Close)
	return srv
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(verifyFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyAPI(t *testing.T) {
	srv := newVerifyServer(t)
	lta, added := readFixture(t, "lta.pdf"), readFixture(t, "page-added.pdf")
	multi := func(field string, doc []byte) (string, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile(field, "doc.pdf")
		fw.Write(doc)
		mw.Close()
		return mw.FormDataContentType(), b.Bytes()
	}
	mct, mbody := multi("file", lta)
	nct, nbody := multi("other", lta)
	for _, tc := range []struct {
		name, ct   string
		body       []byte
		status     int
		indication string
		code       string
	}{
		{"raw pdf", "application/pdf", lta, 200, "TOTAL-PASSED", ""},
		{"page added", "application/pdf", added, 200, "TOTAL-FAILED", ""},
		{"multipart", mct, mbody, 200, "TOTAL-PASSED", ""},
		{"multipart without file", nct, nbody, 400, "", "missing-file"},
		{"not a document", "application/pdf", []byte("hello"), 422, "", "unreadable-document"},
		{"wrong media type", "text/plain", lta, 415, "", "unsupported-media-type"},
		{"too large", "application/pdf", bytes.Repeat([]byte("%PDF-"), 1<<19), 413, "", "body-too-large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+"/v1/verify", tc.ct, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc map[string]any
			json.NewDecoder(resp.Body).Decode(&doc)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, doc)
			}
			if tc.indication != "" {
				st, _ := doc["ValidationStatus"].(map[string]any)
				if st["MainIndication"] != tc.indication {
					t.Fatalf("indication %v, want %s", st, tc.indication)
				}
			}
			if tc.code != "" && doc["code"] != tc.code {
				t.Fatalf("code %v, want %s", doc["code"], tc.code)
			}
		})
	}
}

func requireChromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is required: apt-get install -y chromium")
	}
	t.Skip("chromium not installed (apt-get install -y chromium)")
	return ""
}

// TestVerifyPageInBrowser uploads signed PDFs through the /verify page in
// headless Chromium and reads the verdict a clerk sees.
func TestVerifyPageInBrowser(t *testing.T) {
	chromium := requireChromium(t)
	srv := newVerifyServer(t)
	artifacts := os.Getenv("KYSO_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.ArtifactDir() // kept under the output directory with go test -artifacts
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 1600),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	for _, tc := range []struct {
		file, want, shot string
	}{
		{"lta.pdf", "Valid", "verify-passed.png"},
		{"page-added.pdf", "Invalid", "verify-failed.png"},
	} {
		upload, err := filepath.Abs(filepath.Join(verifyFixtures, tc.file)) // the browser needs an absolute path
		if err != nil {
			t.Fatal(err)
		}
		err = chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/verify"),
			chromedp.WaitVisible(chromedp.ID("file")),
			chromedp.SetUploadFiles(chromedp.ID("file"), []string{upload}),
			chromedp.Click(chromedp.ID("submit")),
			chromedp.WaitVisible(chromedp.ID("report")),
		)
		if err != nil {
			t.Fatalf("%s: browser: %v", tc.file, err)
		}
		verdict, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("verdict")))
		if err != nil {
			t.Fatalf("%s: verdict: %v", tc.file, err)
		}
		signer, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("report")))
		if err != nil {
			t.Fatalf("%s: report: %v", tc.file, err)
		}
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("%s: screenshot: %v", tc.file, err)
		}
		if !strings.HasPrefix(verdict, tc.want) {
			t.Fatalf("%s: verdict %q, want %q…", tc.file, verdict, tc.want)
		}
		if !strings.Contains(signer, "Nguyễn Văn An") || !strings.Contains(signer, "CCCD:001234567890") {
			t.Fatalf("%s: the page does not name the signer:\n%s", tc.file, signer)
		}
		if err := os.WriteFile(filepath.Join(artifacts, tc.shot), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s (screenshot %s)", tc.file, verdict, filepath.Join(artifacts, tc.shot))
	}
}
