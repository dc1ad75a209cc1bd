// Package officercli is the CA officer's command line (`kyso ca …`): list
// and search certificates, show one, revoke, put on hold and release, and
// fetch a CRL shard. Every change goes through package ca and so lands in
// the audit log under the officer's identity.
package officercli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"kyso/audit"
	"kyso/auth"
	"kyso/ca"
)

const usage = `usage: kyso ca <command> [flags]

commands:
  list    [--subject S] [--status valid|revoked|hold] [--limit N] [--page-token T]
  show    SERIAL
  revoke  SERIAL --reason keyCompromise|superseded|…|certificateHold
  release SERIAL
  unlock  CREDENTIAL_ID  reactivate a credential locked by wrong signing PINs
  crl     ISSUER SHARD --out FILE
  issuers
  history SERIAL      the audit trail of a certificate
`

// Deps are what the officer CLI works with.
type Deps struct {
	CA *ca.CA
	// Audit is read by "history" (nil: not available).
	Audit *audit.Log
	// Actor is the officer or admin the actions are recorded under.
	Actor          *auth.Principal
	Stdout, Stderr io.Writer
}

type usageError struct{ error }

// Run runs `kyso ca <args>` as d.Actor (an officer or admin) and returns
// the exit code: 0 success, 1 failure, 2 usage error.
func Run(ctx context.Context, args []string, d Deps) int {
	c, actor, stdout, stderr := d.CA, d.Actor, d.Stdout, d.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	if actor == nil || (actor.Role != auth.RoleOfficer && actor.Role != auth.RoleAdmin) {
		fmt.Fprintln(stderr, "kyso ca: an officer or admin identity is required")
		return 1
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "list":
		err = list(ctx, args[1:], c, stdout)
	case "show":
		err = show(ctx, args[1:], c, stdout)
	case "revoke":
		err = revoke(ctx, args[1:], c, actor, stdout)
	case "release":
		err = release(ctx, args[1:], c, actor, stdout)
	case "unlock":
		var id string
		if id, _, err = one(args[1:]); err == nil {
			if err = c.Unlock(ctx, id, actor); err == nil {
				fmt.Fprintf(stdout, "credential %s unlocked\n", id)
			}
		}
	case "crl":
		err = crl(ctx, args[1:], c, stdout)
	case "issuers":
		for _, is := range c.Issuers() {
			fmt.Fprintf(stdout, "%-12s %-8s active=%-5v %s\n    SHA256 Fingerprint=%s\n", is.Name, is.Role, is.Active, is.Certificate.Subject, ca.Fingerprint(is.Certificate.Raw))
		}
	case "history":
		err = history(ctx, args[1:], d.Audit, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError{fmt.Errorf("unknown command %q", args[0])}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "kyso ca: %v\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "kyso ca: %v\n", err)
		return 1
	}
}

func list(ctx context.Context, args []string, c *ca.CA, out io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	subject := fs.String("subject", "", "subject ID (12 digits, agency code) or part of the subject DN")
	status := fs.String("status", "", "valid, revoked or hold")
	limit := fs.Int("limit", 50, "page size")
	page := fs.String("page-token", "", "continue a listing")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	certs, next, err := c.List(ctx, ca.ListFilter{Subject: *subject, Status: *status, Limit: *limit, PageToken: *page})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL\tISSUER\tPROFILE\tSTATUS\tNOT AFTER\tSUBJECT")
	for _, ci := range certs {
		st := ci.Status
		if ci.Reason != "" {
			st += "(" + ci.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ci.Serial, ci.Issuer, ci.Profile, st, ci.NotAfter.Format("2006-01-02"), ci.Subject)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(out, "next page: --page-token %s\n", next)
	}
	return nil
}

func printCert(out io.Writer, ci *ca.CertInfo) {
	fmt.Fprintf(out, "serial:      %s\nissuer:      %s\nprofile:     %s\nsubject:     %s\nsubject id:  %s\nstatus:      %s\n",
		ci.Serial, ci.Issuer, ci.Profile, ci.Subject, ci.SubjectID, ci.Status)
	if ci.RevokedAt != nil {
		fmt.Fprintf(out, "reason:      %s\nsince:       %s\n", ci.Reason, ci.RevokedAt.Format(time.RFC3339))
	}
	if ci.CredentialID != "" {
		fmt.Fprintf(out, "credential:  %s\n", ci.CredentialID)
	}
	fmt.Fprintf(out, "valid:       %s to %s\ncrl shard:   %d\n", ci.NotBefore.Format(time.RFC3339), ci.NotAfter.Format(time.RFC3339), ci.Shard)
}

func one(args []string) (string, []string, error) {
	if len(args) == 0 || len(args[0]) == 0 || args[0][0] == '-' {
		return "", nil, usageError{errors.New("a serial is required")}
	}
	return args[0], args[1:], nil
}

func show(ctx context.Context, args []string, c *ca.CA, out io.Writer) error {
	serial, _, err := one(args)
	if err != nil {
		return err
	}
	ci, err := c.Get(ctx, serial)
	if err != nil {
		return err
	}
	printCert(out, ci)
	return nil
}

func revoke(ctx context.Context, args []string, c *ca.CA, actor *auth.Principal, out io.Writer) error {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reason := fs.String("reason", "unspecified", "RFC 5280 reason name")
	// The serial may come before or after the flags.
	var serial string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		serial, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	switch {
	case serial == "" && fs.NArg() == 1:
		serial = fs.Arg(0)
	case serial == "" || fs.NArg() > 0:
		return usageError{errors.New("one serial is required")}
	}
	ci, err := c.Revoke(ctx, serial, *reason, actor)
	if err != nil {
		return err
	}
	printCert(out, ci)
	return nil
}

func release(ctx context.Context, args []string, c *ca.CA, actor *auth.Principal, out io.Writer) error {
	serial, _, err := one(args)
	if err != nil {
		return err
	}
	ci, err := c.Release(ctx, serial, actor)
	if err != nil {
		return err
	}
	printCert(out, ci)
	return nil
}

func crl(ctx context.Context, args []string, c *ca.CA, out io.Writer) error {
	if len(args) < 2 {
		return usageError{errors.New("crl needs ISSUER SHARD")}
	}
	shard, err := strconv.Atoi(args[1])
	if err != nil {
		return usageError{errors.New("SHARD must be a number")}
	}
	fs := flag.NewFlagSet("crl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("out", "", "file to write the DER CRL to")
	if err := fs.Parse(args[2:]); err != nil {
		return usageError{err}
	}
	if *path == "" {
		return usageError{errors.New("--out FILE is required")}
	}
	der, err := c.CRL(ctx, args[0], shard)
	if err != nil {
		return err
	}
	if err := os.WriteFile(*path, der, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (%d bytes)\n", *path, len(der))
	return nil
}

func history(ctx context.Context, args []string, log *audit.Log, out io.Writer) error {
	serial, _, err := one(args)
	if err != nil {
		return err
	}
	if log == nil {
		return errors.New("the audit log is not available")
	}
	entries, err := log.List(ctx, audit.Filter{Object: "certificate:" + serial})
	if err != nil {
		return err
	}
	for _, e := range entries {
		fmt.Fprintf(out, "%6d  %s  %-24s %s (%s)\n", e.Index, e.At.UTC().Format(time.RFC3339), e.Action, e.Actor, e.Role)
	}
	if len(entries) == 0 {
		fmt.Fprintln(out, "no audit entries")
	}
	return nil
}
