package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"kyso/api"
	"kyso/cli/verifycli"
	"kyso/verifier"
	"kyso/verifier/report"
)

// TestVerifyCLIAndAPIAgree validates the same files with kyso verify
// (RunCLI, JSON report) and POST /v1/verify: PDF, compact JWS
// (application/jose) and JWS JSON serializations (application/jose+json),
// with the same trust anchors, time and offline revocation. The reports
// must be identical but for the document name.
func TestVerifyCLIAndAPIAgree(t *testing.T) {
	anchors := []string{filepath.Join(verifyFixtures, "root.pem"), filepath.Join(verifyFixtures, "jws", "root.pem")}
	roots, err := verifier.LoadCertificates(anchors...)
	if err != nil {
		t.Fatal(err)
	}
	at, _ := time.Parse(time.RFC3339, verifyAt)
	area, err := api.NewVerifyArea(verifier.New(verifier.Options{Roots: roots, At: at}), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{}, area))
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		file, ct string
		want     report.Indication
		sigs     int
	}{
		{"lta.pdf", "application/pdf", report.TotalPassed, 2},
		{"page-added.pdf", "application/pdf", report.TotalFailed, 2},
		{"jws/b-b.jws", "application/jose", report.Indeterminate, 1},
		{"jws/b-lt.json", "application/jose+json", report.TotalPassed, 1},
		{"jws/general.json", "application/jose+json", report.Indeterminate, 2},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(verifyFixtures, tc.file)
			args := []string{path, "--format", "json", "--at", verifyAt, "--offline"}
			for _, a := range anchors {
				args = append(args, "--trust", a)
			}
			var stdout, stderr bytes.Buffer
			code := verifycli.Run(context.Background(), args, &stdout, &stderr)
			var cli report.Report
			if err := json.Unmarshal(stdout.Bytes(), &cli); err != nil {
				t.Fatalf("CLI report: %v\n%s", err, stderr.String())
			}

			resp, err := http.Post(srv.URL+"/v1/verify", tc.ct, bytes.NewReader(readFixture(t, tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var apiRep report.Report
			if err := json.Unmarshal(body, &apiRep); err != nil {
				t.Fatal(err)
			}

			if cli.Status.MainIndication != tc.want || len(cli.Signatures) != tc.sigs {
				t.Fatalf("CLI: %s with %d signatures, want %s with %d", cli.Status.MainIndication, len(cli.Signatures), tc.want, tc.sigs)
			}
			if code != verifycli.ExitCode(apiRep.Status.MainIndication) {
				t.Fatalf("CLI exit %d, API indication %s", code, apiRep.Status.MainIndication)
			}
			cli.Document.Name, apiRep.Document.Name = "", ""
			if !reflect.DeepEqual(cli, apiRep) {
				a, _ := json.MarshalIndent(cli, "", " ")
				b, _ := json.MarshalIndent(apiRep, "", " ")
				t.Fatalf("reports differ\nCLI:\n%s\nAPI:\n%s", a, b)
			}
		})
	}
}
