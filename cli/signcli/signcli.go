// Package signcli is `kyso sign`: signing a PDF, any file (CAdES) or a JSON
// document (JWS) locally with a key in the HSM, or remotely through a Kyso
// server.
package signcli

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kyso/apiclient"
	"kyso/certfile"
	"kyso/cli/cliflag"
	"kyso/signer"
	"kyso/tsa"
)

// Deps is what the command line needs from its caller.
type Deps struct {
	// OpenKey opens an HSM key by label for local signing and returns a
	// function releasing it; nil disables --key-label.
	OpenKey func(ctx context.Context, label string) (crypto.Signer, func(), error)
	// Deps supplies time-stamps and revocation data for local signatures
	// (--tsa-url overrides the time-stamp source).
	signer.Deps
	// Getenv reads the environment (KYSO_SIGNING_PIN, KYSO_TOKEN); os.Getenv
	// when nil.
	Getenv func(string) string
	// HTTP is the client for --server and --tsa-url; a client with a
	// 5-minute timeout when nil.
	HTTP *http.Client
}

const cliUsage = `usage: kyso sign pdf|cms|jws [flags] INPUT
       kyso sign extend [--out FILE] [--content FILE] (--server URL [--token-file FILE] | --tsa-url URL --tsa-trust PEM) SIGNED

Signs INPUT (a PDF, any file, or a JSON document) and writes the result
to --out (default: standard output).

Local signing with a key in the HSM:
  --key-label LABEL --cert CERT.pem [--chain CHAIN.pem] [--tsa-url URL --tsa-trust PEM]
Remote signing against a Kyso server:
  --server URL (--credential-id ID | --seal-id ID) [--token-file FILE]
  The citizen's signing PIN is read from --pin-file or $KYSO_SIGNING_PIN,
  never from the command line; the bearer (identity assertion or API
  token) from --token-file or $KYSO_TOKEN.
Extending a signed PDF (PAdES), CMS signature (CAdES, .p7s) or JWS (JAdES)
to B-LTA, or renewing its archive time-stamp, adds the validation data of
its signatures and time-stamps and an archive time-stamp (a PDF document
time-stamp, a CAdES archive-time-stamp-v3, a JAdES arcTst), on the server
or locally with the given TSA. A JWS comes out in the JSON serialization
(a compact one as flattened JSON). --content gives the signed file of a
detached CAdES signature, needed only for signatures whose message digest
cannot stand for it, or of a JWS with a detached payload.
`

type cliOpts struct {
	out, level, reason, location, serialization    string
	keyLabel, certPath, chainPath, tsaURL          string
	tsaTrust                                       string
	server, credentialID, sealID, pinFile, tokFile string
	visible, certify                               bool
	page                                           int
	x, y, width, height                            float64
}

