package verifier

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"kyso/cms"
	"kyso/verifier/policy"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// oidUID is the userID attribute (0.9.2342.19200300.100.1.1) carrying
// CCCD:/MST:/MNS: identifiers in Vietnamese certificates.
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// signerCheck is what validating one CMS signer needs.
type signerCheck struct {
	sd *cms.SignedData
	si *cms.SignerInfo
	// digest hashes the signed content with a new hash from newHash.
	digest func(newHash func() hash.Hash) ([]byte, error)
	// content returns the signed content itself, which a signature without
	// signed attributes covers.
	content    func() ([]byte, error)
	extraCerts []*x509.Certificate
	evidence   []revocation.Evidence
	// poe are proofs of existence from later document time-stamps.
	poe []time.Time
	// claimed is the signing time claimed outside CMS (PDF /M).
	claimed *time.Time
	// format is the document format for the signer certificate policy
	// (PDF, CMS); empty means CMS.
	format string
}

// signerResult carries facts the PDF layer needs for the level.
type signerResult struct {
	cert        *x509.Certificate
	essV2       bool
	sigTST      bool
	revocSource string
}

// dn prints a distinguished name, naming the userID attribute UID.
func dn(n pkix.Name) string {
	return strings.ReplaceAll(n.String(), "0.9.2342.19200300.100.1.1=", "UID=")
}

func signerInfo(c *x509.Certificate) *report.Signer {
	s := &report.Signer{Name: c.Subject.CommonName, Subject: dn(c.Subject), Issuer: dn(c.Issuer)}
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidUID) {
			if str, ok := n.Value.(string); ok {
				s.UID = str
			}
		}
	}
	if s.Name == "" {
		s.Name = s.Subject
	}
	return s
}

func certInfo(c *x509.Certificate, trusted bool) report.Certificate {
	sum := sha256.Sum256(c.Raw)
	return report.Certificate{Subject: dn(c.Subject), Issuer: dn(c.Issuer), Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:]), Trusted: trusted}
}

// cmsEvidence collects revocation data carried inside a SignedData.
func cmsEvidence(sd *cms.SignedData, si *cms.SignerInfo) revocation.Evidence {
	ev := revocation.Evidence{Origin: "CMS", CRLs: slices.Clone(sd.CRLs), OCSP: slices.Clone(sd.OCSPs)}
	// Adobe revocation-info archival (signed attribute).
	if vals, err := si.Signed(cms.OIDAdobeRevocation); err == nil {
		for _, v := range vals {
			var ria struct {
				CRL   []asn1.RawValue `asn1:"explicit,optional,tag:0"`
				OCSP  []asn1.RawValue `asn1:"explicit,optional,tag:1"`
				Other []asn1.RawValue `asn1:"explicit,optional,tag:2"`
			}
			if _, err := asn1.Unmarshal(v, &ria); err == nil {
				for _, c := range ria.CRL {
					ev.CRLs = append(ev.CRLs, c.FullBytes)
				}
				for _, o := range ria.OCSP {
					ev.OCSP = append(ev.OCSP, o.FullBytes)
				}
			}
		}
	}
	// CAdES revocation values (unsigned attribute).
	for _, v := range si.Unsigned(cms.OIDRevocationValues) {
		var rv struct {
			CRL  []asn1.RawValue `asn1:"explicit,optional,tag:0"`
			OCSP []asn1.RawValue `asn1:"explicit,optional,tag:1"`
		}
		if _, err := asn1.Unmarshal(v, &rv); err == nil {
			for _, c := range rv.CRL {
				ev.CRLs = append(ev.CRLs, c.FullBytes)
			}
			for _, o := range rv.OCSP {
				ev.Basic = append(ev.Basic, o.FullBytes)
			}
		}
	}
	return ev
}

