package credential_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"kyso/credential"
	"kyso/store"
	"kyso/store/storetest"
)

func newStore(t *testing.T, db *store.DB) *credential.Store {
	t.Helper()
	s := credential.NewStore(db)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func citizen(t *testing.T, id, subject string) credential.Credential {
	return credential.Credential{
		ID: id, Kind: credential.KindCitizen, Subject: subject, Profile: "citizen",
		KeyLabel: credential.KeyLabel(id), KeyType: "ECP256", CertSerial: "ab" + id,
		CertDER: []byte{0x30, 0}, Status: credential.StatusActive,
	}
}

func TestCreateGetAndUniqueness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db)
		id, err := credential.NewID()
		if err != nil || len(id) != 24 {
			t.Fatalf("id %q %v", id, err)
		}
		if err := s.Create(ctx, nil, citizen(t, id, "001099012345"), "123456"); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != "001099012345" || got.KeyLabel != "cred-"+id || got.Status != "active" {
			t.Fatalf("got %+v", got)
		}
		if err := s.Create(ctx, nil, citizen(t, "other", "001099012345"), "123456"); !errors.Is(err, credential.ErrExists) {
			t.Fatalf("second active credential: %v", err)
		}
		if err := s.SetStatus(ctx, id, credential.StatusRevoked); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, nil, citizen(t, "other", "001099012345"), "123456"); err != nil {
			t.Fatalf("after revocation: %v", err)
		}
		list, err := s.ListBySubject(ctx, credential.KindCitizen, "001099012345")
		if err != nil || len(list) != 2 {
			t.Fatalf("list %d %v", len(list), err)
		}
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, credential.ErrNotFound) {
			t.Fatalf("missing: %v", err)
		}
		if err := s.Create(ctx, nil, citizen(t, "short", "001099099999"), "12"); !errors.Is(err, credential.ErrBadPIN) {
			t.Fatalf("short pin: %v", err)
		}
	})
}

func TestCheckPINLocks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db)
		if err := s.Create(ctx, nil, citizen(t, "c1", "001099012345"), "correct-pin"); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckPIN(ctx, "c1", "correct-pin", 3); err != nil {
			t.Fatalf("right pin: %v", err)
		}
		// Concurrent wrong PINs are all counted: exactly 3 lock it.
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.CheckPIN(ctx, "c1", "wrong-pin", 3) }()
		}
		wg.Wait()
		locked := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, credential.ErrLocked):
				locked++
			case errors.Is(err, credential.ErrWrongPIN):
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		if locked != 1 {
			t.Fatalf("locked %d times", locked)
		}
		if err := s.CheckPIN(ctx, "c1", "correct-pin", 3); !errors.Is(err, credential.ErrLocked) {
			t.Fatalf("after lock: %v", err)
		}
		c, _ := s.Get(ctx, "c1")
		if c.Status != credential.StatusLocked || c.FailedPINs != 3 {
			t.Fatalf("status %s failed %d", c.Status, c.FailedPINs)
		}
		// A hold and its release (the certificate's life) do not unlock.
		if err := s.SetStatus(ctx, "c1", credential.StatusSuspended); err != nil {
			t.Fatal(err)
		}
		if err := s.SetStatus(ctx, "c1", credential.StatusActive); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Get(ctx, "c1"); c.Status != credential.StatusLocked || c.FailedPINs != 3 {
			t.Fatalf("after hold and release: status %s failed %d", c.Status, c.FailedPINs)
		}
		if err := s.Unlock(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if err := s.CheckPIN(ctx, "c1", "correct-pin", 3); err != nil {
			t.Fatalf("after unlock: %v", err)
		}
		if err := s.Unlock(ctx, "c1"); !errors.Is(err, credential.ErrInactive) {
			t.Fatalf("unlocking an active credential: %v", err)
		}
	})
}

// Many concurrent wrong guesses get exactly maxFailures checks against the
// hash; the credential is then locked, and even the right PIN is refused.
func TestConcurrentGuessesAreBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newStore(t, db)
		if err := s.Create(ctx, nil, citizen(t, "c2", "001099012346"), "correct-pin"); err != nil {
			t.Fatal(err)
		}
		const guesses, limit = 40, 3
		errs := make([]error, guesses)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.CheckPIN(ctx, "c2", fmt.Sprintf("wrong-%d", i), limit) }()
		}
		wg.Wait()
		wrong := 0
		for _, err := range errs {
			switch {
			case errors.Is(err, credential.ErrWrongPIN):
				wrong++
			case errors.Is(err, credential.ErrLocked):
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		if wrong != limit-1 {
			t.Fatalf("%d wrong-PIN answers, want %d (the %dth locks)", wrong, limit-1, limit)
		}
		if c, _ := s.Get(ctx, "c2"); c.Status != credential.StatusLocked {
			t.Fatalf("status %s", c.Status)
		}
		if err := s.CheckPIN(ctx, "c2", "correct-pin", limit); !errors.Is(err, credential.ErrLocked) {
			t.Fatalf("right PIN on a locked credential: %v", err)
		}
	})
}
