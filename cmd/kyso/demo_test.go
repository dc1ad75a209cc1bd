package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
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
	// The demo generates its card; its CSCA is the one the dev setup trusts.
	if err := demo.Run(ctx, demo.Options{CredentialsFile: credsFile, ChipDir: filepath.Join(t.TempDir(), "chip"), Out: &out}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
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
}
