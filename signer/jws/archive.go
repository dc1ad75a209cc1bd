package jws

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"kyso/cms"
	kjose "kyso/jose"
	"kyso/signer/cades"
)

// Errors of Extend callers branch on.
var (
	// ErrNotExtendable: the input is not a JWS this package can archive
	// (not a JWS, a detached payload, sigD, an invalid signature value).
	ErrNotExtendable = errors.New("jws: the signature cannot be extended")
	// ErrNoValidationData: the signer certificate's revocation status
	// could not be obtained when the signature is first given validation
	// data.
	ErrNoValidationData = errors.New("jws: the signer certificate's revocation status is not available")
	// ErrClearArchived: the etsiU elements are in clear and already covered
	// by an archive time-stamp, whose imprint needs a canonicalization
	// this package does not implement.
	ErrClearArchived = errors.New("jws: the unsigned properties are in clear and already archived with a canonicalization")
)

// maxExtendSignatures bounds the signatures of one JWS Extend time-stamps
// (each costs time-stamps and revocation requests).
const maxExtendSignatures = 20

// ExtendOptions are what Extend needs.
type ExtendOptions struct {
	Stamper    Stamper
	Revocation cades.RevocationSource
	// Root is added to the certificate values.
	Root *x509.Certificate
	// Content is the signed content of a JWS whose payload is detached
	// (RFC 7515 Appendix F); when given for an attached payload it must
	// be that payload (kyso/jose ErrContentMismatch otherwise).
	Content []byte
}

// Extend brings every signature of a JAdES signature to B-LTA or renews
// its archive time-stamp (ETSI TS 119 182-1 §5.3.6, §6.3). A detached
// payload needs o.Content (the archive time-stamp covers it; sigD
// references are not extended). A compact JWS is
// turned into the flattened JSON serialization, which alone can carry
// unsigned properties; the protected header, payload and signature value
// are never changed, so the base JWS still verifies. For each signature:
//   - the etsiU elements written in clear are re-encoded base64url (their
//     content unchanged), the form whose archive imprint needs no
//     canonicalization; elements in clear already covered by an archive
//     time-stamp are ErrClearArchived;
//   - a signature time-stamp (sigTst) is added when there is none;
//   - without certificate and revocation values, xVals and rVals for the
//     signer's chain and every time-stamp's TSA are added (the signer
//     certificate's revocation status is required); with them, the TSA
//     certificates and fresh revocation data of the earlier time-stamps go
//     into a tstVD element (as EU DSS renews an archive time-stamp);
//   - an arcTst over the JWS components and every etsiU element before it.
func Extend(ctx context.Context, data []byte, o ExtendOptions) ([]byte, error) {
	if o.Stamper == nil || o.Revocation == nil {
		return nil, errors.New("jws: extending needs a time-stamp authority and a revocation source")
	}
	doc, err := kjose.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotExtendable, err)
	}
	if doc.Detached && o.Content == nil {
		return nil, fmt.Errorf("%w: the archive time-stamp covers the payload", kjose.ErrContentMissing)
	}
	var top map[string]json.RawMessage
	if doc.Serialization == kjose.Compact {
		top = map[string]json.RawMessage{}
	} else if err := json.Unmarshal(bytes.TrimSpace(data), &top); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotExtendable, err)
	}
	if len(doc.Sigs) > maxExtendSignatures {
		return nil, fmt.Errorf("%w: %d signatures; at most %d are extended", ErrNotExtendable, len(doc.Sigs), maxExtendSignatures)
	}
	var headers []map[string]json.RawMessage
	for i, s := range doc.Sigs {
		h, err := extendOne(ctx, doc, s, o)
		if err != nil {
			if len(doc.Sigs) > 1 {
				return nil, fmt.Errorf("signature %d: %w", i+1, err)
			}
			return nil, err
		}
		headers = append(headers, h)
	}
	str := func(v string) json.RawMessage { b, _ := json.Marshal(v); return b }
	obj := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	switch doc.Serialization {
	case kjose.General:
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(top["signatures"], &list); err != nil || len(list) != len(headers) {
			return nil, fmt.Errorf("%w: unreadable signatures member", ErrNotExtendable)
		}
		for i := range list {
			list[i]["header"] = obj(headers[i])
		}
		top["signatures"] = obj(list)
	default:
		s := doc.Sigs[0]
		top["signature"], top["header"] = str(s.Signature), obj(headers[0])
		if !doc.Detached {
			top["payload"] = str(doc.Payload)
		}
		if s.Protected != "" {
			top["protected"] = str(s.Protected)
		}
	}
	return json.Marshal(top)
}

