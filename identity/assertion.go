package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"kyso/auth"
)

// Claims are the claims of an identity assertion. The JSON form is both
// the JWT payload and the `claims` member of the verification response.
type Claims struct {
	Issuer    string       `json:"iss"`
	Audience  jwt.Audience `json:"aud"`
	Subject   string       `json:"sub"` // 12-digit personal ID number
	Name      string       `json:"name"`
	BirthDate string       `json:"birthdate"` // YYYY-MM-DD
	Sex       string       `json:"sex,omitempty"`
	// Province is the provincial-level unit of the verified place of
	// residence (DG13), the only source of a certificate's ST.
	Province       string           `json:"province,omitempty"`
	ACR            string           `json:"acr"`
	AMR            []string         `json:"amr"`
	LoA            string           `json:"loa"`
	ID             string           `json:"jti"`
	IssuedAt       *jwt.NumericDate `json:"iat"`
	NotBefore      *jwt.NumericDate `json:"nbf,omitempty"`
	Expiry         *jwt.NumericDate `json:"exp"`
	Nonce          string           `json:"nonce,omitempty"` // the AA challenge nonce, base64
	DocumentType   string           `json:"doc_type"`
	SODHash        string           `json:"sod_hash"`        // SHA-256 hex of EF.SOD
	DSCFingerprint string           `json:"dsc_fingerprint"` // SHA-256 hex of the DSC
}

// ACRPrefix prefixes the level of assurance in the acr claim.
const ACRPrefix = "http://eidas.europa.eu/LoA/"

// MaxAssertionTTL bounds an assertion's lifetime.
const MaxAssertionTTL = 15 * time.Minute

// keySigner adapts a crypto.Signer (an HSM key) to go-jose's OpaqueSigner.
type keySigner struct {
	signer crypto.Signer
	alg    jose.SignatureAlgorithm
	jwk    jose.JSONWebKey
}

// newKeySigner picks the JWS algorithm for the key: ES256/ES384/ES512 by
// curve, RS256 or (pss) PS256 for RSA.
func newKeySigner(s crypto.Signer, pss bool) (*keySigner, error) {
	var alg jose.SignatureAlgorithm
	switch k := s.Public().(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			alg = jose.ES256
		case elliptic.P384():
			alg = jose.ES384
		case elliptic.P521():
			alg = jose.ES512
		default:
			return nil, errors.New("identity: unsupported assertion key curve")
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("identity: assertion RSA key shorter than 2048 bits")
		}
		alg = jose.RS256
		if pss {
			alg = jose.PS256
		}
	default:
		return nil, fmt.Errorf("identity: unsupported assertion key %T", k)
	}
	jwk := jose.JSONWebKey{Key: s.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("identity: key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return &keySigner{signer: s, alg: alg, jwk: jwk}, nil
}

func (k *keySigner) Public() *jose.JSONWebKey        { j := k.jwk; return &j }
func (k *keySigner) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{k.alg} }

// SignPayload implements jose.OpaqueSigner.
func (k *keySigner) SignPayload(payload []byte, alg jose.SignatureAlgorithm) ([]byte, error) {
	if alg != k.alg {
		return nil, fmt.Errorf("identity: key signs %s, not %s", k.alg, alg)
	}
	var h crypto.Hash
	switch alg {
	case jose.ES256, jose.RS256, jose.PS256:
		h = crypto.SHA256
	case jose.ES384:
		h = crypto.SHA384
	case jose.ES512:
		h = crypto.SHA512
	}
	d := h.New()
	d.Write(payload)
	digest := d.Sum(nil)
	var opts crypto.SignerOpts = h
	if alg == jose.PS256 {
		opts = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}
	}
	sig, err := k.signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("identity: signing assertion: %w", err)
	}
	if k.alg == jose.ES256 || k.alg == jose.ES384 || k.alg == jose.ES512 {
		return derToJOSE(sig, (k.signer.Public().(*ecdsa.PublicKey).Curve.Params().BitSize+7)/8)
	}
	return sig, nil
}

// derToJOSE converts an ASN.1 ECDSA signature to the fixed r‖s form JWS uses.
func derToJOSE(der []byte, size int) ([]byte, error) {
	var v struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &v); err != nil || len(rest) != 0 {
		if len(der) == 2*size { // already r‖s
			return der, nil
		}
		return nil, fmt.Errorf("identity: ECDSA signature is not DER: %v", err)
	}
	if v.R.BitLen() > 8*size || v.S.BitLen() > 8*size {
		return nil, errors.New("identity: ECDSA signature values too large")
	}
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out, nil
}

// JWKS returns the public keys assertions are checked with (the current
// signing key first).
func (s *Service) JWKS() jose.JSONWebKeySet {
	var set jose.JSONWebKeySet
	for _, k := range s.keys {
		set.Keys = append(set.Keys, *k.Public())
	}
	return set
}

func (s *Service) sign(c *Claims) (string, error) {
	if len(s.keys) == 0 {
		return "", errors.New("identity: no assertion signing key configured")
	}
	k := s.keys[0]
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.jwk.KeyID))
	if err != nil {
		return "", fmt.Errorf("identity: assertion signer: %w", err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("identity: signing assertion: %w", err)
	}
	return raw, nil
}

// VerifyAssertion implements auth.AssertionVerifier: the signature by one of
// the configured keys, iss, aud, exp/nbf/iat (30 s leeway) and a lifetime of
// at most 15 minutes.
func (s *Service) VerifyAssertion(ctx context.Context, raw string) (*auth.Assertion, error) {
	invalid := func(err error) error { return refuse(CodeAssertionInvalid, err) }
	algs := make([]jose.SignatureAlgorithm, 0, len(s.keys))
	for _, k := range s.keys {
		algs = append(algs, k.alg)
	}
	tok, err := jwt.ParseSigned(raw, algs)
	if err != nil {
		return nil, invalid(fmt.Errorf("identity assertion: %w", err))
	}
	if len(tok.Headers) != 1 {
		return nil, invalid(errors.New("identity assertion: expected one signature"))
	}
	kid := tok.Headers[0].KeyID
	var c Claims
	var std jwt.Claims
	verified := false
	for _, k := range s.keys {
		if kid != "" && kid != k.jwk.KeyID {
			continue
		}
		if err := tok.Claims(k.signer.Public(), &c, &std); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, invalid(errors.New("identity assertion: signature does not verify with any current key"))
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: s.cfg.Issuer, AnyAudience: jwt.Audience{s.cfg.Audience}, Time: s.now()}, 30*time.Second); err != nil {
		return nil, invalid(fmt.Errorf("identity assertion: %w", err))
	}
	if std.Expiry == nil || std.IssuedAt == nil || std.Expiry.Time().Sub(std.IssuedAt.Time()) > MaxAssertionTTL {
		return nil, invalid(errors.New("identity assertion: lifetime missing or longer than 15 minutes"))
	}
	if !isID(c.Subject) || c.ID == "" {
		return nil, invalid(errors.New("identity assertion: bad subject or jti"))
	}
	return &auth.Assertion{
		Raw: raw, JTI: c.ID, Subject: c.Subject, Name: c.Name, BirthDate: c.BirthDate, Sex: c.Sex, Province: c.Province,
		LoA: c.LoA, AMR: c.AMR, IssuedAt: std.IssuedAt.Time(), Expiry: std.Expiry.Time(),
	}, nil
}
