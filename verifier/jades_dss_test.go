package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"kyso/jose"
	"kyso/verifier/report"
)

// EU DSS's JAdES B-LTA (../shared/vectors/signed-docs): the archive
// time-stamp imprint recomputed per ETSI TS 119 182-1 §5.3.6.3 matches the
// token DSS obtained (its TSA is not trusted here, so the token cannot give
// a proof of existence, but its imprint is not a HASH_FAILURE).
func TestJAdESArchiveImprintMatchesDSS(t *testing.T) {
	dir := signedDocsDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "jws", "dss", "jades-lta.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jose.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Sigs[0]
	p, err := s.Params()
	if err != nil {
		t.Fatal(err)
	}
	u := jose.ParseUnsigned(p.EtsiU)
	if len(u.ArcTst) != 1 || u.ArcTst[0].Err != nil || len(u.Unknown) != 0 {
		t.Fatalf("arcTst %+v unknown %v", u.ArcTst, u.Unknown)
	}
	input, err := jose.ArchiveInput(doc, s, p, u, u.ArcTst[0].Index, u.ArcTst[0].CanonAlg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(input)
	if got := hex.EncodeToString(sum[:]); got != "88fb6baf9a608ffc51066cfd8d7baaa98570a5cac6b369c21897cae234a1a90f" {
		t.Fatalf("imprint %s differs from the token's", got)
	}
	rep, err := New(Options{}).Verify(context.Background(), Input{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range rep.Signatures[0].TimeStamps {
		if ts.Status.SubIndication == report.HashFailure {
			t.Fatalf("%s time-stamp: %s\n%s", ts.Type, ts.Status.Detail, rep.Signatures[0].Status.Detail)
		}
	}
}