// validateSigner runs the ETSI EN 319 102-1 basic validation (plus
// time-stamps and revocation at the best signature time) for one signer.
func (v *Verifier) validateSigner(ctx context.Context, c signerCheck, sig *report.Signature) signerResult {
	o := &outcome{sig: sig}
	var res signerResult
	now := v.validationTime()
	sig.SigningTime = report.SigningTime{Best: now, Proof: "validation-time"}
	if t, ok := c.si.SigningTime(); ok {
		sig.SigningTime.Claimed = &t
	} else if c.claimed != nil {
		t := c.claimed.UTC()
		sig.SigningTime.Claimed = &t
	}
	defer o.finish()

	// Format.
	newHash, err := c.si.Digest()
	if !o.check("digest algorithm", err) {
		o.fail(report.Indeterminate, report.CryptoConstraintsFailure, err.Error())
		return res
	}
	if c.si.SignedAttrsDER != nil {
		ct, err := c.si.ContentType()
		if err == nil && !ct.Equal(c.sd.EContentType) {
			err = fmt.Errorf("content-type attribute %v differs from eContentType %v", ct, c.sd.EContentType)
		}
		if !o.check("content-type attribute", err) {
			o.fail(report.TotalFailed, report.FormatFailure, err.Error())
			return res
		}
	}

	// Identify the signing certificate: in the SignedData, the document's
	// validation data, or the trust store (a CMS may carry no certificate).
	pool := append(slices.Clone(c.sd.Certificates), c.extraCerts...)
	cert := c.si.FindSigner(pool)
	if cert == nil {
		cert = c.si.FindSigner(v.opts.Roots)
	}
	if cert == nil {
		o.check("signing certificate", errors.New("no certificate matches the signer identifier"))
		o.fail(report.Indeterminate, report.NoSigningCertificateFound, "signing certificate not found")
		return res
	}
	res.cert = cert
	sig.Signer = signerInfo(cert)
	o.check("signing certificate", nil)
	ess, v2, present, err := c.si.SigningCertificate()
	switch {
	case err != nil:
		o.check("signing-certificate attribute", err)
		o.fail(report.TotalFailed, report.FormatFailure, err.Error())
		return res
	case !present:
		o.note("signing-certificate attribute", "warning", "absent: the signer certificate is not protected by the signature")
	case !ess.MatchesCert(cert):
		o.check("signing-certificate attribute", errors.New("does not match the signer's certificate"))
		o.fail(report.Indeterminate, report.NoSigningCertificateFound, "signing-certificate attribute does not match the certificate")
		return res
	default:
		res.essV2 = v2
		name := "signing-certificate attribute"
		if v2 {
			name = "signing-certificate-v2 attribute"
		}
		o.check(name, nil)
	}

	// Cryptographic verification: digest, then signature value.
	sum, err := c.digest(newHash)
	if err != nil {
		o.check("message digest", err)
		o.fail(report.Indeterminate, report.SignedDataNotFound, err.Error())
		return res
	}
	if c.si.SignedAttrsDER != nil {
		md, mdErr := c.si.MessageDigest()
		if mdErr != nil {
			o.check("message digest", mdErr)
			o.fail(report.TotalFailed, report.FormatFailure, mdErr.Error())
			return res
		}
		if !bytes.Equal(md, sum) {
			o.check("message digest", errors.New("the signed data's digest differs from the message-digest attribute"))
			o.fail(report.TotalFailed, report.HashFailure, "the signed data was changed")
			return res
		}
		o.check("message digest", nil)
		err = c.si.VerifySignature(cert, nil)
	} else {
		// No signed attributes: the signature covers the content itself.
		var content []byte
		if content, err = c.content(); err == nil {
			err = c.si.VerifySignature(cert, content)
		}
	}
	if err != nil {
		o.check("signature value", err)
		switch {
		case errors.Is(err, cms.ErrUnsupportedAlgorithm):
			o.fail(report.Indeterminate, report.CryptoConstraintsFailure, err.Error())
		default:
			o.fail(report.TotalFailed, report.SigCryptoFailure, "the signature value does not verify")
		}
		return res
	}
	o.check("signature value", nil)

	// Signature time-stamps give a proof of existence of the signature value.
	poe := time.Time{}
	for _, der := range c.si.Unsigned(cms.OIDTimeStampToken) {
		tsr, gen, ok := v.verifyTimeStamp(ctx, der, c.si.Signature, "signature")
		sig.TimeStamps = append(sig.TimeStamps, tsr)
		if ok {
			res.sigTST = true
			if poe.IsZero() || gen.Before(poe) {
				poe = gen
			}
		} else {
			o.note("signature time-stamp", "failed", tsr.Status.Detail)
		}
	}
	proof := "signature-time-stamp"
	for _, t := range c.poe {
		if poe.IsZero() || t.Before(poe) {
			poe, proof = t, "document-time-stamp"
		}
	}
	at := now
	if !poe.IsZero() {
		at = poe
		sig.SigningTime = report.SigningTime{Claimed: sig.SigningTime.Claimed, Best: poe, Proof: proof}
		if cl := sig.SigningTime.Claimed; cl != nil && cl.After(poe.Add(5*time.Minute)) {
			o.note("claimed signing time", "warning", "claimed signing time is after the time-stamp")
		}
	}

	// Certificate chain at the best signature time.
	chain, ok := v.chain(o, cert, pool, at, !poe.IsZero(), x509.ExtKeyUsageAny)
	if !ok {
		return res
	}
	for i, cc := range chain {
		sig.Chain = append(sig.Chain, certInfo(cc, i == len(chain)-1))
	}
	format := c.format
	if format == "" {
		format = FormatCMS
	}
	// Digests that are no crypto.Hash (SHAKE256 of Ed448) are judged with
	// their key algorithm.
	h, _ := c.si.Hash()
	v.applyPolicy(o, sig, chain, format, at, !poe.IsZero(), h, c.si.SignatureHash())

	// Revocation at the best signature time, for every certificate but the anchor.
	evidence := append([]revocation.Evidence{cmsEvidence(c.sd, c.si)}, c.evidence...)
	res.revocSource = v.checkRevocation(ctx, o, sig, chain, at, !poe.IsZero(), evidence)
	return res
}

