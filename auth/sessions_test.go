package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"kyso/auth"
	"kyso/store"
	"kyso/store/storetest"
)

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ps, err := auth.NewPrincipals(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		rec, token, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleAgency, Name: "UBND Ha Noi", AgencyCode: "UBND-HN"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := ps.ByToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ps.StartSession(ctx, &auth.Principal{Role: auth.RoleCitizen, Subject: "001099012345"}, 0); !errors.Is(err, auth.ErrForbidden) {
			t.Fatalf("citizen session: %v, want forbidden", err)
		}
		secret, exp, err := ps.StartSession(ctx, p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if time.Until(exp) <= 0 {
			t.Fatalf("session expires at %v", exp)
		}
		// Only the secret's hash is stored.
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sessions WHERE secret_sha256 = $1", secret).Scan(&n); err != nil || n != 0 {
			t.Fatalf("secret stored in clear (%d, %v)", n, err)
		}
		got, err := ps.BySession(ctx, secret)
		if err != nil || got.Subject != rec.ID || got.Role != auth.RoleAgency || got.AgencyCode != "UBND-HN" {
			t.Fatalf("BySession = %+v, %v", got, err)
		}
		for _, bad := range []string{"", "x", secret[:42] + "A", secret + "A"} {
			if bad == secret {
				continue
			}
			if _, err := ps.BySession(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("BySession(%q) = %v, want unauthenticated", bad, err)
			}
		}
		// A disabled principal's session stops working.
		secret2, _, err := ps.StartSession(ctx, p, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := ps.EndSession(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.BySession(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("ended session still valid: %v", err)
		}
		if err := ps.Disable(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.BySession(ctx, secret2); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("session of a disabled principal still valid: %v", err)
		}
		// Expired sessions are refused.
		p2, tok2, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleOfficer, Name: "Officer"})
		if err != nil {
			t.Fatal(err)
		}
		_ = p2
		pr2, err := ps.ByToken(ctx, tok2)
		if err != nil {
			t.Fatal(err)
		}
		short, _, err := ps.StartSession(ctx, pr2, time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if _, err := ps.BySession(ctx, short); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("expired session still valid: %v", err)
		}
	})
}
