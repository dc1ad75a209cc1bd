package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"kyso/problem"
	"kyso/signer/cades"
	"kyso/signer/jws"
	"kyso/signer/pades"
	"kyso/signer/pdfincr"
)

// Stamper returns RFC 3161 time-stamp tokens over a digest (tsa.Server
// in-process, or tsa.Client for an external TSA).
type Stamper interface {
	Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error)
}

// RevocationSource gives current OCSP responses and CRLs for certificates
// (ca.CA in production).
type RevocationSource interface {
	OCSP(ctx context.Context, cert, issuer *x509.Certificate) ([]byte, error)
	CRLs(ctx context.Context, cert *x509.Certificate) ([][]byte, error)
}

// Level is an AdES baseline level.
type Level = pades.Level

// The levels.
const (
	BB   = pades.BB
	BT   = pades.BT
	BLT  = pades.BLT
	BLTA = pades.BLTA
)

// ParseLevel accepts B-B, B-T, B-LT, B-LTA (optionally prefixed AdES-,
// PAdES-); an unknown level is a 400 problem.
func ParseLevel(s string) (Level, error) {
	l, err := pades.ParseLevel(s)
	if err != nil {
		return 0, problem.Newf(http.StatusBadRequest, "bad-level", "level must be B-B, B-T, B-LT or B-LTA, not %q", s)
	}
	return l, nil
}

// Deps are the services higher levels need.
type Deps struct {
	Stamper    Stamper
	Revocation RevocationSource
	// Root is the trust anchor added to the DSS.
	Root *x509.Certificate
}

// Key is a signing key with its certificate and chain (issuing CAs, root
// excluded).
type Key struct {
	Signer crypto.Signer
	Cert   *x509.Certificate
	Chain  []*x509.Certificate
}

// Appearance places a visible PDF signature.
type Appearance = pades.Appearance

// PDFOptions for SignPDF and SealPDF.
type PDFOptions struct {
	Level Level
	// Certify makes a certification (DocMDP) signature, for e-results.
	Certify                         bool
	Name, Reason, Location, Contact string
	Appearance                      *Appearance
	Time                            time.Time
	Deps
}

// SignPDF signs the PDF in src (size bytes) and writes the result to dst.
// Memory use does not grow with the document.
func SignPDF(ctx context.Context, key Key, src io.ReaderAt, size int64, dst io.Writer, o PDFOptions) error {
	err := pades.Sign(ctx, src, size, dst, pades.Options{
		Level: o.Level, Signer: key.Signer, Cert: key.Cert, Chain: key.Chain, Root: o.Root,
		Name: o.Name, Reason: o.Reason, Location: o.Location, Contact: o.Contact, Time: o.Time,
		Certify: o.Certify, Appearance: o.Appearance, Stamper: o.Stamper, Revocation: o.Revocation,
	})
	return mapPDFError(err)
}

// ExtendPDF brings a signed PDF to PAdES-BASELINE-LTA or renews its last
// archive time-stamp: the validation data of every signature and
// time-stamp in it (revocation data fetched now through d.Revocation) goes
// into a DSS revision, then a document time-stamp from d.Stamper covers
// everything, so the signatures stay verifiable after their certificates
// and the previous time-stamp's TSA certificate expire.
func ExtendPDF(ctx context.Context, pdf []byte, d Deps) ([]byte, error) {
	var out bytes.Buffer
	err := pades.Extend(ctx, bytes.NewReader(pdf), int64(len(pdf)), &out, d.Stamper, d.Revocation, d.Root, crypto.SHA256)
	if errors.Is(err, pades.ErrNoSignature) {
		return nil, problem.Newf(http.StatusBadRequest, "no-signature", "the document has no signature to extend")
	}
	if err != nil {
		return nil, mapPDFError(err)
	}
	return out.Bytes(), nil
}

// SealPDF seals a PDF with an agency seal key (an e-result, say) and
// returns the sealed document.
func SealPDF(ctx context.Context, sealSigner crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, pdf []byte, o PDFOptions) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(pdf) + 64<<10)
	if err := SignPDF(ctx, Key{Signer: sealSigner, Cert: cert, Chain: chain}, bytes.NewReader(pdf), int64(len(pdf)), &out, o); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func mapPDFError(err error) error {
	if err == nil {
		return nil
	}
	var tooSmall *pdfincr.TooSmallError
	switch {
	case errors.Is(err, pades.ErrAlreadySigned):
		return problem.Wrap(http.StatusConflict, "already-signed", err)
	case errors.Is(err, pades.ErrNoChanges):
		return problem.Wrap(http.StatusConflict, "document-certified", err)
	case errors.Is(err, pades.ErrBadPage), errors.Is(err, pades.ErrBadAppearance):
		return problem.Wrap(http.StatusBadRequest, "bad-appearance", err)
	case errors.Is(err, pades.ErrBadLevel):
		return problem.Wrap(http.StatusBadRequest, "bad-level", err)
	case errors.Is(err, pades.ErrNeedStamper), errors.Is(err, pades.ErrNeedRevoc):
		return problem.Wrap(http.StatusNotImplemented, "level-unavailable", err)
	case errors.Is(err, pdfincr.ErrUnsupported), strings.HasPrefix(err.Error(), "pdfincr: read PDF"), strings.HasPrefix(err.Error(), "pdfincr: malformed"):
		return problem.Wrap(http.StatusUnprocessableEntity, "bad-pdf", err)
	case errors.As(err, &tooSmall):
		return fmt.Errorf("signer: %w", err)
	}
	return err
}

