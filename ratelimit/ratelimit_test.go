package ratelimit

import (
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestBucket(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(map[string]Rule{"tsa": {Rate: 2, Burst: 5}, "off": {}}, 0, clk.now)
	allowed := 0
	var retry time.Duration
	for range 300 {
		if ok, d := l.Allow("tsa", "198.51.100.7"); ok {
			allowed++
		} else {
			retry = d
		}
	}
	if allowed != 5 {
		t.Fatalf("%d of a burst of 300 allowed, want 5", allowed)
	}
	if retry <= 0 || retry > time.Second {
		t.Fatalf("retry after %s", retry)
	}
	// Another client has its own bucket; an unlimited class is free.
	if ok, _ := l.Allow("tsa", "203.0.113.9"); !ok {
		t.Fatal("second client limited by the first")
	}
	for range 100 {
		if ok, _ := l.Allow("off", "198.51.100.7"); !ok {
			t.Fatal("class without rate limited")
		}
	}
	// Refused requests do not consume tokens: after 500 ms one is back.
	clk.add(500 * time.Millisecond)
	if ok, _ := l.Allow("tsa", "198.51.100.7"); !ok {
		t.Fatal("token not refilled")
	}
	if ok, _ := l.Allow("tsa", "198.51.100.7"); ok {
		t.Fatal("more than refilled")
	}
}

func TestBoundedClients(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(map[string]Rule{"id": {Rate: 1, Burst: 1}}, 10, clk.now)
	for i := range 1000 {
		l.Allow("id", string(rune('a'+i%26))+string(rune(i)))
	}
	if n := len(l.entries); n > 10 || l.lru.Len() != n {
		t.Fatalf("%d entries, %d in the list", n, l.lru.Len())
	}
}

func TestValidate(t *testing.T) {
	for _, r := range []Rule{{Rate: -1, Burst: 1}, {Rate: 1, Burst: 0}} {
		if r.Validate() == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if (Rule{}).Validate() != nil || (Rule{Rate: 0.5, Burst: 3}).Validate() != nil {
		t.Error("valid rule refused")
	}
}
