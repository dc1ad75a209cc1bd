package ca_test

import (
	"context"
	"errors"
	"testing"

	"kyso/auth"
	"kyso/ca"
	"kyso/credential"
	"kyso/store"
	"kyso/store/storetest"
)

// A credential locked by wrong PINs is unlocked only by an officer or an
// administrator, and the unlock is in the audit log.
func TestUnlockCredential(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := enrollEnv(t, db)
		ctx := context.Background()
		owner := citizen("001099012345", "unlock-1")
		en, err := e.ca.Enroll(ctx, owner, ca.EnrollRequest{Key: "remote", PIN: "246810"})
		if err != nil {
			t.Fatal(err)
		}
		creds := e.ca.Credentials()
		for i := 0; i < 5; i++ {
			_, _, _ = e.ca.RemoteKey(ctx, en.CredentialID, "000000")
		}
		if c, _ := creds.Get(ctx, en.CredentialID); c.Status != credential.StatusLocked {
			t.Fatalf("status %s after five wrong PINs", c.Status)
		}
		if err := e.ca.Unlock(ctx, en.CredentialID, owner); !errors.Is(err, ca.ErrForbidden) {
			t.Fatalf("citizen unlock: %v", err)
		}
		officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "officer-1"}
		if err := e.ca.Unlock(ctx, en.CredentialID, officer); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.ca.RemoteKey(ctx, en.CredentialID, "246810"); err != nil {
			t.Fatalf("right PIN after unlock: %v", err)
		}
		if err := e.ca.Unlock(ctx, en.CredentialID, officer); !errors.Is(err, credential.ErrInactive) {
			t.Fatalf("unlocking an active credential: %v", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_pending WHERE action = 'credential.unlock' AND object = $1", "credential:"+en.CredentialID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("audit entries for the unlock: %d %v", n, err)
		}
	})
}
