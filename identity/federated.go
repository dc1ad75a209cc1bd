package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"kyso/audit"
)

// FederatedIdentity is a citizen identified by an OpenID Connect provider
// (VNeID in production) rather than by their chip card.
type FederatedIdentity struct {
	// Subject is the 12-digit personal ID number the provider asserts.
	Subject   string
	Name      string
	BirthDate string
	// LoA is Kyso's level of assurance for the provider's acr (from the
	// configured table), IDLevel Vietnam's identification level (Decree
	// 69/2024/NĐ-CP: "1" or "2").
	LoA, IDLevel string
	// Provider names the provider; it becomes the assertion's amr.
	Provider string
	// ProviderACR is the acr the provider asserted, kept in the audit log.
	ProviderACR string
	// TokenID identifies the provider's ID token in the audit log (its jti
	// or a digest).
	TokenID string
}

// LoALow is the level of assurance of a provider whose acr the
// configuration maps below substantial (e.g. a VNeID level 1 account).
const LoALow = "low"

// CodeFederatedClaims refuses an ID token whose claims Kyso cannot use.
const CodeFederatedClaims = "federated-claims-invalid"

var (
	personalID = regexp.MustCompile(`^[0-9]{12}$`)
	birthDate  = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// IssueFederated signs an identity assertion for a citizen an OpenID
// provider identified: the same JWT as the chip flow, with amr naming the
// provider and the level of assurance the provider's acr maps to.
func (s *Service) IssueFederated(ctx context.Context, f FederatedIdentity) (*Verification, error) {
	if !personalID.MatchString(f.Subject) {
		return nil, refusef(CodeFederatedClaims, "the provider's personal ID is not 12 digits")
	}
	if f.BirthDate != "" && !birthDate.MatchString(f.BirthDate) {
		return nil, refusef(CodeFederatedClaims, "the provider's birth date is not YYYY-MM-DD")
	}
	if f.Provider == "" || (f.LoA != LoALow && f.LoA != LoASubstantial && f.LoA != LoAHigh) {
		return nil, fmt.Errorf("identity: federated identity without provider or level of assurance")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return nil, err
	}
	iat := s.now().Truncate(time.Second)
	c := &Claims{
		Issuer: s.cfg.Issuer, Audience: jwt.Audience{s.cfg.Audience},
		Subject: f.Subject, Name: f.Name, BirthDate: f.BirthDate,
		ACR: ACRPrefix + f.LoA, AMR: []string{"oidc:" + f.Provider}, LoA: f.LoA, IDLevel: f.IDLevel,
		ID:       base64.RawURLEncoding.EncodeToString(jti),
		IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), Expiry: jwt.NewNumericDate(iat.Add(s.cfg.TTL)),
		DocumentType: "oidc",
	}
	raw, err := s.sign(c)
	if err != nil {
		return nil, err
	}
	if s.audit != nil {
		if err := s.audit.Append(ctx, audit.Event{Actor: f.Subject, Role: "citizen", Action: "identity.federated", Object: "assertion:" + c.ID,
			Details: map[string]any{"provider": f.Provider, "acr": f.ProviderACR, "loa": f.LoA, "id_level": f.IDLevel, "token": f.TokenID}}); err != nil {
			return nil, fmt.Errorf("identity: audit: %w", err)
		}
	}
	s.log.InfoContext(ctx, "identity assertion issued", "jti", c.ID, "loa", f.LoA, "provider", f.Provider)
	return &Verification{Assertion: raw, Claims: c}, nil
}
