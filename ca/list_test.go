package ca_test

import (
	"context"
	"testing"

	"kyso/auth"
	"kyso/ca"
	"kyso/store"
	"kyso/store/storetest"
)

func TestListAndSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, "")
		ctx := context.Background()
		a := citizenCert(t, e, "001099000001")
		b := citizenCert(t, e, "001099000002")
		c := citizenCert(t, e, "001099000002")
		officer := &auth.Principal{Role: auth.RoleOfficer, Subject: "o1"}
		if _, err := e.ca.Revoke(ctx, b.Serial, "cessationOfOperation", officer); err != nil {
			t.Fatal(err)
		}
		got, _, err := e.ca.List(ctx, ca.ListFilter{Subject: "001099000002"})
		if err != nil || len(got) != 2 {
			t.Fatalf("by subject id: %d %v", len(got), err)
		}
		got, _, err = e.ca.List(ctx, ca.ListFilter{Status: ca.StatusRevoked})
		if err != nil || len(got) != 1 || got[0].Serial != b.Serial || got[0].Reason != "cessationOfOperation" {
			t.Fatalf("revoked: %+v %v", got, err)
		}
		got, _, err = e.ca.List(ctx, ca.ListFilter{Subject: "Thị Hoa"})
		if err != nil || len(got) != 3 {
			t.Fatalf("by name: %d %v", len(got), err)
		}
		got, _, err = e.ca.List(ctx, ca.ListFilter{Subject: "100%_"})
		if err != nil || len(got) != 0 {
			t.Fatalf("wildcards must be literal: %d %v", len(got), err)
		}
		// Paging visits every certificate once, newest first.
		seen := map[string]bool{}
		tok := ""
		for i := 0; i < 20; i++ {
			page, next, err := e.ca.List(ctx, ca.ListFilter{PageToken: tok, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, ci := range page {
				if seen[ci.Serial] {
					t.Fatalf("%s twice", ci.Serial)
				}
				seen[ci.Serial] = true
			}
			if next == "" {
				break
			}
			tok = next
		}
		for _, s := range []string{a.Serial, b.Serial, c.Serial} {
			if !seen[s] {
				t.Errorf("%s not listed", s)
			}
		}
		if _, _, err := e.ca.List(ctx, ca.ListFilter{PageToken: "!!"}); err == nil {
			t.Fatal("bad token accepted")
		}
		if _, _, err := e.ca.List(ctx, ca.ListFilter{Status: "weird"}); err == nil {
			t.Fatal("bad status accepted")
		}
		// Serials are found in any spelling.
		if _, err := e.ca.Get(ctx, "00:"+a.Serial); err != nil {
			t.Fatal(err)
		}
	})
}
