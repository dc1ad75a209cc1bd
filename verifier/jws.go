package verifier

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// minRSABits is the smallest RSA modulus accepted for JWS signatures.
const minRSABits = 2048

// verifyJWS validates every signature of a JWS in compact, flattened JSON
// or general JSON serialization.
func (v *Verifier) verifyJWS(ctx context.Context, data, detached []byte, rep *report.Report) error {
	doc, err := parseJWS(data)
	if err != nil {
		rep.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "JWS: " + err.Error()}
		return nil
	}
	// Content the user gives is what is verified: an attached payload that
	// differs from it fails, whatever the signature says about its own.
	payload := doc.payload
	differs := false
	if detached != nil {
		given := base64.RawURLEncoding.EncodeToString(detached)
		differs = !doc.detached && payload != given
		payload = given
	}
	for i, s := range doc.sigs {
		sig := report.Signature{ID: fmt.Sprintf("Signature%d", i+1), Format: "JWS"}
		if differs {
			sig.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.HashFailure, Detail: "the content given differs from the payload the JWS carries"}
			sig.Checks = append(sig.Checks, report.Check{Name: "signed content", Result: "failed", Detail: "the attached payload is not the content given for verification"})
			sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
			rep.Signatures = append(rep.Signatures, sig)
			continue
		}
		v.validateJWS(ctx, doc, s, payload, &sig)
		rep.Signatures = append(rep.Signatures, sig)
	}
	return nil
}