// checkRevocation checks every certificate of chain but the anchor at time
// at (proven: a time-stamp proves the signature existed then), records the
// results in sig and returns the source of the signing certificate's status.
func (v *Verifier) checkRevocation(ctx context.Context, o *outcome, sig *report.Signature, chain []*x509.Certificate, at time.Time, proven bool, evidence []revocation.Evidence) string {
	source := ""
	for i := 0; i+1 < len(chain); i++ {
		r := v.opts.Revocation.Check(ctx, chain[i], chain[i+1], at, evidence)
		rr := report.Revocation{Subject: dn(chain[i].Subject), Status: string(r.Status), Source: r.Source, Detail: r.Detail}
		if !r.RevokedAt.IsZero() {
			t := r.RevokedAt
			rr.RevokedAt = &t
		}
		if !r.Issued.IsZero() {
			t := r.Issued
			rr.Issued = &t
		}
		sig.Revocation = append(sig.Revocation, rr)
		if i == 0 {
			source = r.Source
		}
		switch {
		case r.Status == revocation.Revoked && i == 0:
			o.check("revocation", fmt.Errorf("%s revoked at %s", chain[i].Subject.CommonName, r.RevokedAt.Format(time.RFC3339)))
			// EN 319 102-1 §5.6.2.4: a revocation before the best
			// signature time leaves it open whether the signature was
			// made before; it is a failure only when the signer's own
			// claimed signing time is at or after the revocation.
			if cl := sig.SigningTime.Claimed; cl != nil && !cl.Before(r.RevokedAt) {
				o.fail(report.TotalFailed, report.Revoked, "the signing certificate was revoked before the claimed signing time")
			} else {
				o.fail(report.Indeterminate, report.RevokedNoPOE, "the signing certificate was revoked and nothing proves the signature was made before")
			}
		case r.Status == revocation.Revoked:
			o.check("revocation", fmt.Errorf("CA %s revoked at %s", chain[i].Subject.CommonName, r.RevokedAt.Format(time.RFC3339)))
			o.fail(report.Indeterminate, report.RevokedCANoPOE, "a CA certificate of the chain was revoked")
		case r.Status == revocation.Good && !r.RevokedAt.IsZero() && !proven:
			o.check("revocation", fmt.Errorf("%s revoked at %s and nothing proves the signature existed before", chain[i].Subject.CommonName, r.RevokedAt.Format(time.RFC3339)))
			o.fail(report.Indeterminate, report.RevokedNoPOE, "certificate revoked; no proof the signature was made before")
		case r.Status == revocation.Unknown && i > 0 && len(chain[i].OCSPServer) == 0 && len(chain[i].CRLDistributionPoints) == 0:
			// A CA certificate that names no OCSP responder or CRL, with no
			// revocation data in the document: nothing can be checked, and
			// the anchor vouches for it.
			o.note("revocation", "warning", fmt.Sprintf("%s publishes no revocation service; not checked", chain[i].Subject.CommonName))
		case r.Status == revocation.Unknown:
			o.check("revocation", fmt.Errorf("%s: %s", chain[i].Subject.CommonName, r.Detail))
			o.fail(report.Indeterminate, report.TryLater, "revocation status not available")
		default:
			o.check("revocation", nil)
		}
	}
	return source
}

