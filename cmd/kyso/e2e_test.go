package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kyso/auth"
	certstest "kyso/certs-test"
	"kyso/cmd/internal/devsetup"
)

// requireTool fails under CI and skips elsewhere when a tool is missing.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (make test installs it)", name)
		}
		t.Skipf("%s not installed", name)
	}
}

// The wired server, as `kyso serve` runs it, checked with tools nobody here
// wrote: a chip-verified citizen gets a certificate that openssl verifies,
// signs a PDF at B-LT that pdfsig (NSS, fetching OCSP from the server)
// trusts, and a revocation shows in openssl's OCSP answer and in the CRL.
func TestServerWithOutsideTools(t *testing.T) {
	for _, tool := range []string{"openssl", "pdfsig", "certutil"} {
		requireTool(t, tool)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	b := startServer(t, newTestEnvAt(t, base))
	_, officer, err := b.principals.Add(context.Background(), auth.AddRequest{Role: auth.RoleOfficer, Name: "officer"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(b.server)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	defer ts.Close()
	dir := t.TempDir()

	// Identity from a synthetic card under the dev CSCA.
	chip, err := certstest.NewChip(certstest.ChipOptions{ID: "079203004567", Name: "Trần Thị Bình", IssuerSeed: devsetup.IssuerSeed})
	if err != nil {
		t.Fatal(err)
	}
	var ch struct {
		ID    string `json:"challenge_id"`
		Nonce string `json:"nonce"`
	}
	call(t, "POST", base+"/v1/identity/challenges", "", "", nil, 201, &ch)
	nonce, _ := base64.StdEncoding.DecodeString(ch.Nonce)
	aa, err := chip.Answer(nonce)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	body, _ := json.Marshal(map[string]string{"challenge_id": ch.ID, "sod": b64(chip.SOD), "dg1": b64(chip.DG1), "dg13": b64(chip.DG13),
		"dg15": b64(chip.DG15), "dg14": b64(chip.DG14), "aa_signature": b64(aa)})
	var ver struct {
		Assertion string `json:"assertion"`
	}
	call(t, "POST", base+"/v1/identity/verifications", "", "application/json", body, 201, &ver)

	// A free certificate with a remote key.
	var cert struct {
		Serial, CredentialID, Certificate, Chain string
		Shard                                    int `json:"crl_shard"`
	}
	var raw map[string]any
	call(t, "POST", base+"/v1/certificates", ver.Assertion, "application/json", []byte(`{"key":"remote","pin":"493817"}`), 201, &raw)
	cert.Serial, cert.CredentialID = raw["serial"].(string), raw["credential_id"].(string)
	cert.Certificate, cert.Chain, cert.Shard = raw["certificate"].(string), raw["chain"].(string), int(raw["crl_shard"].(float64))
	var bundle []byte
	bundle = callRaw(t, "GET", base+"/v1/ca/certificates", "", "", nil, 200)
	blk, _ := pem.Decode(bundle)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := write("root.pem", pem.EncodeToMemory(blk))
	leaf := write("leaf.pem", []byte(cert.Certificate))
	issuing := write("issuing.pem", []byte(cert.Chain))
	out := tool(t, "openssl", "verify", "-CAfile", root, "-untrusted", issuing, leaf)
	if !strings.Contains(out, ": OK") {
		t.Fatalf("openssl verify: %s", out)
	}
	text := tool(t, "openssl", "x509", "-in", leaf, "-noout", "-text")
	for _, want := range []string{"CCCD:079203004567", "Non Repudiation", "E-mail Protection", "1.3.6.1.5.5.7.3.36", base + "/ocsp", base + "/crl/"} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate lacks %q", want)
		}
	}

	// A PDF signed at B-LT, checked by pdfsig with the root in an NSS db.
	pdf, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "application.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	signPDF := func(level string) []byte {
		var mp bytes.Buffer
		mw := multipart.NewWriter(&mp)
		fw, _ := mw.CreateFormFile("file", "application.pdf")
		fw.Write(pdf)
		for k, v := range map[string]string{"credential_id": cert.CredentialID, "pin": "493817", "level": level} {
			mw.WriteField(k, v)
		}
		mw.Close()
		return callRaw(t, "POST", base+"/v1/sign/pdf", ver.Assertion, mw.FormDataContentType(), mp.Bytes(), 200)
	}
	signed := signPDF("B-LT")
	// The service's verifier judges both a B-LT file and a B-B one (whose
	// revocation status it asks its own OCSP responder for) TOTAL-PASSED.
	for level, doc := range map[string][]byte{"B-LT": signed, "B-B": signPDF("B-B")} {
		var rep struct {
			ValidationStatus struct{ MainIndication, SubIndication string }
		}
		call(t, "POST", base+"/v1/verify", "", "application/pdf", doc, 200, &rep)
		if rep.ValidationStatus.MainIndication != "TOTAL-PASSED" {
			t.Errorf("%s: /v1/verify says %+v", level, rep.ValidationStatus)
		}
	}
	signedPath := write("signed.pdf", signed)
	nss := filepath.Join(dir, "nss")
	os.Mkdir(nss, 0o700)
	tool(t, "certutil", "-N", "-d", "sql:"+nss, "--empty-password")
	tool(t, "certutil", "-A", "-d", "sql:"+nss, "-n", "root", "-t", "CT,C,C", "-i", root)
	out = tool(t, "pdfsig", "-nssdir", "sql:"+nss, signedPath)
	if !strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Certificate is Trusted") {
		t.Fatalf("pdfsig:\n%s", out)
	}
	if !bytes.Contains(signed, []byte("/DSS")) {
		t.Fatal("B-LT file has no /DSS")
	}

	// An e-result sealed by the agency is trusted by pdfsig as well.
	_, agency, err := b.principals.Add(context.Background(), auth.AddRequest{Role: auth.RoleAgency, AgencyCode: devsetup.Agency, Name: "agency"})
	if err != nil {
		t.Fatal(err)
	}
	var seals struct {
		CredentialIDs []string `json:"credentialIDs"`
	}
	call(t, "POST", base+"/csc/v2/credentials/list", agency, "application/json", []byte(`{}`), 200, &seals)
	if len(seals.CredentialIDs) == 0 {
		t.Fatal("the dev agency has no seal")
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("file", "result.pdf")
	fw.Write(pdf)
	mw.WriteField("seal_id", seals.CredentialIDs[0])
	mw.WriteField("level", "B-LT")
	mw.WriteField("certify", "true")
	mw.Close()
	sealed := write("sealed.pdf", callRaw(t, "POST", base+"/v1/sign/pdf", agency, mw.FormDataContentType(), mp.Bytes(), 200))
	if out := tool(t, "pdfsig", "-nssdir", "sql:"+nss, sealed); !strings.Contains(out, "Signature is Valid") || !strings.Contains(out, "Certificate is Trusted") {
		t.Fatalf("pdfsig on the agency seal:\n%s", out)
	}
	// The sealed e-result extended to B-LTA (DSS and an archive
	// time-stamp): the service's verifier and pdfsig still accept it.
	sealedPDF, err := os.ReadFile(sealed)
	if err != nil {
		t.Fatal(err)
	}
	mp.Reset()
	mw = multipart.NewWriter(&mp)
	fw, _ = mw.CreateFormFile("file", "sealed.pdf")
	fw.Write(sealedPDF)
	mw.Close()
	extended := callRaw(t, "POST", base+"/v1/sign/extend", agency, mw.FormDataContentType(), mp.Bytes(), 200)
	if !bytes.HasPrefix(extended, sealedPDF) {
		t.Fatal("the extension rewrote the sealed revisions")
	}
	var extRep struct {
		ValidationStatus          struct{ MainIndication string }
		SignatureValidationReport []struct{ SignatureLevel string }
	}
	call(t, "POST", base+"/v1/verify", "", "application/pdf", extended, 200, &extRep)
	if extRep.ValidationStatus.MainIndication != "TOTAL-PASSED" || len(extRep.SignatureValidationReport) == 0 || extRep.SignatureValidationReport[0].SignatureLevel != "PAdES-BASELINE-LTA" {
		t.Errorf("/v1/verify on the extended e-result: %+v", extRep)
	}
	if out := tool(t, "pdfsig", "-nssdir", "sql:"+nss, write("extended.pdf", extended)); !strings.Contains(out, "Signature is Valid") {
		t.Fatalf("pdfsig on the extended e-result:\n%s", out)
	}
	callRaw(t, "POST", base+"/v1/sign/extend", agency, "application/pdf", sealedPDF, 415)
	// kyso sign extend against the server does the same (its flags may
	// also follow the file, as the JWS case below writes them).
	cliOut := filepath.Join(dir, "extended-cli.pdf")
	if code, _, errs := runCLI(t, []string{"KYSO_TOKEN=" + agency}, "sign", "extend", "--server", base, "--out", cliOut, sealed); code != exitOK {
		t.Fatalf("kyso sign extend: exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(cliOut); err != nil || !bytes.HasPrefix(b, sealedPDF) || !bytes.Contains(b[len(sealedPDF):], []byte("/DocTimeStamp")) {
		t.Fatalf("kyso sign extend output: %d bytes, %v", len(b), err)
	}

	// A JAdES signature by the agency seal extended to B-LTA on the server
	// and with kyso sign extend: an archive time-stamp, the signed JWS
	// components unchanged, JAdES-BASELINE-LTA for the verifier.
	jwsBT := callRaw(t, "POST", base+"/v1/sign/jws", agency, "application/json",
		[]byte(`{"payload":{"form":"TK01"},"serialization":"json","level":"B-T","seal_id":"`+seals.CredentialIDs[0]+`"}`), 200)
	mp.Reset()
	mw = multipart.NewWriter(&mp)
	fw, _ = mw.CreateFormFile("file", "form.jws.json")
	fw.Write(jwsBT)
	mw.Close()
	jwsLTA := callRaw(t, "POST", base+"/v1/sign/extend", agency, mw.FormDataContentType(), mp.Bytes(), 200)
	var btFlat, ltaFlat struct{ Payload, Protected, Signature string }
	if json.Unmarshal(jwsBT, &btFlat) != nil || json.Unmarshal(jwsLTA, &ltaFlat) != nil || btFlat != ltaFlat || !bytes.Contains(jwsLTA, []byte(`"etsiU":["`)) {
		t.Fatalf("extended JWS:\n%s", jwsLTA)
	}
	var jwsRep struct {
		ValidationStatus          struct{ MainIndication string }
		SignatureValidationReport []struct{ SignatureLevel string }
	}
	call(t, "POST", base+"/v1/verify", "", "application/jose+json", jwsLTA, 200, &jwsRep)
	if jwsRep.ValidationStatus.MainIndication != "TOTAL-PASSED" || len(jwsRep.SignatureValidationReport) == 0 || jwsRep.SignatureValidationReport[0].SignatureLevel != "JAdES-BASELINE-LTA" {
		t.Errorf("/v1/verify on the extended JWS: %+v", jwsRep)
	}
	cliJWS := filepath.Join(dir, "renewed.jws.json")
	if code, _, errs := runCLI(t, []string{"KYSO_TOKEN=" + agency}, "sign", "extend", write("lta.jws.json", jwsLTA), "--server", base, "--out", cliJWS); code != exitOK {
		t.Fatalf("kyso sign extend (JWS): exit %d: %s", code, errs)
	}
	if b, err := os.ReadFile(cliJWS); err != nil || bytes.Count(b, []byte(`"etsiU"`)) != 1 || len(b) <= len(jwsLTA) {
		t.Fatalf("kyso sign extend (JWS) output: %d bytes, %v", len(b), err)
	}

	// Revocation: good, then revoked in OCSP at once and in its CRL shard.
	ocspArgs := []string{"ocsp", "-issuer", issuing, "-cert", leaf, "-url", base + "/ocsp", "-CAfile", root}
	if out := tool(t, "openssl", ocspArgs...); !strings.Contains(out, leaf+": good") {
		t.Fatalf("openssl ocsp before revocation:\n%s", out)
	}
	call(t, "POST", base+"/v1/certificates/"+cert.Serial+"/revoke", officer, "application/json", []byte(`{"reason":"keyCompromise"}`), 200, &raw)
	if out := tool(t, "openssl", ocspArgs...); !strings.Contains(out, leaf+": revoked") || !strings.Contains(out, "keyCompromise") {
		t.Fatalf("openssl ocsp after revocation:\n%s", out)
	}
	crl := write("shard.crl", callRaw(t, "GET", base+"/crl/citizen-1/"+itoa(cert.Shard)+".crl", "", "", nil, 200))
	out = tool(t, "openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", issuing, "-noout", "-text")
	if !strings.Contains(strings.ToUpper(out), strings.ToUpper(cert.Serial)) {
		t.Fatalf("revoked serial not in its shard:\n%s", out)
	}

	// The HSM counters show the signatures.
	metrics := string(callRaw(t, "GET", base+"/metrics", "", "", nil, 200))
	if !strings.Contains(metrics, `kyso_hsm_operations_total{key="citizen-keys"`) {
		t.Errorf("no HSM counter for citizen keys in /metrics")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && name != "pdfsig" {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func callRaw(t *testing.T, method, url, token, ctype string, body []byte, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
	return b
}

func call(t *testing.T, method, url, token, ctype string, body []byte, want int, out any) {
	t.Helper()
	if err := json.Unmarshal(callRaw(t, method, url, token, ctype, body, want), out); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
}
