package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/signer/signertest"
)

// kyso sign --key-label opens keys of the service token with its PIN. A
// citizen's key under that label (every citizen key was a token object
// there before keys were kept wrapped) would sign with the token PIN alone:
// the command refuses citizens' labels, while other keys still sign.
func TestSignRefusesCitizenKeys(t *testing.T) {
	hsmtest.ConfPath(t)
	ctx := context.Background()
	hcfg := hsmtest.NewToken(t)
	h := hsmtest.Open(t, hcfg, nil)
	citizenKey, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "cred-legacy0000000000000000", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	localKey, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "kyso-local-seal", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	// The attack is real: with the token PIN the key signs.
	d := sha256.Sum256([]byte("contract"))
	if _, err := citizenKey.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Fatalf("the citizen's token key does not sign with the token PIN: %v", err)
	}

	dir := t.TempDir()
	pinFile := filepath.Join(dir, "user.pin")
	if err := os.WriteFile(pinFile, []byte(hcfg.PIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"KYSO_DATA_DIR=" + dir, "KYSO_HSM_MODULE=" + hcfg.Module, "KYSO_HSM_TOKEN_LABEL=" + hcfg.TokenLabel, "KYSO_HSM_PIN_FILE=" + pinFile}
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, signertest.PDF(t, signertest.PDFOptions{}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		label string
		key   crypto.Signer
		ok    bool
	}{
		{citizenKey.Label(), citizenKey, false},
		{localKey.Label(), localKey, true},
	} {
		pki := signertest.New(t, signertest.P256, tc.key)
		cert := signertest.WritePEM(t, dir, tc.label+".pem", pki.Leaf.Cert)
		out := filepath.Join(dir, tc.label+".pdf")
		code, _, errs := runCLI(t, env, "sign", "pdf", "--key-label", tc.label, "--cert", cert, "--level", "B-B", "--out", out, in)
		_, statErr := os.Stat(out)
		wrote := statErr == nil
		if tc.ok {
			if code != exitOK || !wrote {
				t.Fatalf("kyso sign --key-label %s: exit %d, output written %v: %s", tc.label, code, wrote, errs)
			}
			continue
		}
		if code == exitOK || !strings.Contains(errs, "citizen's key") {
			t.Fatalf("kyso sign --key-label %s: exit %d: %s", tc.label, code, errs)
		}
		if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
			t.Fatalf("kyso sign --key-label %s wrote %d bytes", tc.label, fi.Size())
		}
	}
}
