// Package demo walks a synthetic citizen through the whole service over its
// public HTTP API, printing each step: chip verification (a synthetic CCCD
// card from kyso/certs-test answering the Active Authentication challenge),
// a free signing certificate with a remote key, a JWS-signed application
// form, the submission, the agency's five steps, the sealed e-result and its
// validation by a third party, which must be TOTAL-PASSED.
//
// It uses only net/http against a running server, so it exercises exactly
// what a citizen's app, an agency portal and a verifier would.
package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kyso/apiclient"
	certstest "kyso/certs-test"
)

// Options configure Run.
type Options struct {
	// BaseURL of the server; "" takes base_url from the credentials file.
	BaseURL string
	// CredentialsFile is var/dev-credentials.json written by `kyso-dev dev
	// setup`: {"base_url", "agency": {"id", "agency", "token"}, "officer",
	// "admin"}.
	CredentialsFile string
	// ChipDir holds the synthetic card (certstest.WriteChip's files); when
	// it has no card.json a card is generated there. The server must trust
	// its csca.pem.
	ChipDir string
	Out     io.Writer

	// Client is the HTTP client (default: 60 s timeout).
	Client *http.Client
	// PIN protects the demo citizen's signing key (default "246810").
	PIN string
	// ProcedureCode of the demo application (default "1.001612",
	// birth registration).
	ProcedureCode string
	// OutDir, when set, receives the sealed e-result (e-result.pdf) and
	// the copy the citizen signed with a visible stamp
	// (e-result-signed.pdf).
	OutDir string
	// Officer and OfficerTitle name who decides (default Trần Văn Bình,
	// Phó Chủ tịch).
	Officer, OfficerTitle string
}

// Credentials is the dev credentials file.
type Credentials struct {
	BaseURL string    `json:"base_url"`
	Agency  Principal `json:"agency"`
	Officer Principal `json:"officer"`
	Admin   Principal `json:"admin"`
}

// Principal is one demo principal's token.
type Principal struct {
	ID     string `json:"id"`
	Agency string `json:"agency,omitempty"`
	Token  string `json:"token"`
}

// DemoCitizen is the card generated when ChipDir has none. Its CSCA is
// derived from the issuer seed "kyso-dev", which `kyso-dev dev setup` trusts.
var DemoCitizen = certstest.ChipOptions{ID: "001099008888", Name: "Nguyễn Thị Mai", BirthDate: "1990-02-15", Sex: "F",
	Alg: "p256", Seed: "kyso-demo", IssuerSeed: "kyso-dev"}

// Run performs the walk-through. It fails on the first step that does not
// go as expected.
func Run(ctx context.Context, o Options) error {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if o.PIN == "" {
		o.PIN = "246810"
	}
	if o.ProcedureCode == "" {
		o.ProcedureCode = "1.001612"
	}
	if o.Officer == "" {
		o.Officer, o.OfficerTitle = "Trần Văn Bình", "Phó Chủ tịch"
	}
	creds, err := loadCredentials(o.CredentialsFile)
	if err != nil {
		return err
	}
	if o.BaseURL == "" {
		o.BaseURL = creds.BaseURL
	}
	if o.BaseURL == "" {
		return errors.New("demo: no base URL (set it or base_url in the credentials file)")
	}
	if creds.Agency.Token == "" || creds.Agency.Agency == "" {
		return fmt.Errorf("demo: %s has no agency token or code", o.CredentialsFile)
	}
	r := &run{o: o, c: apiclient.New(o.BaseURL, o.Client), creds: creds}
	return r.walk(ctx)
}

