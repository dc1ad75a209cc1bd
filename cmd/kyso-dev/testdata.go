package main

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	certstest "kyso/certs-test"
)

func runTestdata(ctx context.Context, io stdio, args []string) int {
	return subcommand(ctx, io, "testdata", args, map[string]command{
		"chip":        {Summary: "write a synthetic Vietnamese chip ID card", Run: testdataChip},
		"chip-answer": {Summary: "answer an Active Authentication challenge as the card would", Run: testdataChipAnswer},
	})
}

func testdataChip(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("testdata chip", io.Err)
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
		fmt.Fprintln(io.Err, "kyso-dev testdata chip: --out and --id are required")
		fs.Usage()
		return exitUsage
	}
	err := certstest.WriteChip(*out, certstest.ChipOptions{ID: *id, Name: *name, BirthDate: *birth, Sex: *sex, Expiry: *expiry,
		Alg: *alg, Tamper: *tamper, Seed: *seed, IssuerSeed: *issuerSeed, Passport: *passport})
	if err != nil {
		return fail(io.Err, "testdata chip", err)
	}
	fmt.Fprintf(io.Out, "card %s written to %s\n", *id, *out)
	return exitOK
}

func testdataChipAnswer(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("testdata chip-answer", io.Err)
	dir := fs.String("dir", "", "card directory written by 'kyso-dev testdata chip' (required)")
	nonceHex := fs.String("nonce", "", "challenge nonce in hex (base64 is accepted too)")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *dir == "" || *nonceHex == "" || fs.NArg() > 0 {
		fmt.Fprintln(io.Err, "kyso-dev testdata chip-answer: --dir and --nonce are required")
		fs.Usage()
		return exitUsage
	}
	nonce, err := hex.DecodeString(*nonceHex)
	if err != nil {
		if nonce, err = base64.StdEncoding.DecodeString(*nonceHex); err != nil {
			fmt.Fprintln(io.Err, "kyso-dev testdata chip-answer: --nonce must be hex or base64")
			return exitUsage
		}
	}
	sig, err := certstest.AnswerChallenge(*dir, nonce)
	if err != nil {
		return fail(io.Err, "testdata chip-answer", err)
	}
	fmt.Fprintln(io.Out, base64.StdEncoding.EncodeToString(sig))
	return exitOK
}
