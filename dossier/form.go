package dossier

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"kyso/jose"
	"kyso/verifier"
	"kyso/verifier/report"
)

// DocumentVerifier validates a signed document (kyso/verifier's
// *Verifier): the one implementation of signature validation, trust,
// revocation and algorithm policy that every form goes through.
type DocumentVerifier interface {
	Verify(ctx context.Context, in verifier.Input) (*report.Report, error)
}

// SignatureForms is the FormVerifier for JWS and signed PDF forms: the
// verifier must say TOTAL-PASSED (chain to its trust anchors, revocation
// checked, accepted algorithms) and a signature must be the applicant's
// (UID = CCCD:<applicant>). The dossier parses no signature itself.
type SignatureForms struct {
	verifier DocumentVerifier
	now      func() time.Time
}

// FormsConfig configures SignatureForms.
type FormsConfig struct {
	// Verifier validates signed forms; nil refuses every form.
	Verifier DocumentVerifier
	Now      func() time.Time
}

// NewSignatureForms returns a FormVerifier.
func NewSignatureForms(cfg FormsConfig) *SignatureForms {
	f := &SignatureForms{verifier: cfg.Verifier, now: cfg.Now}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

// MaxJWSBytes bounds a compact JWS form.
const MaxJWSBytes = 1 << 20

// oidUID is the userId attribute (0.9.2342.19200300.100.1.1).
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// CertUID returns the userId attribute of a certificate's subject.
func CertUID(c *x509.Certificate) string {
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidUID) {
			if s, ok := n.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// VerifyForm implements FormVerifier.
func (f *SignatureForms) VerifyForm(ctx context.Context, applicant string, form Form) (*FormCheck, error) {
	if f.verifier == nil {
		return nil, invalid("signed forms cannot be verified here")
	}
	switch {
	case form.JWS != "" && len(form.PDF) == 0:
		return f.verifyJWS(ctx, applicant, form.JWS)
	case len(form.PDF) > 0 && form.JWS == "":
		return f.verifyPDF(ctx, applicant, form.PDF)
	}
	return nil, invalid("form must hold exactly one of jws and pdf")
}

func formFailure(format string, args ...any) error {
	p := *ErrFormSignature
	p.Detail = fmt.Sprintf(format, args...)
	return &p
}

// verifyJWS validates a JWS form with the verifier; its one signature must
// pass, claim no signing time in the future and sign a JSON object.
func (f *SignatureForms) verifyJWS(ctx context.Context, applicant, raw string) (*FormCheck, error) {
	if len(raw) > MaxJWSBytes {
		return nil, formFailure("the JWS is longer than %d bytes", MaxJWSBytes)
	}
	data := []byte(strings.TrimSpace(raw))
	rep, err := f.verifier.Verify(ctx, verifier.Input{Name: "form.jws", Data: data})
	if err != nil || rep.Document.Format != verifier.FormatJWS {
		return nil, formFailure("the form is not a JWS")
	}
	if len(rep.Signatures) != 1 {
		return nil, formFailure("the JWS form must carry exactly one signature, not %d", len(rep.Signatures))
	}
	sig := rep.Signatures[0]
	if rep.Status.MainIndication != report.TotalPassed || sig.Status.MainIndication != report.TotalPassed {
		return nil, formFailure("the JWS form's signature is %s", statusText(sig.Status))
	}
	if cl := sig.SigningTime.Claimed; cl != nil && cl.After(f.now().Add(5*time.Minute)) {
		return nil, formFailure("the JWS claims a signing time in the future")
	}
	payload, err := jose.Payload(data)
	if err != nil {
		return nil, formFailure("the JWS payload cannot be read: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, formFailure("the signed payload is not a JSON object")
	}
	if sig.Signer == nil || sig.Signer.UID != "CCCD:"+applicant {
		p := *ErrFormSigner
		uid := ""
		if sig.Signer != nil {
			uid = sig.Signer.UID
		}
		p.Detail = fmt.Sprintf("the form is signed by %q, not by the applicant", uid)
		return nil, &p
	}
	return &FormCheck{Kind: FormJWS, Signer: sig.Signer.Subject, UID: sig.Signer.UID}, nil
}

func statusText(s report.Status) string {
	out := string(s.MainIndication)
	if s.SubIndication != "" {
		out += " " + string(s.SubIndication)
	}
	if s.Detail != "" {
		out += ": " + s.Detail
	}
	return out
}

func (f *SignatureForms) verifyPDF(ctx context.Context, applicant string, pdf []byte) (*FormCheck, error) {
	rep, err := f.verifier.Verify(ctx, verifier.Input{Name: "form.pdf", Data: pdf})
	if err != nil || rep.Document.Format != verifier.FormatPDF {
		return nil, formFailure("the PDF form cannot be read: %v", err)
	}
	if rep.Status.MainIndication != report.TotalPassed {
		return nil, formFailure("the PDF form's signatures are %s %s", rep.Status.MainIndication, rep.Status.SubIndication)
	}
	for _, sig := range rep.Signatures {
		if sig.Signer != nil && sig.Status.MainIndication == report.TotalPassed && sig.Signer.UID == "CCCD:"+applicant {
			return &FormCheck{Kind: FormPDF, Signer: sig.Signer.Subject, UID: sig.Signer.UID}, nil
		}
	}
	return nil, ErrFormSigner
}