// PrepareChip writes the demo card (DemoCitizen) into chipDir unless one is
// there, and copies its test CSCA certificate into trustDir (the server's
// identity csca_dir) so that the server accepts the card. For `kyso-dev dev
// setup`, before the server starts.
func PrepareChip(chipDir, trustDir string) error {
	if _, err := os.Stat(filepath.Join(chipDir, "card.json")); errors.Is(err, os.ErrNotExist) {
		if err := certstest.WriteChip(chipDir, DemoCitizen); err != nil {
			return fmt.Errorf("demo: make a chip card: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("demo: chip card: %w", err)
	}
	pem, err := os.ReadFile(filepath.Join(chipDir, "csca.pem"))
	if err != nil {
		return fmt.Errorf("demo: chip CSCA: %w", err)
	}
	if err := os.MkdirAll(trustDir, 0o755); err != nil {
		return fmt.Errorf("demo: trust directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(trustDir, "demo-csca.pem"), pem, 0o644); err != nil {
		return fmt.Errorf("demo: trust the chip CSCA: %w", err)
	}
	return nil
}

func loadCredentials(path string) (*Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("demo: credentials (run kyso-dev dev setup): %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("demo: %s: %w", path, err)
	}
	return &c, nil
}

type run struct {
	o         Options
	c         *apiclient.Client
	creds     *Credentials
	card      certstest.Card
	assertion string
	step      int
}

const totalSteps = 13

func (r *run) say(format string, args ...any) {
	r.step++
	fmt.Fprintf(r.o.Out, "[%2d/%d] %s\n", r.step, totalSteps, fmt.Sprintf(format, args...))
}

func (r *run) detail(format string, args ...any) {
	fmt.Fprintf(r.o.Out, "        %s\n", fmt.Sprintf(format, args...))
}

func (r *run) walk(ctx context.Context) error {
	if err := r.loadCard(); err != nil {
		return err
	}
	r.say("synthetic chip card of %s, CCCD %s (%s)", r.card.Name, r.card.ID, r.card.Alg)
	if err := r.verifyChip(ctx); err != nil {
		return err
	}

	var enrolled apiclient.Enrolled
	err := r.asCitizen(ctx, func() error {
		var err error
		enrolled, err = r.c.EnrollRemote(ctx, r.assertion, r.o.PIN)
		return err
	})
	var pe *ProblemError
	switch {
	case err == nil:
		r.say("free signing certificate %s issued by %s (remote key, credential %s, valid until %s)", enrolled.Serial, enrolled.Issuer, enrolled.CredentialID, enrolled.NotAfter)
	case errors.As(err, &pe) && pe.Code == "credential-exists":
		// An earlier run enrolled this citizen: sign with that credential.
		ids, err := r.c.Credentials(ctx, r.assertion)
		if err != nil {
			return fmt.Errorf("demo: list credentials: %w", err)
		}
		if len(ids) == 0 {
			return errors.New("demo: the citizen has a credential but none is listed")
		}
		enrolled.CredentialID = ids[0]
		r.say("free signing certificate already issued to this citizen: signing with credential %s", enrolled.CredentialID)
	default:
		return fmt.Errorf("demo: certificate: %w", err)
	}

	form := map[string]any{
		"procedure_code": r.o.ProcedureCode, "agency_code": r.creds.Agency.Agency, "applicant": r.card.ID,
		"applicant_name": r.card.Name, "request": "birth registration for a newborn child",
		"submitted_at": time.Now().UTC().Format(time.RFC3339),
	}
	var jws []byte
	if err := r.asCitizen(ctx, func() error {
		var err error
		payload, err := json.Marshal(form)
		if err != nil {
			return err
		}
		jws, err = r.c.SignJWS(ctx, apiclient.Signer{Token: r.assertion, CredentialID: enrolled.CredentialID, PIN: r.o.PIN},
			apiclient.JWSRequest{Payload: payload})
		return err
	}); err != nil {
		return fmt.Errorf("demo: sign the form: %w", err)
	}
	compact := strings.TrimSpace(string(jws))
	if strings.HasPrefix(compact, "{") {
		return errors.New("demo: the server returned a JSON-serialized JWS; a compact one was expected")
	}
	r.say("application form signed remotely as a JWS (%d bytes)", len(compact))

	var d dossierView
	if err := r.asCitizen(ctx, func() error {
		return r.c.JSON(ctx, "POST", "/v1/dossiers", r.assertion, map[string]any{
			"procedure_code": r.o.ProcedureCode, "agency_code": r.creds.Agency.Agency, "form": map[string]string{"jws": compact},
			"attachments": []map[string]any{{"name": "giay-chung-sinh.txt", "content_type": "text/plain",
				"data": []byte("Birth certificate issued by the maternity hospital (demo)\n")}},
		}, 201, &d)
	}); err != nil {
		return fmt.Errorf("demo: submit: %w", err)
	}
	r.say("step 1 submitted: dossier %s to %s, form signed by %s", d.ID, d.AgencyCode, d.Form.Signer)

	agency := r.creds.Agency.Token
	path := "/v1/dossiers/" + d.ID
	if err := r.c.JSON(ctx, "POST", path+"/receive", agency, map[string]any{
		"note":      "paper household registration scanned at the one-stop desk",
		"digitized": []map[string]any{{"name": "so-ho-khau.pdf", "content_type": "application/pdf", "data": demoScan()}},
	}, 200, &d); err != nil {
		return fmt.Errorf("demo: receive: %w", err)
	}
	var full dossierView
	if err := r.c.JSON(ctx, "GET", path, agency, nil, 200, &full); err != nil {
		return fmt.Errorf("demo: read dossier: %w", err)
	}
	r.say("step 2 received by %s with %d digitized input(s), hashed and sealed", r.creds.Agency.Agency, countDigitized(full))

	if err := r.c.JSON(ctx, "POST", path+"/decisions", agency, map[string]string{"decision": "approve",
		"note": "Hồ sơ đầy đủ, đáp ứng các điều kiện của thủ tục.", "officer_name": r.o.Officer, "officer_title": r.o.OfficerTitle}, 200, &d); err != nil {
		return fmt.Errorf("demo: decide: %w", err)
	}
	r.say("step 3 processed: decision %s by %s (%s)", d.Decision.Decision, d.Decision.OfficerName, d.Decision.OfficerTitle)

	if err := r.c.JSON(ctx, "POST", path+"/result", agency, nil, 200, &d); err != nil {
		return fmt.Errorf("demo: result: %w", err)
	}
	r.say("step 4 result signed: e-result %s sealed by the agency (sha256 %s)", d.Result.Number, short(d.Result.SHA256))

	if err := r.c.JSON(ctx, "POST", path+"/return", agency, nil, 200, &d); err != nil {
		return fmt.Errorf("demo: return: %w", err)
	}
	r.say("step 5 returned to the citizen")

	var pdf []byte
	if err := r.asCitizen(ctx, func() error {
		var err error
		pdf, err = r.c.Do(ctx, apiclient.Request{Method: "GET", Path: path + "/result", Token: r.assertion}, 200)
		return err
	}); err != nil {
		return fmt.Errorf("demo: download: %w", err)
	}
	if err := r.asCitizen(ctx, func() error {
		return r.c.JSON(ctx, "POST", path+"/acknowledge", r.assertion, nil, 200, &d)
	}); err != nil {
		return fmt.Errorf("demo: acknowledge: %w", err)
	}
	r.say("citizen downloaded the e-result (%d bytes) and acknowledged receipt: dossier %s", len(pdf), d.State)

	var rep struct {
		Status struct {
			MainIndication string `json:"MainIndication"`
			SubIndication  string `json:"SubIndication"`
		} `json:"ValidationStatus"`
		Signatures []struct {
			Level  string `json:"SignatureLevel"`
			Signer *struct {
				Name string `json:"Name"`
			} `json:"SignerInformation"`
		} `json:"SignatureValidationReport"`
	}
	raw, _, err := r.c.Verify(ctx, "application/pdf", pdf)
	if err != nil {
		return fmt.Errorf("demo: verify: %w", err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("demo: verify: %w", err)
	}
	level, signer := "", ""
	if len(rep.Signatures) > 0 {
		level = rep.Signatures[0].Level
		if rep.Signatures[0].Signer != nil {
			signer = rep.Signatures[0].Signer.Name
		}
	}
	r.say("third-party verification: %s %s (%s, sealed by %s)", rep.Status.MainIndication, rep.Status.SubIndication, level, signer)
	if rep.Status.MainIndication != "TOTAL-PASSED" {
		return fmt.Errorf("demo: the e-result validates as %s %s, not TOTAL-PASSED", rep.Status.MainIndication, rep.Status.SubIndication)
	}
	if err := r.checkQR(ctx, d.ID); err != nil {
		return err
	}
	if err := r.citizenSigns(ctx, enrolled.CredentialID, pdf); err != nil {
		return err
	}
	fmt.Fprintln(r.o.Out, "demo complete")
	return nil
}

// checkQR opens the public verification page the e-result's QR code leads
// to, as a phone scanning the paper would, in its JSON form.
func (r *run) checkQR(ctx context.Context, id string) error {
	var page struct {
		Number string `json:"number"`
		Report struct {
			Status struct {
				MainIndication string `json:"MainIndication"`
			} `json:"ValidationStatus"`
		} `json:"report"`
	}
	if err := r.c.JSON(ctx, "GET", "/v1/verify/r/"+id, "", nil, 200, &page); err != nil {
		return fmt.Errorf("demo: e-result verification page: %w", err)
	}
	r.say("the QR code leads to %s/verify/r/%s: %s", strings.TrimRight(r.o.BaseURL, "/"), id, page.Report.Status.MainIndication)
	if page.Report.Status.MainIndication != "TOTAL-PASSED" {
		return fmt.Errorf("demo: the verification page says %s", page.Report.Status.MainIndication)
	}
	return nil
}

// citizenSigns has the citizen sign the received e-result with a visible
// stamp at the bottom of its page, and writes both files to OutDir.
func (r *run) citizenSigns(ctx context.Context, credentialID string, pdf []byte) error {
	var signed []byte
	if err := r.asCitizen(ctx, func() error {
		var err error
		signed, err = r.c.SignFile(ctx, "pdf", apiclient.Signer{Token: r.assertion, CredentialID: credentialID, PIN: r.o.PIN},
			map[string]string{"level": "B-T", "visible": "true", "page": "1", "x": "85", "y": "30", "width": "230", "height": "62",
				"reason": "Đã nhận kết quả", "location": "Hà Nội"}, "e-result.pdf", bytes.NewReader(pdf))
		return err
	}); err != nil {
		return fmt.Errorf("demo: citizen signs the e-result: %w", err)
	}
	raw, ind, err := r.c.Verify(ctx, "application/pdf", signed)
	if err != nil {
		return fmt.Errorf("demo: verify the citizen's signature: %w", err)
	}
	var rep struct {
		Signatures []struct {
			Signer *struct {
				Name string `json:"Name"`
			} `json:"SignerInformation"`
		} `json:"SignatureValidationReport"`
	}
	_ = json.Unmarshal(raw, &rep)
	who := ""
	if n := len(rep.Signatures); n > 0 && rep.Signatures[n-1].Signer != nil {
		who = rep.Signatures[n-1].Signer.Name
	}
	r.say("citizen %s signed the e-result with a visible stamp: %s", who, ind.Main)
	if ind.Main != "TOTAL-PASSED" {
		return fmt.Errorf("demo: the citizen-signed e-result validates as %s %s", ind.Main, ind.Sub)
	}
	if r.o.OutDir != "" {
		if err := os.MkdirAll(r.o.OutDir, 0o755); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		for name, b := range map[string][]byte{"e-result.pdf": pdf, "e-result-signed.pdf": signed} {
			if err := os.WriteFile(filepath.Join(r.o.OutDir, name), b, 0o644); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
		r.detail("written: %s and %s", filepath.Join(r.o.OutDir, "e-result.pdf"), filepath.Join(r.o.OutDir, "e-result-signed.pdf"))
	}
	return nil
}

func (r *run) loadCard() error {
	if r.o.ChipDir == "" {
		return errors.New("demo: no chip directory")
	}
	b, err := os.ReadFile(filepath.Join(r.o.ChipDir, "card.json"))
	if errors.Is(err, os.ErrNotExist) {
		if err := certstest.WriteChip(r.o.ChipDir, DemoCitizen); err != nil {
			return fmt.Errorf("demo: make a chip card: %w", err)
		}
		b, err = os.ReadFile(filepath.Join(r.o.ChipDir, "card.json"))
	}
	if err != nil {
		return fmt.Errorf("demo: chip card: %w", err)
	}
	if err := json.Unmarshal(b, &r.card); err != nil {
		return fmt.Errorf("demo: card.json: %w", err)
	}
	return nil
}

// verifyChip runs challenge → Active Authentication → verification and
// keeps the identity assertion.
func (r *run) verifyChip(ctx context.Context) error {
	ch, err := r.c.NewChallenge(ctx)
	if err != nil {
		return fmt.Errorf("demo: challenge: %w", err)
	}
	nonce := ch.Nonce
	sig, err := certstest.AnswerChallenge(r.o.ChipDir, nonce)
	if err != nil {
		return fmt.Errorf("demo: chip answer: %w", err)
	}
	req := map[string]string{"challenge_id": ch.ID, "aa_signature": base64.StdEncoding.EncodeToString(sig)}
	for _, f := range []struct{ field, file string }{{"sod", "sod.bin"}, {"dg1", "dg1.bin"}, {"dg13", "dg13.bin"}, {"dg15", "dg15.bin"}, {"dg14", "dg14.bin"}} {
		b, err := os.ReadFile(filepath.Join(r.o.ChipDir, f.file))
		if errors.Is(err, os.ErrNotExist) && f.field == "dg14" {
			continue
		}
		if err != nil {
			return fmt.Errorf("demo: chip file: %w", err)
		}
		req[f.field] = base64.StdEncoding.EncodeToString(b)
	}
	var v struct {
		Assertion string         `json:"assertion"`
		Claims    map[string]any `json:"claims"`
	}
	if err := r.c.JSON(ctx, "POST", "/v1/identity/verifications", "", (req), 201, &v); err != nil {
		var pe *ProblemError
		if errors.As(err, &pe) && strings.Contains(pe.Code, "csca") {
			return fmt.Errorf("demo: chip verification: %w (does the server trust %s?)", err, filepath.Join(r.o.ChipDir, "csca.pem"))
		}
		return fmt.Errorf("demo: chip verification: %w", err)
	}
	if v.Assertion == "" {
		return errors.New("demo: the verification returned no assertion")
	}
	r.assertion = v.Assertion
	loa, _ := v.Claims["loa"].(string)
	r.say("chip verified (passive + active authentication): identity assertion issued (LoA %s)", loa)
	return nil
}

// asCitizen runs fn with the current assertion; when the server refuses it
// as used or expired, the chip is verified again and fn retried once.
func (r *run) asCitizen(ctx context.Context, fn func() error) error {
	err := fn()
	var pe *ProblemError
	if errors.As(err, &pe) && pe.Status == http.StatusUnauthorized {
		r.detail("assertion refused (%s); verifying the chip again", pe.Code)
		r.step--
		if err := r.verifyChip(ctx); err != nil {
			return err
		}
		return fn()
	}
	return err
}

type dossierView struct {
	ID         string `json:"id"`
	AgencyCode string `json:"agency_code"`
	State      string `json:"state"`
	Form       struct {
		Signer string `json:"signer"`
	} `json:"form"`
	Decision *struct {
		Decision     string `json:"decision"`
		DecidedBy    string `json:"decided_by"`
		OfficerName  string `json:"officer_name"`
		OfficerTitle string `json:"officer_title"`
	} `json:"decision"`
	Result *struct {
		SHA256 string `json:"sha256"`
		Number string `json:"number"`
	} `json:"result"`
	Files []struct {
		Kind string `json:"kind"`
		Seal []byte `json:"seal"`
	} `json:"files"`
}

func countDigitized(d dossierView) int {
	n := 0
	for _, f := range d.Files {
		if f.Kind == "digitized" && len(f.Seal) > 0 {
			n++
		}
	}
	return n
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// demoScan is a tiny PDF standing in for a scanned paper input.
func demoScan() []byte {
	return []byte("%PDF-1.4\n% scanned household registration book (demo)\n%%EOF\n")
}

// ProblemError is a problem+json answer.
type ProblemError = apiclient.ProblemError
