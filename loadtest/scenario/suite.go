package scenario

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	certstest "kyso/certs-test"
	"kyso/loadtest"
)

// Baselines: the Go benchmarks (package.Benchmark) whose raw HSM rate a
// scenario is compared with.
const (
	BaselineRSA2048 = "hsm.BenchmarkSignRSA2048"
	BaselineP256    = "hsm.BenchmarkSignP256"
	BaselineIssuing = "ca.BenchmarkIssuingKeySign"
)

// BaselineFor is the raw HSM benchmark of a seal's key type ("" when there
// is none).
func BaselineFor(keyType string) string {
	switch strings.ToUpper(keyType) {
	case "RSA2048":
		return BaselineRSA2048
	case "ECP256":
		return BaselineP256
	}
	return ""
}

// Agency is one agency principal of the bench server.
type Agency struct {
	Code    string `json:"code"`
	KeyType string `json:"key_type"` // of its seal: RSA2048, ECP256, …
	Token   string `json:"token"`
}

// Credentials is the file scripts/bench.sh writes for `kyso-dev bench`.
type Credentials struct {
	BaseURL  string   `json:"base_url"`
	Agencies []Agency `json:"agencies"`
}

// LoadCredentials reads a credentials file.
func LoadCredentials(path string) (*Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	for i, a := range c.Agencies {
		if a.Code == "" || a.Token == "" {
			return nil, fmt.Errorf("credentials %s: agency %d has no code or token", path, i+1)
		}
	}
	return &c, nil
}

// Config bounds and shapes a suite run.
type Config struct {
	Client   *Client
	Agencies []Agency
	// Workers is the concurrency of every scenario (default 4).
	Workers int
	// Duration bounds each scenario (default 10 s).
	Duration time.Duration
	// MaxRequests bounds each scenario's calls (default 20,000).
	MaxRequests int
	// Citizens is the number of distinct synthetic cards (default 64), and
	// so the most certificates the issuance scenario asks for.
	Citizens int
	// IssuerSeed derives the cards' test CSCA, which the server must trust
	// (default "kyso-dev").
	IssuerSeed string
	// Levels are the PAdES levels signed (default B-B and B-T); the last
	// one's documents are verified.
	Levels []string
	// DocsDir keeps one signed document per agency and level as
	// signed-<agency>-<level>.pdf ("" keeps none).
	DocsDir string
	// Progress receives a line per finished scenario (nil: none).
	Progress io.Writer
}

// Scenario is one load run with the benchmark it is compared with.
type Scenario struct {
	loadtest.Result
	// Baseline names the Go benchmark of the raw HSM rate it is compared
	// with (see the Baseline constants).
	Baseline string `json:"baseline,omitempty"`
	// Note says something about the outcome, e.g. the verdict on the
	// documents verified.
	Note string `json:"note,omitempty"`
}

// Load is the outcome of a suite run.
type Load struct {
	URL       string     `json:"url"`
	Started   time.Time  `json:"started"`
	Workers   int        `json:"workers"`
	Duration  string     `json:"duration_per_scenario"`
	Scenarios []Scenario `json:"scenarios"`
}

// Failed lists the scenarios with errors or without a single success.
func (l *Load) Failed() []string {
	var out []string
	for _, s := range l.Scenarios {
		if s.Errors > 0 || s.Requests == 0 {
			out = append(out, s.Name)
		}
	}
	return out
}

