package ca_test

import (
	"context"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"kyso/ca"
	"kyso/store"
	"kyso/store/storetest"
)

// CRLs and pre-signed OCSP responses are refreshed before their
// nextUpdate, and never served past it.
func TestRefreshHonoursNextUpdate(t *testing.T) {
	db := storetest.SQLite(t)
	e := setup(t, db, "")
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	c, err := ca.Load(ctx, db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: e.cfg.CRLShards, Now: func() time.Time { return clock() },
		CRLValidity: 24 * time.Hour, OCSPValidity: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.ca = c
	iss := citizenCert(t, e, "001099012345")
	// The issuing CAs' shards; the root's CRL is signed only in key
	// ceremonies (the server holds no root key).
	n, err := c.RefreshCRLs(ctx)
	if err != nil || n != 2*e.cfg.CRLShards {
		t.Fatalf("first refresh signed %d: %v", n, err)
	}
	if n, _ := c.RefreshCRLs(ctx); n != 0 {
		t.Fatalf("fresh CRLs re-signed: %d", n)
	}
	first, _ := c.CRL(ctx, iss.Issuer, iss.Shard)
	// 13 hours later less than half the validity is left: everything is
	// signed again, with a higher CRL number.
	later := now.Add(13 * time.Hour)
	clock = func() time.Time { return later }
	if n, err := c.RefreshCRLs(ctx); err != nil || n != 2*e.cfg.CRLShards {
		t.Fatalf("second refresh signed %d: %v", n, err)
	}
	second, _ := c.CRL(ctx, iss.Issuer, iss.Shard)
	r1, _ := x509.ParseRevocationList(first)
	r2, _ := x509.ParseRevocationList(second)
	if r2.Number.Cmp(r1.Number) <= 0 || !r2.ThisUpdate.After(r1.ThisUpdate) {
		t.Fatalf("CRL number %v -> %v", r1.Number, r2.Number)
	}
	if n, err := c.RefreshOCSP(ctx, 100); err != nil || n == 0 {
		t.Fatalf("OCSP refresh signed %d: %v", n, err)
	}
	der, err := c.OCSPResponse(ctx, iss.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ocsp.ParseResponse(der, iss.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	// thisUpdate is the current second, as is producedAt.
	if !r.NextUpdate.After(later) || !r.ThisUpdate.Equal(later.UTC().Truncate(time.Second)) || !r.ProducedAt.Equal(r.ThisUpdate) {
		t.Fatalf("OCSP thisUpdate %v nextUpdate %v at %v", r.ThisUpdate, r.NextUpdate, later)
	}
	// Past nextUpdate a stored response is not served: CRL() signs anew.
	way := now.Add(100 * time.Hour)
	clock = func() time.Time { return way }
	third, _ := c.CRL(ctx, iss.Issuer, iss.Shard)
	r3, _ := x509.ParseRevocationList(third)
	if !r3.NextUpdate.After(way) {
		t.Fatal("stale CRL served")
	}
}

// Lowering the shard count keeps publishing the shards certificates were
// given.
func TestShardCountNeverShrinks(t *testing.T) {
	db := storetest.SQLite(t)
	e := setup(t, db, "")
	ctx := context.Background()
	small, err := ca.Load(ctx, db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.CRL(ctx, "citizen-1", e.cfg.CRLShards-1); err != nil {
		t.Fatalf("shard of the earlier configuration: %v", err)
	}
	if _, err := small.CRL(ctx, "citizen-1", e.cfg.CRLShards); err == nil {
		t.Fatal("shard beyond every configuration served")
	}
}

// Replicas regenerating one shard's CRL at once never sign two CRLs with
// the same number: the number is allocated in the database, not under an
// in-process lock (SQLite and PostgreSQL).
func TestConcurrentCRLNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, "")
		ctx := context.Background()
		var replicas []*ca.CA
		for i := 0; i < 3; i++ {
			c, err := ca.Load(ctx, db, e.h, ca.Config{BaseURL: e.cfg.BaseURL, CRLShards: e.cfg.CRLShards, Audit: e.audit})
			if err != nil {
				t.Fatal(err)
			}
			replicas = append(replicas, c)
		}
		const perReplica = 4
		type result struct {
			der []byte
			err error
		}
		results := make(chan result, len(replicas)*perReplica)
		var wg sync.WaitGroup
		for _, c := range replicas {
			for i := 0; i < perReplica; i++ {
				wg.Add(1)
				go func(c *ca.CA) {
					defer wg.Done()
					der, err := c.RegenerateCRL(ctx, "citizen-1", 0)
					results <- result{der, err}
				}(c)
			}
		}
		wg.Wait()
		close(results)
		seen := map[string]bool{}
		var max int64
		for r := range results {
			if r.err != nil {
				t.Fatal(r.err)
			}
			rl, err := x509.ParseRevocationList(r.der)
			if err != nil {
				t.Fatal(err)
			}
			n := rl.Number.String()
			if seen[n] {
				t.Fatalf("CRL number %s signed twice", n)
			}
			seen[n] = true
			if rl.Number.Int64() > max {
				max = rl.Number.Int64()
			}
		}
		if len(seen) != len(replicas)*perReplica {
			t.Fatalf("%d distinct numbers", len(seen))
		}
		// The stored CRL is the one with the highest number.
		der, err := replicas[0].CRL(ctx, "citizen-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		rl, _ := x509.ParseRevocationList(der)
		if rl.Number.Int64() != max {
			t.Fatalf("stored CRL number %v, highest signed %d", rl.Number, max)
		}
	})
}
