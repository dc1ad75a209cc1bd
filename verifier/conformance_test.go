package verifier

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kyso/verifier/report"
)

// The signed-docs conformance suite: signed PDF, CMS and JWS files made by
// other tools (EU DSS, pyHanko, ETSI plugtest producers), each with the
// outcome its reference validator asserts. The files live outside the
// repository (../shared/vectors/signed-docs, or $KYSO_SIGNED_DOCS) and are
// read at test time.

// knownGaps lists the files the verifier does not yet judge as the manifest
// says: file -> why, and which part of the verifier owns the fix. A listed
// file is logged, not failed; a listed file that now passes fails the test
// so that the entry is removed. Never add an entry to hide a regression.
var knownGaps = map[string]string{}

type conformanceManifest struct {
	Entries []conformanceEntry `json:"entries"`
}

type conformanceEntry struct {
	File           string   `json:"file"`
	Kind           string   `json:"kind"`
	Trust          []string `json:"trust"`
	Expect         string   `json:"expect"`
	ValidationTime string   `json:"validation_time"`
	Detached       string   `json:"detached_content"`
	Signatures     []struct {
		Index  int    `json:"index"`
		Expect string `json:"expect"`
	} `json:"signatures"`
}

// signedDocsDir returns the suite's folder, failing under CI when it is
// missing and skipping otherwise.
func signedDocsDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("KYSO_SIGNED_DOCS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "vectors", "signed-docs")
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("the signed-docs conformance suite is required under CI: %v (set KYSO_SIGNED_DOCS or provide ../shared/vectors/signed-docs)", err)
		}
		tb.Skipf("signed-docs conformance suite not found (%v); set KYSO_SIGNED_DOCS or provide ../shared/vectors/signed-docs", err)
	}
	return dir
}

func loadConformance(tb testing.TB) (string, []conformanceEntry) {
	dir := signedDocsDir(tb)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var m conformanceManifest
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("manifest.json: %v", err)
	}
	if len(m.Entries) == 0 {
		tb.Fatal("manifest.json lists no files")
	}
	return dir, m.Entries
}

// verifyConformance validates one suite file as `kyso verify` does: offline,
// with the entry's anchors and validation time.
func verifyConformance(dir string, e conformanceEntry) (*report.Report, error) {
	data, err := os.ReadFile(filepath.Join(dir, e.File))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	var roots []*x509.Certificate
	for _, t := range e.Trust {
		cs, err := LoadCertificates(filepath.Join(dir, t))
		if err != nil {
			return nil, fmt.Errorf("anchor %s: %w", t, err)
		}
		roots = append(roots, cs...)
	}
	var at time.Time
	if e.ValidationTime != "" {
		ts, _, _ := strings.Cut(e.ValidationTime, " ")
		if at, err = time.Parse(time.RFC3339, ts); err != nil {
			return nil, fmt.Errorf("validation_time: %w", err)
		}
	}
	var det []byte
	if e.Detached != "" {
		if det, err = os.ReadFile(filepath.Join(dir, e.Detached)); err != nil {
			return nil, fmt.Errorf("detached content: %w", err)
		}
	}
	v := New(Options{Roots: roots, At: at})
	return v.Verify(context.Background(), Input{Name: filepath.Base(e.File), Data: data, Detached: det})
}

// badIntegrity are the sub-indications a signature that is intact and well
// formed never gets.
var badIntegrity = map[report.SubIndication]bool{report.HashFailure: true, report.SigCryptoFailure: true, report.FormatFailure: true}

func intact(s report.Signature) error {
	if s.Status.MainIndication == report.TotalFailed || badIntegrity[s.Status.SubIndication] {
		return fmt.Errorf("%s: %s/%s: %s", s.ID, s.Status.MainIndication, s.Status.SubIndication, s.Status.Detail)
	}
	return nil
}

