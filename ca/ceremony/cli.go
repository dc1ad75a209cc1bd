package ceremony

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"kyso/audit"
	"kyso/ca"
	"kyso/hsm"
	"kyso/store"
)

// CLIDeps are what `kyso ceremony` needs: the open tokens and store.
type CLIDeps struct {
	// HSM is the service token; Root the root CA's token (nil: the
	// service token holds the root key too).
	HSM  *hsm.HSM
	Root *hsm.HSM
	DB   *store.DB
	// LogOrigin names the audit log's checkpoints (config.LogOrigin): the
	// name in the note verifier key log-key prints.
	LogOrigin string
	Stdout    io.Writer
	Stderr    io.Writer
}

const usage = `usage: kyso ceremony <command> [flags]

commands:
  init   --config ceremony.yaml | --dev   [--out DIR] [--base-url URL]
         create the root, issuing CAs, OCSP, TSA, identity, service-seal
         and agency-seal keys and certificates; refuses to overwrite
  rotate --role citizen|agency [--overlap 720h] [--out DIR] [--base-url URL]
         bring in a new issuing CA that takes over after the overlap
  crl    sign the root's next CRL (the server never holds the root key)
  revoke SERIAL --reason REASON
         revoke a certificate the root issued (an issuing CA, the root's
         OCSP responder) and sign the root's CRL
  list   print the stored CA certificates and their fingerprints
  log-key
         create the audit log's Ed25519 checkpoint key (kyso-audit-log-1)
         when the token has none, as on an install whose ceremony predates
         the log; an existing key is kept, never replaced. Prints the
         log's note verifier key (as kyso audit key does)
`

// RunCLI runs `kyso ceremony <args>` and returns the exit code: 0 on
// success, 1 on failure, 2 on a usage error.
func RunCLI(ctx context.Context, args []string, d CLIDeps) int {
	if d.Stdout == nil {
		d.Stdout = io.Discard
	}
	if d.Stderr == nil {
		d.Stderr = io.Discard
	}
	if len(args) == 0 {
		fmt.Fprint(d.Stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "init":
		err = cliInit(ctx, args[1:], d)
	case "rotate":
		err = cliRotate(ctx, args[1:], d)
	case "list":
		err = cliList(ctx, d)
	case "log-key":
		err = cliLogKey(ctx, args[1:], d)
	case "revoke":
		err = cliRevoke(ctx, args[1:], d)
	case "crl":
		if err = needDeps(d); err == nil {
			err = ResignRootCRL(ctx, d.tokens(), d.DB, d.Stdout)
		}
	case "help", "-h", "--help":
		fmt.Fprint(d.Stdout, usage)
		return 0
	default:
		fmt.Fprintf(d.Stderr, "kyso ceremony: unknown command %q\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(d.Stderr, "kyso ceremony: %v\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(d.Stderr, "kyso ceremony: %v\n", err)
		return 1
	}
}

type usageError struct{ error }

func (d CLIDeps) tokens() Tokens {
	if d.Root == nil {
		return Tokens{Root: d.HSM, Service: d.HSM}
	}
	return Tokens{Root: d.Root, Service: d.HSM}
}

func needDeps(d CLIDeps) error {
	if d.HSM == nil || d.DB == nil {
		return errors.New("the HSM and the store must be configured")
	}
	return nil
}

func cliInit(ctx context.Context, args []string, d CLIDeps) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", "", "ceremony configuration (YAML)")
	dev := fs.Bool("dev", false, "run the development ceremony")
	out := fs.String("out", "", "directory for the PEM certificates (overrides output_dir)")
	base := fs.String("base-url", "", "public base URL (overrides base_url)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if (*cfgPath == "") == !*dev || fs.NArg() > 0 {
		return usageError{errors.New("init needs exactly one of --config FILE or --dev")}
	}
	var cfg Config
	if *dev {
		cfg = DevConfig()
	} else {
		var err error
		if cfg, err = LoadConfig(*cfgPath); err != nil {
			return err
		}
	}
	if *out != "" {
		cfg.OutputDir = *out
	}
	if *base != "" {
		cfg.BaseURL = *base
	}
	if err := needDeps(d); err != nil {
		return err
	}
	return InitTokens(ctx, cfg, d.tokens(), d.DB, d.Stdout)
}

func cliRotate(ctx context.Context, args []string, d CLIDeps) error {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "citizen or agency")
	overlap := fs.Duration("overlap", 30*24*time.Hour, "how long the new CA is published before it takes over issuance")
	out := fs.String("out", "", "directory for the PEM certificates")
	base := fs.String("base-url", "", "public base URL (default: as the previous CA)")
	keyType := fs.String("key-type", "", "key type of the new CA (default ECP384)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if *role == "" || fs.NArg() > 0 {
		return usageError{errors.New("rotate needs --role citizen|agency")}
	}
	if err := needDeps(d); err != nil {
		return err
	}
	return RotateTokens(ctx, RotateConfig{Role: *role, Overlap: *overlap, OutputDir: *out, BaseURL: *base, CA: KeyConfig{KeyType: *keyType}}, d.tokens(), d.DB, d.Stdout)
}

