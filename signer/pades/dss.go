package pades

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"

	"github.com/digitorus/pdf"

	"kyso/signer/cades"
	"kyso/signer/pdfincr"
)

// ValidationData is what a DSS revision adds.
type ValidationData = cades.ValidationData

// collectValidationData gathers the chain, the time-stamp certificates and
// revocation information for each certificate.
func collectValidationData(ctx context.Context, opts Options, cms []byte) (*ValidationData, error) {
	certs := []*x509.Certificate{opts.Cert}
	certs = append(certs, opts.Chain...)
	if opts.Root != nil {
		certs = append(certs, opts.Root)
	}
	certs = append(certs, cades.TokenCertificates(cms)...)
	vd, err := cades.CollectValidationData(ctx, opts.Revocation, certs)
	if err != nil {
		return nil, fmt.Errorf("pades: %w", err)
	}
	return vd, nil
}

// dssRevision appends (or extends) the Document Security Store.
func dssRevision(doc *pdfincr.Doc, vd *ValidationData) (*pdfincr.Built, error) {
	cat := doc.Catalog()
	old := cat.Key("DSS")
	u := doc.NewUpdate()
	var d bytes.Buffer
	dssRef := pdfincr.RefOf(old)
	if old.Kind() == pdf.Dict && dssRef != doc.Root() && !dssRef.IsZero() {
		if err := pdfincr.WriteDictExcept(&d, old, dssRef, "Type", "Certs", "OCSPs", "CRLs"); err != nil {
			return nil, err
		}
	} else {
		dssRef = u.Alloc()
		d.WriteString("<<")
	}
	d.WriteString("/Type /DSS")
	for _, part := range []struct {
		key   string
		items [][]byte
	}{{"Certs", vd.Certs}, {"OCSPs", vd.OCSPs}, {"CRLs", vd.CRLs}} {
		prev := old.Key(part.key)
		if len(part.items) == 0 && prev.Len() == 0 {
			continue
		}
		fmt.Fprintf(&d, " /%s [", part.key)
		for i := 0; i < prev.Len(); i++ {
			if err := pdfincr.WriteValue(&d, prev.Index(i), pdfincr.RefOf(prev)); err != nil {
				return nil, err
			}
			d.WriteByte(' ')
		}
		for _, it := range part.items {
			r := u.Alloc()
			u.Set(r, pdfincr.StreamBody("", it))
			fmt.Fprintf(&d, "%s ", r)
		}
		d.WriteString("]")
	}
	d.WriteString(" >>")
	u.Set(dssRef, d.Bytes())
	var c bytes.Buffer
	if err := pdfincr.WriteDictExcept(&c, cat, doc.Root(), "DSS"); err != nil {
		return nil, err
	}
	fmt.Fprintf(&c, "/DSS %s >>", dssRef)
	u.Set(doc.Root(), c.Bytes())
	return u.Build()
}
