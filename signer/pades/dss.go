package pades

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"github.com/digitorus/pdf"

	"kyso/signer/cades"
	"kyso/signer/pdfincr"
)

// ValidationData is what a DSS revision adds.
type ValidationData struct {
	Certs, OCSPs, CRLs [][]byte
}

func appendUnique(list [][]byte, seen map[[32]byte]bool, items ...[]byte) [][]byte {
	for _, it := range items {
		k := sha256.Sum256(it)
		if len(it) == 0 || seen[k] {
			continue
		}
		seen[k] = true
		list = append(list, it)
	}
	return list
}

// collectValidationData gathers the chain, the time-stamp certificates and
// revocation information for each certificate. The signer certificate's
// revocation information is required; the others are best effort.
func collectValidationData(ctx context.Context, opts Options, cms []byte) (*ValidationData, error) {
	certs := []*x509.Certificate{opts.Cert}
	certs = append(certs, opts.Chain...)
	if opts.Root != nil {
		certs = append(certs, opts.Root)
	}
	if info, err := cades.Parse(cms); err == nil && len(info.TimeStampToken) > 0 {
		if tok, err := cades.Parse(info.TimeStampToken); err == nil {
			certs = append(certs, tok.Certificates...)
		}
	}
	vd := &ValidationData{}
	seen := map[[32]byte]bool{}
	for _, c := range certs {
		vd.Certs = appendUnique(vd.Certs, seen, c.Raw)
	}
	for i, c := range certs {
		if isSelfSigned(c) {
			continue
		}
		var issuer *x509.Certificate
		for _, cand := range certs {
			if c.CheckSignatureFrom(cand) == nil {
				issuer = cand
				break
			}
		}
		got := false
		if issuer != nil {
			if resp, err := opts.Revocation.OCSP(ctx, c, issuer); err == nil && len(resp) > 0 {
				vd.OCSPs = appendUnique(vd.OCSPs, seen, resp)
				got = true
			} else if i == 0 {
				return nil, fmt.Errorf("pades: OCSP response for the signer certificate: %w", err)
			}
		}
		if crls, err := opts.Revocation.CRLs(ctx, c); err == nil {
			vd.CRLs = appendUnique(vd.CRLs, seen, crls...)
			got = got || len(crls) > 0
		}
		if i == 0 && !got {
			return nil, fmt.Errorf("pades: no revocation information for the signer certificate")
		}
	}
	return vd, nil
}

func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
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
