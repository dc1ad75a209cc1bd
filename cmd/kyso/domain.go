package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"strings"

	"kyso/auth"
	"kyso/ca/ceremony"
	"kyso/ca/officercli"
	certstest "kyso/certs-test"
	"kyso/identity"
	"kyso/signer"
	"kyso/verifier"
)

// Commands that hand their arguments to a package's own command line read
// the service configuration from $KYSO_CONFIG (their --config flags mean
// something else, such as the ceremony file).
func envConfigPath(io stdio) string {
	for _, kv := range io.env {
		if v, ok := strings.CutPrefix(kv, "KYSO_CONFIG="); ok {
			return v
		}
	}
	return ""
}

func runCeremony(ctx context.Context, io stdio, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return ceremony.RunCLI(ctx, args, ceremony.CLIDeps{Stdout: io.out, Stderr: io.err})
	}
	e, err := openEnv(ctx, io, envConfigPath(io), true)
	if err != nil {
		return fail(io.err, "ceremony", err)
	}
	defer e.close()
	return ceremony.RunCLI(ctx, args, ceremony.CLIDeps{HSM: e.hsm, DB: e.db, Stdout: io.out, Stderr: io.err})
}

// runCA is the CA officer's command line.
func runCA(ctx context.Context, io stdio, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		return officercli.Run(ctx, args, officercli.Deps{Actor: &auth.Principal{Role: auth.RoleOfficer}, Stdout: io.out, Stderr: io.err})
	}
	e, err := openEnv(ctx, io, envConfigPath(io), true)
	if err != nil {
		return fail(io.err, "ca", err)
	}
	defer e.close()
	c, err := open(ctx, e)
	if err != nil {
		return fail(io.err, "ca", err)
	}
	name := "cli"
	if u, err := user.Current(); err == nil {
		name = "cli:" + u.Username
	}
	return officercli.Run(ctx, args, officercli.Deps{CA: c.ca, Audit: c.audit,
		Actor: &auth.Principal{Role: auth.RoleOfficer, Subject: name, Name: name}, Stdout: io.out, Stderr: io.err})
}

func runSign(ctx context.Context, io stdio, args []string) int {
	getenv := func(k string) string {
		for _, kv := range io.env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	deps := signer.CLIDeps{Getenv: getenv}
	var e *env
	deps.OpenKey = func(ctx context.Context, label string) (crypto.Signer, func(), error) {
		var err error
		if e == nil {
			if e, err = openEnv(ctx, io, envConfigPath(io), true); err != nil {
				return nil, nil, err
			}
		}
		k, err := e.hsm.FindKey(ctx, label)
		if err != nil {
			return nil, nil, err
		}
		return k, func() {}, nil
	}
	defer func() {
		if e != nil {
			e.close()
		}
	}()
	return signer.RunCLI(ctx, args, deps, io.out, io.err)
}

func runVerify(ctx context.Context, io stdio, args []string) int {
	return verifier.RunCLI(ctx, args, io.out, io.err)
}

func runTestdata(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "testdata", args, map[string]command{
		"chip":        {"write a synthetic Vietnamese chip ID card", testdataChip},
		"chip-answer": {"answer an Active Authentication challenge as the card would", testdataChipAnswer},
	})
}

func testdataChip(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("testdata chip", io.err)
	out := fs.String("out", "", "directory to write the card into (required)")
	id := fs.String("id", "", "12-digit personal ID number (required)")
	name := fs.String("name", "", "full name, e.g. \"Nguyễn Thị Mai\"")
	birth := fs.String("birth-date", "", "YYYY-MM-DD")
	sex := fs.String("sex", "", "M or F")
	expiry := fs.String("expiry", "", "card expiry YYYY-MM-DD")
	alg := fs.String("alg", "p256", "signature algorithm: "+strings.Join(certstest.Algorithms(), "|"))
	tamper := fs.String("tamper", "", "tamper case: "+strings.Join(certstest.TamperNames(), "|"))
	seed := fs.String("seed", "", "seed for reproducible output")
	issuerSeed := fs.String("issuer-seed", "", "seed of the CSCA and document signer (cards with one issuer seed share a CSCA)")
	passport := fs.Bool("passport", false, "a TD3 passport instead of the citizen card")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *out == "" || *id == "" || fs.NArg() > 0 {
		fmt.Fprintln(io.err, "kyso testdata chip: --out and --id are required")
		fs.Usage()
		return exitUsage
	}
	err := certstest.WriteChip(*out, certstest.ChipOptions{ID: *id, Name: *name, BirthDate: *birth, Sex: *sex, Expiry: *expiry,
		Alg: *alg, Tamper: *tamper, Seed: *seed, IssuerSeed: *issuerSeed, Passport: *passport})
	if err != nil {
		return fail(io.err, "testdata chip", err)
	}
	fmt.Fprintf(io.out, "card %s written to %s\n", *id, *out)
	return exitOK
}

func testdataChipAnswer(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("testdata chip-answer", io.err)
	dir := fs.String("dir", "", "card directory written by 'kyso testdata chip' (required)")
	nonceHex := fs.String("nonce", "", "challenge nonce in hex (base64 is accepted too)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *dir == "" || *nonceHex == "" || fs.NArg() > 0 {
		fmt.Fprintln(io.err, "kyso testdata chip-answer: --dir and --nonce are required")
		fs.Usage()
		return exitUsage
	}
	nonce, err := hex.DecodeString(*nonceHex)
	if err != nil {
		if nonce, err = base64.StdEncoding.DecodeString(*nonceHex); err != nil {
			fmt.Fprintln(io.err, "kyso testdata chip-answer: --nonce must be hex or base64")
			return exitUsage
		}
	}
	sig, err := certstest.AnswerChallenge(*dir, nonce)
	if err != nil {
		return fail(io.err, "testdata chip-answer", err)
	}
	fmt.Fprintln(io.out, base64.StdEncoding.EncodeToString(sig))
	return exitOK
}

func runRegistry(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "registry", args, map[string]command{
		"import": {"import citizens from CSV (id,full_name,birth_date,sex) into the embedded registry", registryImport},
	})
}

func registryImport(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("registry import", io.err)
	configPath := fs.String("config", "", "configuration file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(io.err, "usage: kyso registry import [--config FILE] FILE.csv")
		return exitUsage
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return fail(io.err, "registry import", err)
	}
	defer f.Close()
	e, err := openEnv(ctx, io, *configPath, false)
	if err != nil {
		return fail(io.err, "registry import", err)
	}
	defer e.close()
	if err := identity.Migrate(ctx, e.db); err != nil {
		return fail(io.err, "registry import", err)
	}
	n, err := identity.ImportRegistryCSV(ctx, e.db, f)
	if err != nil {
		return fail(io.err, "registry import", err)
	}
	fmt.Fprintf(io.out, "imported %d citizens\n", n)
	return exitOK
}
