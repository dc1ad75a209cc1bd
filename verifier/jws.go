package verifier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"kyso/jose"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// verifyJWS validates every signature of a JWS in compact, flattened JSON
// or general JSON serialization.
func (v *Verifier) verifyJWS(ctx context.Context, data, detached []byte, rep *report.Report) error {
	doc, err := jose.Parse(data)
	if err != nil {
		rep.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "JWS: " + err.Error()}
		return nil
	}
	if len(doc.Sigs) > maxSigners {
		rep.Status = tooManySigners(len(doc.Sigs), "JWS signatures")
		return nil
	}
	// Content the user gives is what is verified (jose.SigningInput): an
	// attached payload or sigD digest that differs from it fails.
	for i, s := range doc.Sigs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("validation stopped: %w", err)
		}
		sig := report.Signature{ID: fmt.Sprintf("Signature%d", i+1), Format: "JWS"}
		counters := v.validateJWS(ctx, doc, s, detached, &sig)
		rep.Signatures = append(rep.Signatures, sig)
		for j, cs := range counters {
			cs.ID = fmt.Sprintf("%s-counter%d", sig.ID, j+1)
			cs.CounterSignature = true
			rep.Signatures = append(rep.Signatures, cs)
		}
	}
	return nil
}

// maxCounterDepth bounds counter-signatures of counter-signatures.
const maxCounterDepth = 2

// counterSignatures validates the JAdES counter-signatures (etsiU cSig) of
// a signature whose base64url signature value is parent: each is a JWS
// with a detached payload that is that value (ETSI TS 119 182-1 §5.3.2), so
// a counter-signature moved onto another signature does not verify.
func (v *Verifier) counterSignatures(ctx context.Context, cSigs []json.RawMessage, parent string, depth int) []report.Signature {
	var out []report.Signature
	if !spendCounters(ctx, len(cSigs)) {
		sig := report.Signature{Format: "JAdES counter-signature", Status: tooManySigners(len(cSigs), "counter-signatures")}
		sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
		return append(out, sig)
	}
	for _, raw := range cSigs {
		sig := report.Signature{Format: "JAdES counter-signature"}
		data := []byte(raw)
		var compact string
		if json.Unmarshal(raw, &compact) == nil {
			data = []byte(compact)
		}
		doc, err := jose.Parse(data)
		switch {
		case err != nil:
			sig.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "counter-signature: " + err.Error()}
		case len(doc.Sigs) != 1 || !doc.Detached:
			sig.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "a counter-signature is one JWS signature with a detached payload"}
		default:
			// The payload is the countersigned JWS Signature Value (its
			// octets; base64url-encoded in the signing input).
			value, _ := base64.RawURLEncoding.DecodeString(parent)
			nested := v.validateJWSDepth(ctx, doc, doc.Sigs[0], value, &sig, depth+1)
			out = append(out, sig)
			out = append(out, nested...)
			continue
		}
		sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
		out = append(out, sig)
	}
	return out
}

// validateJWS runs the ETSI EN 319 102-1 basic validation, with signature
// time-stamps and revocation at the best signature time, for one JWS
// signature.
func (v *Verifier) validateJWS(ctx context.Context, doc *jose.Doc, s jose.Sig, content []byte, sig *report.Signature) []report.Signature {
	return v.validateJWSDepth(ctx, doc, s, content, sig, 0)
}

