package ceremony_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kyso/audit"
	"kyso/ca"
	"kyso/ca/ceremony"
	"kyso/ca/lint"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/store/storetest"
)

func TestInitRefusesSecondRunAndWritesPEM(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	h := hsmtest.New(t)
	cfg := ceremony.DevConfig()
	cfg.OutputDir = t.TempDir()
	var out bytes.Buffer
	if err := ceremony.Init(ctx, cfg, h, db, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"root", "citizen-1", "agency-1", "ocsp-root", "ocsp-citizen-1", "ocsp-agency-1", "tsa-1", "service-seal-1", "tls-1", "identity", "audit-log", "seal-UBND-HN", "SHA256 Fingerprint="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Certificates (never keys) are written as PEM.
	entries, _ := os.ReadDir(cfg.OutputDir)
	if len(entries) != 12 { // with audit-log.pub, the log key's public key
		t.Errorf("%d files in output dir", len(entries))
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(cfg.OutputDir, e.Name()))
		if bytes.Contains(b, []byte("PRIVATE")) {
			t.Fatalf("%s holds a private key", e.Name())
		}
	}
	root := readPEM(t, filepath.Join(cfg.OutputDir, "root.pem"))
	citizen := readPEM(t, filepath.Join(cfg.OutputDir, "citizen-1.pem"))
	if err := citizen.CheckSignatureFrom(root); err != nil {
		t.Fatal(err)
	}
	if root.PublicKeyAlgorithm != x509.ECDSA || !root.IsCA {
		t.Fatal("root")
	}
	// A second ceremony refuses, on the same store or on a fresh one.
	if err := ceremony.Init(ctx, cfg, h, db, &out); !errors.Is(err, ceremony.ErrAlreadyInitialized) {
		t.Fatalf("second init on same store: %v", err)
	}
	if err := ceremony.Init(ctx, cfg, h, storetest.SQLite(t), &out); !errors.Is(err, ceremony.ErrAlreadyInitialized) {
		t.Fatalf("second init on same HSM: %v", err)
	}
	if ran, err := ceremony.InitIfNeeded(ctx, cfg, h, db, &out); ran || err != nil {
		t.Fatalf("InitIfNeeded on an initialised store: %v %v", ran, err)
	}
	// The store still loads and the keys are the first run's.
	c, err := ca.Load(ctx, db, h, ca.Config{BaseURL: cfg.BaseURL})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Root().Equal(root) {
		t.Fatal("root changed")
	}
	if c.IdentityKey() == nil {
		t.Fatal("no identity key")
	}
	seal, key, err := c.Seal(ctx, "UBND-HN")
	if err != nil || key == nil {
		t.Fatal(err)
	}
	sc, _ := seal.Certificate()
	// The agency's name, the organisation it belongs to and its official
	// email, which the visible stamp shows.
	if !strings.Contains(sc.Subject.String(), "MNS:1012345") || sc.Subject.CommonName != "UBND Thành phố Hà Nội" ||
		len(sc.Subject.Organization) != 1 || sc.Subject.Organization[0] != "Thành phố Hà Nội" {
		t.Fatalf("seal subject %s", sc.Subject)
	}
	if len(sc.EmailAddresses) != 1 || sc.EmailAddresses[0] != "vanphong@hanoi.gov.vn" {
		t.Fatalf("seal email %v", sc.EmailAddresses)
	}
	// The seal's certificate and credential were audited with them.
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for object, action := range map[string]string{"certificate:" + seal.CertSerial: "ca.certificate.issue", "credential:" + seal.ID: "credential.create"} {
		entries, err := alog.List(ctx, audit.Filter{Object: object})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Action != action {
			t.Fatalf("%s: audit entries %+v", object, entries)
		}
	}
	tsa, _ := c.TSA()
	if len(tsa.ExtKeyUsage) != 1 || tsa.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping {
		t.Fatal("tsa eku")
	}
	// Every ceremony certificate lints clean.
	l, _ := lint.New()
	recs, _ := ca.ListAuthorities(ctx, db)
	for _, r := range recs {
		if err := l.CheckDER(r.Cert.Raw); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
	}
}

