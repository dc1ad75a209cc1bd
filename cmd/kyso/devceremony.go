package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kyso/ca/ceremony"
	certstest "kyso/certs-test"
)

// DevIssuerSeed derives the test CSCA that the dev setup trusts; cards made
// with `kyso testdata chip --issuer-seed kyso-dev` verify against it.
const devIssuerSeed = "kyso-dev"

// devCeremony runs the dev key ceremony when it has not run yet, and trusts
// the test CSCA of synthetic cards.
func devCeremony(ctx context.Context, io stdio, e *env) error {
	cfg := ceremony.DevConfig()
	cfg.BaseURL = strings.TrimSuffix(e.cfg.PublicURL, "/")
	ran, err := ceremony.InitIfNeeded(ctx, cfg, e.hsm, e.db, io.out)
	if err != nil {
		return fmt.Errorf("dev ceremony: %w", err)
	}
	if !ran {
		fmt.Fprintln(io.out, "dev key ceremony already done")
	}
	dir := e.cfg.Identity.CSCADir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, alg := range certstest.Algorithms() {
		path := filepath.Join(dir, "kyso-test-csca-"+alg+".der")
		if _, err := os.Stat(path); err == nil {
			continue
		}
		chip, err := certstest.NewChip(certstest.ChipOptions{ID: "001099000000", Alg: alg, IssuerSeed: devIssuerSeed})
		if err != nil {
			return fmt.Errorf("test CSCA %s: %w", alg, err)
		}
		if err := os.WriteFile(path, chip.CSCA, 0o644); err != nil {
			return err
		}
	}
	return nil
}
