package lds

import (
	"encoding/asn1"
	"fmt"

	"kyso/cms"
	"kyso/identity/pki"
)

// MasterList is a parsed ICAO CSCA master list (Doc 9303-12 9).
type MasterList struct {
	SignedData *cms.SignedData
	Signer     *cms.SignerInfo
	// SignerCert is the master list signer's certificate, from the CMS.
	SignerCert *pki.Certificate
	// Certificates are the CSCA certificates listed.
	Certificates []*pki.Certificate
	// Skipped counts listed certificates we could not parse.
	Skipped int

	signed *signedObject
}

// ParseMasterList parses a .ml file: CMS SignedData whose content is
// CscaMasterList { version, certList SET OF Certificate }.
func ParseMasterList(b []byte) (*MasterList, error) {
	o, err := parseSigned(b, "master list")
	if err != nil {
		return nil, err
	}
	sd := o.sd
	if !sd.EContentType.Equal(OIDCSCAMasterList) {
		return nil, malformed(fmt.Sprintf("master list content type %v", sd.EContentType), nil)
	}
	der, err := cms.ToDER(sd.EContent)
	if err != nil {
		return nil, malformed("CscaMasterList", err)
	}
	var ml struct {
		Version  int
		CertList asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &ml); err != nil {
		return nil, malformed("CscaMasterList", err)
	}
	out := &MasterList{SignedData: sd, Signer: o.signer, SignerCert: o.cert, signed: o}
	cur := ml.CertList.Bytes
	for len(cur) > 0 {
		var rv asn1.RawValue
		r, err := asn1.Unmarshal(cur, &rv)
		if err != nil {
			return nil, malformed("CscaMasterList certificate", err)
		}
		cur = r
		c, err := pki.ParseCertificate(rv.FullBytes)
		if err != nil {
			out.Skipped++
			continue
		}
		out.Certificates = append(out.Certificates, c)
	}
	return out, nil
}

// VerifySignature checks the master list's CMS signature with the signer
// certificate it carries.
func (m *MasterList) VerifySignature() error {
	return m.signed.verify()
}
