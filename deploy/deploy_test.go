// Package deploy holds the deployment files (systemd unit, container file,
// example configuration, PostgreSQL roles); its tests check them with the
// tools that read them.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the highest `systemd-analyze security` exposure the unit
// may have (0 is best, 10 worst; systemd calls up to 2.0 "OK").
const maxExposure = 2.0

// systemdAnalyze returns the tool, skipping where it cannot run: a
// container without systemd as init may lack what it needs. It fails
// under CI when the tool is not installed (make test installs it).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is required (make test installs the systemd package)")
		}
		t.Skip("systemd-analyze not installed (scripts/deps.sh test installs it)")
	}
	// A trivially good unit tells whether the tool works here at all.
	probe := filepath.Join(t.TempDir(), "probe.service")
	os.WriteFile(probe, []byte("[Service]\nType=oneshot\nExecStart=/bin/true\n"), 0o644)
	if out, err := exec.Command(tool, "verify", probe).CombinedOutput(); err != nil {
		t.Skipf("systemd-analyze cannot run in this environment: %v\n%s", err, out)
	}
	return tool
}

// unitForCheck copies the unit with ExecStart pointing at an executable
// that exists here (verify checks that the command does), since the
// binary is installed in /usr/local/bin only on a server.
func unitForCheck(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("systemd", "kyso.service"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ExecStart=/usr/local/bin/kyso serve --config /etc/kyso/kyso.yaml\n") {
		t.Fatal("the unit no longer starts /usr/local/bin/kyso serve")
	}
	unit := strings.Replace(string(b), "ExecStart=/usr/local/bin/kyso", "ExecStart="+self, 1)
	path := filepath.Join(t.TempDir(), "kyso.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSystemdUnitVerifies(t *testing.T) {
	tool := systemdAnalyze(t)
	out, err := exec.Command(tool, "verify", unitForCheck(t)).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var exposure = regexp.MustCompile(`Overall exposure level for kyso\.service: ([0-9.]+)`)

func TestSystemdUnitHardening(t *testing.T) {
	tool := systemdAnalyze(t)
	out, err := exec.Command(tool, "security", "--offline=true", "--no-pager", unitForCheck(t)).CombinedOutput()
	m := exposure.FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (at most %.1f)", score, maxExposure)
	if score > maxExposure {
		t.Fatalf("exposure %.1f is above %.1f:\n%s", score, maxExposure, out)
	}
	// The PIN reaches the service as a credential, not the environment.
	unit, _ := os.ReadFile(filepath.Join("systemd", "kyso.service"))
	if !strings.Contains(string(unit), "LoadCredential=hsm-pin:") || regexp.MustCompile(`(?m)^Environment=.*PIN`).Match(unit) {
		t.Fatal("the HSM PIN must come through LoadCredential, never Environment")
	}
}

// The container file builds only the production binary.
func TestContainerfileBuildsTheProductionBinary(t *testing.T) {
	b, err := os.ReadFile("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, "./cmd/kyso\n") || strings.Contains(s, "kyso-dev") || !strings.Contains(s, "USER kyso") {
		t.Fatalf("Containerfile must build ./cmd/kyso only and run as the kyso user:\n%s", s)
	}
}
