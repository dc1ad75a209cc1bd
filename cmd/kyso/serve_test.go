package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kyso/ca"
	"kyso/cmd/internal/devsetup"
	"kyso/dossier/demo"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
)

// The dev setup then serve, as make run does: the server becomes ready, answers
// with the demo agency's token, and stops cleanly when its context ends (what
// SIGTERM does).
func TestDevSetupServeAndShutdown(t *testing.T) {
	hsmtest.ConfPath(t) // this process's SoftHSM2 token directory
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env := []string{
		"KYSO_MODE=development",
		"KYSO_DATA_DIR=" + dir,
		"KYSO_LISTEN=" + addr,
		"KYSO_PUBLIC_URL=http://" + addr,
		"KYSO_HSM_TOKEN_LABEL=serve-test-" + strconv.Itoa(os.Getpid()),
		"KYSO_HSM_PIN_FILE=" + filepath.Join(dir, "hsm", "user.pin"),
		"KYSO_HSM_CITIZEN_TOKEN_LABEL=serve-test-citizen-" + strconv.Itoa(os.Getpid()),
		"KYSO_HSM_CITIZEN_PIN_FILE=" + filepath.Join(dir, "hsm", "citizen.pin"),
		"KYSO_HSM_ROOT_TOKEN_LABEL=serve-test-root-" + strconv.Itoa(os.Getpid()),
		"KYSO_HSM_ROOT_PIN_FILE=" + filepath.Join(dir, "hsm", "root.pin"),
		"KYSO_IDENTITY_CSCA_DIR=" + filepath.Join(dir, "trust", "csca"),
		"KYSO_HTTP_SHUTDOWN_TIMEOUT=5s",
	}
	var setupOut bytes.Buffer
	setup := devsetup.Options{Environ: env, Out: &setupOut, Log: &setupOut}
	if err := devsetup.Setup(context.Background(), setup); err != nil {
		t.Fatalf("dev setup: %v\n%s", err, setupOut.String())
	}
	info, err := os.Stat(filepath.Join(dir, "hsm", "user.pin"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("PIN file: %v %v", info, err)
	}
	var creds demo.Credentials
	b, err := os.ReadFile(filepath.Join(dir, "dev-credentials.json"))
	if err != nil || json.Unmarshal(b, &creds) != nil || creds.Agency.Token == "" {
		t.Fatalf("dev-credentials.json: %v %s", err, b)
	}
	// A second setup changes nothing.
	if err := devsetup.Setup(context.Background(), setup); err != nil {
		t.Fatalf("second dev setup: %v\n%s", err, setupOut.String())
	}
	// Three tokens, three PINs: the root key only on the root token, the
	// citizen-key token with no private key at all.
	for _, tok := range []struct {
		label, pinFile string
		wantRoot       bool
	}{
		{"serve-test-", "user.pin", false},
		{"serve-test-citizen-", "citizen.pin", false},
		{"serve-test-root-", "root.pin", true},
	} {
		pin, err := hsm.LoadPIN(filepath.Join(dir, "hsm", tok.pinFile), "")
		if err != nil {
			t.Fatal(err)
		}
		h, err := hsm.Open(context.Background(), hsm.Config{TokenLabel: tok.label + strconv.Itoa(os.Getpid()), PIN: pin}, nil, nil)
		if err != nil {
			t.Fatalf("token %s with %s: %v", tok.label, tok.pinFile, err)
		}
		keys, err := h.ListKeys(context.Background())
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		hasRoot := false
		for _, k := range keys {
			hasRoot = hasRoot || k.Label == ca.LabelRoot
		}
		if hasRoot != tok.wantRoot || (tok.pinFile == "citizen.pin" && len(keys) != 0) || (tok.wantRoot && len(keys) != 1) {
			t.Fatalf("token %s holds %v", tok.label, keys)
		}
	}
	// kyso serve never opens the root token: it starts without its PIN.
	if err := os.Rename(filepath.Join(dir, "hsm", "root.pin"), filepath.Join(dir, "root.pin.offline")); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var out syncBuffer
		done <- run(ctx, stdio{Out: &out, Err: &out, Env: env}, []string{"serve"})
	}()
	ready := false
	for i := 0; i < 100 && !ready; i++ {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			ready = resp.StatusCode == 200
			resp.Body.Close()
		}
		if !ready {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ready {
		t.Fatal("server never became ready")
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+creds.Agency.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("whoami with the demo agency token: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exited %d", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Production mode is the default: kyso serve refuses the development
// defaults before it opens anything, naming the keys to change.
func TestServeRefusesDevelopmentDefaultsInProduction(t *testing.T) {
	dir := t.TempDir()
	code, _, errs := runCLI(t, []string{"KYSO_DATA_DIR=" + dir, "KYSO_LISTEN=0.0.0.0:8080", "KYSO_DEV_SEED_DEMO_AGENCIES=true"}, "serve")
	if code != exitFail {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, key := range []string{"hsm.module", "dev.seed_demo_agencies", "listen", "tls.cert_file", "mode: production"} {
		if !strings.Contains(errs, key) {
			t.Errorf("the refusal does not name %s:\n%s", key, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "kyso.db")); err == nil {
		t.Error("serve opened the database before refusing")
	}
}
