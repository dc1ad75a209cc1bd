package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The production binary links no test fixture, demo, development setup or
// load generator: those live in kyso-dev.
func TestProductionBinaryLinksNoFixtures(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{"kyso/certs-test", "kyso/dossier/demo", "kyso/loadtest", "kyso/cmd/internal/devsetup"}
	var deps []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "kyso/") {
			deps = append(deps, p)
		}
		bad := strings.HasPrefix(p, "kyso/") && strings.HasSuffix(p, "test") // hsmtest, storetest, …
		for _, f := range forbidden {
			bad = bad || p == f || strings.HasPrefix(p, f+"/")
		}
		if bad {
			t.Errorf("kyso links %s", p)
		}
	}
	if len(deps) < 10 {
		t.Fatalf("go list -deps found too few kyso packages to be right: %v", deps)
	}
}
