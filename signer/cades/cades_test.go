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

	"kyso/cms"
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
			sd, err := cms.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			md, err := sd.Signers[0].MessageDigest()
			if err != nil || !bytes.Equal(md, digest) || len(sd.Certificates) != 2 || !sd.Signers[0].Matches(pki.Leaf.Cert) {
				t.Fatalf("parsed SignedData mismatch: %+v %v", sd, err)
			}
			if err := sd.Signers[0].VerifySignature(pki.Leaf.Cert, nil); err != nil {
				t.Fatalf("signature over the signed attributes: %v", err)
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
