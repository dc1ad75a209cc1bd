package cades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"kyso/cms"
)

// Errors of Extend that callers branch on.
var (
	// ErrNotSignedData: the input is not a CMS SignedData.
	ErrNotSignedData = errors.New("cades: not a CMS signature")
	// ErrNeedContent: a detached signature whose content digest cannot
	// be taken from its message-digest attribute needs the content.
	ErrNeedContent = errors.New("cades: the signed content is needed to extend this signature")
	// ErrContentMismatch: the content given is not what was signed.
	ErrContentMismatch = errors.New("cades: the content given is not the signed content")
	// ErrNoValidationData: the signers' revocation status could not be
	// obtained (first archiving only).
	ErrNoValidationData = errors.New("cades: the signer certificate's revocation status is not available")
	// ErrNeedServices: extension needs a time-stamp authority and a
	// revocation source.
	ErrNeedServices = errors.New("cades: extension needs a time-stamp authority and a revocation source")
)

// Extend brings a CAdES signature (a DER ContentInfo holding SignedData)
// to CAdES-BASELINE-LTA, or renews its archive time-stamps (ETSI EN 319
// 122-1 §5.5.3 and §6.3): the certificates and current revocation data of
// every signer, its chain, root and the TSAs of its signature and earlier
// archive time-stamps (so the previous archive time-stamp's TSA is covered)
// are added to SignedData.certificates and .crls, then each signer gets an
// archive-time-stamp-v3 unsigned attribute whose token carries the
// ats-hash-index-v3 of everything present, over the message imprint
// computed from that index.
//
// The signers' current revocation status is required when the signature
// is first archived, not when an archive time-stamp is renewed.
//
// content is the signed content of a detached signature. It may be nil
// when every signer has signed attributes and digests with h: the content
// hash the imprint needs is then the message-digest attribute. Content
// that is given must be what was signed.
func Extend(ctx context.Context, der, content []byte, stamper Stamper, rev RevocationSource, root *x509.Certificate, h crypto.Hash) ([]byte, error) {
	if stamper == nil || rev == nil {
		return nil, ErrNeedServices
	}
	if h == 0 {
		h = crypto.SHA256
	}
	sd, err := cms.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSignedData, err)
	}
	if content != nil && sd.EContent != nil && !bytes.Equal(content, sd.EContent) {
		return nil, fmt.Errorf("%w: it differs from the encapsulated content", ErrContentMismatch)
	}
	if content == nil {
		content = sd.EContent
	}
	hashes := make([][]byte, len(sd.Signers))
	for i, si := range sd.Signers {
		if hashes[i], err = contentHash(si, content, h); err != nil {
			return nil, fmt.Errorf("signer %d: %w", i+1, err)
		}
	}

	// Validation data: signers first (their status is required), then
	// chains, the root and every time-stamp's TSA.
	var certs []*x509.Certificate
	for _, si := range sd.Signers {
		if c := si.FindSigner(sd.Certificates); c != nil {
			certs = append(certs, c)
		}
	}
	certs = append(certs, sd.Certificates...)
	if root != nil {
		certs = append(certs, root)
	}
	for _, si := range sd.Signers {
		for _, t := range si.Unsigned(cms.OIDTimeStampToken) {
			certs = append(certs, tokenCerts(t)...)
		}
		for _, t := range si.Unsigned(cms.OIDArchiveTimeStampV3) {
			certs = append(certs, tokenCerts(t)...)
		}
	}
	// A renewal (an archive time-stamp is already there) does not need the
	// signers' current status: their certificates may have expired long
	// ago, and the status that matters is already archived.
	renewal := false
	for _, si := range sd.Signers {
		renewal = renewal || len(si.Unsigned(cms.OIDArchiveTimeStampV3)) > 0
	}
	vd, err := collectValidationData(ctx, rev, certs, !renewal)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoValidationData, err)
	}
	out, err := AddValidationData(der, vd)
	if err != nil {
		return nil, err
	}

	return archiveAll(ctx, out, hashes, stamper, h)
}

// Archive adds an archive-time-stamp-v3 to every signer of der (B-LTA)
// without adding validation data: for a signature just made at B-LT,
// whose validation data is already in it. content is as for Extend.
func Archive(ctx context.Context, der, content []byte, stamper Stamper, h crypto.Hash) ([]byte, error) {
	if stamper == nil {
		return nil, ErrNeedServices
	}
	if h == 0 {
		h = crypto.SHA256
	}
	sd, err := cms.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotSignedData, err)
	}
	if content == nil {
		content = sd.EContent
	}
	hashes := make([][]byte, len(sd.Signers))
	for i, si := range sd.Signers {
		if hashes[i], err = contentHash(si, content, h); err != nil {
			return nil, fmt.Errorf("signer %d: %w", i+1, err)
		}
	}
	return archiveAll(ctx, der, hashes, stamper, h)
}

func archiveAll(ctx context.Context, der []byte, hashes [][]byte, stamper Stamper, h crypto.Hash) ([]byte, error) {
	var err error
	for i := range hashes {
		if der, err = archive(ctx, der, i, hashes[i], stamper, h); err != nil {
			return nil, fmt.Errorf("cades: archive time-stamp of signer %d: %w", i+1, err)
		}
	}
	return der, nil
}

// contentHash returns the hash with h of the content si signed.
func contentHash(si *cms.SignerInfo, content []byte, h crypto.Hash) ([]byte, error) {
	var md []byte
	if si.SignedAttrsDER != nil {
		var err error
		if md, err = si.MessageDigest(); err != nil {
			return nil, err
		}
	}
	if content == nil {
		sh, err := si.Hash()
		if md == nil || err != nil || sh != h {
			return nil, ErrNeedContent
		}
		return md, nil
	}
	if md != nil {
		newHash, err := si.Digest()
		if err != nil {
			return nil, err
		}
		hh := newHash()
		hh.Write(content)
		if !bytes.Equal(hh.Sum(nil), md) {
			return nil, ErrContentMismatch
		}
	}
	hh := h.New()
	hh.Write(content)
	return hh.Sum(nil), nil
}

// archive adds an archive-time-stamp-v3 to signer i of der.
func archive(ctx context.Context, der []byte, i int, contentHash []byte, stamper Stamper, h crypto.Hash) ([]byte, error) {
	sd, err := cms.Parse(der)
	if err != nil {
		return nil, err
	}
	si := sd.Signers[i]
	index, err := sd.ATSHashIndexV3(si, h)
	if err != nil {
		return nil, err
	}
	input, err := sd.ArchiveTimeStampV3Input(si, contentHash, index)
	if err != nil {
		return nil, err
	}
	hh := h.New()
	hh.Write(input)
	token, err := stamper.Stamp(ctx, hh.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("time-stamp: %w", err)
	}
	indexAttr, err := cms.EncodeAttribute(cms.OIDATSHashIndexV3, index)
	if err != nil {
		return nil, err
	}
	if token, err = cms.AddUnsignedAttribute(token, 0, indexAttr); err != nil {
		return nil, fmt.Errorf("time-stamp token: %w", err)
	}
	attr, err := cms.EncodeAttribute(cms.OIDArchiveTimeStampV3, token)
	if err != nil {
		return nil, err
	}
	return cms.AddUnsignedAttribute(der, i, attr)
}

// tokenCerts returns the certificates of a time-stamp token.
func tokenCerts(token []byte) []*x509.Certificate {
	ts, err := cms.Parse(token)
	if err != nil {
		return nil
	}
	return ts.Certificates
}
