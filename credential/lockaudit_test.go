package credential_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"kyso/audit"
	"kyso/credential"
	"kyso/store"
	"kyso/store/storetest"
)

type lockAuditor struct {
	log  *audit.Log
	fail bool
}

func (a *lockAuditor) AppendTx(ctx context.Context, tx *sql.Tx, ev audit.Event) error {
	if a.fail {
		return errors.New("audit log unavailable")
	}
	return a.log.AppendTx(ctx, tx, ev)
}

// A lockout by wrong PINs is written to the audit log in the transaction
// that locks: when the event cannot be appended, the lock does not happen
// either, yet every further PIN is still refused (the attempts are used
// up); when it can, the event is there.
func TestLockoutAuditedInItsTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		alog, err := audit.New(ctx, db, nil)
		if err != nil {
			t.Fatal(err)
		}
		aud := &lockAuditor{log: alog, fail: true}
		s := newStore(t, db).WithAudit(aud)
		if err := s.Create(ctx, nil, citizen(t, "c9", "001099012345"), "correct-pin"); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := s.CheckPIN(ctx, "c9", "wrong-pin", 2); i == 0 && !errors.Is(err, credential.ErrWrongPIN) || i == 1 && err == nil {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		if c, _ := s.Get(ctx, "c9"); c.Status != credential.StatusActive {
			t.Fatalf("locked without its audit event: %s", c.Status)
		}
		if err := s.CheckPIN(ctx, "c9", "correct-pin", 2); !errors.Is(err, credential.ErrLocked) {
			t.Fatalf("right PIN after the attempts are used up: %v", err)
		}
		if err := s.Create(ctx, nil, citizen(t, "c8", "001099012346"), "correct-pin"); err != nil {
			t.Fatal(err)
		}
		aud.fail = false
		for range 2 {
			_ = s.CheckPIN(ctx, "c8", "wrong-pin", 2)
		}
		if c, _ := s.Get(ctx, "c8"); c.Status != credential.StatusLocked {
			t.Fatalf("status %s", c.Status)
		}
		entries, err := alog.List(ctx, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Action != "credential.lock" || entries[0].Object != "credential:c8" {
			t.Fatalf("audit entries %+v", entries)
		}
	})
}