// validateJWSDepth is validateJWS for a signature depth counter-signatures
// down; it returns the reports of the signature's counter-signatures.
func (v *Verifier) validateJWSDepth(ctx context.Context, doc *jose.Doc, s jose.Sig, content []byte, sig *report.Signature, depth int) (counters []report.Signature) {
	o := &outcome{sig: sig}
	defer o.finish()
	now := v.validationTime()
	sig.SigningTime = report.SigningTime{Best: now, Proof: "validation-time"}

	// Format: serialization and header parameters.
	p, err := s.Params()
	if err != nil {
		o.check("header parameters", err)
		o.fail(report.TotalFailed, report.FormatFailure, err.Error())
		return
	}
	o.check("header parameters", nil)
	jades := p.Claimed != nil
	if jades {
		sig.Format = "JAdES"
		sig.SigningTime.Claimed = p.Claimed
		if p.ClaimedOK {
			o.note("claimed signing time", "passed", p.ClaimedFrom)
		}
		for _, n := range p.ClaimedNotes {
			o.note("claimed signing time", "warning", n)
		}
	}
	u := jose.ParseUnsigned(p.EtsiU)
	for _, pr := range u.Problems {
		o.note("unsigned properties", "warning", pr+"; ignored")
	}
	if len(u.Unknown) > 0 {
		// An unsigned property not understood may carry what changes the
		// verdict: the signature is not passed without it.
		err := errors.New("not supported: " + strings.Join(u.Unknown, ", "))
		o.check("unsigned properties", err)
		o.fail(report.Indeterminate, report.SigConstraintsFailure, "the signature carries unsigned properties the verifier does not process: "+strings.Join(u.Unknown, ", "))
	}

	// Identify the signing certificate: x5c, or the certificate values
	// matching x5t#S256.
	var cert *x509.Certificate
	if len(p.Certs) > 0 {
		cert = p.Certs[0]
	} else if p.X5T != nil {
		for _, c := range u.Certs {
			if sum := sha256.Sum256(c.Raw); bytes.Equal(sum[:], p.X5T) {
				cert = c
				break
			}
		}
	}
	if cert == nil {
		o.check("signing certificate", errors.New("no x5c header parameter, nor a certificate value matching x5t#S256"))
		o.fail(report.Indeterminate, report.NoSigningCertificateFound, "the JWS carries no signing certificate")
		return
	}
	sig.Signer = signerInfo(cert)
	o.check("signing certificate", nil)
	switch sum := sha256.Sum256(cert.Raw); {
	case p.X5T != nil && !bytes.Equal(sum[:], p.X5T):
		o.check("x5t#S256", errors.New("does not match the signing certificate"))
		o.fail(report.Indeterminate, report.NoSigningCertificateFound, "x5t#S256 does not match the signing certificate")
		return
	case p.X5T != nil:
		o.check("x5t#S256", nil)
	}
	certProtected := p.CertsProtected || (p.X5T != nil && p.X5TProtected)
	if !certProtected {
		o.note("signing certificate reference", "warning", "neither x5c nor x5t#S256 is protected: the signer certificate is not protected by the signature")
	}

	// Cryptographic verification of the signature value over the signing
	// input: the attached, detached or sigD-referenced content.
	input, err := jose.SigningInput(doc, s, p, content)
	if err != nil {
		o.check("signed data", err)
		var fe *jose.FormatError
		switch {
		case errors.Is(err, jose.ErrContentMissing):
			o.fail(report.Indeterminate, report.SignedDataNotFound, err.Error())
		case errors.Is(err, jose.ErrContentMismatch):
			o.fail(report.TotalFailed, report.HashFailure, err.Error())
		case errors.As(err, &fe):
			o.fail(report.TotalFailed, report.FormatFailure, err.Error())
		default:
			o.fail(report.Indeterminate, report.SignedDataNotFound, err.Error())
		}
		return
	}
	if p.SigD != nil {
		o.check("detached content ("+p.SigD.Mechanism+")", nil)
	}
	value, err := base64.RawURLEncoding.DecodeString(s.Signature)
	if err != nil {
		o.check("signature value", errors.New("not base64url"))
		o.fail(report.TotalFailed, report.FormatFailure, "the JWS signature is not base64url")
		return
	}
	if err := jose.VerifyValue(cert.PublicKey, p.Alg, input, value); err != nil {
		o.check("signature value", err)
		var fe *jose.FormatError
		var ce *jose.ConstraintError
		switch {
		case errors.As(err, &fe):
			o.fail(report.TotalFailed, report.FormatFailure, err.Error())
		case errors.As(err, &ce):
			o.fail(report.Indeterminate, report.CryptoConstraintsFailure, err.Error())
		default:
			o.fail(report.TotalFailed, report.SigCryptoFailure, "the signature value does not verify")
		}
		return
	}
	o.check("signature value", nil)
	if depth < maxCounterDepth {
		counters = v.counterSignatures(ctx, u.CounterSigs, s.Signature, depth)
	}

	evidence := revocation.Evidence{Origin: "JAdES", CRLs: u.CRLs, OCSP: u.OCSPs, Basic: u.BasicOCSPs}

	// Archive time-stamps (JAdES arcTst), the latest first: each is a proof
	// of existence of the signature, its validation data and the earlier
	// time-stamps it covers (the etsiU elements before it).
	archived, arcPOE, arcReports := v.jadesArchiveTimeStamps(ctx, o, doc, s, p, u, content, evidence)
	// poeFor lists the proofs of existence of the etsiU element at i.
	poeFor := func(i int) []time.Time {
		var out []time.Time
		for _, a := range arcPOE {
			if a.index > i {
				out = append(out, a.gen)
			}
		}
		return out
	}

	// Signature time-stamps (JAdES sigTst): the imprint is over the
	// base64url JWS signature value as serialized (ETSI TS 119 182-1).
	poe := time.Time{}
	stamped := false
	for i, der := range u.SigTst {
		at := len(u.Entries)
		if i < len(u.SigTstAt) {
			at = u.SigTstAt[i]
		}
		tsr, gen, ok := v.validateTimeStamp(ctx, der, []byte(s.Signature), "signature", tsContext{evidence: []revocation.Evidence{evidence}, poe: poeFor(at), certs: u.Certs})
		sig.TimeStamps = append(sig.TimeStamps, tsr)
		stamped = stamped || tsr.Status.MainIndication != report.TotalFailed
		if !ok {
			o.note("signature time-stamp", "failed", tsr.Status.Detail)
			continue
		}
		if poe.IsZero() || gen.Before(poe) {
			poe = gen
		}
	}
	sig.TimeStamps = append(sig.TimeStamps, arcReports...)
	proof := "signature-time-stamp"
	if !poe.IsZero() {
		o.check("signature time-stamp", nil)
	}
	// An archive time-stamp covers the signature value too: without an
	// earlier signature time-stamp it proves the signature existed then.
	for _, a := range arcPOE {
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
	pool := append(slices.Clone(p.Certs), u.Certs...)
	chain, ok := v.chain(o, cert, pool, at, !poe.IsZero(), x509.ExtKeyUsageAny)
	if !ok {
		return
	}
	for i, cc := range chain {
		sig.Chain = append(sig.Chain, certInfo(cc, i == len(chain)-1))
	}
	v.applyPolicy(o, sig, chain, FormatJWS, at, !poe.IsZero(), jose.Hash(p.Alg))
	source := v.checkRevocation(ctx, o, sig, chain, at, !poe.IsZero(), []revocation.Evidence{evidence})

	// JAdES baseline level.
	if jades && p.ClaimedOK && certProtected {
		sig.Level = "JAdES-BASELINE-B"
		if stamped {
			sig.Level = "JAdES-BASELINE-T"
			if strings.HasPrefix(source, evidence.Origin+" ") {
				sig.Level = "JAdES-BASELINE-LT"
				if archived {
					sig.Level = "JAdES-BASELINE-LTA"
				}
			}
		}
	}
	return counters
}

// maxJWSArchiveTokens bounds the archive time-stamp tokens validated for
// one signature (each is a time-stamp validation over the whole JWS).
const maxJWSArchiveTokens = 16

// jadesPOE is the proof of existence a valid archive time-stamp at etsiU
// position index gives.
type jadesPOE struct {
	index int
	gen   time.Time
}

// jadesArchiveTimeStamps validates the archive time-stamps (arcTst) of a JAdES
// signature, the latest first, each at the proofs of existence the later
// valid ones give (ETSI EN 319 102-1 §5.6.2.4, TS 119 182-1 §5.3.6). It
// returns whether one is intact, the proofs of
// existence of the valid ones, and their reports in etsiU order. An archive time-stamp whose imprint does
// not match means what it covers was changed after archiving: the
// signature fails (HASH_FAILURE). One whose imprint cannot be computed (a
// canonicalization, etsiU elements in clear, sigD) or that is unreadable
// leaves the signature INDETERMINATE/NO_POE: nothing it claims to protect
// is taken as protected, and it is never ignored.
func (v *Verifier) jadesArchiveTimeStamps(ctx context.Context, o *outcome, doc *jose.Doc, s jose.Sig, p *jose.Params, u *jose.Unsigned, content []byte, evidence revocation.Evidence) (bool, []jadesPOE, []report.TimeStamp) {
	intact := false
	var poes []jadesPOE
	tokens := 0
	for _, a := range u.ArcTst {
		tokens += len(a.Tokens)
	}
	if tokens > maxJWSArchiveTokens {
		err := fmt.Errorf("%d archive time-stamp tokens; at most %d are validated", tokens, maxJWSArchiveTokens)
		o.check("archive time-stamp", err)
		o.fail(report.Indeterminate, report.SigConstraintsFailure, err.Error())
		return false, nil, nil
	}
	reports := make([]report.TimeStamp, len(u.ArcTst))
	for k := len(u.ArcTst) - 1; k >= 0; k-- {
		a := u.ArcTst[k]
		var later []time.Time
		for _, q := range poes {
			later = append(later, q.gen)
		}
		unusable := func(err error) {
			// As for CAdES archive time-stamps of a form not checked: it
			// proves nothing, and the signature is not passed over it.
			reports[k] = report.TimeStamp{Type: "archive", Status: report.Status{MainIndication: report.Indeterminate, SubIndication: report.NoPOE, Detail: "archive time-stamp: " + err.Error()}}
			o.check("archive time-stamp", err)
			o.fail(report.Indeterminate, report.NoPOE, "archive time-stamp not checked: "+err.Error())
		}
		if a.Err != nil {
			unusable(a.Err)
			continue
		}
		input, err := jose.ArchiveInput(doc, s, p, u, a.Index, a.CanonAlg, content)
		if err != nil {
			unusable(err)
			continue
		}
		var best time.Time
		for j, der := range a.Tokens {
			tsr, gen, ok := v.validateTimeStamp(ctx, der, input, "archive", tsContext{evidence: []revocation.Evidence{evidence}, poe: later, certs: u.Certs})
			if j == 0 || ok {
				reports[k] = tsr
			}
			switch {
			case tsr.Status.SubIndication == report.HashFailure:
				o.check("archive time-stamp", errors.New(tsr.Status.Detail))
				o.fail(report.TotalFailed, report.HashFailure, "the archive time-stamp does not match: the signature or its unsigned properties were changed after archiving")
			case !ok:
				o.note("archive time-stamp", "failed", tsr.Status.Detail)
			}
			if tsr.Status.MainIndication != report.TotalFailed {
				intact = true
			}
			if ok && (best.IsZero() || gen.Before(best)) {
				best = gen
			}
		}
		if !best.IsZero() {
			o.check("archive time-stamp", nil)
			poes = append(poes, jadesPOE{index: a.Index, gen: best})
		}
	}
	return intact, poes, reports
}
