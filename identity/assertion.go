package identity

import (
	"context"
	"errors"
	"fmt"
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
	Province string   `json:"province,omitempty"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	LoA      string   `json:"loa"`
	// IDLevel is Vietnam's identification level (Decree 69/2024/NĐ-CP,
	// "1" or "2") where the source of the identity states one.
	IDLevel        string           `json:"id_level,omitempty"`
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
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Algorithm(), Key: k},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.Public().KeyID))
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
		algs = append(algs, k.Algorithm())
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
		if kid != "" && kid != k.Public().KeyID {
			continue
		}
		if err := tok.Claims(k.Public().Key, &c, &std); err == nil {
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