// chain builds and checks the certificate chain of cert at time at.
func (v *Verifier) chain(o *outcome, cert *x509.Certificate, pool []*x509.Certificate, at time.Time, proven bool, eku x509.ExtKeyUsage) ([]*x509.Certificate, bool) {
	inter := x509.NewCertPool()
	for _, c := range pool {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{eku}}
	chains, err := cert.Verify(opts)
	if err == nil {
		o.check("certificate chain", nil)
		return chains[0], true
	}
	var inv x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		o.check("certificate chain", err)
		bad := inv.Cert
		if bad == nil {
			bad = cert
		}
		if at.Before(bad.NotBefore) {
			o.fail(report.TotalFailed, report.NotYetValid, fmt.Sprintf("%s not valid before %s", bad.Subject.CommonName, bad.NotBefore.UTC().Format(time.RFC3339)))
		} else if proven {
			o.fail(report.TotalFailed, report.Expired, fmt.Sprintf("%s expired %s, before the proven signing time", bad.Subject.CommonName, bad.NotAfter.UTC().Format(time.RFC3339)))
		} else {
			o.fail(report.Indeterminate, report.OutOfBoundsNoPOE, fmt.Sprintf("%s expired %s and no time-stamp proves an earlier signing time", bad.Subject.CommonName, bad.NotAfter.UTC().Format(time.RFC3339)))
		}
	case errors.As(err, &ua):
		o.check("certificate chain", errors.New("no chain to a configured trust anchor"))
		o.fail(report.Indeterminate, report.NoCertificateChainFound, "the certificate does not chain to a trusted root")
	default:
		o.check("certificate chain", err)
		o.fail(report.Indeterminate, report.CertificateChainGeneralFailure, err.Error())
	}
	return nil, false
}

// verifyTimeStamp checks an RFC 3161 token over data: the token's own
// signature, its signing certificate, its chain (time-stamping EKU) and that
// the message imprint is the hash of data.
func (v *Verifier) verifyTimeStamp(ctx context.Context, der, data []byte, kind string) (report.TimeStamp, time.Time, bool) {
	out := report.TimeStamp{Type: kind}
	fail := func(sub report.SubIndication, format string, args ...any) (report.TimeStamp, time.Time, bool) {
		ind := report.TotalFailed
		if sub == report.NoCertificateChainFound || sub == report.NoSigningCertificateFound || sub == report.CertificateChainGeneralFailure {
			ind = report.Indeterminate
		}
		out.Status = report.Status{MainIndication: ind, SubIndication: sub, Detail: fmt.Sprintf(format, args...)}
		return out, time.Time{}, false
	}
	ts, err := cms.ParseTimeStamp(der)
	if err != nil {
		return fail(report.FormatFailure, "time-stamp token: %v", err)
	}
	out.GenTime = ts.Info.GenTime
	if len(ts.Token.Signers) != 1 {
		return fail(report.FormatFailure, "time-stamp token has %d signers", len(ts.Token.Signers))
	}
	si := ts.Token.Signers[0]
	h, err := si.Hash()
	if err != nil {
		return fail(report.FormatFailure, "time-stamp: %v", err)
	}
	tsa := si.FindSigner(ts.Token.Certificates)
	if tsa == nil {
		return fail(report.NoSigningCertificateFound, "time-stamp signing certificate not found")
	}
	out.TSA = dn(tsa.Subject)
	if ess, _, present, err := si.SigningCertificate(); err != nil || (present && !ess.MatchesCert(tsa)) {
		return fail(report.NoSigningCertificateFound, "time-stamp signing-certificate attribute does not match")
	}
	md, err := si.MessageDigest()
	if err != nil {
		return fail(report.FormatFailure, "time-stamp: %v", err)
	}
	hh := h.New()
	hh.Write(ts.Token.EContent)
	if !bytes.Equal(md, hh.Sum(nil)) {
		return fail(report.HashFailure, "time-stamp TSTInfo digest mismatch")
	}
	if err := si.VerifySignature(tsa, nil); err != nil {
		return fail(report.SigCryptoFailure, "time-stamp signature: %v", err)
	}
	if !ts.Info.Hash.Available() {
		return fail(report.FormatFailure, "time-stamp imprint hash unavailable")
	}
	ih := ts.Info.Hash.New()
	ih.Write(data)
	if !bytes.Equal(ih.Sum(nil), ts.Info.HashedMessage) {
		return fail(report.HashFailure, "time-stamp imprint does not match the time-stamped data")
	}
	sink := &report.Signature{}
	o := &outcome{sig: sink}
	if _, ok := v.chain(o, tsa, ts.Token.Certificates, ts.Info.GenTime, true, x509.ExtKeyUsageTimeStamping); !ok {
		out.Status = sink.Status
		return out, time.Time{}, false
	}
	out.Status = report.Status{MainIndication: report.TotalPassed}
	return out, ts.Info.GenTime, true
}

