package verifier

import (
	"bytes"
	"cmp"
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
	// poe are proofs of existence from later document time-stamps (or, as
	// poeProof says, from other time-stamps covering the signer).
	poe      []time.Time
	poeProof string
	// claimed is the signing time claimed outside CMS (PDF /M).
	claimed *time.Time
	// format is the document format for the signer certificate policy
	// (PDF, CMS); empty means CMS.
	format string
	// counter marks a counter-signature (RFC 5652 §11.4): its signed
	// content is the countersigned signature value, and it must carry no
	// content-type attribute.
	counter bool
}

// signerResult carries facts the PDF layer needs for the level.
type signerResult struct {
	cert        *x509.Certificate
	essV2       bool
	sigTST      bool
	revocSource string
	// archived: a valid archive-time-stamp-v3 covers the signature; arch
	// are the valid ones.
	archived bool
	arch     archiveStamps
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
	if c.counter {
		if v, err := c.si.Signed(cms.OIDContentType); err != nil || len(v) > 0 {
			err := errors.New("a counter-signature must not carry a content-type attribute (RFC 5652 §11.4)")
			o.check("content-type attribute", err)
			o.fail(report.TotalFailed, report.FormatFailure, err.Error())
			return res
		}
	} else if c.si.SignedAttrsDER != nil {
		ct, err := c.si.ContentType()
		if err == nil && !ct.Equal(c.sd.EContentType) {
			err = fmt.Errorf("content-type attribute %v differs from eContentType %v", ct, c.sd.EContentType)
		}
		if !o.check("content-type attribute", err) {
			o.fail(report.TotalFailed, report.FormatFailure, err.Error())
			return res
		}
	}
	if err := c.si.CheckSignedAttributes(); err != nil {
		o.check("signed attributes", err)
		o.fail(report.TotalFailed, report.FormatFailure, err.Error())
		return res
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

	// Archive time-stamps (CAdES B-LTA) prove the signature, its
	// validation data and the attributes they index existed at their
	// genTime; signature time-stamps prove the signature value did.
	evidence := append([]revocation.Evidence{cmsEvidence(c.sd, c.si)}, c.evidence...)
	arch, unsupported := v.archiveTimeStamps(ctx, c, evidence, o, sig)
	res.archived, res.arch = len(arch) > 0, arch
	if unsupported != "" {
		// Applied last, so a more specific indeterminate cause (the
		// chain, say) is reported first; never TOTAL-PASSED.
		defer o.fail(report.Indeterminate, report.NoPOE, unsupported)
	}
	tstAttr := cms.Attribute{Type: cms.OIDTimeStampToken}
	for _, a := range c.si.UnsignedAttrs {
		if a.Type.Equal(cms.OIDTimeStampToken) {
			tstAttr = a
		}
	}
	poe := time.Time{}
	for _, der := range c.si.Unsigned(cms.OIDTimeStampToken) {
		tsr, gen, ok := v.validateTimeStamp(ctx, der, c.si.Signature, "signature", tsContext{evidence: evidence, poe: append(slices.Clone(c.poe), arch.covering(tstAttr, der)...)})
		sig.TimeStamps = append(sig.TimeStamps, tsr)
		// An intact time-stamp makes the level B-T even when it cannot
		// give a proof of existence (e.g. its TSA's status is unknown).
		if tsr.Status.MainIndication != report.TotalFailed {
			res.sigTST = true
		}
		if ok {
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
			poe, proof = t, cmp.Or(c.poeProof, "document-time-stamp")
		}
	}
	for _, a := range arch {
		if poe.IsZero() || a.gen.Before(poe) {
			poe, proof = a.gen, "archive-time-stamp"
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
	res.revocSource = v.checkRevocation(ctx, o, sig, chain, at, !poe.IsZero(), evidence)
	return res
}

// checkRevocation checks every certificate of chain but the anchor at time
// at (proven: a time-stamp proves the signature existed then), records the
// results in sig and returns the source among the evidence given that
// decides the signing certificate's status ("" when that evidence alone
// does not, and only an online answer did).
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
			// What the document's own evidence decides, whatever an
			// online answer fetched now added: the level depends on it.
			source = r.DocumentSource
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

// tsContext is what validating a time-stamp needs besides the token: the
// revocation data of the document and the proofs of existence of the token
// itself (later time-stamps covering it, e.g. archive time-stamps).
type tsContext struct {
	evidence []revocation.Evidence
	poe      []time.Time
	// certs are the document's certificate values (JAdES xVals, tstVD):
	// a token that does not carry its TSA certificate or chain is
	// validated with them.
	certs []*x509.Certificate
}

// oidTSTInfo is id-ct-TSTInfo (RFC 3161).
var oidTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}

// verifyTimeStamp validates an RFC 3161 token over data without document
// evidence or later proofs of existence.
func (v *Verifier) verifyTimeStamp(ctx context.Context, der, data []byte, kind string) (report.TimeStamp, time.Time, bool) {
	return v.validateTimeStamp(ctx, der, data, kind, tsContext{})
}

// validateTimeStamp validates an RFC 3161 token over data like a signature
// (EN 319 102-1 §5.4): the content type (id-ct-TSTInfo), the ESS
// signing-certificate(-v2) attribute naming the TSA certificate, the
// TSTInfo digest and signature value, the imprint, the algorithms under
// the policy, the TSA certificate's critical extended key usage
// id-kp-timeStamping, its chain and the revocation of every certificate of
// the chain. Chain and revocation are judged at the earliest proof of
// existence of the token (a later time-stamp covering it), else at the
// validation time: a TSA certificate expired or revoked since, with
// nothing proving the token existed before, makes the token
// INDETERMINATE, and one revoked before genTime makes it TOTAL-FAILED.
// Only a valid token gives a proof of existence (its genTime).
func (v *Verifier) validateTimeStamp(ctx context.Context, der, data []byte, kind string, tc tsContext) (report.TimeStamp, time.Time, bool) {
	out := report.TimeStamp{Type: kind}
	fail := func(sub report.SubIndication, format string, args ...any) (report.TimeStamp, time.Time, bool) {
		ind := report.TotalFailed
		switch sub {
		case report.NoCertificateChainFound, report.NoSigningCertificateFound, report.CertificateChainGeneralFailure,
			report.CryptoConstraintsFailure, report.CryptoConstraintsFailureNoPOE, report.ChainConstraintsFailure, report.SigConstraintsFailure:
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
	if !ts.Token.EContentType.Equal(oidTSTInfo) {
		return fail(report.FormatFailure, "time-stamp token content type %v is not id-ct-TSTInfo", ts.Token.EContentType)
	}
	si := ts.Token.Signers[0]
	if ct, err := si.ContentType(); err != nil || !ct.Equal(oidTSTInfo) {
		return fail(report.FormatFailure, "time-stamp content-type attribute is not id-ct-TSTInfo")
	}
	if err := si.CheckSignedAttributes(); err != nil {
		return fail(report.FormatFailure, "time-stamp: %v", err)
	}
	h, err := si.Hash()
	if err != nil {
		return fail(report.FormatFailure, "time-stamp: %v", err)
	}
	pool := append(slices.Clone(ts.Token.Certificates), tc.certs...)
	tsa := si.FindSigner(pool)
	if tsa == nil {
		return fail(report.NoSigningCertificateFound, "time-stamp signing certificate not found")
	}
	out.TSA = dn(tsa.Subject)
	ess, _, present, err := si.SigningCertificate()
	switch {
	case err != nil:
		return fail(report.FormatFailure, "time-stamp signing-certificate attribute: %v", err)
	case !present:
		// Kyso requires the reference (RFC 3161 §2.4.2, RFC 5816); as a
		// signature acceptance constraint (EN 319 102-1 §5.2.8, EU DSS's
		// SigningCertificatePresent at FAIL) its absence is
		// INDETERMINATE/SIG_CONSTRAINTS_FAILURE.
		return fail(report.SigConstraintsFailure, "time-stamp has no ESS signing-certificate attribute (RFC 3161 §2.4.2, RFC 5816)")
	case !ess.MatchesCert(tsa):
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
	if err := criticalTimeStampingEKU(tsa); err != nil {
		return fail(report.ChainConstraintsFailure, "time-stamp: %v", err)
	}

	// The time the token is judged at: its earliest proof of existence.
	at, proven := v.validationTime(), false
	for _, t := range tc.poe {
		if !t.Before(ts.Info.GenTime) && t.Before(at) {
			at, proven = t, true
		}
	}
	sink := &report.Signature{}
	o := &outcome{sig: sink}
	claimed := ts.Info.GenTime
	sink.SigningTime.Claimed = &claimed
	chain, ok := v.chain(o, tsa, pool, at, proven, x509.ExtKeyUsageTimeStamping)
	if !ok {
		out.Status = sink.Status
		return out, time.Time{}, false
	}
	if s := v.cryptoSunset(chain, h, si.SignatureHash(), ts.Info.Hash); !s.AcceptableAt(at) {
		if !s.Never && ts.Info.GenTime.Before(s.Until) {
			return fail(report.CryptoConstraintsFailureNoPOE, "time-stamp: %s is acceptable only before %s and nothing proves the token existed then", s.Name, s.Until.Format(time.DateOnly))
		}
		return fail(report.CryptoConstraintsFailure, "time-stamp: %s is not acceptable under the validation policy", s.Name)
	}
	tok := revocation.Evidence{Origin: "time-stamp", CRLs: slices.Clone(ts.Token.CRLs), OCSP: slices.Clone(ts.Token.OCSPs)}
	if st := v.tsaRevocation(ctx, chain, ts.Info.GenTime, at, append([]revocation.Evidence{tok}, tc.evidence...)); st.MainIndication != "" {
		out.Status = st
		return out, time.Time{}, false
	}
	out.Status = report.Status{MainIndication: report.TotalPassed}
	return out, ts.Info.GenTime, true
}

// tsaRevocation checks the TSA certificate and its CAs: status evidence
// issued at or after genTime shows them unrevoked when the token was made
// (as EU DSS's default policy for time-stamps, freshness beyond that is
// not required); a revocation at or before genTime fails the token, one
// after genTime but not after at (the token's proof of existence, or the
// validation time) leaves it INDETERMINATE. It returns the zero Status
// when the chain is acceptable.
func (v *Verifier) tsaRevocation(ctx context.Context, chain []*x509.Certificate, genTime, at time.Time, evidence []revocation.Evidence) report.Status {
	for i := 0; i+1 < len(chain); i++ {
		c := chain[i]
		r := v.opts.Revocation.Check(ctx, c, chain[i+1], genTime, evidence)
		switch {
		case r.Status == revocation.Revoked && i == 0:
			return report.Status{MainIndication: report.TotalFailed, SubIndication: report.Revoked, Detail: fmt.Sprintf("time-stamp: the TSA certificate was revoked at %s, before the time-stamp", r.RevokedAt.Format(time.RFC3339))}
		case r.Status == revocation.Revoked:
			return report.Status{MainIndication: report.Indeterminate, SubIndication: report.RevokedCANoPOE, Detail: fmt.Sprintf("time-stamp: CA %s was revoked at %s", c.Subject.CommonName, r.RevokedAt.Format(time.RFC3339))}
		case r.Status == revocation.Good && !r.RevokedAt.IsZero() && !r.RevokedAt.After(at):
			return report.Status{MainIndication: report.Indeterminate, SubIndication: report.RevokedNoPOE, Detail: fmt.Sprintf("time-stamp: %s was revoked at %s and nothing proves the token existed before", c.Subject.CommonName, r.RevokedAt.Format(time.RFC3339))}
		case r.Status == revocation.Unknown && i > 0 && len(c.OCSPServer) == 0 && len(c.CRLDistributionPoints) == 0:
			// A CA publishing no revocation service: the anchor vouches.
		case r.Status == revocation.Unknown:
			return report.Status{MainIndication: report.Indeterminate, SubIndication: report.TryLater, Detail: fmt.Sprintf("time-stamp: revocation status of %s not available: %s", c.Subject.CommonName, r.Detail)}
		}
	}
	return report.Status{}
}

// criticalTimeStampingEKU checks that a TSA certificate has exactly one
// extended key usage, id-kp-timeStamping, in a critical extension (RFC
// 3161 §2.3).
func criticalTimeStampingEKU(c *x509.Certificate) error {
	for _, e := range c.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			continue
		}
		if !e.Critical {
			return errors.New("the TSA certificate's extendedKeyUsage is not critical")
		}
		if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
			return errors.New("the TSA certificate's extendedKeyUsage is not id-kp-timeStamping alone")
		}
		return nil
	}
	return errors.New("the TSA certificate has no extendedKeyUsage id-kp-timeStamping")
}

// cryptoSunset is the policy's earliest sunset over the digests given and
// the keys of chain (but its anchor).
func (v *Verifier) cryptoSunset(chain []*x509.Certificate, hashes ...crypto.Hash) policy.Sunset {
	pol := v.opts.Policy
	sunsets := []policy.Sunset{}
	for _, h := range hashes {
		if h != 0 {
			sunsets = append(sunsets, pol.Digest(h))
		}
	}
	for _, c := range chain[:max(len(chain)-1, 1)] {
		sunsets = append(sunsets, keySunset(pol, c))
	}
	return policy.Earliest(sunsets...)
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
	s := v.cryptoSunset(chain, hashes...)
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
