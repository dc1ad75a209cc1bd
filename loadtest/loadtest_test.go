package loadtest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunIsBoundedByRequests(t *testing.T) {
	var calls atomic.Int32
	r := Run(context.Background(), "count", Options{Workers: 4, Duration: time.Minute, MaxRequests: 100}, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i%10 == 0 {
			return errors.New("every tenth fails")
		}
		return nil
	})
	if calls.Load() != 100 || r.Requests != 90 || r.Errors != 10 || r.FirstError != "every tenth fails" {
		t.Fatalf("calls %d, result %+v", calls.Load(), r)
	}
	if r.P50 > r.P95 || r.P95 > r.P99 || r.P99 > r.Max {
		t.Fatalf("percentiles out of order: %+v", r)
	}
}

func TestRunIsBoundedByTime(t *testing.T) {
	r := Run(context.Background(), "time", Options{Workers: 2, Duration: 50 * time.Millisecond, MaxRequests: 1 << 30}, func(ctx context.Context, i int) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
			return nil
		}
	})
	if r.Requests == 0 || r.Errors != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestPercentile(t *testing.T) {
	var xs []time.Duration
	for i := 1; i <= 100; i++ {
		xs = append(xs, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {95, 95}, {99, 99}, {100, 100}, {0, 1}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	WriteTable(&b, 1000, Result{Name: "sign", Workers: 4, Requests: 500, Rate: 250}, Result{Name: "x", Errors: 2, FirstError: "boom"})
	out := b.String()
	if !strings.Contains(out, "0.250") || !strings.Contains(out, "2 errors, first: boom") {
		t.Fatalf("table:\n%s", out)
	}
}

func TestRunLetsCallsInFlightFinish(t *testing.T) {
	for _, c := range []struct {
		name  string
		grace time.Duration
		ok    int
	}{{"finishes within the grace", time.Minute, 1}, {"cancelled after the grace", time.Millisecond, 0}} {
		t.Run(c.name, func(t *testing.T) {
			r := Run(context.Background(), "slow", Options{Workers: 1, Duration: 10 * time.Millisecond, Grace: c.grace, MaxRequests: 100},
				func(ctx context.Context, i int) error {
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(200 * time.Millisecond):
						return nil
					}
				})
			if r.Requests != c.ok || r.Errors != 0 {
				t.Fatalf("%+v", r)
			}
		})
	}
}
