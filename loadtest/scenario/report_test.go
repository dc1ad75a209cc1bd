package scenario

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kyso/loadtest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sampleSummary(t *testing.T) *Summary {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "gobench.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gb, err := loadtest.ParseGoBench(f)
	if err != nil {
		t.Fatal(err)
	}
	load := &Load{URL: "http://127.0.0.1:8091", Workers: 4, Duration: "10s", Scenarios: []Scenario{
		{Result: loadtest.Result{Name: "certificate issuance (API)", Workers: 4, Requests: 1000, Rate: 100,
			P50: 30 * time.Millisecond, P95: 60 * time.Millisecond, P99: 90 * time.Millisecond}, Baseline: BaselineIssuing},
		{Result: loadtest.Result{Name: "sign PDF B-B RSA2048 (A)", Workers: 4, Requests: 500, Rate: 387.3, P50: 10 * time.Millisecond}, Baseline: BaselineRSA2048},
		{Result: loadtest.Result{Name: "sign PDF B-B ECP384 (B)", Workers: 4, Requests: 10, Errors: 2, Rate: 1, FirstError: "POST /v1/sign/pdf: HTTP 503"}},
	}}
	cli := []loadtest.Timing{{Command: "kyso verify signed-A-B-T", Mean: 0.030}, {Command: "pdfsig signed-A-B-T", Mean: 0.012}, {Command: "other", Mean: 1}}
	s := Summarize("2 cores, SoftHSM2", gb, load, cli)
	s.Generated = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	return s
}

func TestSummarizeRatios(t *testing.T) {
	s := sampleSummary(t)
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	if len(s.Raw) != 3 || s.Raw[0].Name != BaselineRSA2048 || !near(s.Raw[0].Ratio, 1) {
		t.Fatalf("raw rows %+v", s.Raw)
	}
	byName := map[string]Row{}
	for _, r := range append(append([]Row{}, s.Go...), s.API...) {
		byName[r.Name] = r
	}
	for name, want := range map[string]float64{
		"ca.BenchmarkIssueCertificate":           250.0 / 2000,
		"signer.BenchmarkSignPDF_P256/pades-B-B": 500.0 / 2500,
		"certificate issuance (API)":             100.0 / 2000,
		"sign PDF B-B RSA2048 (A)":               387.3 / (1e9 / 1291104.0),
		"signer.BenchmarkSignLargePDF":           0,
		"sign PDF B-B ECP384 (B)":                0,
	} {
		r, ok := byName[name]
		if !ok || !near(r.Ratio, want) {
			t.Errorf("%s: ratio %v, want %v (%+v)", name, r.Ratio, want, r)
		}
	}
	if len(s.CLI) != 1 || !near(s.CLI[0].KysoMS, 30) || !near(s.CLI[0].PdfsigMS, 12) || !near(s.CLI[0].Ratio, 2.5) {
		t.Errorf("cli %+v", s.CLI)
	}
	if len(s.Failed) != 1 || s.Failed[0] != "sign PDF B-B ECP384 (B)" {
		t.Errorf("failed %v", s.Failed)
	}
}

func TestSummaryText(t *testing.T) {
	var b bytes.Buffer
	sampleSummary(t).WriteText(&b)
	golden := filepath.Join("testdata", "summary.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("summary differs from %s (go test -update to accept):\n%s", golden, b.String())
	}
}

func TestSummarizeEmpty(t *testing.T) {
	var b bytes.Buffer
	s := Summarize("", nil, nil, nil)
	s.WriteText(&b)
	if len(s.Raw)+len(s.Go)+len(s.API)+len(s.CLI)+len(s.Failed) != 0 || !bytes.HasPrefix(b.Bytes(), []byte("Kyso benchmarks")) {
		t.Fatalf("%+v\n%s", s, b.String())
	}
}
