package pades

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/digitorus/pdf"

	"kyso/cms"
	"kyso/signer/cades"
	"kyso/signer/pdfincr"
)

// ErrNoSignature is returned by Extend for a PDF without signatures.
var ErrNoSignature = errors.New("pades: the document has no signature to extend")

// Bounds of the signature field walk.
const (
	maxFields     = 1000
	maxFieldDepth = 16
)

// Extend brings a signed PDF to PAdES-BASELINE-LTA, or renews it: it
// appends a DSS revision with the certificates and current revocation data
// of every signature and time-stamp already in the document (signers,
// their chains, the TSAs of signature and document time-stamps, so the
// previous time-stamp's TSA is covered too), then a document time-stamp
// over everything. root, when set, is added to the certificates.
func Extend(ctx context.Context, src io.ReaderAt, size int64, dst io.Writer, stamper Stamper, rev cades.RevocationSource, root *x509.Certificate, h crypto.Hash) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: malformed PDF: %v", pdfincr.ErrUnsupported, r)
		}
	}()
	if stamper == nil {
		return ErrNeedStamper
	}
	if rev == nil {
		return ErrNeedRevoc
	}
	if h == 0 {
		h = crypto.SHA256
	}
	doc, err := pdfincr.Open(src, size)
	if err != nil {
		return err
	}
	values := signatureValues(doc.Catalog())
	if len(values) == 0 {
		return ErrNoSignature
	}
	var certs []*x509.Certificate
	for _, v := range values {
		sd, err := cms.Parse(v)
		if err != nil {
			continue
		}
		certs = append(certs, sd.Certificates...)
		certs = append(certs, cades.TokenCertificates(v)...)
	}
	if root != nil {
		certs = append(certs, root)
	}
	vd, err := cades.CollectValidationData(ctx, rev, certs)
	if err != nil {
		return fmt.Errorf("pades: extend: %w", err)
	}
	built, err := dssRevision(doc, vd)
	if err != nil {
		return err
	}
	cat := pdfincr.NewConcat(doc.Source(), doc.Size(), built.Data)
	if doc, err = pdfincr.Open(cat, cat.Size()); err != nil {
		return fmt.Errorf("pades: reopen DSS revision: %w", err)
	}
	if built, err = docTimeStampRevision(ctx, doc, stamper, h); err != nil {
		return err
	}
	_, err = built.WriteTo(doc, dst)
	return err
}

// signatureValues returns the /Contents of every signed signature field
// (signatures and document time-stamps), trailing zero padding removed.
func signatureValues(cat pdf.Value) [][]byte {
	var out [][]byte
	n := 0
	var walk func(fields pdf.Value, depth int)
	walk = func(fields pdf.Value, depth int) {
		if depth > maxFieldDepth {
			return
		}
		for i := 0; i < fields.Len() && n < maxFields; i++ {
			n++
			f := fields.Index(i)
			if kids := f.Key("Kids"); kids.Len() > 0 {
				walk(kids, depth+1)
			}
			if f.Key("FT").Name() != "Sig" {
				continue
			}
			if c := f.Key("V").Key("Contents").RawString(); c != "" {
				out = append(out, trimDER([]byte(c)))
			}
		}
	}
	walk(cat.Key("AcroForm").Key("Fields"), 0)
	return out
}

// trimDER cuts a DER value off its zero padding.
func trimDER(b []byte) []byte {
	if len(b) < 2 || b[0] != 0x30 {
		return b
	}
	l, hdr := int(b[1]), 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < 2+n {
			return b
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if hdr+l > len(b) || hdr+l < 0 {
		return b
	}
	return b[:hdr+l]
}
