package jws

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"kyso/cms"
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
}

// Errors callers branch on.
var (
	ErrUnsupportedKey = errors.New("jws: unsupported key")
	ErrCompactStamp   = errors.New("jws: a signature time-stamp needs the JSON serialization")
)

// opaque adapts a crypto.Signer to go-jose.
type opaque struct {
	s   crypto.Signer
	alg jose.SignatureAlgorithm
	h   crypto.Hash
	// size is the byte length of r and s for ECDSA.
	size int
}

func newOpaque(s crypto.Signer) (*opaque, error) {
	switch pub := s.Public().(type) {
	case *rsa.PublicKey:
		return &opaque{s: s, alg: jose.RS256, h: crypto.SHA256}, nil
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return &opaque{s: s, alg: jose.ES256, h: crypto.SHA256, size: 32}, nil
		case elliptic.P384():
			return &opaque{s: s, alg: jose.ES384, h: crypto.SHA384, size: 48}, nil
		case elliptic.P521():
			return &opaque{s: s, alg: jose.ES512, h: crypto.SHA512, size: 66}, nil
		}
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, s.Public())
}

func (o *opaque) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: o.s.Public(), Algorithm: string(o.alg), Use: "sig"}
}

func (o *opaque) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{o.alg} }

func (o *opaque) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != o.alg {
		return nil, fmt.Errorf("jws: algorithm %s not supported by this key", alg)
	}
	h := o.h.New()
	h.Write(payload)
	sig, err := o.s.Sign(rand.Reader, h.Sum(nil), o.h)
	if err != nil {
		return nil, err
	}
	if o.size == 0 {
		return sig, nil
	}
	return derToRaw(sig, o.size)
}

// vals encodes DER items as JAdES value objects.
func vals(key string, items [][]byte) []any {
	out := []any{}
	for _, it := range items {
		out = append(out, map[string]any{key: base64.StdEncoding.EncodeToString(it)})
	}
	return out
}

// derToRaw converts an ASN.1 ECDSA signature to r||s.
func derToRaw(der []byte, size int) ([]byte, error) {
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) {
		return nil, errors.New("jws: malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out, nil
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
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.ContentType == "" {
		o.ContentType = "json"
	}
	op, err := newOpaque(signer)
	if err != nil {
		return nil, err
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
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: op.alg, Key: op}, so)
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
		// JAdES sigTst: the imprint is over the base64url signature value.
		sum := sha256.Sum256([]byte(parts[2]))
		tok, err := o.Stamper.Stamp(ctx, sum[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("jws: signature time-stamp: %w", err)
		}
		etsiU := []any{map[string]any{
			"sigTst": map[string]any{"tstTokens": []any{map[string]any{"val": base64.StdEncoding.EncodeToString(tok)}}},
		}}
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
			etsiU = append(etsiU, map[string]any{"xVals": vals("x509Cert", vd.Certs)},
				map[string]any{"rVals": map[string]any{"crlVals": vals("val", vd.CRLs), "ocspVals": vals("val", vd.OCSPs)}})
		}
		flat["header"] = map[string]any{"etsiU": etsiU}
	}
	return json.Marshal(flat)
}

// Verify checks a JWS (either serialization, one signature) against the
// certificate in its x5c header and returns the payload and that
// certificate. It does not validate the chain. It verifies by hand because
// go-jose refuses the critical sigT header of JAdES signatures made before
// ETSI TS 119 182-1 V1.2.1, which must still verify; the critical headers
// understood are sigT and iat.
func Verify(data []byte) ([]byte, *x509.Certificate, error) {
	protected, payload, sig, err := split(data)
	if err != nil {
		return nil, nil, err
	}
	hdrJSON, err := base64.RawURLEncoding.DecodeString(protected)
	if err != nil {
		return nil, nil, fmt.Errorf("jws: protected header: %w", err)
	}
	var hdr struct {
		Alg  string   `json:"alg"`
		X5C  []string `json:"x5c"`
		Crit []string `json:"crit"`
	}
	if err := json.Unmarshal(hdrJSON, &hdr); err != nil {
		return nil, nil, fmt.Errorf("jws: protected header: %w", err)
	}
	for _, c := range hdr.Crit {
		if c != "sigT" && c != "iat" {
			return nil, nil, fmt.Errorf("jws: unsupported critical header %q", c)
		}
	}
	if len(hdr.X5C) == 0 {
		return nil, nil, errors.New("jws: no x5c header")
	}
	der, err := base64.StdEncoding.DecodeString(hdr.X5C[0])
	if err != nil {
		return nil, nil, fmt.Errorf("jws: x5c: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("jws: x5c: %w", err)
	}
	sigBytes, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil, nil, fmt.Errorf("jws: signature: %w", err)
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("jws: payload: %w", err)
	}
	input := []byte(protected + "." + payload)
	if err := verifySig(cert.PublicKey, hdr.Alg, input, sigBytes); err != nil {
		return nil, nil, err
	}
	return body, cert, nil
}

var errBadSignature = errors.New("jws: signature does not verify")

func verifySig(pub crypto.PublicKey, alg string, input, sig []byte) error {
	var h crypto.Hash
	switch alg {
	case "RS256", "ES256":
		h = crypto.SHA256
	case "ES384":
		h = crypto.SHA384
	case "ES512":
		h = crypto.SHA512
	default:
		return fmt.Errorf("jws: unsupported alg %q", alg)
	}
	d := h.New()
	d.Write(input)
	sum := d.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg != "RS256" || rsa.VerifyPKCS1v15(k, h, sum, sig) != nil {
			return errBadSignature
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if alg == "RS256" || len(sig) != 2*size {
			return errBadSignature
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, sum, r, s) {
			return errBadSignature
		}
	default:
		return ErrUnsupportedKey
	}
	return nil
}

// split returns the protected header, payload and signature (base64url).
func split(data []byte) (string, string, string, error) {
	t := strings.TrimSpace(string(data))
	if strings.HasPrefix(t, "{") {
		var flat struct {
			Payload    string `json:"payload"`
			Protected  string `json:"protected"`
			Signature  string `json:"signature"`
			Signatures []struct {
				Protected string `json:"protected"`
				Signature string `json:"signature"`
			} `json:"signatures"`
		}
		if err := json.Unmarshal([]byte(t), &flat); err != nil {
			return "", "", "", fmt.Errorf("jws: %w", err)
		}
		if len(flat.Signatures) == 1 && flat.Signature == "" {
			flat.Protected, flat.Signature = flat.Signatures[0].Protected, flat.Signatures[0].Signature
		} else if len(flat.Signatures) > 0 {
			return "", "", "", errors.New("jws: exactly one signature expected")
		}
		return flat.Protected, flat.Payload, flat.Signature, nil
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return "", "", "", errors.New("jws: compact serialization needs three parts")
	}
	return parts[0], parts[1], parts[2], nil
}
