package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kyso/auth"
	"kyso/problem"
	"kyso/store"
	"kyso/store/storetest"
)

func TestPrincipals(t *testing.T) {
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
		if !strings.HasPrefix(token, auth.TokenPrefix) {
			t.Fatalf("token %q lacks prefix", token)
		}
		// Only a hash is stored: the token text appears nowhere in the table.
		var stored []byte
		if err := db.QueryRowContext(ctx, "SELECT token_hash FROM principals WHERE id = $1", rec.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stored), token[len(token)-20:]) {
			t.Fatal("token stored in clear")
		}
		p, err := ps.ByToken(ctx, token)
		if err != nil {
			t.Fatalf("ByToken: %v", err)
		}
		if p.Role != auth.RoleAgency || p.AgencyCode != "UBND-HN" || p.Subject != rec.ID {
			t.Fatalf("principal %+v", p)
		}

		for name, bad := range map[string]string{
			"empty":         "",
			"no prefix":     strings.TrimPrefix(token, auth.TokenPrefix),
			"wrong secret":  token[:len(token)-2] + "AA",
			"unknown id":    auth.TokenPrefix + "0000000000000000_" + token[len(token)-43:],
			"garbage":       auth.TokenPrefix + "x_y",
			"bad base64":    auth.TokenPrefix + rec.ID + "_!!!",
			"missing parts": auth.TokenPrefix + rec.ID,
		} {
			if _, err := ps.ByToken(ctx, bad); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("%s: ByToken = %v, want ErrUnauthenticated", name, err)
			}
		}

		if err := ps.Disable(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ps.ByToken(ctx, token); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("disabled principal authenticated: %v", err)
		}
		list, err := ps.List(ctx)
		if err != nil || len(list) != 1 || !list[0].Disabled {
			t.Fatalf("List = %+v, %v", list, err)
		}
	})
}

func TestAddValidates(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []auth.AddRequest{
		{Role: "root"},
		{Role: auth.RoleCitizen},
		{Role: auth.RoleAgency},
		{Role: auth.RoleAgency, AgencyCode: "lower"},
		{Role: auth.RoleOfficer, AgencyCode: "has space"},
	} {
		_, _, err := ps.Add(ctx, req)
		if p, ok := problem.As(err); !ok || p.Status != 400 {
			t.Errorf("Add(%+v) = %v, want a 400 problem", req, err)
		}
	}
}

func TestClientCertificate(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	ps, err := auth.NewPrincipals(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t, "officer-1")
	other := selfSigned(t, "someone")
	if _, _, err := ps.Add(ctx, auth.AddRequest{Role: auth.RoleOfficer, Name: "officer", ClientCert: cert}); err != nil {
		t.Fatal(err)
	}
	p, err := ps.ByClientCert(ctx, cert)
	if err != nil || p.Role != auth.RoleOfficer {
		t.Fatalf("ByClientCert = %+v, %v", p, err)
	}
	if _, err := ps.ByClientCert(ctx, other); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Fatalf("unknown cert: %v", err)
	}
}

func TestReplayGuard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := auth.NewPrincipals(ctx, db); err != nil {
			t.Fatal(err)
		}
		g := auth.NewReplayGuard(db)
		exp := time.Now().Add(10 * time.Minute)
		// Concurrent uses of one assertion for one purpose: exactly one wins.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch err := g.Consume(ctx, "jti-1", "issue", exp); {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, auth.ErrReplayed):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d uses accepted, want 1", wins.Load())
		}
		if err := g.Consume(ctx, "jti-1", "sign", exp); err != nil {
			t.Fatalf("other purpose refused: %v", err)
		}
		if err := g.Consume(ctx, "", "sign", exp); err == nil {
			t.Fatal("empty jti accepted")
		}
		if err := g.Consume(ctx, "old", "x", time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := g.Prune(ctx)
		if err != nil || n != 1 {
			t.Fatalf("Prune = %d, %v; want 1", n, err)
		}
	})
}

func selfSigned(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}
