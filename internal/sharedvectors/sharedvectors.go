// Package sharedvectors locates the test vectors that other projects
// published (eMRTD data, signed documents from EU DSS, pyHanko and the ETSI
// plugtests). They live beside the repository in ../shared/vectors and are
// read from there at test time, never copied into the project.
//
// When the folder is absent a test is skipped with a message, except under
// CI (CI set in the environment), where a missing folder fails the test so
// that the suites they feed cannot silently stop running.
package sharedvectors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvDir names an environment variable that, when set, replaces
// ../shared/vectors as the vectors folder.
const EnvDir = "KYSO_SHARED_VECTORS"

// Root returns the shared vectors folder: $KYSO_SHARED_VECTORS, or
// ../shared/vectors beside the module root found from the working directory.
func Root() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return checkDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("shared vectors: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return checkDir(filepath.Join(dir, "..", "shared", "vectors"))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("shared vectors: no go.mod above %s", wd)
		}
		dir = parent
	}
}

func checkDir(d string) (string, error) {
	st, err := os.Stat(d)
	if err != nil {
		return "", fmt.Errorf("shared vectors: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("shared vectors: %s is not a folder", d)
	}
	return filepath.Clean(d), nil
}

// Lookup returns the path of a file or folder under the vectors root and
// whether it exists. It never fails a test: fuzz seeds use it.
func Lookup(parts ...string) (string, bool) {
	root, err := Root()
	if err != nil {
		return "", false
	}
	p := filepath.Join(append([]string{root}, parts...)...)
	_, err = os.Stat(p)
	return p, err == nil
}

// Path returns the path of a file or folder under the vectors root. When
// the vectors are absent it skips the test with a message, or fails it
// under CI. A vectors root that exists but lacks the named entry always
// fails: the collection is incomplete, not absent.
func Path(tb testing.TB, parts ...string) string {
	tb.Helper()
	root, err := Root()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%v (CI is set: the shared vectors must be present)", err)
		}
		tb.Skipf("skipping: %v (clone the shared vectors beside the repository or set %s)", err, EnvDir)
	}
	p := filepath.Join(append([]string{root}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			tb.Fatalf("shared vectors: %s is missing from %s", filepath.Join(parts...), root)
		}
		tb.Fatalf("shared vectors: %v", err)
	}
	return p
}

// Read returns the contents of a file under the vectors root, with Path's
// skip and failure rules.
func Read(tb testing.TB, parts ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, parts...))
	if err != nil {
		tb.Fatalf("shared vectors: %v", err)
	}
	return b
}
