// Package devsetup prepares a local development installation: the HSM
// token, the dev key ceremony, trust in the test CSCAs that synthetic chip
// cards are issued under, the demo agencies and the demo principals. Only
// the development binary (kyso-dev) and tests use it; the production
// binary never links it, nor the fixtures it imports.
package devsetup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"kyso/auth"
	"kyso/ca/ceremony"
	certstest "kyso/certs-test"
	"kyso/cmd/internal/appenv"
	"kyso/config"
	"kyso/dossier"
	"kyso/dossier/demo"
)

// IssuerSeed derives the test CSCA that the dev setup trusts; cards made
// with `kyso-dev testdata chip --issuer-seed kyso-dev` verify against it.
const IssuerSeed = "kyso-dev"

// Agency is the demo agency of the dev setup.
const Agency = "UBND-HN"

// CredentialsFile is the name of the demo principals' token file in the
// data directory.
const CredentialsFile = "dev-credentials.json"

// Ceremony runs the dev key ceremony when it has not run yet, trusts the
// test CSCAs of synthetic cards and creates the demo agencies. It is
// idempotent.
func Ceremony(ctx context.Context, out io.Writer, e *appenv.Env) error {
	cfg := ceremony.DevConfig()
	cfg.BaseURL = strings.TrimSuffix(e.Config.PublicURL, "/")
	root := e.HSM
	if e.Root != nil {
		root = e.Root
	}
	ran, err := ceremony.InitIfNeededTokens(ctx, cfg, ceremony.Tokens{Root: root, Service: e.HSM}, e.DB, out)
	if err != nil {
		return fmt.Errorf("dev ceremony: %w", err)
	}
	if !ran {
		fmt.Fprintln(out, "dev key ceremony already done")
	}
	if err := WriteTestCSCAs(e.Config.Identity.CSCADir); err != nil {
		return err
	}
	agencies, err := dossier.NewAgencies(ctx, e.DB)
	if err != nil {
		return fmt.Errorf("demo agencies: %w", err)
	}
	if err := dossier.SeedDemoAgencies(ctx, agencies); err != nil {
		return fmt.Errorf("demo agencies: %w", err)
	}
	return nil
}

// WriteTestCSCAs writes the test CSCA of every algorithm, derived from
// IssuerSeed, into dir unless it is there.
func WriteTestCSCAs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, alg := range certstest.Algorithms() {
		path := filepath.Join(dir, "kyso-test-csca-"+alg+".der")
		if _, err := os.Stat(path); err == nil {
			continue
		}
		chip, err := certstest.NewChip(certstest.ChipOptions{ID: "001099000000", Alg: alg, IssuerSeed: IssuerSeed})
		if err != nil {
			return fmt.Errorf("test CSCA %s: %w", alg, err)
		}
		if err := os.WriteFile(path, chip.CSCA, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Options say where Setup finds its configuration.
type Options struct {
	ConfigPath string
	Environ    []string
	Out, Log   io.Writer
}

// Setup initialises the service, citizen-key and root tokens (random PIN
// files when missing) and the citizen-key derivation secret, runs
// Ceremony and writes the demo principals' tokens to
// DATA_DIR/dev-credentials.json unless that file exists. It is idempotent.
func Setup(ctx context.Context, o Options) error {
	cfg, err := appenv.LoadConfig(o.ConfigPath, o.Environ)
	if err != nil {
		return err
	}
	if cfg.Mode != config.ModeDevelopment {
		return errors.New("the dev setup needs development mode (mode: development or KYSO_MODE=development)")
	}
	created, err := appenv.InitToken(cfg, cfg.HSM.TokenLabel, cfg.HSM.PINFile, cfg.HSM.PINEnv, filepath.Join(filepath.Dir(cfg.HSM.PINFile), "so.pin"))
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if created {
		fmt.Fprintf(o.Out, "token %q initialised\n", cfg.HSM.TokenLabel)
	}
	if err := appenv.InitCitizenToken(ctx, appenv.Options{ConfigPath: o.ConfigPath, Environ: o.Environ, LogTo: o.Log}, o.Out); err != nil {
		return err
	}
	if created, err := appenv.InitRootToken(cfg); err != nil {
		return err
	} else if created {
		fmt.Fprintf(o.Out, "root token %q initialised\n", cfg.HSM.RootTokenLabel)
	}
	e, err := appenv.Open(ctx, appenv.Options{ConfigPath: o.ConfigPath, Environ: o.Environ, LogTo: o.Log, WithHSM: true})
	if err != nil {
		return err
	}
	defer e.Close()
	// The root token is open for the ceremony only.
	if e.Root, err = e.OpenRootHSM(ctx); err != nil {
		return err
	}
	err = Ceremony(ctx, o.Out, e)
	e.Root.Close()
	e.Root = nil
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.DataDir, CredentialsFile)
	if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(o.Out, "demo principals already in %s\n", path)
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ps, err := auth.NewPrincipals(ctx, e.DB)
	if err != nil {
		return err
	}
	creds := demo.Credentials{BaseURL: cfg.PublicURL}
	for _, p := range []struct {
		req auth.AddRequest
		out *demo.Principal
	}{
		{auth.AddRequest{Role: auth.RoleAgency, AgencyCode: Agency, Name: "UBND Thanh pho Ha Noi (demo)"}, &creds.Agency},
		{auth.AddRequest{Role: auth.RoleOfficer, Name: "CA officer (demo)"}, &creds.Officer},
		{auth.AddRequest{Role: auth.RoleAdmin, Name: "administrator (demo)"}, &creds.Admin},
	} {
		rec, token, err := ps.Add(ctx, p.req)
		if err != nil {
			return err
		}
		*p.out = demo.Principal{ID: rec.ID, Agency: rec.AgencyCode, Token: token}
	}
	b, _ := json.MarshalIndent(creds, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "demo agency %s, officer and admin created; tokens in %s\n", Agency, path)
	return nil
}
