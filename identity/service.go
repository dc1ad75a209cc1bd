package identity

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"kyso/audit"
	"kyso/identity/pa"
	"kyso/identity/pki"
	kjose "kyso/jose"
	"kyso/problem"
	"kyso/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies the identity tables to db.
func Migrate(ctx context.Context, db *store.DB) error {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, "identity", sub); err != nil {
		return fmt.Errorf("identity: migrations: %w", err)
	}
	return nil
}

// DefaultTrustDir is where CSCA certificates and master lists are read.
const DefaultTrustDir = "./var/trust/csca"

// RegistryRequirement says which registry outcome a verification needs.
type RegistryRequirement string

// Registry requirements.
const (
	// RegistryOff does not consult the registry (LoA substantial).
	RegistryOff RegistryRequirement = "off"
	// RegistryOptional consults it: no entry gives substantial, a match
	// high, a contradiction is refused.
	RegistryOptional RegistryRequirement = "optional"
	// RegistryRequired refuses citizens the registry does not list.
	RegistryRequired RegistryRequirement = "required"
)

// Config is the identity configuration.
type Config struct {
	Issuer   string        // iss of assertions (default "kyso")
	Audience string        // aud of assertions and what VerifyAssertion expects (default "kyso")
	TTL      time.Duration // assertion lifetime (default 10 min, at most 15)
	// ChallengeTTL is the lifetime of a challenge (default 2 min).
	ChallengeTTL time.Duration
	// Registry says which registry outcome is required (default optional).
	Registry RegistryRequirement
	// RSAPSS makes RSA assertion keys sign PS256 instead of RS256.
	RSAPSS bool
	CardPolicy
}

func (c *Config) defaults() error {
	if c.Issuer == "" {
		c.Issuer = "kyso"
	}
	if c.Audience == "" {
		c.Audience = "kyso"
	}
	if c.TTL == 0 {
		c.TTL = 10 * time.Minute
	}
	if c.TTL < 0 || c.TTL > MaxAssertionTTL {
		return fmt.Errorf("identity: assertion TTL %s outside (0, %s]", c.TTL, MaxAssertionTTL)
	}
	if c.ChallengeTTL == 0 {
		c.ChallengeTTL = 2 * time.Minute
	}
	switch c.Registry {
	case "":
		c.Registry = RegistryOptional
	case RegistryOff, RegistryOptional, RegistryRequired:
	default:
		return fmt.Errorf("identity: unknown registry requirement %q", c.Registry)
	}
	return nil
}

// Options are the dependencies of a Service.
type Options struct {
	Config Config
	// Trust holds the CSCA anchors (see pa.LoadDir and DefaultTrustDir).
	Trust *pa.TrustStore
	// Registry is consulted unless Config.Registry is off; nil means the
	// embedded StoreRegistry.
	Registry Registry
	// Keys sign assertions: the first signs, all verify (rotation).
	Keys []crypto.Signer
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Audit, when set, records every issued assertion and every refusal.
	Audit Auditor
}

// Auditor appends to the audit trail (*audit.Log implements it).
type Auditor interface {
	Append(ctx context.Context, ev audit.Event) error
}

// Service verifies chip cards and issues and checks identity assertions.
type Service struct {
	db       *store.DB
	cfg      Config
	trust    *pa.TrustStore
	registry Registry
	keys     []*kjose.KeySigner
	now      func() time.Time
	log      *slog.Logger
	audit    Auditor
}

// New applies the identity migrations and returns the service.
func New(ctx context.Context, db *store.DB, o Options) (*Service, error) {
	cfg := o.Config
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if o.Trust == nil {
		return nil, errors.New("identity: no CSCA trust store")
	}
	if len(o.Keys) == 0 {
		return nil, errors.New("identity: no assertion signing key")
	}
	for i, k := range o.Keys {
		if k == nil || reflect.ValueOf(k).Kind() == reflect.Pointer && reflect.ValueOf(k).IsNil() {
			return nil, fmt.Errorf("identity: assertion signing key %d is missing (no identity key in the HSM?)", i)
		}
	}
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	s := &Service{db: db, cfg: cfg, trust: o.Trust, registry: o.Registry, now: o.Now, log: o.Log, audit: o.Audit}
	if s.registry == nil {
		s.registry = NewStoreRegistry(db)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, k := range o.Keys {
		ks, err := kjose.NewKeySigner(k, cfg.RSAPSS)
		if err != nil {
			return nil, fmt.Errorf("identity: assertion key: %w", err)
		}
		s.keys = append(s.keys, ks)
	}
	return s, nil
}

// VerifyRequest is a verification as received (data groups decoded from
// base64 by the caller).
type VerifyRequest struct {
	ChallengeID string
	CardInput
}

// Verification is a successful verification.
type Verification struct {
	Assertion string  `json:"assertion"`
	Claims    *Claims `json:"claims"`
}

// Verify consumes the challenge, verifies the card and the registry, and
// issues an assertion. Refusals are *problem.Error with a Code* code.
func (s *Service) Verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	v, err := s.verify(ctx, req)
	if err != nil && s.audit != nil {
		if p, ok := problem.As(err); ok {
			// Only what the service chose goes into the log: the reason
			// code and the challenge ID when it is one the service issued
			// (else a short hash of what was sent), never the request's
			// own bytes.
			if aerr := s.audit.Append(ctx, audit.Event{Actor: "anonymous", Action: "identity.refused", Object: "challenge:" + challengeRef(req.ChallengeID),
				Details: map[string]any{"code": p.Code}}); aerr != nil {
				return nil, problem.Wrap(http.StatusServiceUnavailable, "audit-unavailable",
					fmt.Errorf("identity: recording a refused verification (%s): %w", p.Code, aerr))
			}
		}
	}
	return v, err
}

