package loadtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// GoBench is one result line of `go test -bench` output.
type GoBench struct {
	// Package is the import path from the preceding "pkg:" line.
	Package string `json:"package"`
	// Name is the benchmark without the GOMAXPROCS suffix, e.g.
	// BenchmarkSignPDF_P256/pades-B-B.
	Name string `json:"name"`
	// Procs is the GOMAXPROCS suffix (1 when absent).
	Procs      int     `json:"procs"`
	Iterations int64   `json:"iterations"`
	NsPerOp    float64 `json:"ns_per_op"`
	// Metrics holds the other unit → value pairs (B/op, allocs/op,
	// peak-heap-MB, docs/s, …).
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Key is "<last package element>.<Name>", e.g. hsm.BenchmarkSignP256.
func (g GoBench) Key() string {
	pkg := g.Package
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	return pkg + "." + g.Name
}

// PerSecond is the operation rate, 1e9 / ns/op. For benchmarks that run
// in parallel (b.RunParallel) this is the rate of all goroutines together.
func (g GoBench) PerSecond() float64 {
	if g.NsPerOp <= 0 {
		return 0
	}
	return 1e9 / g.NsPerOp
}

var procsSuffix = regexp.MustCompile(`-(\d+)$`)

// ParseGoBench reads `go test -bench` output; lines other than results and
// "pkg:" are skipped. A malformed result line is an error.
func ParseGoBench(r io.Reader) ([]GoBench, error) {
	var out []GoBench
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if p, ok := strings.CutPrefix(text, "pkg:"); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(text, "Benchmark") {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 4 || len(f)%2 != 0 {
			// "BenchmarkX" alone (a parent of sub-benchmarks) or a log line.
			continue
		}
		g := GoBench{Package: pkg, Name: f[0], Procs: 1, Metrics: map[string]float64{}}
		if m := procsSuffix.FindStringSubmatch(g.Name); m != nil {
			g.Procs, _ = strconv.Atoi(m[1])
			g.Name = strings.TrimSuffix(g.Name, m[0])
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		g.Iterations = n
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("go bench line %d: value %q: %w", line, f[i], err)
			}
			if f[i+1] == "ns/op" {
				g.NsPerOp = v
			} else {
				g.Metrics[f[i+1]] = v
			}
		}
		if len(g.Metrics) == 0 {
			g.Metrics = nil
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("go bench output: %w", err)
	}
	return out, nil
}

// Timing is the mean time of one command, as hyperfine measures it.
type Timing struct {
	Command string  `json:"command"`
	Mean    float64 `json:"mean"` // seconds
	Stddev  float64 `json:"stddev,omitempty"`
	Runs    int     `json:"runs,omitempty"`
}

// ParseHyperfine reads the results of hyperfine's --export-json (the loop
// fallback of scripts/bench.sh writes the same shape).
func ParseHyperfine(r io.Reader) ([]Timing, error) {
	var doc struct {
		Results []struct {
			Command string    `json:"command"`
			Mean    float64   `json:"mean"`
			Stddev  *float64  `json:"stddev"`
			Times   []float64 `json:"times"`
		} `json:"results"`
	}
	if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("hyperfine results: %w", err)
	}
	out := make([]Timing, 0, len(doc.Results))
	for _, x := range doc.Results {
		t := Timing{Command: x.Command, Mean: x.Mean, Runs: len(x.Times)}
		if x.Stddev != nil {
			t.Stddev = *x.Stddev
		}
		out = append(out, t)
	}
	return out, nil
}

// Median keeps, for each benchmark run several times (go test -count N),
// the run with the median ns/op (the lower one of the middle two for an
// even count), in the order the benchmarks first appear.
func Median(bs []GoBench) []GoBench {
	groups := map[string][]GoBench{}
	var order []string
	for _, b := range bs {
		k := b.Key()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], b)
	}
	out := make([]GoBench, 0, len(order))
	for _, k := range order {
		g := groups[k]
		sort.SliceStable(g, func(i, j int) bool { return g[i].NsPerOp < g[j].NsPerOp })
		out = append(out, g[(len(g)-1)/2])
	}
	return out
}
