// Package loadtest drives a bounded load against a function (usually an
// HTTP call to a running server) and reports throughput and latency
// percentiles. Every run is bounded both in time and in request count.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"sync"
	"time"
)

// Options bound a run.
type Options struct {
	// Workers is the number of concurrent callers.
	Workers int
	// Duration is the longest the run lasts.
	Duration time.Duration
	// MaxRequests stops the run after this many calls (0: 1,000,000).
	MaxRequests int
	// Grace is how long calls still in flight when Duration ends may take
	// to finish before their context is cancelled (0: 30 s). Letting them
	// finish counts them and spares the server cancelled requests.
	Grace time.Duration
}

// Result is the outcome of a run.
type Result struct {
	Name     string        `json:"name"`
	Workers  int           `json:"workers"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Rate     float64       `json:"per_second"`
	P50      time.Duration `json:"p50_ns"`
	P95      time.Duration `json:"p95_ns"`
	P99      time.Duration `json:"p99_ns"`
	Max      time.Duration `json:"max_ns"`
	// FirstError is kept to explain a run with errors.
	FirstError string `json:"first_error,omitempty"`
}

// Run calls fn from opts.Workers goroutines until the duration passes, the
// request budget is spent or ctx ends. fn receives the index of the call.
// No call starts after the duration; calls in flight then get opts.Grace
// to finish. Failures of calls cancelled that way are not counted.
func Run(ctx context.Context, name string, opts Options, fn func(ctx context.Context, i int) error) Result {
	if opts.Workers < 1 {
		opts.Workers = 1
	}
	if opts.MaxRequests <= 0 {
		opts.MaxRequests = 1_000_000
	}
	if opts.Duration <= 0 {
		opts.Duration = 10 * time.Second
	}
	if opts.Grace <= 0 {
		opts.Grace = 30 * time.Second
	}
	start := time.Now()
	// take stops at the deadline; calls are cancelled only after the grace.
	takeCtx, cancelTake := context.WithDeadline(ctx, start.Add(opts.Duration))
	defer cancelTake()
	ctx, cancel := context.WithDeadline(ctx, start.Add(opts.Duration+opts.Grace))
	defer cancel()
	var (
		mu        sync.Mutex
		next      int
		latencies = make([]time.Duration, 0, 1024)
		errs      int
		firstErr  string
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= opts.MaxRequests || takeCtx.Err() != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	var wg sync.WaitGroup
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := take()
				if !ok {
					return
				}
				t0 := time.Now()
				err := fn(ctx, i)
				d := time.Since(t0)
				mu.Lock()
				if err != nil {
					if ctx.Err() == nil {
						errs++
						if firstErr == "" {
							firstErr = err.Error()
						}
					}
				} else {
					latencies = append(latencies, d)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := Result{Name: name, Workers: opts.Workers, Requests: len(latencies), Errors: errs, Elapsed: elapsed, FirstError: firstErr}
	if elapsed > 0 {
		r.Rate = float64(len(latencies)) / elapsed.Seconds()
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	r.P50, r.P95, r.P99 = percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99)
	if n := len(latencies); n > 0 {
		r.Max = latencies[n-1]
	}
	return r
}

// percentile returns the p-th percentile of sorted latencies (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(sorted))+0.5) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return sorted[rank]
}

// WriteTable prints results as a table, each rate also as a ratio to base
// (the raw HSM rate measured in the same run; 0 leaves the ratio out).
func WriteTable(w io.Writer, base float64, results ...Result) {
	fmt.Fprintf(w, "%-34s %8s %8s %10s %9s %9s %9s %9s\n", "scenario", "workers", "ok", "per_sec", "ratio", "p50", "p95", "p99")
	for _, r := range results {
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("%.3f", r.Rate/base)
		}
		fmt.Fprintf(w, "%-34s %8d %8d %10.1f %9s %9s %9s %9s\n", r.Name, r.Workers, r.Requests, r.Rate, ratio,
			r.P50.Round(10*time.Microsecond), r.P95.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond))
		if r.Errors > 0 {
			fmt.Fprintf(w, "  %d errors, first: %s\n", r.Errors, r.FirstError)
		}
	}
}

// CheckLoopback accepts only http(s) URLs of this machine (127.0.0.0/8,
// ::1, localhost): load tests never target another host.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("loadtest: URL %q: want http(s)://127.0.0.1:PORT", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("loadtest: %s is not a loopback address; load tests run against this machine only", host)
}