// validateJWS runs the ETSI EN 319 102-1 basic validation, with signature
// time-stamps and revocation at the best signature time, for one JWS
// signature.
func (v *Verifier) validateJWS(ctx context.Context, doc *jwsDoc, s jwsSig, payload string, sig *report.Signature) {
	o := &outcome{sig: sig}
	defer o.finish()
	now := v.validationTime()
	sig.SigningTime = report.SigningTime{Best: now, Proof: "validation-time"}

	// Format: serialization and header parameters.
	p, err := s.parseParams()
	if err != nil {
		o.check("header parameters", err)
		o.fail(report.TotalFailed, report.FormatFailure, err.Error())
		return
	}
	o.check("header parameters", nil)
	jades := p.claimed != nil
	if jades {
		sig.Format = "JAdES"
		sig.SigningTime.Claimed = p.claimed
		if p.claimedOK {
			o.note("claimed signing time", "passed", p.claimedFrom)
		}
		for _, n := range p.claimedNotes {
			o.note("claimed signing time", "warning", n)
		}
	}
	u := parseEtsiU(p.etsiU)
	for _, pr := range u.problems {
		o.note("unsigned properties", "warning", pr+"; ignored")
	}
	if len(u.ignored) > 0 {
		o.note("unsigned properties", "skipped", "not used for validation: "+strings.Join(u.ignored, ", "))
	}

	// Identify the signing certificate: x5c, or the certificate values
	// matching x5t#S256.
	var cert *x509.Certificate
	if len(p.certs) > 0 {
		cert = p.certs[0]
	} else if p.x5t != nil {
		for _, c := range u.certs {
			if sum := sha256.Sum256(c.Raw); bytes.Equal(sum[:], p.x5t) {
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
	case p.x5t != nil && !bytes.Equal(sum[:], p.x5t):
		o.check("x5t#S256", errors.New("does not match the signing certificate"))
		o.fail(report.Indeterminate, report.NoSigningCertificateFound, "x5t#S256 does not match the signing certificate")
		return
	case p.x5t != nil:
		o.check("x5t#S256", nil)
	}
	certProtected := p.certsProtected || (p.x5t != nil && p.x5tProtected)
	if !certProtected {
		o.note("signing certificate reference", "warning", "neither x5c nor x5t#S256 is protected: the signer certificate is not protected by the signature")
	}

	// Cryptographic verification of the signature value.
	if doc.detached && payload == "" {
		o.check("signed data", errors.New("detached payload"))
		o.fail(report.Indeterminate, report.SignedDataNotFound, "detached payload: the signed content was not provided")
		return
	}
	if _, err := base64.RawURLEncoding.DecodeString(payload); err != nil {
		o.check("payload", errors.New("not base64url"))
		o.fail(report.TotalFailed, report.FormatFailure, "the JWS payload is not base64url")
		return
	}
	value, err := base64.RawURLEncoding.DecodeString(s.signature)
	if err != nil {
		o.check("signature value", errors.New("not base64url"))
		o.fail(report.TotalFailed, report.FormatFailure, "the JWS signature is not base64url")
		return
	}
	if err := verifyJWSValue(cert.PublicKey, p.alg, []byte(s.protected+"."+payload), value); err != nil {
		o.check("signature value", err)
		var fe *jwsFormatError
		var ce *jwsConstraintError
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

	// Signature time-stamps (JAdES sigTst): the imprint is over the
	// base64url JWS signature value as serialized (ETSI TS 119 182-1).
	poe := time.Time{}
	stamped := false
	for _, der := range u.sigTst {
		tsr, gen, ok := v.validateTimeStamp(ctx, der, []byte(s.signature), "signature", tsContext{evidence: []revocation.Evidence{u.evidence}})
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
	at := now
	if !poe.IsZero() {
		o.check("signature time-stamp", nil)
		at = poe
		sig.SigningTime = report.SigningTime{Claimed: sig.SigningTime.Claimed, Best: poe, Proof: "signature-time-stamp"}
		if cl := sig.SigningTime.Claimed; cl != nil && cl.After(poe.Add(5*time.Minute)) {
			o.note("claimed signing time", "warning", "claimed signing time is after the time-stamp")
		}
	}

	// Certificate chain at the best signature time.
	pool := append(slices.Clone(p.certs), u.certs...)
	chain, ok := v.chain(o, cert, pool, at, !poe.IsZero(), x509.ExtKeyUsageAny)
	if !ok {
		return
	}
	for i, cc := range chain {
		sig.Chain = append(sig.Chain, certInfo(cc, i == len(chain)-1))
	}
	v.applyPolicy(o, sig, chain, FormatJWS, at, !poe.IsZero(), jwsHash(p.alg))
	source := v.checkRevocation(ctx, o, sig, chain, at, !poe.IsZero(), []revocation.Evidence{u.evidence})

	// JAdES baseline level.
	if jades && p.claimedOK && certProtected {
		sig.Level = "JAdES-BASELINE-B"
		if stamped {
			sig.Level = "JAdES-BASELINE-T"
			if strings.HasPrefix(source, u.evidence.Origin+" ") {
				sig.Level = "JAdES-BASELINE-LT"
			}
		}
	}
}

// jwsConstraintError is an algorithm or key the validation policy does not
// accept: CRYPTO_CONSTRAINTS_FAILURE.
type jwsConstraintError struct{ msg string }

func (e *jwsConstraintError) Error() string { return e.msg }

var errJWSSignature = errors.New("the signature value does not verify with the signing certificate's key")

// verifyJWSValue checks a JWS signature value (RFC 7518 §3) over input.
func verifyJWSValue(pub crypto.PublicKey, alg string, input, value []byte) error {
	var h crypto.Hash
	switch alg {
	case "RS256", "PS256", "ES256":
		h = crypto.SHA256
	case "RS384", "PS384", "ES384":
		h = crypto.SHA384
	case "RS512", "PS512", "ES512":
		h = crypto.SHA512
	case "EdDSA":
		k, ok := pub.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("alg EdDSA with a %s key", keyName(pub))
		}
		if !ed25519.Verify(k, input, value) {
			return errJWSSignature
		}
		return nil
	case "none":
		return formatErr("an unsecured JWS (alg none) has no signature")
	case "HS256", "HS384", "HS512":
		return formatErr("alg %s is a MAC, not a signature", alg)
	default:
		return formatErr("unsupported alg %q", alg)
	}
	d := h.New()
	d.Write(input)
	sum := d.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return &jwsConstraintError{msg: fmt.Sprintf("RSA key of %d bits; at least %d are required", k.N.BitLen(), minRSABits)}
		}
		switch alg[:2] {
		case "RS":
			if rsa.VerifyPKCS1v15(k, h, sum, value) != nil {
				return errJWSSignature
			}
		case "PS":
			if rsa.VerifyPSS(k, h, sum, value, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}) != nil {
				return errJWSSignature
			}
		default:
			return fmt.Errorf("alg %s with an RSA key", alg)
		}
	case *ecdsa.PublicKey:
		want := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		if want == nil || k.Curve != want {
			return fmt.Errorf("alg %s with a %s key", alg, keyName(pub))
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(value) != 2*size {
			return errJWSSignature
		}
		r, s := new(big.Int).SetBytes(value[:size]), new(big.Int).SetBytes(value[size:])
		if !ecdsa.Verify(k, sum, r, s) {
			return errJWSSignature
		}
	default:
		return fmt.Errorf("alg %s with a %s key", alg, keyName(pub))
	}
	return nil
}

func keyName(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

// jwsHash is the digest a JWS algorithm uses (0 for EdDSA, whose digest is
// part of the key algorithm).
func jwsHash(alg string) crypto.Hash {
	switch {
	case strings.HasSuffix(alg, "256"):
		return crypto.SHA256
	case strings.HasSuffix(alg, "384"):
		return crypto.SHA384
	case strings.HasSuffix(alg, "512"):
		return crypto.SHA512
	}
	return 0
}
