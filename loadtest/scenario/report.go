package scenario

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"kyso/loadtest"
)

// goBaselines pairs Go benchmarks with the raw HSM benchmark of the same
// key, measured in the same run.
func goBaseline(key string) string {
	return map[string]string{
		"ca.BenchmarkIssueCertificate":              BaselineIssuing,
		"signer.BenchmarkSignPDF_RSA2048/pades-B-B": "signer.BenchmarkSignPDF_RSA2048/raw-hsm-sign",
		"signer.BenchmarkSignPDF_P256/pades-B-B":    "signer.BenchmarkSignPDF_P256/raw-hsm-sign",
	}[key]
}

// rawHSM are the raw HSM benchmarks, listed first.
func rawHSM() []string { return []string{BaselineRSA2048, BaselineP256, BaselineIssuing} }

// Row is one line of the summary: a rate and its ratio to a raw HSM rate.
type Row struct {
	Name      string  `json:"name"`
	PerSecond float64 `json:"per_second"`
	// Baseline is the raw HSM benchmark compared with, BaselineRate its
	// rate in the same run and Ratio PerSecond / BaselineRate (0 if none).
	Baseline     string  `json:"baseline,omitempty"`
	BaselineRate float64 `json:"baseline_per_second,omitempty"`
	Ratio        float64 `json:"ratio,omitempty"`
	// Extra are other measures (peak-heap-MB, latency percentiles, …).
	Extra string `json:"extra,omitempty"`
}

// CLIRow compares `kyso verify` and pdfsig on one file.
type CLIRow struct {
	File     string  `json:"file"`
	KysoMS   float64 `json:"kyso_verify_ms"`
	PdfsigMS float64 `json:"pdfsig_ms"`
	Ratio    float64 `json:"kyso_over_pdfsig"`
}

// Summary is everything one `make bench` run measured.
type Summary struct {
	Generated time.Time          `json:"generated"`
	Machine   string             `json:"machine"`
	Raw       []Row              `json:"raw_hsm"`
	Go        []Row              `json:"go_benchmarks"`
	API       []Row              `json:"api"`
	CLI       []CLIRow           `json:"verify_cli"`
	Load      *Load              `json:"load,omitempty"`
	GoRaw     []loadtest.GoBench `json:"go_raw,omitempty"`
	Failed    []string           `json:"failed,omitempty"`
}

// Summarize puts the Go benchmarks (the median of repeated runs), the load
// run and the command-line timings together with ratios to the raw HSM
// rates. Any may be empty.
func Summarize(machine string, gobench []loadtest.GoBench, load *Load, cli []loadtest.Timing) *Summary {
	s := &Summary{Generated: time.Now().UTC(), Machine: machine, Load: load, GoRaw: gobench}
	gobench = loadtest.Median(gobench)
	rates := map[string]float64{}
	for _, g := range gobench {
		rates[g.Key()] = g.PerSecond()
	}
	row := func(name string, rate float64, baseline string) Row {
		r := Row{Name: name, PerSecond: rate}
		if b := rates[baseline]; baseline != "" && b > 0 {
			r.Baseline, r.BaselineRate, r.Ratio = baseline, b, rate/b
		}
		return r
	}
	isRaw := map[string]bool{}
	for _, k := range rawHSM() {
		isRaw[k] = true
		if r, ok := rates[k]; ok {
			s.Raw = append(s.Raw, row(k, r, k))
		}
	}
	for _, g := range gobench {
		if isRaw[g.Key()] {
			continue
		}
		r := row(g.Key(), g.PerSecond(), goBaseline(g.Key()))
		var extra []string
		keys := make([]string, 0, len(g.Metrics))
		for k := range g.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k == "MB/s" {
				continue
			}
			extra = append(extra, fmt.Sprintf("%s %s", trimFloat(g.Metrics[k]), k))
		}
		r.Extra = strings.Join(extra, ", ")
		s.Go = append(s.Go, r)
	}
	if load != nil {
		for _, sc := range load.Scenarios {
			r := row(sc.Name, sc.Rate, sc.Baseline)
			r.Extra = fmt.Sprintf("%d ok, %d errors; p50 %v p95 %v p99 %v", sc.Requests, sc.Errors,
				ms(sc.P50), ms(sc.P95), ms(sc.P99))
			s.API = append(s.API, r)
		}
		s.Failed = load.Failed()
	}
	byFile := map[string]*CLIRow{}
	var files []string
	for _, t := range cli {
		tool, file, ok := cutTool(t.Command)
		if !ok {
			continue
		}
		c := byFile[file]
		if c == nil {
			c = &CLIRow{File: file}
			byFile[file] = c
			files = append(files, file)
		}
		if tool == "kyso" {
			c.KysoMS = t.Mean * 1000
		} else {
			c.PdfsigMS = t.Mean * 1000
		}
	}
	for _, f := range files {
		c := byFile[f]
		if c.PdfsigMS > 0 {
			c.Ratio = c.KysoMS / c.PdfsigMS
		}
		s.CLI = append(s.CLI, *c)
	}
	return s
}

// cutTool splits "kyso verify FILE" or "pdfsig FILE".
func cutTool(cmd string) (tool, file string, ok bool) {
	if f, ok := strings.CutPrefix(cmd, "kyso verify "); ok {
		return "kyso", f, true
	}
	if f, ok := strings.CutPrefix(cmd, "pdfsig "); ok {
		return "pdfsig", f, true
	}
	return "", "", false
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

func trimFloat(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// WriteText prints the summary as tables.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Kyso benchmarks, %s, %s\n", s.Generated.Format("2006-01-02 15:04 UTC"), s.Machine)
	table := func(title string, rows []Row) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		fmt.Fprintf(w, "  %-46s %10s %8s  %s\n", "", "per sec", "ratio", "")
		for _, r := range rows {
			ratio := "-"
			if r.Ratio > 0 {
				ratio = fmt.Sprintf("%.3f", r.Ratio)
			}
			tail := r.Extra
			if r.Baseline != "" && r.Baseline != r.Name {
				if tail != "" {
					tail += "; "
				}
				tail += fmt.Sprintf("vs %s %.1f/s", r.Baseline, r.BaselineRate)
			}
			fmt.Fprintf(w, "  %-46s %10.1f %8s  %s\n", r.Name, r.PerSecond, ratio, tail)
		}
	}
	table("Raw HSM signatures (Go benchmarks, the baselines)", s.Raw)
	table("Go benchmarks (ratio to the raw HSM rate of the same key)", s.Go)
	if s.Load != nil {
		table(fmt.Sprintf("Through the API, %d workers, up to %s each (ratio to the raw HSM rate)", s.Load.Workers, s.Load.Duration), s.API)
	}
	if len(s.CLI) > 0 {
		fmt.Fprintf(w, "\nkyso verify vs pdfsig, mean per document (process start included)\n")
		fmt.Fprintf(w, "  %-46s %12s %12s %12s\n", "", "kyso verify", "pdfsig", "kyso/pdfsig")
		for _, c := range s.CLI {
			fmt.Fprintf(w, "  %-46s %10.1fms %10.1fms %12.2f\n", c.File, c.KysoMS, c.PdfsigMS, c.Ratio)
		}
	}
	if len(s.Failed) > 0 {
		fmt.Fprintf(w, "\nFAILED scenarios (errors or no success): %s\n", strings.Join(s.Failed, "; "))
		if s.Load != nil {
			for _, sc := range s.Load.Scenarios {
				if sc.FirstError != "" {
					fmt.Fprintf(w, "  %s: %s\n", sc.Name, sc.FirstError)
				}
			}
		}
	}
}