// Run runs "kyso sign" with args (after "sign") and returns the exit
// code: 0 done, 1 failed, 2 usage.
func Run(ctx context.Context, args []string, deps Deps, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "extend" {
		return runExtend(ctx, args[1:], deps, stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "pdf" && args[0] != "cms" && args[0] != "jws") {
		fmt.Fprint(stderr, cliUsage)
		return 2
	}
	kind := args[0]
	fs := flag.NewFlagSet("kyso sign "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o cliOpts
	fs.StringVar(&o.out, "out", "-", "output file (- for standard output)")
	fs.StringVar(&o.level, "level", "B-B", "B-B, B-T, B-LT or B-LTA (JWS from B-T on: --serialization json)")
	fs.StringVar(&o.reason, "reason", "", "reason for signing (PDF)")
	fs.StringVar(&o.location, "location", "", "location of signing (PDF)")
	fs.BoolVar(&o.visible, "visible", false, "visible signature (PDF)")
	fs.BoolVar(&o.certify, "certify", false, "certification (DocMDP) signature (PDF)")
	fs.IntVar(&o.page, "page", 1, "page of the visible signature")
	fs.Float64Var(&o.x, "x", 36, "left of the visible signature, points")
	fs.Float64Var(&o.y, "y", 36, "bottom of the visible signature, points")
	fs.Float64Var(&o.width, "width", 220, "width of the visible signature, points")
	fs.Float64Var(&o.height, "height", 64, "height of the visible signature, points")
	fs.StringVar(&o.serialization, "serialization", "compact", "compact or json (JWS)")
	fs.StringVar(&o.keyLabel, "key-label", "", "HSM key label (local signing)")
	fs.StringVar(&o.certPath, "cert", "", "signer certificate, PEM (local signing)")
	fs.StringVar(&o.chainPath, "chain", "", "issuing CA certificates, PEM (local signing)")
	fs.StringVar(&o.tsaURL, "tsa-url", "", "RFC 3161 time-stamp authority URL (local B-T and above)")
	fs.StringVar(&o.tsaTrust, "tsa-trust", "", "PEM trust anchors of the --tsa-url TSA; its tokens are refused unless they chain to one")
	fs.StringVar(&o.server, "server", "", "Kyso server URL (remote signing)")
	fs.StringVar(&o.credentialID, "credential-id", "", "citizen signing credential (remote)")
	fs.StringVar(&o.sealID, "seal-id", "", "agency seal (remote)")
	fs.StringVar(&o.pinFile, "pin-file", "", "file holding the signing PIN (remote, citizens)")
	fs.StringVar(&o.tokFile, "token-file", "", "file holding the bearer token (remote)")
	pos, err := cliflag.Parse(fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprint(stderr, cliUsage)
		return 2
	}
	if (o.keyLabel == "") == (o.server == "") {
		fmt.Fprintln(stderr, "kyso sign: give either --key-label (local) or --server (remote)")
		return 2
	}
	if deps.Getenv == nil {
		deps.Getenv = os.Getenv
	}
	if deps.HTTP == nil {
		deps.HTTP = &http.Client{Timeout: 5 * time.Minute}
	}
	out, commit, err := openOutput(o.out, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "kyso sign: %v\n", err)
		return 1
	}
	if o.server != "" {
		err = remoteSign(ctx, kind, pos[0], o, deps, out)
	} else {
		err = localSign(ctx, kind, pos[0], o, deps, out)
	}
	if cerr := commit(err == nil); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "kyso sign %s: %v\n", kind, err)
		return 1
	}
	return 0
}

// openOutput returns the writer and a function that finishes it: renaming
// a temporary file into place on success, removing it on failure.
func openOutput(path string, stdout io.Writer) (io.Writer, func(ok bool) error, error) {
	if path == "-" || path == "" {
		return stdout, func(bool) error { return nil }, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".kyso-sign-*")
	if err != nil {
		return nil, nil, err
	}
	return f, func(ok bool) error {
		cerr := f.Close()
		if !ok || cerr != nil {
			os.Remove(f.Name())
			return cerr
		}
		return os.Rename(f.Name(), path)
	}, nil
}

func readPEMCerts(path string) ([]*x509.Certificate, error) {
	if path == "" {
		return nil, nil
	}
	return certfile.Read(path)
}

func (o cliOpts) pdfOptions(level signer.Level) signer.PDFOptions {
	p := signer.PDFOptions{Level: level, Reason: o.reason, Location: o.location, Certify: o.certify}
	if o.visible {
		p.Appearance = &signer.Appearance{Page: o.page, X: o.x, Y: o.y, Width: o.width, Height: o.height}
	}
	return p
}

