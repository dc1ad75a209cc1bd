package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"kyso/audit"
	"kyso/auth"
	"kyso/cmd/internal/devsetup"
	"kyso/dossier/demo"
)

// kyso-dev demo against the server as kyso serve wires it: the synthetic
// citizen goes from chip verification to a verified, agency-sealed
// e-result, and the audit chain holds afterwards.
func TestDemoAgainstTheWiredServer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	e := newTestEnvAt(t, base)
	b := startServer(t, e)
	ctx := context.Background()
	rec, token, err := b.principals.Add(ctx, auth.AddRequest{Role: auth.RoleAgency, AgencyCode: devsetup.Agency, Name: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(b.server)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	defer ts.Close()

	creds, _ := json.Marshal(demo.Credentials{BaseURL: base, Agency: demo.Principal{ID: rec.ID, Agency: devsetup.Agency, Token: token}})
	credsFile := filepath.Join(t.TempDir(), "dev-credentials.json")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	outDir := t.TempDir()
	// The demo generates its card; its CSCA is the one the dev setup trusts.
	if err := demo.Run(ctx, demo.Options{CredentialsFile: credsFile, ChipDir: filepath.Join(t.TempDir(), "chip"), Out: &out, OutDir: outDir}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	checkDemoFiles(t, base, outDir)
	if !strings.Contains(out.String(), "third-party verification: TOTAL-PASSED") || !strings.Contains(out.String(), "PAdES-BASELINE-L") {
		t.Fatalf("demo output:\n%s", out.String())
	}
	l, err := audit.New(ctx, e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, vkey, err := logNoteSigner(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	waitSequenced(t, l)
	rep, err := l.Verify(ctx, audit.VerifyOptions{Verifier: v})
	if err != nil || rep.Divergence != nil || rep.Entries < 10 {
		t.Fatalf("audit log after the demo: %+v %v", rep, err)
	}

	// The e-result download names the audit entry of its signing; its
	// receipt, fetched over HTTP, verifies offline with kyso audit
	// verify-receipt and the key the log publishes, and names the
	// downloaded file's SHA-256.
	var dossierID string
	if err := e.db.QueryRowContext(ctx, "SELECT id FROM dossiers").Scan(&dossierID); err != nil {
		t.Fatal(err)
	}
	resp := httpGet(t, base+"/v1/dossiers/"+dossierID+"/result", token)
	entry := resp.Header.Get("Kyso-Audit-Entry")
	if resp.StatusCode != 200 || entry == "" || !strings.Contains(resp.Header.Get("Link"), "/v1/audit/receipts/"+entry) {
		t.Fatalf("e-result download: %d, entry %q", resp.StatusCode, entry)
	}
	sum := sha256.Sum256(resp.body)
	waitSequenced(t, l)
	receipt := httpGet(t, base+"/v1/audit/receipts/"+entry, "")
	key := httpGet(t, base+"/v1/audit/key", "")
	if receipt.StatusCode != 200 || key.StatusCode != 200 {
		t.Fatalf("receipt %d, key %d", receipt.StatusCode, key.StatusCode)
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "receipt.json"), receipt.body, 0o600)
	_ = os.WriteFile(filepath.Join(dir, "log.vkey"), key.body, 0o600)
	code, cliOut, errs := runCLI(t, nil, "audit", "verify-receipt", filepath.Join(dir, "receipt.json"), "--key", filepath.Join(dir, "log.vkey"))
	if code != exitOK || !strings.Contains(cliOut, "receipt OK: entry "+entry+" (dossier.sign-result on dossier/"+dossierID) {
		t.Fatalf("verify-receipt: %d\n%s%s", code, cliOut, errs)
	}
	var rc audit.Receipt
	if err := json.Unmarshal(receipt.body, &rc); err != nil {
		t.Fatal(err)
	}
	logged, err := audit.ParseEntry(rc.Entry)
	if err != nil || logged.Details["result_sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("the receipt's entry does not name the downloaded e-result: %+v %v", logged, err)
	}
}

type httpResult struct {
	*http.Response
	body []byte
}

func httpGet(t *testing.T, url, token string) httpResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResult{resp, b}
}

// checkDemoFiles reads the demo's e-result with outside tools: pdftotext
// finds the title, the citizen's full name and the deciding officer,
// zbarimg reads a QR code whose page says TOTAL-PASSED, and the copy the
// citizen signed shows her name exactly in its stamp while pdfsig
// validates both signatures.
func checkDemoFiles(t *testing.T, base, dir string) {
	t.Helper()
	for _, name := range []string{"pdftotext", "pdftoppm", "zbarimg", "pdfsig", "certutil"} {
		if _, err := exec.LookPath(name); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required (scripts/deps.sh test)", name)
			}
			t.Logf("%s not installed: e-result files not checked", name)
			return
		}
	}
	result, signed := filepath.Join(dir, "e-result.pdf"), filepath.Join(dir, "e-result-signed.pdf")
	if art := os.Getenv("KYSO_TEST_ARTIFACTS"); art != "" {
		for _, f := range []string{result, signed} {
			if b, err := os.ReadFile(f); err == nil && os.MkdirAll(art, 0o755) == nil {
				_ = os.WriteFile(filepath.Join(art, "demo-"+filepath.Base(f)), b, 0o644)
			}
		}
	}
	text := tool(t, "pdftotext", result, "-")
	for _, want := range []string{"KẾT QUẢ", "Nguyễn Thị Mai", "Trần Văn Bình", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
		// The seal's stamp: the agency, its organisation and email.
		"Ký bởi: UBND Thành phố Hà Nội", "Cơ quan: Thành phố Hà Nội", "Email: vanphong@hanoi.gov.vn"} {
		if !strings.Contains(text, want) {
			t.Errorf("e-result lacks %q:\n%s", want, text)
		}
	}
	tool(t, "pdftoppm", "-r", "150", "-png", "-singlefile", result, filepath.Join(dir, "page"))
	url := strings.TrimSpace(string(mustOutput(t, "zbarimg", "--quiet", "--raw", filepath.Join(dir, "page.png"))))
	if !strings.HasPrefix(url, base+"/verify/r/dos_") {
		t.Fatalf("QR code %q", url)
	}
	if page := string(callRaw(t, "GET", url, "", "", nil, 200)); !strings.Contains(page, "TOTAL-PASSED") {
		t.Fatalf("the QR code's page:\n%s", page)
	}
	if text := tool(t, "pdftotext", signed, "-"); !strings.Contains(text, "Ký bởi: Nguyễn Thị Mai") {
		t.Errorf("the citizen's stamp:\n%s", text)
	}
	blk, _ := pem.Decode(callRaw(t, "GET", base+"/v1/ca/certificates", "", "", nil, 200))
	root := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(root, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	nss := filepath.Join(dir, "nss")
	os.Mkdir(nss, 0o700)
	tool(t, "certutil", "-N", "-d", "sql:"+nss, "--empty-password")
	tool(t, "certutil", "-A", "-d", "sql:"+nss, "-n", "root", "-t", "CT,C,C", "-i", root)
	out := tool(t, "pdfsig", "-nssdir", "sql:"+nss, signed)
	if strings.Count(out, "Signature is Valid") != 2 {
		t.Errorf("pdfsig on the citizen-signed e-result:\n%s", out)
	}
}

func mustOutput(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}