// CMSOptions for SignCMS.
type CMSOptions struct {
	// Level is B-B or B-T.
	Level Level
	Hash  crypto.Hash
	// Time is the signing-time attribute; now when zero.
	Time time.Time
	Deps
}

// SignCMS returns a CAdES detached signature (.p7s, DER) over content,
// which is hashed as a stream.
func SignCMS(ctx context.Context, key Key, content io.Reader, o CMSOptions) ([]byte, error) {
	if o.Level == 0 {
		o.Level = BB
	}
	if o.Level > BLT {
		return nil, problem.Newf(http.StatusBadRequest, "unsupported-level", "detached CMS signatures are made at B-B, B-T or B-LT, not %s", o.Level)
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	digest, err := cades.DigestReader(content, o.Hash)
	if err != nil {
		return nil, err
	}
	return SignDigestCMS(ctx, key, digest, o)
}

// SignDigestCMS is SignCMS over a precomputed content digest.
func SignDigestCMS(ctx context.Context, key Key, digest []byte, o CMSOptions) ([]byte, error) {
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	p := cades.Params{Signer: key.Signer, Cert: key.Cert, Chain: key.Chain, Hash: o.Hash, SigningTime: o.Time}
	if p.SigningTime.IsZero() {
		p.SigningTime = time.Now()
	}
	if o.Level > BLT {
		return nil, problem.Newf(http.StatusBadRequest, "unsupported-level", "detached CMS signatures are made at B-B, B-T or B-LT, not %s", o.Level)
	}
	if o.Level >= BT {
		if o.Stamper == nil {
			return nil, problem.New(http.StatusNotImplemented, "level-unavailable", "no time-stamp authority is configured")
		}
		p.Stamper = o.Stamper
	}
	if o.Level >= BLT && o.Revocation == nil {
		return nil, problem.New(http.StatusNotImplemented, "level-unavailable", "no revocation source is configured")
	}
	cms, err := cades.Sign(ctx, digest, p)
	if err != nil || o.Level < BLT {
		return cms, err
	}
	// B-LT: certificate and revocation values in SignedData.
	vd, err := cades.CollectValidationData(ctx, o.Revocation, validationCerts(key, o.Root, cades.TokenCertificates(cms)))
	if err != nil {
		return nil, err
	}
	return cades.AddValidationData(cms, vd)
}

// validationCerts lists the signer's certificate first, then the chain,
// the root and the time-stamp certificates.
func validationCerts(key Key, root *x509.Certificate, extra []*x509.Certificate) []*x509.Certificate {
	certs := append([]*x509.Certificate{key.Cert}, key.Chain...)
	if root != nil {
		certs = append(certs, root)
	}
	return append(certs, extra...)
}

// JWSOptions for SignJWS.
type JWSOptions struct {
	// Serialization is "compact" (default) or "json".
	Serialization string
	// Level is B-B or B-T (B-T needs the JSON serialization).
	Level Level
	Time  time.Time
	Deps
}

// SignJWS signs payload (JSON form data) and returns the JWS and its media
// type.
func SignJWS(ctx context.Context, key Key, payload []byte, o JWSOptions) ([]byte, string, error) {
	ser := jws.Serialization(strings.ToLower(o.Serialization))
	if ser == "" {
		ser = jws.Compact
	}
	if ser != jws.Compact && ser != jws.JSON {
		return nil, "", problem.Newf(http.StatusBadRequest, "bad-serialization", "serialization must be compact or json, not %q", o.Serialization)
	}
	if o.Level > BLT {
		return nil, "", problem.Newf(http.StatusBadRequest, "unsupported-level", "JWS signatures are made at B-B, B-T or B-LT, not %s", o.Level)
	}
	jo := jws.Options{Serialization: ser, Time: o.Time}
	if o.Level >= BT {
		if ser != jws.JSON {
			return nil, "", problem.Newf(http.StatusBadRequest, "unsupported-level", "%s needs the JSON serialization", o.Level)
		}
		if o.Stamper == nil {
			return nil, "", problem.New(http.StatusNotImplemented, "level-unavailable", "no time-stamp authority is configured")
		}
		jo.Stamper = o.Stamper
	}
	if o.Level >= BLT {
		if o.Revocation == nil {
			return nil, "", problem.New(http.StatusNotImplemented, "level-unavailable", "no revocation source is configured")
		}
		jo.Revocation, jo.Root = o.Revocation, o.Root
	}
	out, err := jws.Sign(ctx, key.Signer, key.Cert, key.Chain, payload, jo)
	if err != nil {
		return nil, "", err
	}
	if ser == jws.JSON {
		return out, jws.JSONType, nil
	}
	return out, jws.CompactType, nil
}