func localSign(ctx context.Context, kind, input string, o cliOpts, deps Deps, out io.Writer) error {
	if deps.OpenKey == nil {
		return errors.New("local signing is not available")
	}
	if o.certPath == "" {
		return errors.New("--cert is required with --key-label")
	}
	certs, err := readPEMCerts(o.certPath)
	if err != nil {
		return err
	}
	chain, err := readPEMCerts(o.chainPath)
	if err != nil {
		return err
	}
	level, err := signer.ParseLevel(o.level)
	if err != nil {
		return err
	}
	key, release, err := deps.OpenKey(ctx, o.keyLabel)
	if err != nil {
		return fmt.Errorf("key %q: %w", o.keyLabel, err)
	}
	defer release()
	k := signer.Key{Signer: key, Cert: certs[0], Chain: append(certs[1:], chain...)}
	d := deps.Deps
	if d.Revocation == nil {
		d.Revocation = signer.NetRevocation{HTTP: deps.HTTP}
	}
	if o.tsaURL != "" {
		var roots []*x509.Certificate
		if o.tsaTrust != "" {
			if roots, err = certfile.Read(o.tsaTrust); err != nil {
				return fmt.Errorf("--tsa-trust: %w", err)
			}
		}
		d.Stamper = &tsa.Client{URL: o.tsaURL, HTTP: deps.HTTP, Roots: roots}
	}
	in, err := os.Open(input)
	if err != nil {
		return err
	}
	defer in.Close()
	switch kind {
	case "pdf":
		st, err := in.Stat()
		if err != nil {
			return err
		}
		po := o.pdfOptions(level)
		po.Deps = d
		return signer.SignPDF(ctx, k, in, st.Size(), out, po)
	case "cms":
		p7s, err := signer.SignCMS(ctx, k, in, signer.CMSOptions{Level: level, Deps: d})
		if err != nil {
			return err
		}
		_, err = out.Write(p7s)
		return err
	default:
		payload, err := io.ReadAll(io.LimitReader(in, 8<<20))
		if err != nil {
			return err
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, payload); err != nil {
			return fmt.Errorf("%s is not JSON: %w", input, err)
		}
		sig, _, err := signer.SignJWS(ctx, k, compact.Bytes(), signer.JWSOptions{Serialization: o.serialization, Level: level, Deps: d})
		if err != nil {
			return err
		}
		_, err = out.Write(sig)
		return err
	}
}

func readSecret(file, env string, getenv func(string) string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return getenv(env), nil
}

func remoteSign(ctx context.Context, kind, input string, o cliOpts, deps Deps, out io.Writer) error {
	token, err := readSecret(o.tokFile, "KYSO_TOKEN", deps.Getenv)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	if token == "" {
		return errors.New("a bearer token is needed: --token-file or $KYSO_TOKEN")
	}
	pin := ""
	if o.sealID == "" {
		if o.credentialID == "" {
			return errors.New("--credential-id or --seal-id is required with --server")
		}
		if pin, err = readSecret(o.pinFile, "KYSO_SIGNING_PIN", deps.Getenv); err != nil {
			return fmt.Errorf("PIN: %w", err)
		}
		if pin == "" {
			return errors.New("the signing PIN is needed: --pin-file or $KYSO_SIGNING_PIN")
		}
	}
	api := apiclient.New(o.server, deps.HTTP)
	who := apiclient.Signer{Token: token, CredentialID: o.credentialID, PIN: pin, SealID: o.sealID}
	var signed []byte
	if kind == "jws" {
		payload, err := os.ReadFile(input)
		if err != nil {
			return err
		}
		if !json.Valid(payload) {
			return fmt.Errorf("%s is not JSON", input)
		}
		signed, err = api.SignJWS(ctx, who, apiclient.JWSRequest{Payload: payload, Serialization: o.serialization, Level: o.level})
		if err != nil {
			return serverError(err)
		}
	} else {
		f, err := os.Open(input)
		if err != nil {
			return err
		}
		defer f.Close()
		fields := map[string]string{"level": o.level}
		if kind == "pdf" {
			fields["reason"], fields["location"] = o.reason, o.location
			fields["certify"] = strconv.FormatBool(o.certify)
			if o.visible {
				fields["visible"] = "true"
				fields["page"] = strconv.Itoa(o.page)
				for k, v := range map[string]float64{"x": o.x, "y": o.y, "width": o.width, "height": o.height} {
					fields[k] = strconv.FormatFloat(v, 'f', -1, 64)
				}
			}
		}
		if signed, err = api.SignFile(ctx, kind, who, fields, input, f); err != nil {
			return serverError(err)
		}
	}
	_, err = out.Write(signed)
	return err
}

