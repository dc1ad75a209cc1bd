package verifier

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/report"
)

// opensslCMS signs content with `openssl cms -sign` and returns DER.
func opensslCMS(t *testing.T, k testdoc.Key, content []byte, attached bool, extra ...string) []byte {
	t.Helper()
	requireTool(t, "openssl")
	dir := t.TempDir()
	certPEM, keyPEM := testdoc.KeyPEM(t, k)
	for name, b := range map[string][]byte{"cert.pem": certPEM, "key.pem": keyPEM, "data.txt": content} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"cms", "-sign", "-binary", "-md", "sha256", "-cades", "-outform", "DER", "-in", "data.txt", "-signer", "cert.pem", "-inkey", "key.pem", "-out", "sig.p7s"}
	if attached {
		args = append(args, "-nodetach")
	}
	args = append(args, extra...)
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v: %s", err, out)
	}
	der, err := os.ReadFile(filepath.Join(dir, "sig.p7s"))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestCMS(t *testing.T) {
	fx := newFixture(t)
	content := []byte("Đơn đề nghị cấp giấy xác nhận\n")
	attached := opensslCMS(t, fx.signer, content, true)
	detached := opensslCMS(t, fx.signer, content, false)
	streamed := opensslCMS(t, fx.signer, content, true, "-stream") // BER, indefinite lengths
	if len(streamed) < 2 || streamed[1] != 0x80 {
		t.Fatalf("openssl -stream did not produce indefinite-length BER: % x", streamed[:min(8, len(streamed))])
	}
	broken := append([]byte(nil), attached...)
	broken[len(broken)-5] ^= 0xff
	cases := []struct {
		name     string
		data     []byte
		detached []byte
		want     report.Indication
		sub      report.SubIndication
	}{
		{"attached", attached, nil, report.TotalPassed, ""},
		{"attached BER (streamed)", streamed, nil, report.TotalPassed, ""},
		{"detached with content", detached, content, report.TotalPassed, ""},
		{"detached without content", detached, nil, report.Indeterminate, report.SignedDataNotFound},
		{"detached with other content", detached, []byte("other"), report.TotalFailed, report.HashFailure},
		// The user asks whether "other" is signed: what the CMS encapsulates
		// does not answer that.
		{"attached, other content given", attached, []byte("other"), report.TotalFailed, report.HashFailure},
		{"attached, the same content given", attached, content, report.TotalPassed, ""},
		{"signature value changed", broken, nil, report.TotalFailed, report.SigCryptoFailure},
		{"truncated", attached[:len(attached)/2], nil, report.TotalFailed, report.FormatFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := fx.online.Verify(context.Background(), Input{Data: tc.data, Detached: tc.detached})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub {
				dump(t, rep)
				t.Fatalf("got %s/%s, want %s/%s", rep.Status.MainIndication, rep.Status.SubIndication, tc.want, tc.sub)
			}
			if tc.want == report.TotalPassed && rep.Signatures[0].Level != "CAdES-BASELINE-B" {
				t.Fatalf("level %q", rep.Signatures[0].Level)
			}
		})
	}
}

func TestJWS(t *testing.T) {
	fx := newFixture(t)
	opts := (&jose.SignerOptions{}).WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(fx.signer.Cert.Raw)}).WithHeader("sigT", "2025-06-01T12:00:00Z")
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: fx.signer.Key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(`{"form":"CT01","cccd":"001234567890"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := obj.CompactSerialize()
	parts := strings.Split(tok, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"form":"CT01","cccd":"009999999999"}`)) + "." + parts[2]
	for _, tc := range []struct {
		name string
		tok  string
		want report.Indication
		sub  report.SubIndication
	}{
		{"valid", tok, report.TotalPassed, ""},
		{"payload changed", tampered, report.TotalFailed, report.SigCryptoFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := fx.online.Verify(context.Background(), Input{Data: []byte(tc.tok)})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub {
				dump(t, rep)
				t.Fatalf("got %s/%s", rep.Status.MainIndication, rep.Status.SubIndication)
			}
		})
	}
	untrusted := New(Options{Roots: []*x509.Certificate{testdoc.NewPKI(t).Root.Cert}})
	rep, err := untrusted.Verify(context.Background(), Input{Data: []byte(tok)})
	if err != nil || rep.Status.SubIndication != report.NoCertificateChainFound {
		t.Fatalf("untrusted: %v %+v", err, rep.Status)
	}
}

func TestUnreadable(t *testing.T) {
	fx := newFixture(t)
	for _, in := range [][]byte{nil, []byte("hello world"), []byte("GIF89a")} {
		if _, err := fx.online.Verify(context.Background(), Input{Data: in}); err == nil {
			t.Fatalf("%q: want ErrUnreadable", in)
		}
	}
}