// applyPolicy checks the signing certificate's key usage and extended key
// usage for the format, and the algorithms of the signature (the digests, the
// signer's and its CAs' keys) at the best signature time at (proven when a
// time-stamp proves it), per the validation policy.
func (v *Verifier) applyPolicy(o *outcome, sig *report.Signature, chain []*x509.Certificate, format string, at time.Time, proven bool, hashes ...crypto.Hash) {
	pol := v.opts.Policy
	warn, err := pol.SignerCertificate(chain[0], format)
	switch {
	case err != nil:
		o.check("signing certificate usage", err)
		o.fail(report.Indeterminate, report.ChainConstraintsFailure, err.Error())
	case warn != "":
		o.note("signing certificate usage", "warning", warn)
	default:
		o.check("signing certificate usage", nil)
	}
	sunsets := []policy.Sunset{}
	for _, h := range hashes {
		if h != 0 {
			sunsets = append(sunsets, pol.Digest(h))
		}
	}
	for _, c := range chain[:max(len(chain)-1, 1)] {
		sunsets = append(sunsets, keySunset(pol, c))
	}
	s := policy.Earliest(sunsets...)
	if s.AcceptableAt(at) {
		o.check("cryptographic constraints", nil)
		return
	}
	var detail string
	if s.Never {
		detail = s.Name + " is not acceptable under the validation policy"
	} else {
		detail = fmt.Sprintf("%s is acceptable only for signatures made before %s", s.Name, s.Until.Format(time.DateOnly))
	}
	o.check("cryptographic constraints", errors.New(detail))
	// EN 319 102-1 §5.2.8 and §5.6.2.4: a proven time after the sunset or
	// a claimed one after it fails the constraint; a claimed earlier
	// signing time that nothing proves leaves it open.
	cl := sig.SigningTime.Claimed
	if s.Never || proven || cl == nil || !cl.Before(s.Until) {
		o.fail(report.Indeterminate, report.CryptoConstraintsFailure, detail)
	} else {
		o.fail(report.Indeterminate, report.CryptoConstraintsFailureNoPOE, detail+"; nothing proves the signature was made before")
	}
}

// keySunset is the policy's sunset for a certificate's key, read by the
// CMS package so that keys crypto/x509 does not know (brainpool, Ed448)
// are judged too.
func keySunset(pol *policy.Policy, c *x509.Certificate) policy.Sunset {
	pub, err := cms.PublicKey(c)
	switch {
	case err != nil:
		return policy.Sunset{Name: "an unsupported public key", Never: true}
	case pub.RSA != nil:
		return pol.RSA(pub.RSA.N.BitLen())
	case pub.EC != nil && pub.EC.Curve.Name != "":
		return pol.Named("ECDSA-" + pub.EC.Curve.Name)
	case pub.Ed25519 != nil:
		return pol.Named("Ed25519")
	case pub.Ed448 != nil:
		return pol.Named("Ed448")
	}
	return policy.Sunset{Name: pub.String(), Never: true}
}
