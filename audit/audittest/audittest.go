// Package audittest helps tests of packages that write to the audit log:
// a throwaway log key and a synchronous sequencer run.
package audittest

import (
	"context"
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"kyso/audit"
)

// Origin names the logs of tests.
const Origin = "kyso.test/audit"

// Key returns a fresh Ed25519 note signer and its verifier.
func Key(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, Origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// Drain sequences every pending entry of l (which must have a signer).
func Drain(t testing.TB, l *audit.Log) {
	t.Helper()
	for {
		n, err := l.Sequence(context.Background(), audit.SequencerOptions{Holder: "audittest"})
		if err != nil {
			t.Fatalf("sequence the audit log: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// Verify drains l and verifies it with v, failing the test on any
// divergence; it returns the report.
func Verify(t testing.TB, l *audit.Log, v note.Verifier) *audit.Report {
	t.Helper()
	Drain(t, l)
	rep, err := l.Verify(context.Background(), audit.VerifyOptions{Verifier: v})
	if err != nil {
		t.Fatalf("verify the audit log: %v", err)
	}
	if rep.Divergence != nil {
		t.Fatalf("audit log: %v", rep.Divergence)
	}
	return rep
}
