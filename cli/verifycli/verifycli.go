// Package verifycli is `kyso verify`: validating every signature of a PDF,
// CMS or JWS file and printing the report as text, JSON or HTML.
package verifycli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"kyso/cli/cliflag"
	"kyso/config"
	"kyso/verifier"
	"kyso/verifier/policy"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// Exit codes of Run.
const (
	ExitPassed        = 0
	ExitFailed        = 1
	ExitIndeterminate = 2
	ExitUnreadable    = 3
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

const usage = `usage: kyso verify FILE [--trust PEM]... [--format json|text|html] [--at TIME] [--offline]
       [--config FILE] [--detached FILE] [--allow-host HOST]... [--policy FILE]

Validates every signature of a PDF, CMS (.p7s) or JWS file (compact or JSON
serialization).
Exit status: 0 passed, 1 failed, 2 indeterminate, 3 unreadable input or usage.
`

// ExitCode maps a main indication to Run's exit status.
func ExitCode(i report.Indication) int {
	switch i {
	case report.TotalPassed:
		return ExitPassed
	case report.TotalFailed:
		return ExitFailed
	}
	return ExitIndeterminate
}

// Run implements `kyso verify`.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var trust, hosts multi
	fs.Var(&trust, "trust", "PEM file of trust anchors (repeatable)")
	fs.Var(&hosts, "allow-host", "host online revocation checks may contact (repeatable)")
	format := fs.String("format", "text", "report format: json, text or html")
	at := fs.String("at", "", "validation time (RFC 3339); default now")
	offline := fs.Bool("offline", false, "no online revocation checks")
	cfgPath := fs.String("config", "", "configuration file")
	detached := fs.String("detached", "", "signed content of a CMS or JWS signature: what is verified, even when the signature carries content of its own")
	policyPath := fs.String("policy", "", "validation policy (YAML); default the embedded policy")
	fail := func(msg string) int {
		fmt.Fprintf(stderr, "kyso verify: %s\n%s", msg, usage)
		return ExitUnreadable
	}
	files, err := cliflag.Parse(fs, args)
	if err != nil {
		return fail(err.Error())
	}
	if len(files) != 1 {
		return fail("exactly one FILE is required")
	}
	switch *format {
	case "json", "text", "html":
	default:
		return fail(fmt.Sprintf("unknown format %q", *format))
	}
	var when time.Time
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fail("--at: " + err.Error())
		}
		when = t
	}
	rc := revocation.Config{Offline: *offline, AllowedHosts: hosts}
	anchors := []string(trust)
	if *cfgPath != "" {
		// The file is read as written (no KYSO_* environment overrides):
		// its verifier section gives the default trust anchors and the
		// hosts online revocation checks may contact.
		c, err := config.Load(*cfgPath, nil)
		if err != nil {
			return fail(err.Error())
		}
		if len(anchors) == 0 {
			anchors = c.Verifier.TrustFiles
		}
		rc.AllowedHosts = append(rc.AllowedHosts, c.Verifier.AllowedHosts...)
		rc.Offline = rc.Offline || c.Verifier.Offline
		if *policyPath == "" {
			*policyPath = c.Verifier.Policy
		}
	}
	pol, err := policy.Load(*policyPath)
	if err != nil {
		return fail(err.Error())
	}
	rc.Freshness, rc.ClockSkew = pol.Freshness, pol.ClockSkew
	roots, err := verifier.LoadCertificates(anchors...)
	if err != nil {
		return fail(err.Error())
	}
	data, err := readLimited(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "kyso verify: %v\n", err)
		return ExitUnreadable
	}
	var det []byte
	if *detached != "" {
		if det, err = readLimited(*detached); err != nil {
			fmt.Fprintf(stderr, "kyso verify: %v\n", err)
			return ExitUnreadable
		}
	}
	v := verifier.New(verifier.Options{Roots: roots, At: when, Revocation: revocation.New(rc), Policy: pol})
	rep, err := v.Verify(ctx, verifier.Input{Name: files[0], Data: data, Detached: det})
	if err != nil {
		fmt.Fprintf(stderr, "kyso verify: %v\n", err)
		return ExitUnreadable
	}
	switch *format {
	case "json":
		err = rep.JSON(stdout)
	case "html":
		err = rep.HTML(stdout)
	default:
		err = rep.Text(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kyso verify: write report: %v\n", err)
		return ExitUnreadable
	}
	return ExitCode(rep.Status.MainIndication)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, verifier.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > verifier.MaxInput {
		return nil, errors.New(path + ": larger than the input limit")
	}
	return b, nil
}