// extendOne returns the new unprotected header of signature s.
func extendOne(ctx context.Context, doc *kjose.Doc, s kjose.Sig, o ExtendOptions) (map[string]json.RawMessage, error) {
	p, err := s.Params()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotExtendable, err)
	}
	if p.SigD != nil {
		return nil, fmt.Errorf("%w: the signed data is referenced by sigD", ErrNotExtendable)
	}
	if len(p.Certs) == 0 {
		return nil, fmt.Errorf("%w: no x5c header parameter", ErrNotExtendable)
	}
	input, err := kjose.SigningInput(doc, s, p, o.Content)
	if errors.Is(err, kjose.ErrContentMismatch) || errors.Is(err, kjose.ErrContentMissing) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotExtendable, err)
	}
	value, err := base64.RawURLEncoding.DecodeString(s.Signature)
	if err != nil {
		return nil, fmt.Errorf("%w: the signature value is not base64url", ErrNotExtendable)
	}
	if err := kjose.VerifyValue(p.Certs[0].PublicKey, p.Alg, input, value); err != nil {
		return nil, fmt.Errorf("%w: the signature value does not verify: %v", ErrNotExtendable, err)
	}
	u := kjose.ParseUnsigned(p.EtsiU)
	if len(u.Problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotExtendable, u.Problems[0])
	}
	// Every element base64url encoded; clear ones keep their content.
	var entries []string
	for i, raw := range p.EtsiU {
		e := u.Entries[i]
		if !e.Clear {
			entries = append(entries, e.Encoded)
			continue
		}
		if len(u.ArcTst) > 0 {
			return nil, ErrClearArchived
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("%w: etsiU element %d: %v", ErrNotExtendable, i+1, err)
		}
		entries = append(entries, base64.RawURLEncoding.EncodeToString(buf.Bytes()))
	}
	add := func(name string, v any) error {
		b, err := json.Marshal(map[string]any{name: v})
		if err != nil {
			return err
		}
		entries = append(entries, base64.RawURLEncoding.EncodeToString(b))
		return nil
	}

	// A signature time-stamp, if there is none.
	tokens := append([][]byte{}, u.SigTst...)
	for _, a := range u.ArcTst {
		tokens = append(tokens, a.Tokens...)
	}
	if len(u.SigTst) == 0 {
		tok, err := stampSignature(ctx, o.Stamper, s.Signature)
		if err != nil {
			return nil, err
		}
		if err := add("sigTst", tstContainer(tok)); err != nil {
			return nil, err
		}
		tokens = append(tokens, tok)
	}

	// Validation data.
	var tsaCerts []*x509.Certificate
	for _, tok := range tokens {
		if ts, err := cms.Parse(tok); err == nil {
			tsaCerts = append(tsaCerts, ts.Certificates...)
		}
	}
	if len(u.Certs) == 0 && len(u.CRLs)+len(u.OCSPs)+len(u.BasicOCSPs) == 0 {
		certs := append([]*x509.Certificate{}, p.Certs...)
		if o.Root != nil {
			certs = append(certs, o.Root)
		}
		vd, err := cades.CollectValidationData(ctx, o.Revocation, append(certs, tsaCerts...))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoValidationData, err)
		}
		if err := add("xVals", certValues(vd.Certs)); err != nil {
			return nil, err
		}
		if err := add("rVals", revocationValues(vd)); err != nil {
			return nil, err
		}
	} else if vd := timeStampData(ctx, o, tsaCerts, append(p.Certs, u.Certs...)); vd != nil {
		if err := add("tstVD", map[string]any{"xVals": certValues(vd.Certs), "rVals": revocationValues(vd)}); err != nil {
			return nil, err
		}
	}

	// The archive time-stamp over everything before it.
	encoded := make([]json.RawMessage, len(entries))
	for i, e := range entries {
		encoded[i], _ = json.Marshal(e)
	}
	nu := kjose.ParseUnsigned(encoded)
	input, err = kjose.ArchiveInput(doc, s, p, nu, len(entries), "", o.Content)
	if err != nil {
		return nil, fmt.Errorf("jws: archive time-stamp: %w", err)
	}
	sum := sha256.Sum256(input)
	tok, err := o.Stamper.Stamp(ctx, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("jws: archive time-stamp: %w", err)
	}
	if err := add("arcTst", tstContainer(tok)); err != nil {
		return nil, err
	}
	header := map[string]json.RawMessage{}
	for k, v := range s.Header {
		header[k] = v
	}
	header["etsiU"], _ = json.Marshal(entries)
	return header, nil
}

