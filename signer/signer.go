package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"kyso/docformat"
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

// Document formats Extend tells apart.
const (
	FormatPDF = docformat.PDF
	FormatCMS = docformat.CMS
	FormatJWS = docformat.JWS
)

// Media types of extended documents.
const (
	MediaPDF = "application/pdf"
	MediaCMS = "application/pkcs7-signature"
)

// Extend brings a signed document to its format's B-LTA level, or renews
// its last archive time-stamp, choosing by the detected format: a PDF
// through ExtendPDF (PAdES), a CMS signature through ExtendCMS (CAdES), a
// JWS through ExtendJWS (JAdES).
// content is the signed content of a detached signature, where the format
// needs it (nil otherwise; a PDF carries its own). It returns the extended
// document and its media type; a format that cannot be extended is a 415
// unsupported-format problem.
func Extend(ctx context.Context, doc, content []byte, d Deps) ([]byte, string, error) {
	switch docformat.Detect(doc) {
	case FormatPDF:
		if content != nil {
			return nil, "", problem.New(http.StatusBadRequest, "content-not-applicable", "a PDF carries its signed content; send no separate content")
		}
		out, err := ExtendPDF(ctx, doc, d)
		return out, MediaPDF, err
	case FormatCMS:
		out, err := ExtendCMS(ctx, doc, content, d)
		return out, MediaCMS, err
	case FormatJWS:
		out, err := ExtendJWS(ctx, doc, content, d)
		return out, MediaJWS, err
	}
	return nil, "", problem.New(http.StatusUnsupportedMediaType, "unsupported-format", "only signed PDF documents, CMS (CAdES) and JWS (JAdES) signatures can be extended")
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
	if o.Level > BLTA {
		return nil, problem.Newf(http.StatusBadRequest, "unsupported-level", "detached CMS signatures are made at B-B, B-T, B-LT or B-LTA, not %s", o.Level)
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
	if cms, err = cades.AddValidationData(cms, vd); err != nil || o.Level < BLTA {
		return cms, err
	}
	// B-LTA: an archive-time-stamp-v3 over the signature and its
	// validation data; the content hash is the message-digest attribute.
	return cades.Archive(ctx, cms, nil, o.Stamper, o.Hash)
}

// ExtendCMS brings a CAdES signature (DER, or PEM PKCS7/CMS) to
// CAdES-BASELINE-LTA or renews its archive time-stamps (see cades.Extend):
// the validation data of its signers and time-stamps, fetched now through
// d.Revocation, goes into SignedData, then each signer gets an
// archive-time-stamp-v3 from d.Stamper. content is the signed content of
// a detached signature, needed only when a signer's message-digest
// attribute cannot stand for it; given content must be what was signed.
// The result is DER.
func ExtendCMS(ctx context.Context, doc, content []byte, d Deps) ([]byte, error) {
	der := doc
	if trim := bytes.TrimLeft(doc, "\x00\t\n\f\r "); bytes.HasPrefix(trim, []byte("-----BEGIN")) {
		b, _ := pem.Decode(trim)
		if b == nil || (b.Type != "PKCS7" && b.Type != "CMS") {
			return nil, problem.New(http.StatusUnprocessableEntity, "bad-cms", "the PEM input is not a PKCS7 or CMS block")
		}
		der = b.Bytes
	}
	if d.Stamper == nil {
		return nil, problem.New(http.StatusNotImplemented, "level-unavailable", "no time-stamp authority is configured")
	}
	if d.Revocation == nil {
		return nil, problem.New(http.StatusNotImplemented, "level-unavailable", "no revocation source is configured")
	}
	out, err := cades.Extend(ctx, der, content, d.Stamper, d.Revocation, d.Root, crypto.SHA256)
	switch {
	case errors.Is(err, cades.ErrNotSignedData):
		return nil, problem.Wrap(http.StatusUnprocessableEntity, "bad-cms", err)
	case errors.Is(err, cades.ErrNeedContent):
		return nil, problem.Wrap(http.StatusBadRequest, "content-required", err)
	case errors.Is(err, cades.ErrContentMismatch):
		return nil, problem.Wrap(http.StatusBadRequest, "content-mismatch", err)
	case errors.Is(err, cades.ErrNoValidationData):
		// The signer's CA gives no status for it now (a foreign CA, a
		// certificate it no longer answers for): nothing to archive.
		return nil, problem.Wrap(http.StatusUnprocessableEntity, "revocation-unavailable", err)
	}
	return out, err
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
	// Level is B-B, B-T, B-LT or B-LTA (B-T and above need the JSON
	// serialization).
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
	jo.Archive = o.Level >= BLTA
	out, err := jws.Sign(ctx, key.Signer, key.Cert, key.Chain, payload, jo)
	if err != nil {
		return nil, "", err
	}
	if ser == jws.JSON {
		return out, jws.JSONType, nil
	}
	return out, jws.CompactType, nil
}
