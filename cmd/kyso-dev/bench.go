package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"kyso/loadtest"
	"kyso/loadtest/scenario"
)

// runBench is `kyso-dev bench`: the load test against a running server, and
// `kyso-dev bench report`, the summary of a whole `make bench` run.
func runBench(ctx context.Context, io stdio, args []string) int {
	if len(args) > 0 && args[0] == "report" {
		return benchReport(ctx, io, args[1:])
	}
	fs := newFlags("bench", io.Err)
	base := fs.String("url", "", "base URL of the server (loopback only; default: base_url of the credentials file)")
	credsPath := fs.String("credentials", "", "bench credentials file: {\"base_url\", \"agencies\": [{\"code\", \"key_type\", \"token\"}]} (required)")
	duration := fs.Duration("duration", 10*time.Second, "longest time of each scenario")
	workers := fs.Int("workers", 4, "concurrent callers")
	maxReq := fs.Int("max-requests", 20000, "most calls of each scenario")
	citizens := fs.Int("citizens", 64, "distinct synthetic chip cards (each is enrolled once by the issuance scenario)")
	levels := fs.String("levels", "B-B,B-T", "PAdES levels to sign, comma separated; documents of the last are verified")
	docs := fs.String("docs", "", "directory to keep one signed PDF per agency and level")
	out := fs.String("out", "", "write the results as JSON to this file")
	fs.Usage = func() {
		fmt.Fprintln(io.Err, "usage: kyso-dev bench --credentials FILE [--url URL] [--duration 10s] [--workers N] [--out results.json]")
		fmt.Fprintln(io.Err, "       kyso-dev bench report --load FILE [--gobench FILE] [--cli FILE] [--machine TEXT] [--out FILE]")
		fs.PrintDefaults()
	}
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if *credsPath == "" || fs.NArg() > 0 || *workers < 1 || *workers > 256 || *duration <= 0 || *duration > 10*time.Minute {
		fs.Usage()
		return exitUsage
	}
	creds, err := scenario.LoadCredentials(*credsPath)
	if err != nil {
		return fail(io.Err, "bench", err)
	}
	if *base == "" {
		*base = creds.BaseURL
	}
	if err := loadtest.CheckLoopback(*base); err != nil {
		return fail(io.Err, "bench", err)
	}
	if *docs != "" {
		if err := os.MkdirAll(*docs, 0o755); err != nil {
			return fail(io.Err, "bench", err)
		}
	}
	client := &scenario.Client{Base: *base, HTTP: &http.Client{Timeout: 2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: *workers, IdleConnTimeout: 30 * time.Second}}}
	load, err := scenario.Run(ctx, scenario.Config{Client: client, Agencies: creds.Agencies, Workers: *workers, Duration: *duration,
		MaxRequests: *maxReq, Citizens: *citizens, Levels: splitList(*levels), DocsDir: *docs, Progress: io.Out})
	if load != nil && *out != "" {
		if werr := writeJSON(*out, load); werr != nil {
			return fail(io.Err, "bench", werr)
		}
	}
	if err != nil {
		return fail(io.Err, "bench", err)
	}
	fmt.Fprintln(io.Out)
	scenario.Summarize("", nil, load, nil).WriteText(io.Out)
	if f := load.Failed(); len(f) > 0 {
		return fail(io.Err, "bench", fmt.Errorf("scenarios with errors: %s", strings.Join(f, "; ")))
	}
	return exitOK
}

func benchReport(ctx context.Context, io stdio, args []string) int {
	fs := newFlags("bench report", io.Err)
	loadPath := fs.String("load", "", "results of kyso-dev bench (JSON)")
	goPath := fs.String("gobench", "", "output of go test -bench")
	cliPath := fs.String("cli", "", "hyperfine --export-json results of kyso verify and pdfsig")
	machine := fs.String("machine", "", "description of the machine")
	out := fs.String("out", "", "write the summary as JSON to this file")
	if c := parse(fs, args); c >= 0 {
		return c
	}
	if fs.NArg() > 0 || (*loadPath == "" && *goPath == "" && *cliPath == "") {
		fmt.Fprintln(io.Err, "usage: kyso-dev bench report --load FILE [--gobench FILE] [--cli FILE] [--machine TEXT] [--out FILE]")
		return exitUsage
	}
	var load *scenario.Load
	if *loadPath != "" {
		b, err := os.ReadFile(*loadPath)
		if err != nil {
			return fail(io.Err, "bench report", err)
		}
		load = &scenario.Load{}
		if err := json.Unmarshal(b, load); err != nil {
			return fail(io.Err, "bench report", fmt.Errorf("%s: %w", *loadPath, err))
		}
	}
	var gobench []loadtest.GoBench
	if *goPath != "" {
		f, err := os.Open(*goPath)
		if err != nil {
			return fail(io.Err, "bench report", err)
		}
		gobench, err = loadtest.ParseGoBench(f)
		f.Close()
		if err != nil {
			return fail(io.Err, "bench report", err)
		}
	}
	var cli []loadtest.Timing
	if *cliPath != "" {
		f, err := os.Open(*cliPath)
		if err != nil {
			return fail(io.Err, "bench report", err)
		}
		cli, err = loadtest.ParseHyperfine(f)
		f.Close()
		if err != nil {
			return fail(io.Err, "bench report", err)
		}
	}
	s := scenario.Summarize(*machine, gobench, load, cli)
	if *out != "" {
		if err := writeJSON(*out, s); err != nil {
			return fail(io.Err, "bench report", err)
		}
	}
	s.WriteText(io.Out)
	if len(s.Failed) > 0 {
		return exitFail
	}
	return exitOK
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
