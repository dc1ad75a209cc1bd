package audit_test

import (
	"encoding/json"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"kyso/audit"
)

// Checkpoints come from servers and witnesses' files: parsing never
// panics, and what parses formats back to the same body.
func FuzzCheckpoint(f *testing.F) {
	f.Add("kyso.test/audit\n12\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
	f.Add("o\n0\n\n")
	f.Add("kyso.test/audit\n-1\nAA==\nextension\n\n— kyso.test/audit AAAA\n")
	_, v := newKey(f, origin)
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := audit.ParseCheckpointBody(s); err == nil {
			if c.Size < 0 {
				t.Fatalf("negative size from %q", s)
			}
			if again, err := audit.ParseCheckpointBody(string(c.Format())); err != nil || again != c {
				t.Fatalf("%q does not round-trip: %v", s, err)
			}
		}
		_, _ = audit.OpenCheckpoint([]byte(s), v)
	})
}

// Tile paths come from URLs.
func FuzzTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/234.p/17", "tile/entries/005", "tile/entries/x999/000.p/255", "tile/9/000", "tile/0/000.p/0", "tile/-1/000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tile, err := audit.ParseTilePath(s)
		if err != nil {
			return
		}
		if tile.W < 1 || tile.W > 256 || tile.N < 0 || tile.L < -1 || tile.L > 7 {
			t.Fatalf("%q parsed to %+v", s, tile)
		}
		if back, err := audit.ParseTilePath(audit.TilePath(tile)); err != nil || back != tile {
			t.Fatalf("%q: %+v does not round-trip (%v)", s, tile, err)
		}
	})
}

// Receipts and entry bundles are read offline from files anyone can hand
// over: bad ones are refused, never a panic.
func FuzzReceipt(f *testing.F) {
	f.Add([]byte(`{"id":"x","index":0,"entry":"e30=","checkpoint":"kyso.test/audit\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n","inclusion_proof":[]}`))
	f.Add([]byte{0, 2, '{', '}', 0})
	_, v := newKey(f, origin)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = audit.SplitBundle(b)
		_, _ = audit.ParseEntry(b)
		var r audit.Receipt
		if json.Unmarshal(b, &r) != nil {
			return
		}
		if _, err := audit.VerifyReceipt(&r, v); err == nil {
			t.Fatalf("a receipt verified without the key's signature: %s", b)
		}
	})
}

var _ note.Verifier
