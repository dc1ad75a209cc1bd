package jws

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"kyso/cms"
	kjose "kyso/jose"
	"kyso/signer/cades"
)

// Serialization selects the JWS form.
type Serialization string

// JWS serializations.
const (
	Compact Serialization = "compact"
	JSON    Serialization = "json"
)

// Media types of the two serializations.
const (
	CompactType = "application/jose"
	JSONType    = "application/jose+json"
)

// Stamper returns RFC 3161 time-stamp tokens.
type Stamper interface {
	Stamp(ctx context.Context, digest []byte, h crypto.Hash) ([]byte, error)
}

// Options for one signature.
type Options struct {
	Serialization Serialization
	// Time is the claimed signing time (iat, whole seconds); now when zero.
	Time time.Time
	// Stamper, with JSON serialization, adds a signature time-stamp.
	Stamper Stamper
	// ContentType is the cty header; "json" when empty.
	ContentType string
	// Revocation, with a Stamper, makes the signature B-LT: certificate and
	// revocation values (xVals, rVals) are added to etsiU.
	Revocation cades.RevocationSource
	// Root is added to the certificate values.
	Root *x509.Certificate
	// Archive, with a Stamper and Revocation, makes the signature B-LTA:
	// the B-T signature is extended with Extend (validation data and an
	// archive time-stamp, etsiU elements base64url encoded).
	Archive bool
}

// Errors callers branch on.
var (
	ErrUnsupportedKey = errors.New("jws: unsupported key")
	ErrCompactStamp   = errors.New("jws: a signature time-stamp needs the JSON serialization")
)

// vals encodes DER items as JAdES value objects.
func vals(key string, items [][]byte) []any {
	out := []any{}
	for _, it := range items {
		out = append(out, map[string]any{key: base64.StdEncoding.EncodeToString(it)})
	}
	return out
}

// Sign signs payload (the exact bytes, usually JSON) and returns the JWS
// in the requested serialization.
func Sign(ctx context.Context, signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, payload []byte, o Options) ([]byte, error) {
	if o.Serialization == "" {
		o.Serialization = Compact
	}
	if o.Serialization != Compact && o.Serialization != JSON {
		return nil, fmt.Errorf("jws: unknown serialization %q", o.Serialization)
	}
	if o.Stamper != nil && o.Serialization == Compact {
		return nil, ErrCompactStamp
	}
	if o.Archive {
		if o.Stamper == nil || o.Revocation == nil {
			return nil, errors.New("jws: B-LTA needs a time-stamp authority and a revocation source")
		}
		bt := o
		bt.Archive, bt.Revocation = false, nil
		out, err := Sign(ctx, signer, cert, chain, payload, bt)
		if err != nil {
			return nil, err
		}
		return Extend(ctx, out, ExtendOptions{Stamper: o.Stamper, Revocation: o.Revocation, Root: o.Root})
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.ContentType == "" {
		o.ContentType = "json"
	}
	op, err := kjose.NewKeySigner(signer, false)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	x5c := []string{base64.StdEncoding.EncodeToString(cert.Raw)}
	for _, c := range chain {
		x5c = append(x5c, base64.StdEncoding.EncodeToString(c.Raw))
	}
	thumb := sha256.Sum256(cert.Raw)
	so := (&jose.SignerOptions{}).
		WithHeader("x5c", x5c).
		WithHeader("x5t#S256", base64.RawURLEncoding.EncodeToString(thumb[:])).
		WithHeader("iat", o.Time.Unix()).
		WithHeader(jose.HeaderContentType, o.ContentType)
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: op.Algorithm(), Key: op}, so)
	if err != nil {
		return nil, fmt.Errorf("jws: %w", err)
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return nil, fmt.Errorf("jws: sign: %w", err)
	}
	compact, err := obj.CompactSerialize()
	if err != nil {
		return nil, err
	}
	if o.Serialization == Compact {
		return []byte(compact), nil
	}
	parts := strings.Split(compact, ".")
	flat := map[string]any{"payload": parts[1], "protected": parts[0], "signature": parts[2]}
	if o.Stamper != nil {
		tok, err := stampSignature(ctx, o.Stamper, parts[2])
		if err != nil {
			return nil, err
		}
		etsiU := []any{map[string]any{"sigTst": tstContainer(tok)}}
		if o.Revocation != nil {
			certs := append([]*x509.Certificate{cert}, chain...)
			if o.Root != nil {
				certs = append(certs, o.Root)
			}
			if ts, err := cms.Parse(tok); err == nil {
				certs = append(certs, ts.Certificates...)
			}
			vd, err := cades.CollectValidationData(ctx, o.Revocation, certs)
			if err != nil {
				return nil, fmt.Errorf("jws: validation data: %w", err)
			}
			etsiU = append(etsiU, map[string]any{"xVals": certValues(vd.Certs)}, map[string]any{"rVals": revocationValues(vd)})
		}
		flat["header"] = map[string]any{"etsiU": etsiU}
	}
	return json.Marshal(flat)
}

// Verify checks a JWS (any serialization, one signature) against the
// certificate in its x5c header and returns the payload and that
// certificate. It does not validate the chain (kyso/verifier does); it
// reads the JWS with kyso/jose, so it accepts the critical headers that
// package understands (iat, the older JAdES sigT, b64).
func Verify(data []byte) ([]byte, *x509.Certificate, error) {
	doc, err := kjose.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("jws: %w", err)
	}
	if len(doc.Sigs) != 1 {
		return nil, nil, errors.New("jws: exactly one signature expected")
	}
	if doc.Detached {
		return nil, nil, errors.New("jws: detached payload")
	}
	s := doc.Sigs[0]
	p, err := s.Params()
	if err != nil {
		return nil, nil, fmt.Errorf("jws: %w", err)
	}
	if len(p.Certs) == 0 {
		return nil, nil, errors.New("jws: no x5c header")
	}
	value, err := base64.RawURLEncoding.DecodeString(s.Signature)
	if err != nil {
		return nil, nil, fmt.Errorf("jws: signature: %w", err)
	}
	if err := kjose.VerifyValue(p.Certs[0].PublicKey, p.Alg, []byte(s.Protected+"."+doc.Payload), value); err != nil {
		return nil, nil, fmt.Errorf("jws: %w", err)
	}
	body, err := base64.RawURLEncoding.DecodeString(doc.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("jws: payload: %w", err)
	}
	return body, p.Certs[0], nil
}