func (c *Config) defaults() {
	if c.Workers < 1 {
		c.Workers = 4
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.MaxRequests <= 0 {
		c.MaxRequests = 20000
	}
	if c.Citizens < 1 {
		c.Citizens = 64
	}
	if c.IssuerSeed == "" {
		c.IssuerSeed = "kyso-dev"
	}
	if len(c.Levels) == 0 {
		c.Levels = []string{"B-B", "B-T"}
	}
}

// Run performs the scenarios one after another: identity verification,
// certificate issuance (with the assertions the first scenario obtained),
// PDF signing per agency and level, and verification of the signed
// documents. A scenario's failures are counted in its result; Run returns
// an error only when the suite cannot go on (server not ready, no seal).
func Run(ctx context.Context, cfg Config) (*Load, error) {
	cfg.defaults()
	if cfg.Client == nil {
		return nil, errors.New("scenario: no client")
	}
	if err := cfg.Client.Ready(ctx); err != nil {
		return nil, fmt.Errorf("scenario: server not ready: %w", err)
	}
	load := &Load{URL: cfg.Client.Base, Started: time.Now().UTC(), Workers: cfg.Workers, Duration: cfg.Duration.String()}
	add := func(s Scenario) {
		load.Scenarios = append(load.Scenarios, s)
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "%-40s %6d ok %4d errors %9.1f/s  p50 %v  p99 %v\n", s.Name, s.Requests, s.Errors, s.Rate,
				s.P50.Round(10*time.Microsecond), s.P99.Round(10*time.Microsecond))
			if s.FirstError != "" {
				fmt.Fprintf(cfg.Progress, "  first error: %s\n", s.FirstError)
			}
		}
	}
	opts := loadtest.Options{Workers: cfg.Workers, Duration: cfg.Duration, MaxRequests: cfg.MaxRequests}
	cl := cfg.Client

	chips, err := NewCitizens(cfg.Citizens, cfg.IssuerSeed, 70000)
	if err != nil {
		return nil, err
	}
	// The CA keeps one valid certificate per profile for a key of the
	// citizen's own: certificate issuance enrols each citizen once, with
	// the first assertion the identity scenario obtained for them.
	var mu sync.Mutex
	first := make([]string, len(chips))
	res := loadtest.Run(ctx, "identity verification (chip)", opts, func(ctx context.Context, i int) error {
		a, err := cl.VerifyChip(ctx, chips[i%len(chips)])
		if err != nil {
			return err
		}
		mu.Lock()
		if first[i%len(chips)] == "" {
			first[i%len(chips)] = a
		}
		mu.Unlock()
		return nil
	})
	var assertions []string
	for _, a := range first {
		if a != "" {
			assertions = append(assertions, a)
		}
	}
	add(Scenario{Result: res, Baseline: BaselineP256, Note: "challenge + verification; the assertion is signed with the P-256 identity key"})

	csrs := make([]string, cfg.Workers)
	for i := range csrs {
		if csrs[i], err = NewCSR(); err != nil {
			return nil, err
		}
	}
	issueOpts := opts
	issueOpts.MaxRequests = min(opts.MaxRequests, len(assertions))
	note := fmt.Sprintf("CSR enrolment, one per citizen with a fresh identity assertion (%d citizens)", len(assertions))
	if issueOpts.MaxRequests == 0 {
		add(Scenario{Result: loadtest.Result{Name: "certificate issuance (API)", Workers: cfg.Workers, FirstError: "no identity assertion to enrol with"},
			Baseline: BaselineIssuing, Note: note})
	} else {
		res = loadtest.Run(ctx, "certificate issuance (API)", issueOpts, func(ctx context.Context, i int) error {
			_, err := cl.Enroll(ctx, assertions[i], csrs[i%len(csrs)])
			return err
		})
		add(Scenario{Result: res, Baseline: BaselineIssuing, Note: note})
	}

	doc := SamplePDF(3)
	var kept []struct {
		name, keyType string
		pdf           []byte
	}
	sign := func(who, keyType string, sg Signer, note string) error {
		var last []byte
		for _, level := range cfg.Levels {
			var keep []byte
			var once sync.Once
			res := loadtest.Run(ctx, fmt.Sprintf("sign PDF %s %s (%s)", level, keyType, who), opts, func(ctx context.Context, i int) error {
				out, err := cl.SignPDF(ctx, sg, level, doc)
				if err == nil {
					once.Do(func() { keep = out })
				}
				return err
			})
			add(Scenario{Result: res, Baseline: BaselineFor(keyType), Note: fmt.Sprintf("%d-byte PDF; %s", len(doc), note)})
			last = keep
			if keep != nil && cfg.DocsDir != "" {
				name := filepath.Join(cfg.DocsDir, "signed-"+who+"-"+level+".pdf")
				if err := os.WriteFile(name, keep, 0o644); err != nil {
					return fmt.Errorf("scenario: keep signed document: %w", err)
				}
			}
		}
		kept = append(kept, struct {
			name, keyType string
			pdf           []byte
		}{who, keyType, last})
		return nil
	}
	for _, ag := range cfg.Agencies {
		seals, err := cl.Seals(ctx, ag.Token)
		if err != nil {
			return load, fmt.Errorf("scenario: seals of %s: %w", ag.Code, err)
		}
		if len(seals) == 0 {
			return load, fmt.Errorf("scenario: agency %s has no seal", ag.Code)
		}
		if err := sign(ag.Code, ag.KeyType, Signer{Token: ag.Token, SealID: seals[0]}, "agency seal "+seals[0]); err != nil {
			return load, err
		}
	}
	// A citizen signs with a remote key in the HSM, unlocked by a PIN each
	// time (the PIN is checked against a slow hash).
	citizen, err := NewCitizens(1, cfg.IssuerSeed, 69999)
	if err != nil {
		return load, err
	}
	credID, token, err := enrolCitizen(ctx, cl, citizen[0], citizenPIN)
	if err != nil {
		add(Scenario{Result: loadtest.Result{Name: "sign PDF (citizen)", Workers: cfg.Workers, Errors: 1, FirstError: err.Error()}})
	} else if err := sign("citizen", "ECP256", Signer{Token: token, CredentialID: credID, PIN: citizenPIN}, "citizen remote key "+credID+" with PIN"); err != nil {
		return load, err
	}

	level := cfg.Levels[len(cfg.Levels)-1]
	for _, k := range kept {
		name := fmt.Sprintf("verify PDF %s %s (%s)", level, k.keyType, k.name)
		if k.pdf == nil {
			add(Scenario{Result: loadtest.Result{Name: name, Workers: cfg.Workers, FirstError: "no signed document to verify"}})
			continue
		}
		verdict, err := cl.Verify(ctx, k.pdf)
		if err != nil {
			add(Scenario{Result: loadtest.Result{Name: name, Workers: cfg.Workers, Errors: 1, FirstError: err.Error()}})
			continue
		}
		res := loadtest.Run(ctx, name, opts, func(ctx context.Context, i int) error {
			_, err := cl.Verify(ctx, k.pdf)
			return err
		})
		add(Scenario{Result: res, Baseline: BaselineP256, Note: "verdict: " + verdict})
	}
	return load, nil
}

// citizenPIN protects the load test citizen's remote key.
const citizenPIN = "582046"

// enrolCitizen verifies the card, obtains (or finds) a remote-key
// credential and returns it with a fresh assertion to sign with.
func enrolCitizen(ctx context.Context, cl *Client, chip *certstest.Chip, pin string) (credentialID, assertion string, err error) {
	a, err := cl.VerifyChip(ctx, chip)
	if err != nil {
		return "", "", fmt.Errorf("citizen: %w", err)
	}
	if credentialID, err = cl.EnrollRemote(ctx, a, pin); err != nil {
		return "", "", fmt.Errorf("citizen: %w", err)
	}
	if assertion, err = cl.VerifyChip(ctx, chip); err != nil {
		return "", "", fmt.Errorf("citizen: %w", err)
	}
	return credentialID, assertion, nil
}