// challengeRef is a challenge ID as issued (22 base64url characters) or,
// for anything else, "invalid-" and the first 16 hex digits of its
// SHA-256: bounded, and never attacker-chosen text.
func challengeRef(id string) string {
	if len(id) == 22 && strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == "" {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "invalid-" + hex.EncodeToString(sum[:8])
}

func (s *Service) verify(ctx context.Context, req VerifyRequest) (*Verification, error) {
	nonce, err := s.consumeChallenge(ctx, req.ChallengeID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	card, err := VerifyCard(req.CardInput, nonce, s.trust, s.cfg.CardPolicy, now)
	if err != nil {
		s.log.InfoContext(ctx, "chip verification refused", "err", err)
		return nil, err
	}
	loa, amr := LoASubstantial, []string{"pa", "aa"}
	if s.cfg.Registry != RegistryOff {
		l, matched, err := registryLoA(ctx, s.registry, card)
		if err != nil {
			s.log.InfoContext(ctx, "registry check refused", "err", err)
			return nil, err
		}
		if !matched && s.cfg.Registry == RegistryRequired {
			return nil, refusef(CodeRegistryMismatch, "the population registry does not list this citizen")
		}
		loa = l
		if matched {
			amr = append(amr, "registry")
		}
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return nil, err
	}
	// The level follows from the methods used (loa.go), not from the
	// registry's answer alone.
	loa, idLevel := levelOf(amr)
	iat := now.Truncate(time.Second)
	c := &Claims{
		IDLevel: idLevel,
		Issuer:  s.cfg.Issuer, Audience: jwt.Audience{s.cfg.Audience},
		Subject: card.IDNumber, Name: card.FullName, BirthDate: card.BirthDate, Sex: card.Sex, Province: card.Province,
		ACR: ACRPrefix + loa, AMR: amr, LoA: loa,
		ID:       base64.RawURLEncoding.EncodeToString(jti),
		IssuedAt: jwt.NewNumericDate(iat), NotBefore: jwt.NewNumericDate(iat), Expiry: jwt.NewNumericDate(iat.Add(s.cfg.TTL)),
		Nonce:        base64.StdEncoding.EncodeToString(nonce),
		DocumentType: card.DocumentType, SODHash: card.SODHash, DSCFingerprint: card.DSCFingerprint,
	}
	raw, err := s.sign(c)
	if err != nil {
		return nil, err
	}
	if s.audit != nil {
		if err := s.audit.Append(ctx, audit.Event{Actor: card.IDNumber, Role: "citizen", Action: "identity.verified", Object: "assertion:" + c.ID,
			Details: map[string]any{"loa": loa, "amr": amr, "doc_type": card.DocumentType, "sod_sha256": card.SODHash,
				"dsc_sha256": card.DSCFingerprint, "csca": card.CSCASubject}}); err != nil {
			return nil, fmt.Errorf("identity: audit: %w", err)
		}
	}
	s.log.InfoContext(ctx, "identity assertion issued", "jti", c.ID, "loa", loa, "doc", card.DocumentType,
		"sod_sha256", card.SODHash, "dsc_sha256", card.DSCFingerprint, "csca", card.CSCASubject)
	return &Verification{Assertion: raw, Claims: c}, nil
}

// OIDNationalSODVariant lists eContentTypes some issuers used before
// 2.23.136.1.1.1 was settled (id-data, 1.2.840.113549.1.7.1); they are
// accepted only when listed in CardPolicy.ContentTypes.
var OIDNationalSODVariant = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}

// LoadTrust loads the CSCA trust anchors from dir (DefaultTrustDir when
// empty): PEM or DER certificates and ICAO master lists, the latter only
// when their signer is, or chains to, a certificate of one of
// listAnchorFiles. It fails when no anchor could be loaded.
func LoadTrust(dir string, listAnchorFiles []string, log *slog.Logger) (*pa.TrustStore, []pa.SourceReport, error) {
	if dir == "" {
		dir = DefaultTrustDir
	}
	var listAnchors []*pki.Certificate
	for _, f := range listAnchorFiles {
		certs, err := pa.ReadCertificates(f)
		if err != nil {
			return nil, nil, fmt.Errorf("identity: master list anchor %s: %w", f, err)
		}
		listAnchors = append(listAnchors, certs...)
	}
	ts, reports, err := pa.LoadDir(dir, pa.LoadOptions{Log: log, ListSignerAnchors: listAnchors})
	if err != nil {
		return nil, nil, err
	}
	if ts.Len() == 0 {
		return nil, reports, fmt.Errorf("identity: no CSCA certificate in %s", dir)
	}
	return ts, reports, nil
}