func cliList(ctx context.Context, d CLIDeps) error {
	if d.DB == nil {
		return errors.New("the store must be configured")
	}
	if err := ca.Migrate(ctx, d.DB); err != nil {
		return err
	}
	recs, err := ca.ListAuthorities(ctx, d.DB)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return ca.ErrNotInitialized
	}
	for _, r := range recs {
		fmt.Fprintf(d.Stdout, "%-18s %-13s %-22s %s\n    SHA256 Fingerprint=%s\n    valid %s to %s, issuing from %s\n",
			r.Name, r.Role, r.KeyLabel, r.Cert.Subject, ca.Fingerprint(r.Cert.Raw),
			r.Cert.NotBefore.Format(time.RFC3339), r.Cert.NotAfter.Format(time.RFC3339), r.ActivateAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func cliRevoke(ctx context.Context, args []string, d CLIDeps) error {
	fs := flag.NewFlagSet("revoke", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	reason := fs.String("reason", "", "RFC 5280 reason (keyCompromise, cACompromise, superseded, cessationOfOperation, …)")
	// Flags may follow the serial.
	var serial string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		serial, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if serial == "" && fs.NArg() == 1 {
		serial = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{errors.New("revoke takes one serial")}
	}
	if serial == "" || *reason == "" {
		return usageError{errors.New("revoke needs SERIAL and --reason")}
	}
	if err := needDeps(d); err != nil {
		return err
	}
	return RevokeCA(ctx, d.tokens(), d.DB, serial, *reason, d.Stdout)
}

func cliLogKey(ctx context.Context, args []string, d CLIDeps) error {
	if len(args) > 0 {
		return usageError{errors.New("log-key takes no arguments")}
	}
	if err := needDeps(d); err != nil {
		return err
	}
	if d.LogOrigin == "" {
		return errors.New("the audit log's origin is not configured")
	}
	key, created, err := LogKey(ctx, d.HSM, d.Stderr)
	if err != nil {
		return err
	}
	vkey, err := audit.VerifierKey(d.LogOrigin, key.Public())
	if err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	if created {
		alog, err := audit.New(ctx, d.DB, nil)
		if err != nil {
			return fmt.Errorf("ceremony: audit log: %w", err)
		}
		if err := alog.Append(ctx, audit.Event{Actor: "ceremony", Role: "system", Action: "audit.log_key.create", Object: "audit:" + audit.LogKeyLabel,
			Details: map[string]any{"verifier_key": vkey}}); err != nil {
			return fmt.Errorf("ceremony: audit: %w", err)
		}
		fmt.Fprintf(d.Stderr, "generated %s in the HSM; publish the verifier key below: checkpoints are signed with it from the next start of kyso serve\n", audit.LogKeyLabel)
	} else {
		fmt.Fprintf(d.Stderr, "%s already exists in the HSM and is kept (an existing log key is never replaced)\n", audit.LogKeyLabel)
	}
	fmt.Fprintln(d.Stdout, vkey)
	return nil
}
