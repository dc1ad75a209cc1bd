package verifier

import (
	"context"
	"crypto/x509"
	"net/url"
	"os"
	"testing"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/revocation"
)

func TestSmoke(t *testing.T) {
	p := testdoc.NewPKI(t)
	k := p.Issue(t, testdoc.Profile{CN: "Nguyễn Văn An", UID: "CCCD:001234567890"})
	doc := p.Sign(t, testdoc.MinimalPDF("hello"), testdoc.SignOptions{Signer: k, TSA: true})
	os.WriteFile("/tmp/verify-smoke.pdf", doc, 0o644)
	u, _ := url.Parse(p.Server.URL)
	v := New(Options{Roots: []*x509.Certificate{p.Root.Cert}, Revocation: revocation.New(revocation.Config{AllowedHosts: []string{u.Host}})})
	rep, err := v.Verify(context.Background(), Input{Name: "smoke.pdf", Data: doc})
	if err != nil {
		t.Fatal(err)
	}
	rep.Text(os.Stdout)
}
