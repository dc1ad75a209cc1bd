package dossier

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"kyso/problem"
	"kyso/verifier"
	"kyso/verifier/report"
)

// PDFVerifier validates a signed PDF (kyso/verifier's *Verifier).
type PDFVerifier interface {
	Verify(ctx context.Context, in verifier.Input) (*report.Report, error)
}

// SignatureForms is the FormVerifier for JWS forms (x5c chain to the
// configured CAs, signer's UID = CCCD:<applicant>) and signed PDF forms
// (validated by a PDFVerifier, TOTAL-PASSED with a signature by the
// applicant).
type SignatureForms struct {
	roots, inter *x509.CertPool
	hasInter     bool
	pdf          PDFVerifier
	checkStatus  func(ctx context.Context, leaf *x509.Certificate) error
	now          func() time.Time
}

// FormsConfig configures SignatureForms.
type FormsConfig struct {
	// Roots are the trust anchors citizen certificates chain to;
	// Intermediates may add issuing CAs missing from a JWS's x5c.
	Roots, Intermediates []*x509.Certificate
	// PDF validates signed PDF forms; nil refuses them.
	PDF PDFVerifier
	// CheckStatus, when set, is asked whether the signing certificate is
	// still good (not revoked or suspended).
	CheckStatus func(ctx context.Context, leaf *x509.Certificate) error
	Now         func() time.Time
}

// NewSignatureForms returns a FormVerifier.
func NewSignatureForms(cfg FormsConfig) *SignatureForms {
	f := &SignatureForms{roots: x509.NewCertPool(), inter: x509.NewCertPool(), pdf: cfg.PDF, checkStatus: cfg.CheckStatus, now: cfg.Now}
	for _, c := range cfg.Roots {
		f.roots.AddCert(c)
	}
	for _, c := range cfg.Intermediates {
		f.inter.AddCert(c)
		f.hasInter = true
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

// jwsAlgorithms are the signature algorithms accepted for forms.
var jwsAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512}

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

// ParseFormJWS parses a compact JWS form and returns its x5c leaf and
// payload without checking the signature or the chain (used by
// VerifyForm and by fuzzing).
func ParseFormJWS(raw string) (*jose.JSONWebSignature, error) {
	if len(raw) > MaxJWSBytes {
		return nil, formFailure("the JWS is longer than %d bytes", MaxJWSBytes)
	}
	raw = strings.TrimSpace(raw)
	if strings.Count(raw, ".") != 2 {
		return nil, formFailure("the form is not a compact JWS")
	}
	obj, err := jose.ParseSignedCompact(raw, jwsAlgorithms)
	if err != nil {
		return nil, formFailure("the form is not a JWS with an accepted algorithm: %v", err)
	}
	if len(obj.Signatures) != 1 {
		return nil, formFailure("the form must carry one signature")
	}
	return obj, nil
}

func (f *SignatureForms) verifyJWS(ctx context.Context, applicant, raw string) (*FormCheck, error) {
	obj, err := ParseFormJWS(raw)
	if err != nil {
		return nil, err
	}
	// go-jose uses the x5c intermediates only when no pool is given, so the
	// configured intermediates are a second attempt.
	opts := x509.VerifyOptions{Roots: f.roots, CurrentTime: f.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	chains, err := obj.Signatures[0].Protected.Certificates(opts)
	if err != nil && f.hasInter {
		opts.Intermediates = f.inter
		chains, err = obj.Signatures[0].Protected.Certificates(opts)
	}
	if err != nil || len(chains) == 0 || len(chains[0]) == 0 {
		return nil, formFailure("the x5c certificate does not chain to a trusted CA: %v", err)
	}
	leaf := chains[0][0]
	payload, err := obj.Verify(leaf.PublicKey)
	if err != nil {
		return nil, formFailure("the JWS signature does not verify with the x5c certificate")
	}
	var body map[string]any
	if err := json.Unmarshal(payload, &body); err != nil {
		return nil, formFailure("the signed payload is not a JSON object")
	}
	uid := CertUID(leaf)
	if uid != "CCCD:"+applicant {
		p := *ErrFormSigner
		p.Detail = fmt.Sprintf("the form is signed by %q, not by the applicant", uid)
		return nil, &p
	}
	if f.checkStatus != nil {
		if err := f.checkStatus(ctx, leaf); err != nil {
			if _, ok := problem.As(err); ok {
				return nil, err
			}
			return nil, formFailure("the signing certificate is not in good standing: %v", err)
		}
	}
	return &FormCheck{Kind: FormJWS, Signer: leaf.Subject.String(), UID: uid}, nil
}

func (f *SignatureForms) verifyPDF(ctx context.Context, applicant string, pdf []byte) (*FormCheck, error) {
	if f.pdf == nil {
		return nil, invalid("signed PDF forms are not accepted here; send a JWS")
	}
	rep, err := f.pdf.Verify(ctx, verifier.Input{Name: "form.pdf", Data: pdf})
	if err != nil {
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
