// Package ratelimit keeps one token bucket (golang.org/x/time/rate) per
// client and class of endpoint, so that no single client can make the
// service spend HSM signatures, Argon2id runs or other costly work faster
// than configured. The number of clients tracked is bounded: when the
// table is full, buckets that have refilled completely (and so carry no
// state) are dropped first, then the least recently used.
package ratelimit

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rule is a token bucket: Burst requests at once, refilled at Rate per
// second. A zero Rate means no limit.
type Rule struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// Validate checks a rule.
func (r Rule) Validate() error {
	if r.Rate < 0 || math.IsNaN(r.Rate) || math.IsInf(r.Rate, 0) {
		return fmt.Errorf("rate must be a finite number ≥ 0, got %v", r.Rate)
	}
	if r.Rate > 0 && r.Burst < 1 {
		return fmt.Errorf("burst must be at least 1 when rate is set, got %d", r.Burst)
	}
	return nil
}

// DefaultMaxClients bounds the table of buckets.
const DefaultMaxClients = 100_000

// Limiter holds the buckets. It is safe for concurrent use.
type Limiter struct {
	rules      map[string]Rule
	maxClients int
	now        func() time.Time

	mu      sync.Mutex
	lru     *list.List // of *entry, most recent first
	entries map[string]*list.Element
}

type entry struct {
	key  string
	rule Rule
	lim  *rate.Limiter
}

// New returns a limiter with one rule per class. now is the clock (nil:
// time.Now); maxClients ≤ 0 takes DefaultMaxClients.
func New(rules map[string]Rule, maxClients int, now func() time.Time) *Limiter {
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	if now == nil {
		now = time.Now
	}
	cp := make(map[string]Rule, len(rules))
	for k, v := range rules {
		cp[k] = v
	}
	return &Limiter{rules: cp, maxClients: maxClients, now: now, lru: list.New(), entries: map[string]*list.Element{}}
}

// Allow takes a token for client in class. When none is left it returns
// false and how long until one is. Classes without a rule (or with a zero
// rate) are not limited.
func (l *Limiter) Allow(class, client string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	rule, ok := l.rules[class]
	if !ok || rule.Rate == 0 {
		return true, 0
	}
	now := l.now()
	key := class + "\x00" + client
	l.mu.Lock()
	defer l.mu.Unlock()
	var e *entry
	if el, ok := l.entries[key]; ok {
		l.lru.MoveToFront(el)
		e = el.Value.(*entry)
	} else {
		l.evict(now)
		e = &entry{key: key, rule: rule, lim: rate.NewLimiter(rate.Limit(rule.Rate), rule.Burst)}
		l.entries[key] = l.lru.PushFront(e)
	}
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Duration(float64(time.Second) / rule.Rate)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict makes room for one entry (the caller holds mu).
func (l *Limiter) evict(now time.Time) {
	if len(l.entries) < l.maxClients {
		return
	}
	// Drop up to a few full buckets from the cold end; otherwise the
	// least recently used one.
	for el, n := l.lru.Back(), 0; el != nil && n < 16; n++ {
		prev := el.Prev()
		e := el.Value.(*entry)
		if e.lim.TokensAt(now) >= float64(e.rule.Burst) {
			l.lru.Remove(el)
			delete(l.entries, e.key)
			return
		}
		el = prev
	}
	if el := l.lru.Back(); el != nil {
		l.lru.Remove(el)
		delete(l.entries, el.Value.(*entry).key)
	}
}
