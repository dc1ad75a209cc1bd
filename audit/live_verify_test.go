package audit_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"kyso/audit"
	"kyso/store"
	"kyso/store/storetest"
)

// Verifying a live log, whose sequencer commits rounds meanwhile (kyso
// audit verify beside running replicas), reads one snapshot: a round
// committed between the reads of the entries and of the tree's hashes is
// not taken for a truncation.
func TestVerifyWhileSequencing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, v := newLog(t, db)
		appendN(t, l, 0, 10)
		drain(t, l, 10)
		var done atomic.Bool
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			defer done.Store(true)
			for i := 0; i < 150; i++ {
				appendN(t, l, 10+i*2, 2)
				if _, err := l.Sequence(ctx, audit.SequencerOptions{Holder: "test", Batch: 2}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		verifies := 0
		var failure string
		for (!done.Load() || verifies == 0) && failure == "" {
			rep, err := l.Verify(ctx, audit.VerifyOptions{Verifier: v})
			switch {
			case err != nil:
				failure = err.Error()
			case rep.Divergence != nil:
				failure = fmt.Sprintf("verify %d of a live log: %s", verifies, rep.Divergence.Reason)
			}
			verifies++
		}
		<-finished // the writer stops before the test ends, failed or not
		if failure != "" {
			t.Fatal(failure)
		}
		t.Logf("%d verifications during the rounds", verifies)
	})
}
