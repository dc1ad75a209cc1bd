package loadtest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	f, err := os.Open("testdata/gobench.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseGoBench(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		key   string
		procs int
		n     int64
		ns    float64
		rate  float64
	}{
		{"hsm.BenchmarkSignRSA2048", 2, 1862, 1291104, 1e9 / 1291104.0},
		{"hsm.BenchmarkSignP256", 2, 10000, 230112, 1e9 / 230112.0},
		{"signer.BenchmarkSignPDF_P256/raw-hsm-sign", 2, 5000, 400000, 2500},
		{"signer.BenchmarkSignPDF_P256/pades-B-B", 2, 1000, 2000000, 500},
		{"signer.BenchmarkSignLargePDF", 2, 2, 900000000, 1e9 / 900000000.0},
		{"ca.BenchmarkIssuingKeySign", 1, 2000, 500000, 2000},
		{"ca.BenchmarkIssueCertificate", 2, 500, 4000000, 250},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Key() != w.key || g.Procs != w.procs || g.Iterations != w.n || g.NsPerOp != w.ns || g.PerSecond() != w.rate {
			t.Errorf("%d: %+v (key %s, rate %v), want %+v", i, g, g.Key(), g.PerSecond(), w)
		}
	}
	if m := got[1].Metrics; m["B/op"] != 560 || m["allocs/op"] != 11 {
		t.Errorf("metrics %v", m)
	}
	if m := got[4].Metrics; m["peak-heap-MB"] != 12.5 || m["file-MB"] != 50 || m["MB/s"] != 58.25 {
		t.Errorf("large PDF metrics %v", m)
	}
	if got[2].Metrics != nil {
		t.Errorf("no metrics expected: %v", got[2].Metrics)
	}
}

func TestParseGoBenchRejectsBadValues(t *testing.T) {
	_, err := ParseGoBench(strings.NewReader("pkg: kyso/x\nBenchmarkX-2 10 abc ns/op\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v", err)
	}
	if g := (GoBench{}); g.PerSecond() != 0 {
		t.Error("zero ns/op has a rate")
	}
}

func TestParseHyperfine(t *testing.T) {
	in := `{"results": [
	  {"command": "kyso verify a", "mean": 0.031, "stddev": 0.002, "times": [0.03, 0.032]},
	  {"command": "pdfsig a", "mean": 0.012}
	]}`
	got, err := ParseHyperfine(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Timing{Command: "kyso verify a", Mean: 0.031, Stddev: 0.002, Runs: 2}) || got[1] != (Timing{Command: "pdfsig a", Mean: 0.012}) {
		t.Fatalf("%+v", got)
	}
	if _, err := ParseHyperfine(strings.NewReader(`{"results": 3}`)); err == nil {
		t.Fatal("bad shape accepted")
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8091", true},
		{"https://127.0.0.2", true},
		{"http://[::1]:8080/", true},
		{"http://localhost:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://kyso.example.vn", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"", false},
	} {
		if err := CheckLoopback(c.url); (err == nil) != c.ok {
			t.Errorf("CheckLoopback(%q) = %v", c.url, err)
		}
	}
}

func FuzzParseGoBench(f *testing.F) {
	b, _ := os.ReadFile("testdata/gobench.txt")
	f.Add(string(b))
	f.Add("BenchmarkX-2 1 2 ns/op 3 B/op\n")
	f.Add("pkg:\nBenchmark 1 x y\n")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseGoBench(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, g := range got {
			if !strings.HasPrefix(g.Name, "Benchmark") || g.Procs < 0 {
				t.Fatalf("%+v", g)
			}
		}
	})
}

func FuzzParseHyperfine(f *testing.F) {
	f.Add(`{"results": [{"command": "kyso verify a", "mean": 0.031, "stddev": 0.002, "times": [0.03]}]}`)
	f.Add(`{"results": null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseHyperfine(strings.NewReader(s))
	})
}

func TestMedian(t *testing.T) {
	in := []GoBench{
		{Package: "kyso/hsm", Name: "BenchmarkA", NsPerOp: 300},
		{Package: "kyso/hsm", Name: "BenchmarkB", NsPerOp: 7},
		{Package: "kyso/hsm", Name: "BenchmarkA", NsPerOp: 100},
		{Package: "kyso/hsm", Name: "BenchmarkA", NsPerOp: 200},
		{Package: "kyso/ca", Name: "BenchmarkA", NsPerOp: 5},
		{Package: "kyso/hsm", Name: "BenchmarkB", NsPerOp: 9},
	}
	got := Median(in)
	want := []string{"hsm.BenchmarkA 200", "hsm.BenchmarkB 7", "ca.BenchmarkA 5"}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i, g := range got {
		if s := fmt.Sprintf("%s %v", g.Key(), g.NsPerOp); s != want[i] {
			t.Errorf("%d: %s, want %s", i, s, want[i])
		}
	}
	if Median(nil) == nil || len(Median(nil)) != 0 {
		t.Error("empty input")
	}
}
