package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchUsage(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	os.WriteFile(creds, []byte(`{"base_url":"http://10.1.2.3:8091","agencies":[{"code":"A","key_type":"RSA2048","token":"t"}]}`), 0o600)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench"}, exitUsage, "usage: kyso-dev bench"},
		{[]string{"bench", "--credentials", creds, "--workers", "0"}, exitUsage, "usage: kyso-dev bench"},
		{[]string{"bench", "--credentials", creds}, exitFail, "loopback"},
		{[]string{"bench", "--credentials", creds, "--url", "http://kyso.example.vn"}, exitFail, "loopback"},
		{[]string{"bench", "--credentials", filepath.Join(dir, "missing.json")}, exitFail, "credentials"},
		{[]string{"bench", "report"}, exitUsage, "usage: kyso-dev bench report"},
	} {
		code, out, errs := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("kyso %v: exit %d, output %q; want exit %d containing %q", tc.args, code, out+errs, tc.code, tc.want)
		}
	}
}

func TestBenchReport(t *testing.T) {
	dir := t.TempDir()
	load := filepath.Join(dir, "load.json")
	os.WriteFile(load, []byte(`{"url":"http://127.0.0.1:8091","workers":4,"duration_per_scenario":"10s","scenarios":[
	  {"name":"sign PDF B-B RSA2048 (A)","workers":4,"requests":100,"errors":0,"per_second":250,"baseline":"hsm.BenchmarkSignRSA2048"}]}`), 0o644)
	gob := filepath.Join(dir, "gobench.txt")
	os.WriteFile(gob, []byte("pkg: kyso/hsm\nBenchmarkSignRSA2048-2  1000  1000000 ns/op\n"), 0o644)
	cli := filepath.Join(dir, "cli.json")
	os.WriteFile(cli, []byte(`{"results":[{"command":"kyso verify f","mean":0.03},{"command":"pdfsig f","mean":0.01}]}`), 0o644)
	out := filepath.Join(dir, "results.json")
	code, stdout, errs := runCLI(t, nil, "bench", "report", "--load", load, "--gobench", gob, "--cli", cli, "--machine", "2 cores", "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"2 cores", "hsm.BenchmarkSignRSA2048", "sign PDF B-B RSA2048 (A)", "0.250", "3.00"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	var res struct {
		API []struct {
			Name  string  `json:"name"`
			Ratio float64 `json:"ratio"`
		} `json:"api"`
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &res); err != nil || len(res.API) != 1 || res.API[0].Ratio != 0.25 {
		t.Fatalf("results.json %s: %v", b, err)
	}
}
