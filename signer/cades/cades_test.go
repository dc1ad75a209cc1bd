package cades_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"kyso/signer/cades"
	"kyso/signer/signertest"
)

func TestSignVerifiesWithOpenSSL(t *testing.T) {
	openssl := signertest.NeedTool(t, "openssl")
	for _, tc := range []struct {
		name string
		kind signertest.KeyKind
		h    crypto.Hash
	}{
		{"p256-sha256", signertest.P256, crypto.SHA256},
		{"rsa-sha256", signertest.RSA2048, crypto.SHA256},
		{"rsa-sha512", signertest.RSA2048, crypto.SHA512},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := signertest.New(t, tc.kind, nil)
			content := []byte("Đơn đề nghị cấp giấy phép\n")
			digest, err := cades.DigestReader(bytes.NewReader(content), tc.h)
			if err != nil {
				t.Fatal(err)
			}
			der, err := cades.Sign(context.Background(), digest, cades.Params{
				Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain(), Hash: tc.h, SigningTime: time.Now(),
			})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "form.txt")
			if err := os.WriteFile(file, content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file+".p7s", der, 0o600); err != nil {
				t.Fatal(err)
			}
			root := signertest.WritePEM(t, dir, "root.pem", pki.Root.Cert)
			out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", file, "-inform", "DER", "-in", file+".p7s", "-CAfile", root, "-out", os.DevNull).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl cms -verify: %v\n%s", err, out)
			}
			// A changed file must not verify.
			if err := os.WriteFile(file, append(content, '!'), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-content", file, "-inform", "DER", "-in", file+".p7s", "-CAfile", root, "-out", os.DevNull).CombinedOutput(); err == nil {
				t.Fatalf("tampered content verified: %s", out)
			}
			info, err := cades.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(info.MessageDigest, digest) || len(info.Certificates) != 2 || info.SignerSerial.Cmp(pki.Leaf.Cert.SerialNumber) != 0 {
				t.Fatalf("parsed info mismatch: %+v", info)
			}
		})
	}
}

func TestSignRejectsBadDigest(t *testing.T) {
	pki := signertest.New(t, signertest.P256, nil)
	_, err := cades.Sign(context.Background(), []byte("short"), cades.Params{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert})
	if err == nil {
		t.Fatal("short digest accepted")
	}
	sum := sha256.Sum256(nil)
	if _, err := cades.Sign(context.Background(), sum[:], cades.Params{}); err == nil {
		t.Fatal("missing signer accepted")
	}
}

func FuzzParse(f *testing.F) {
	pki := signertest.New(f, signertest.P256, nil)
	sum := sha256.Sum256([]byte("x"))
	der, err := cades.Sign(context.Background(), sum[:], cades.Params{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = cades.Parse(b)
	})
}
