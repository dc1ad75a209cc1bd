package identity_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kyso/audit"
	certstest "kyso/certs-test"
	"kyso/identity"
	"kyso/identity/lds"
	"kyso/store/storetest"
)

func TestAuditTrail(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := chip(t, "p256", "")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	svc, err := identity.New(ctx, db, identity.Options{Trust: trustOf(t, c), Keys: []crypto.Signer{key}, Now: (&clock{t: testNow}).now, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := svc.NewChallenge(ctx)
	v, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: ch.ID, CardInput: input(t, c, ch.Nonce)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: ch.ID, CardInput: input(t, c, ch.Nonce)}); codeOf(err) != "challenge-reused" {
		t.Fatal(err)
	}
	entries, err := log.List(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != "identity.verified" || entries[0].Object != "assertion:"+v.Claims.ID ||
		entries[0].Actor != "079090001234" || entries[1].Action != "identity.refused" || entries[1].Details["code"] != "challenge-reused" {
		t.Fatalf("audit entries %+v", entries)
	}
}

// The generator's csca.pem is a valid trust directory for LoadTrust.
func TestLoadTrustFromGeneratedCard(t *testing.T) {
	dir := t.TempDir()
	if err := certstest.WriteChip(dir, certstest.ChipOptions{ID: "001190012345", Alg: "brainpool", Now: testNow}); err != nil {
		t.Fatal(err)
	}
	trustDir := t.TempDir()
	pemBytes, err := os.ReadFile(filepath.Join(dir, "csca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(trustDir, "vn-test.pem"), pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	ts, _, err := identity.LoadTrust(trustDir, nil, nil)
	if err != nil || ts.Len() != 1 {
		t.Fatalf("LoadTrust: %v", err)
	}
	if _, _, err := identity.LoadTrust(t.TempDir(), nil, nil); err == nil {
		t.Fatal("empty directory accepted")
	}
}

// A TD3 passport is refused unless passports are allowed.
func TestPassportProfile(t *testing.T) {
	c, err := certstest.NewChip(certstest.ChipOptions{ID: "079090001234", Name: "Trần Đức Anh", Sex: "M", Alg: "p256", Passport: true, Seed: "passport", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lds.ParseDG1(c.DG1)
	if err != nil || m.Format != "TD3" {
		t.Fatalf("passport DG1: %v", err)
	}
	nonce := []byte("01234567")
	if _, err := identity.VerifyCard(input(t, c, nonce), nonce, trustOf(t, c), identity.CardPolicy{}, testNow); codeOf(err) != "issuing-state-refused" {
		t.Fatalf("passports not allowed: %v", err)
	}
	card, err := identity.VerifyCard(input(t, c, nonce), nonce, trustOf(t, c), identity.CardPolicy{AllowPassports: true}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if card.DocumentType != "passport" || card.IDNumber != "079090001234" || card.BirthDate != "1990-02-15" {
		t.Fatalf("%+v", card)
	}
	if _, err := identity.VerifyCard(input(t, c, nonce), nonce, trustOf(t, c), identity.CardPolicy{AllowPassports: true, PassportStates: []string{"UTO"}}, testNow); codeOf(err) != "issuing-state-refused" {
		t.Fatalf("state not listed: %v", err)
	}
}

// A missing identity key (the CA loads without one) is an error, not a
// panic.
func TestNewRefusesNilKey(t *testing.T) {
	db := storetest.SQLite(t)
	c := chip(t, "p256", "")
	var k *ecdsa.PrivateKey
	for _, keys := range [][]crypto.Signer{{nil}, {k}} {
		if _, err := identity.New(context.Background(), db, identity.Options{Trust: trustOf(t, c), Keys: keys}); err == nil {
			t.Fatal("identity.New accepted a nil key")
		}
	}
}

// A refused verification records only bounded, service-chosen data: a
// 200 KiB challenge ID becomes a short hash in the audit log.
func TestRefusalAuditIsBounded(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	log, err := audit.New(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := chip(t, "p256", "")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	svc, err := identity.New(ctx, db, identity.Options{Trust: trustOf(t, c), Keys: []crypto.Signer{key}, Now: (&clock{t: testNow}).now, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("A", 200<<10)
	if _, err := svc.Verify(ctx, identity.VerifyRequest{ChallengeID: huge, CardInput: input(t, c, []byte("01234567"))}); codeOf(err) != "challenge-unknown" {
		t.Fatal(err)
	}
	entries, err := log.List(ctx, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || len(entries[0].Object) > 64 || strings.Contains(entries[0].Object, "AAAA") {
		t.Fatalf("audit entry %+v", entries[0].Object[:min(len(entries[0].Object), 80)])
	}
}