func readPEM(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The ceremony's keys are private, sensitive and not extractable, as
// pkcs11-tool shows them.
func TestKeysNotExtractable(t *testing.T) {
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pkcs11-tool is required (apt-get install opensc)")
		}
		t.Skip("pkcs11-tool not installed")
	}
	ctx := context.Background()
	tok := hsmtest.NewToken(t)
	h := hsmtest.Open(t, tok, nil)
	cfg := ceremony.DevConfig()
	if err := ceremony.Init(ctx, cfg, h, storetest.SQLite(t), nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "--module", tok.Module, "--token-label", tok.TokenLabel, "--login", "--pin", tok.PIN, "-O", "--type", "privkey")
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+hsmtest.ConfPath(t))
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, outb)
	}
	out := string(outb)
	blocks := strings.Split(out, "Private Key Object")
	seen := map[string]bool{}
	for _, b := range blocks[1:] {
		label := ""
		for _, line := range strings.Split(b, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "label:") {
				label = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "label:"))
			}
		}
		seen[label] = true
		for _, want := range []string{"sensitive", "never extractable"} {
			if !strings.Contains(b, want) {
				t.Errorf("%s: pkcs11-tool does not show %q:\n%s", label, want, b)
			}
		}
		if strings.Contains(b, "  extractable") && !strings.Contains(b, "never extractable") {
			t.Errorf("%s is extractable", label)
		}
	}
	// Private (CKA_PRIVATE): without logging in, no key is visible.
	cmd = exec.Command(tool, "--module", tok.Module, "--token-label", tok.TokenLabel, "-O")
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+hsmtest.ConfPath(t))
	anon, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool without login: %v\n%s", err, anon)
	}
	if strings.Contains(string(anon), "Private Key Object") {
		t.Errorf("private keys are visible without login:\n%s", anon)
	}
	for _, l := range []string{ca.LabelRoot, "kyso-citizen-ca-1", "kyso-agency-ca-1", ca.LabelOCSP, ca.LabelTSA, ca.LabelIdentity, ca.LabelServiceSeal, "seal-UBND-HN-1"} {
		if !seen[l] {
			t.Errorf("key %s not listed:\n%s", l, out)
		}
	}
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	h := hsmtest.New(t)
	cfg := ceremony.DevConfig()
	if err := ceremony.Init(ctx, cfg, h, db, nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ceremony.Rotate(ctx, ceremony.RotateConfig{Role: "citizen", Overlap: 48 * time.Hour}, h, db, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "citizen-2 takes over issuance from citizen-1") {
		t.Fatalf("output: %s", out.String())
	}
	if _, err := h.FindKey(ctx, "kyso-citizen-ca-2"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c, err := ca.Load(ctx, db, h, ca.Config{BaseURL: cfg.BaseURL, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := c.CitizenIssuer()
	if cur.Subject.CommonName != cfg.CitizenCA.CommonName {
		t.Fatalf("during overlap the old CA issues, got %s", cur.Subject)
	}
	later, err := ca.Load(ctx, db, h, ca.Config{BaseURL: cfg.BaseURL, Now: func() time.Time { return now.Add(72 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	next, _ := later.CitizenIssuer()
	if next.Equal(cur) || next.Subject.CommonName != "Kyso Dev Citizen CA 2" {
		t.Fatalf("after overlap: %s", next.Subject)
	}
	if len(later.Issuers()) != 4 {
		t.Fatalf("issuers %d", len(later.Issuers()))
	}
	if _, ok := later.ResponderFor("citizen-2"); !ok {
		t.Fatal("no responder for citizen-2")
	}
}

func TestCLI(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	h := hsmtest.New(t)
	var so, se bytes.Buffer
	d := ceremony.CLIDeps{HSM: h, DB: db, Stdout: &so, Stderr: &se}
	if code := ceremony.RunCLI(ctx, []string{"init"}, d); code != 2 {
		t.Fatalf("init without config: %d", code)
	}
	cfgPath := filepath.Join(t.TempDir(), "ceremony.yaml")
	yaml := "base_url: http://kyso.test\ncrl_shards: 2\nagencies:\n  - code: BTC\n    name: Bộ Tài chính\n    mst: \"0100100001\"\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := ceremony.RunCLI(ctx, []string{"init", "--config", cfgPath, "--out", t.TempDir()}, d); code != 0 {
		t.Fatalf("init: %d %s", code, se.String())
	}
	if code := ceremony.RunCLI(ctx, []string{"init", "--config", cfgPath}, d); code != 1 || !strings.Contains(se.String(), "refusing to overwrite") {
		t.Fatalf("second init: %d %s", code, se.String())
	}
	so.Reset()
	if code := ceremony.RunCLI(ctx, []string{"list"}, d); code != 0 || !strings.Contains(so.String(), "seal") && !strings.Contains(so.String(), "citizen-1") {
		t.Fatalf("list: %d %s", code, so.String())
	}
	if _, err := h.FindKey(ctx, "seal-BTC-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.FindKey(ctx, ca.LabelTLS); !errors.Is(err, hsm.ErrKeyNotFound) && err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigRejects(t *testing.T) {
	bad := []string{
		"unknown_field: 1\n",
		"agencies:\n  - code: bad code\n    name: X\n    mns: \"1234567\"\n",
		"agencies:\n  - code: AB\n    name: X\n",
		"agencies:\n  - code: AB\n    name: X\n    mns: \"12\"\n",
		"agencies:\n  - code: AB\n    name: X\n    mns: \"1234567\"\n    email: not-an-address\n",
		"agencies:\n  - code: AB\n    name: X\n    mns: \"1234567\"\n    email: \"Văn phòng <vp@x.gov.vn>\"\n",
		"agencies:\n  - code: AB\n    name: X\n    mns: \"1234567\"\n    organization: \" padded\"\n",
		"agencies:\n  - code: AB\n    name: " + strings.Repeat("X", 65) + "\n    mns: \"1234567\"\n",
		"identity:\n  key_type: RSA2048\n",
		"crl_shards: -1\n",
		"root:\n  key_type: DSA\n",
	}
	for _, b := range bad {
		if _, err := ceremony.ParseConfig([]byte(b)); err == nil {
			t.Errorf("accepted %q", b)
		}
	}
	if _, err := ceremony.ParseConfig([]byte("base_url: https://kyso.example.vn\n")); err != nil {
		t.Fatal(err)
	}
	cfg, err := ceremony.LoadConfig(filepath.Join("testdata", "ceremony.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Agencies) != 2 || cfg.Agencies[1].MST != "0100100001" || cfg.Agencies[0].Email != "vanphong@hanoi.gov.vn" || cfg.Agencies[0].Organization != "Thành phố Hà Nội" || cfg.CRLShards != 16 || len(cfg.TLS.Hosts) != 1 || cfg.ServiceSeal.MST != "0109999999" {
		t.Fatalf("example config: %+v", cfg)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("base_url: http://x\nagencies:\n  - code: AB\n    name: X\n    mns: \"1234567\"\n"))
	f.Add([]byte("root: {key_type: ECP384, validity_days: 10}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ceremony.ParseConfig(b)
	})
}

// An install whose ceremony ran before the audit log had a checkpoint key
// gets one from `kyso ceremony log-key`, which never replaces a key.
func TestLogKeyForAnInstallThatPredatesTheLog(t *testing.T) {
	ctx := context.Background()
	db := storetest.SQLite(t)
	h := hsmtest.New(t)
	const origin = "kyso.test/audit"
	var so, se bytes.Buffer
	d := ceremony.CLIDeps{HSM: h, DB: db, LogOrigin: origin, Stdout: &so, Stderr: &se}
	if err := ceremony.Init(ctx, ceremony.DevConfig(), h, db, io.Discard); err != nil {
		t.Fatal(err)
	}
	// The ceremony of an older version left no log key.
	if err := h.DestroyKey(ctx, audit.LogKeyLabel); err != nil {
		t.Fatal(err)
	}
	if _, err := h.FindKey(ctx, audit.LogKeyLabel); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("log key after destroying it: %v", err)
	}
	// A second init is no way to get it: it refuses the initialised store.
	if code := ceremony.RunCLI(ctx, []string{"init", "--dev", "--out", t.TempDir()}, d); code != 1 || !strings.Contains(se.String(), "refusing to overwrite") {
		t.Fatalf("init on an initialised install: %d %s", code, se.String())
	}
	se.Reset()

	if code := ceremony.RunCLI(ctx, []string{"log-key"}, d); code != 0 {
		t.Fatalf("log-key: %d %s", code, se.String())
	}
	if !strings.Contains(se.String(), "generated "+audit.LogKeyLabel) {
		t.Errorf("log-key does not say it generated the key: %s", se.String())
	}
	vkey := strings.TrimSpace(so.String())
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("log-key printed %q, not a note verifier key: %v", vkey, err)
	}
	if v.Name() != origin {
		t.Errorf("verifier key name %q, want the configured origin %q", v.Name(), origin)
	}
	// The key is the HSM's Ed25519 key: a checkpoint it signs opens with
	// the printed verifier key.
	key, err := h.FindKey(ctx, audit.LogKeyLabel)
	if err != nil {
		t.Fatal(err)
	}
	if key.Type() != hsm.Ed25519 {
		t.Fatalf("log key type %s", key.Type())
	}
	s, err := audit.NoteSigner(origin, key)
	if err != nil {
		t.Fatal(err)
	}
	cp := audit.Checkpoint{Origin: origin, Size: 1}
	msg, err := note.Sign(&note.Note{Text: string(cp.Format())}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.OpenCheckpoint(msg, v); err != nil {
		t.Fatalf("checkpoint signed by the new key: %v", err)
	}
	if want, err := audit.VerifierKey(origin, key.Public()); err != nil || want != vkey {
		t.Fatalf("printed %q, want %q (%v)", vkey, want, err)
	}
	alog, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := alog.List(ctx, audit.Filter{Object: "audit:" + audit.LogKeyLabel})
	if err != nil || len(entries) != 1 || entries[0].Details["verifier_key"] != vkey {
		t.Fatalf("audit entries of the key's creation: %+v %v", entries, err)
	}

	// Again: the key is kept and the same verifier key printed.
	so.Reset()
	se.Reset()
	if code := ceremony.RunCLI(ctx, []string{"log-key"}, d); code != 0 {
		t.Fatalf("second log-key: %d %s", code, se.String())
	}
	if got := strings.TrimSpace(so.String()); got != vkey || !strings.Contains(se.String(), "kept") {
		t.Fatalf("second log-key: printed %q (want %q), said %s", got, vkey, se.String())
	}
	if entries, err := alog.List(ctx, audit.Filter{Object: "audit:" + audit.LogKeyLabel}); err != nil || len(entries) != 1 {
		t.Fatalf("a kept key was logged as created again: %d entries, %v", len(entries), err)
	}

	// A key of another type under the label is refused, not replaced.
	if err := h.DestroyKey(ctx, audit.LogKeyLabel); err != nil {
		t.Fatal(err)
	}
	if _, err := h.GenerateKey(ctx, hsm.KeySpec{Label: audit.LogKeyLabel, Type: hsm.ECP256}); err != nil {
		t.Fatal(err)
	}
	so.Reset()
	se.Reset()
	if code := ceremony.RunCLI(ctx, []string{"log-key"}, d); code != 1 || !strings.Contains(se.String(), "refusing to replace") || so.Len() != 0 {
		t.Fatalf("log-key over an ECP256 key: %d %q %s", code, so.String(), se.String())
	}
	if k, err := h.FindKey(ctx, audit.LogKeyLabel); err != nil || k.Type() != hsm.ECP256 {
		t.Fatalf("the other key was touched: %v %v", k, err)
	}
	// Arguments and a missing origin are refused.
	if code := ceremony.RunCLI(ctx, []string{"log-key", "extra"}, d); code != 2 {
		t.Errorf("log-key with an argument: %d", code)
	}
	d.LogOrigin = ""
	if code := ceremony.RunCLI(ctx, []string{"log-key"}, d); code != 1 {
		t.Errorf("log-key without an origin: %d", code)
	}
}
