package dossier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

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
	roots       *x509.CertPool
	interList   []*x509.Certificate
	pdf         PDFVerifier
	checkStatus func(ctx context.Context, leaf *x509.Certificate) error
	now         func() time.Time
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
	f := &SignatureForms{roots: x509.NewCertPool(), interList: cfg.Intermediates, pdf: cfg.PDF, checkStatus: cfg.CheckStatus, now: cfg.Now}
	for _, c := range cfg.Roots {
		f.roots.AddCert(c)
	}
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

// ParsedJWS is a parsed compact JWS form; its signature and chain are not
// checked yet.
type ParsedJWS struct {
	Alg string
	// SigningTime is the claimed signing time, when present: the iat header
	// (ETSI TS 119 182-1 V1.2.1), else the sigT header of older JAdES.
	SigningTime time.Time
	// Certs is the x5c chain, signer first.
	Certs     []*x509.Certificate
	Payload   []byte
	signed    []byte
	signature []byte
}

// ParseFormJWS parses a compact JWS form: the protected header must name
// an accepted algorithm and carry x5c; the critical headers understood are
// the JAdES claimed signing times, iat and the older sigT (go-jose refuses
// sigT in crit, which forms signed before ETSI TS 119 182-1 V1.2.1 carry,
// hence this parser); b64=false is refused.
func ParseFormJWS(raw string) (*ParsedJWS, error) {
	if len(raw) > MaxJWSBytes {
		return nil, formFailure("the JWS is longer than %d bytes", MaxJWSBytes)
	}
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return nil, formFailure("the form is not a compact JWS")
	}
	hdrJSON, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, formFailure("the JWS header is not base64url")
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		X5C  []string        `json:"x5c"`
		Crit []string        `json:"crit"`
		SigT string          `json:"sigT"`
		IAT  json.RawMessage `json:"iat"`
		B64  json.RawMessage `json:"b64"`
	}
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return nil, formFailure("the JWS header is not a JSON object")
	}
	if _, ok := jwsHashes[hdr.Alg]; !ok {
		return nil, formFailure("the JWS algorithm %q is not accepted", hdr.Alg)
	}
	if len(hdr.B64) > 0 && string(hdr.B64) != "true" {
		return nil, formFailure("unencoded JWS payloads are not accepted")
	}
	out := &ParsedJWS{Alg: hdr.Alg, signed: []byte(parts[0] + "." + parts[1])}
	for _, c := range hdr.Crit {
		switch {
		case c != "sigT" && c != "iat":
			return nil, formFailure("the JWS has an unsupported critical header %q", c)
		case c == "sigT" && hdr.SigT == "", c == "iat" && len(hdr.IAT) == 0:
			return nil, formFailure("the JWS marks %s critical but has none", c)
		}
	}
	if hdr.SigT != "" {
		t, err := time.Parse(time.RFC3339, hdr.SigT)
		if err != nil {
			return nil, formFailure("the JWS sigT header is not an RFC 3339 time")
		}
		out.SigningTime = t
	}
	if len(hdr.IAT) > 0 {
		t, err := numericDate(hdr.IAT)
		if err != nil {
			return nil, formFailure("the JWS iat header is not a NumericDate")
		}
		out.SigningTime = t
	}
	if len(hdr.X5C) == 0 || len(hdr.X5C) > 8 {
		return nil, formFailure("the JWS must carry its certificate chain in x5c")
	}
	for _, b := range hdr.X5C {
		der, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return nil, formFailure("an x5c entry is not base64")
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, formFailure("an x5c entry is not a certificate")
		}
		out.Certs = append(out.Certs, c)
	}
	if out.Payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		return nil, formFailure("the JWS payload is not base64url")
	}
	if out.signature, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		return nil, formFailure("the JWS signature is not base64url")
	}
	return out, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z, the latest iat accepted.
const maxNumericDate = 253402300799

// numericDate reads an RFC 7519 NumericDate: seconds since the epoch as a
// JSON number, a fraction of a second dropped.
func numericDate(raw json.RawMessage) (time.Time, error) {
	var n json.Number
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil || n == "" {
		return time.Time{}, errors.New("not a JSON number")
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, errors.New("out of range")
	}
	return time.Unix(int64(f), 0).UTC(), nil
}

var jwsHashes = map[string]crypto.Hash{
	"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512,
}

// verifySignature checks the JWS signature with the signer's key.
func (j *ParsedJWS) verifySignature() error {
	h := jwsHashes[j.Alg]
	d := h.New()
	d.Write(j.signed)
	sum := d.Sum(nil)
	switch k := j.Certs[0].PublicKey.(type) {
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if j.Alg[:2] != "ES" || len(j.signature) != 2*size {
			return errors.New("signature form does not match the key")
		}
		r, s := new(big.Int).SetBytes(j.signature[:size]), new(big.Int).SetBytes(j.signature[size:])
		if !ecdsa.Verify(k, sum, r, s) {
			return errors.New("bad signature")
		}
	case *rsa.PublicKey:
		var err error
		switch j.Alg[:2] {
		case "RS":
			err = rsa.VerifyPKCS1v15(k, h, sum, j.signature)
		case "PS":
			err = rsa.VerifyPSS(k, h, sum, j.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		default:
			err = errors.New("signature form does not match the key")
		}
		return err
	default:
		return fmt.Errorf("unsupported key %T", k)
	}
	return nil
}

func (f *SignatureForms) verifyJWS(ctx context.Context, applicant, raw string) (*FormCheck, error) {
	j, err := ParseFormJWS(raw)
	if err != nil {
		return nil, err
	}
	leaf := j.Certs[0]
	inter := x509.NewCertPool()
	for _, c := range j.Certs[1:] {
		inter.AddCert(c)
	}
	for _, c := range f.interList {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: f.roots, Intermediates: inter, CurrentTime: f.now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil || len(chains) == 0 {
		return nil, formFailure("the x5c certificate does not chain to a trusted CA: %v", err)
	}
	if err := j.verifySignature(); err != nil {
		return nil, formFailure("the JWS signature does not verify with the x5c certificate")
	}
	if !j.SigningTime.IsZero() && j.SigningTime.After(f.now().Add(5*time.Minute)) {
		return nil, formFailure("the JWS claims a signing time in the future")
	}
	var body map[string]any
	if err := json.Unmarshal(j.Payload, &body); err != nil {
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