// serverError words a refusal of the server for the command line.
func serverError(err error) error {
	var pe *apiclient.ProblemError
	if errors.As(err, &pe) {
		if pe.Code != "" {
			return fmt.Errorf("server refused (%d %s): %s", pe.Status, pe.Code, pe.Detail)
		}
		return fmt.Errorf("server answered %d", pe.Status)
	}
	return err
}

// runExtend implements "kyso sign extend".
func runExtend(ctx context.Context, args []string, deps Deps, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kyso sign extend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var out, server, tokFile, tsaURL, tsaTrust, contentPath string
	fs.StringVar(&out, "out", "-", "output file (- for standard output)")
	fs.StringVar(&contentPath, "content", "", "the signed content of a detached CAdES or JWS signature")
	fs.StringVar(&server, "server", "", "Kyso server URL (extend on the server)")
	fs.StringVar(&tokFile, "token-file", "", "file holding the bearer token (server)")
	fs.StringVar(&tsaURL, "tsa-url", "", "RFC 3161 time-stamp authority URL (local)")
	fs.StringVar(&tsaTrust, "tsa-trust", "", "PEM trust anchors of the --tsa-url TSA (local)")
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || (server == "") == (tsaURL == "") {
		fmt.Fprint(stderr, cliUsage)
		return 2
	}
	if deps.Getenv == nil {
		deps.Getenv = os.Getenv
	}
	if deps.HTTP == nil {
		deps.HTTP = &http.Client{Timeout: 5 * time.Minute}
	}
	input := pos[0]
	extended, err := func() ([]byte, error) {
		var content []byte
		if contentPath != "" {
			b, err := os.ReadFile(contentPath)
			if err != nil {
				return nil, fmt.Errorf("--content: %w", err)
			}
			content = b
		}
		if server != "" {
			token, err := readSecret(tokFile, "KYSO_TOKEN", deps.Getenv)
			if err != nil {
				return nil, fmt.Errorf("token: %w", err)
			}
			if token == "" {
				return nil, errors.New("a bearer token is needed: --token-file or $KYSO_TOKEN")
			}
			f, err := os.Open(input)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			var cr io.Reader
			if content != nil {
				cr = bytes.NewReader(content)
			}
			b, err := apiclient.New(server, deps.HTTP).Extend(ctx, token, input, f, cr)
			if err != nil {
				return nil, serverError(err)
			}
			return b, nil
		}
		var roots []*x509.Certificate
		if tsaTrust != "" {
			var err error
			if roots, err = certfile.Read(tsaTrust); err != nil {
				return nil, fmt.Errorf("--tsa-trust: %w", err)
			}
		}
		d := deps.Deps
		d.Stamper = &tsa.Client{URL: tsaURL, HTTP: deps.HTTP, Roots: roots}
		if d.Revocation == nil {
			d.Revocation = signer.NetRevocation{HTTP: deps.HTTP}
		}
		doc, err := os.ReadFile(input)
		if err != nil {
			return nil, err
		}
		out, _, err := signer.Extend(ctx, doc, content, d)
		return out, err
	}()
	if err != nil {
		fmt.Fprintf(stderr, "kyso sign extend: %v\n", err)
		return 1
	}
	w, commit, err := openOutput(out, stdout)
	if err == nil {
		_, err = w.Write(extended)
		if cerr := commit(err == nil); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kyso sign extend: %v\n", err)
		return 1
	}
	return 0
}