// timeStampData collects the TSA certificates not yet in the signature
// (known) and current revocation data for them, best effort: a TSA whose
// status cannot be had now is left out. It returns nil when there is
// nothing to add.
func timeStampData(ctx context.Context, o ExtendOptions, tsaCerts, known []*x509.Certificate) *cades.ValidationData {
	have := map[[32]byte]bool{}
	for _, c := range known {
		have[sha256.Sum256(c.Raw)] = true
	}
	pool := append(append([]*x509.Certificate{}, tsaCerts...), known...)
	if o.Root != nil {
		pool = append(pool, o.Root)
	}
	out := &cades.ValidationData{}
	seen := map[[32]byte]bool{}
	for _, c := range tsaCerts {
		k := sha256.Sum256(c.Raw)
		if seen[k] {
			continue
		}
		seen[k] = true
		if !have[k] {
			out.Certs = append(out.Certs, c.Raw)
			have[k] = true
		}
		if bytes.Equal(c.RawIssuer, c.RawSubject) {
			continue
		}
		for _, issuer := range pool {
			if c.CheckSignatureFrom(issuer) == nil {
				if resp, err := o.Revocation.OCSP(ctx, c, issuer); err == nil && len(resp) > 0 {
					out.OCSPs = append(out.OCSPs, resp)
				}
				break
			}
		}
		if crls, err := o.Revocation.CRLs(ctx, c); err == nil {
			out.CRLs = append(out.CRLs, crls...)
		}
	}
	if len(out.Certs)+len(out.OCSPs)+len(out.CRLs) == 0 {
		return nil
	}
	return out
}

// stampSignature returns a signature time-stamp token: the imprint is over
// the base64url JWS signature value (ETSI TS 119 182-1 §5.3.4).
func stampSignature(ctx context.Context, st Stamper, signature string) ([]byte, error) {
	sum := sha256.Sum256([]byte(signature))
	tok, err := st.Stamp(ctx, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("jws: signature time-stamp: %w", err)
	}
	return tok, nil
}

// tstContainer is a JAdES time-stamp container with one token.
func tstContainer(tok []byte) map[string]any {
	return map[string]any{"tstTokens": []any{map[string]any{"val": base64.StdEncoding.EncodeToString(tok)}}}
}

// certValues are JAdES xVals: x509Cert pkiOb objects.
func certValues(certs [][]byte) []any {
	out := []any{}
	for _, c := range certs {
		out = append(out, map[string]any{"x509Cert": map[string]any{"val": base64.StdEncoding.EncodeToString(c)}})
	}
	return out
}

// revocationValues are JAdES rVals.
func revocationValues(vd *cades.ValidationData) map[string]any {
	return map[string]any{"crlVals": vals("val", vd.CRLs), "ocspVals": vals("val", vd.OCSPs)}
}