// judgeConformance applies the suite README's table: nil when the report
// meets the entry's expectation.
func judgeConformance(e conformanceEntry, rep *report.Report, verr error) error {
	unreadable := verr != nil && errors.Is(verr, ErrUnreadable)
	if verr != nil && !unreadable {
		return fmt.Errorf("verify: %w", verr)
	}
	disallowed := func() error {
		for _, c := range rep.Changes {
			if !c.Allowed {
				return fmt.Errorf("disallowed change reported: revision %d %s: %s", c.Revision, c.Kind, c.Detail)
			}
		}
		return nil
	}
	status := func() string {
		msg := fmt.Sprintf("%s/%s", rep.Status.MainIndication, rep.Status.SubIndication)
		if rep.Status.Detail != "" {
			msg += ": " + rep.Status.Detail
		}
		for _, s := range rep.Signatures {
			if s.Status.MainIndication != report.TotalPassed {
				msg += fmt.Sprintf(" (%s: %s)", s.ID, s.Status.Detail)
				break
			}
		}
		return msg
	}
	switch e.Expect {
	case "valid":
		if unreadable {
			return fmt.Errorf("refused as unreadable: %v", verr)
		}
		if rep.Status.MainIndication == report.TotalPassed {
			break
		}
		if rep.Status.MainIndication == report.Indeterminate && rep.Status.SubIndication == report.TryLater {
			break
		}
		return fmt.Errorf("want TOTAL-PASSED, got %s", status())
	case "valid-untrusted", "intact-with-allowed-changes":
		if unreadable {
			return fmt.Errorf("refused as unreadable: %v", verr)
		}
		if len(rep.Signatures) == 0 {
			return fmt.Errorf("no signature found: %s", status())
		}
		if rep.Status.MainIndication == report.TotalFailed {
			return fmt.Errorf("want not TOTAL-FAILED, got %s", status())
		}
		for _, s := range rep.Signatures {
			if err := intact(s); err != nil {
				return err
			}
		}
		if e.Expect == "intact-with-allowed-changes" {
			if err := disallowed(); err != nil {
				return err
			}
		}
	case "modified", "attack":
		if unreadable || rep.Status.MainIndication == report.TotalFailed {
			break
		}
		if disallowed() != nil {
			break
		}
		return fmt.Errorf("want TOTAL-FAILED or a disallowed change, got %s", status())
	case "broken":
		if !unreadable && rep.Status.MainIndication == report.TotalPassed {
			return fmt.Errorf("want anything but TOTAL-PASSED, got %s", status())
		}
	case "unknown":
	default:
		return fmt.Errorf("unknown expectation %q", e.Expect)
	}
	// Per-signature expectations of multi-signature files.
	if rep != nil {
		for _, ps := range e.Signatures {
			if ps.Index < 0 || ps.Index >= len(rep.Signatures) {
				return fmt.Errorf("signature %d expected (%s), %d found", ps.Index, ps.Expect, len(rep.Signatures))
			}
			switch ps.Expect {
			case "valid-untrusted", "intact-with-allowed-changes", "valid":
				if err := intact(rep.Signatures[ps.Index]); err != nil {
					return fmt.Errorf("signature %d: %w", ps.Index, err)
				}
			}
		}
	}
	return nil
}

// TestConformance runs the verifier over every file of the signed-docs
// suite and requires the outcome its manifest states, except for the files
// listed in knownGaps.
func TestConformance(t *testing.T) {
	dir, entries := loadConformance(t)
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.File] = true
		t.Run(e.File, func(t *testing.T) {
			rep, err := verifyConformance(dir, e)
			verdict := judgeConformance(e, rep, err)
			gap, known := knownGaps[e.File]
			switch {
			case verdict == nil && known:
				t.Errorf("%s now meets its expectation (%s): remove from knownGaps", e.File, e.Expect)
			case verdict != nil && known:
				t.Logf("known gap (%s): %v", gap, verdict)
			case verdict != nil:
				t.Errorf("%s (expect %s): %v", e.File, e.Expect, verdict)
			}
		})
	}
	for f := range knownGaps {
		if !seen[f] {
			t.Errorf("knownGaps lists %s, which the manifest does not: remove it", f)
		}
	}
}
