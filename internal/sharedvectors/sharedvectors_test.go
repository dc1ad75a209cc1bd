package sharedvectors

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRootFromEnv(t *testing.T) {
	d := t.TempDir()
	if err := os.MkdirAll(filepath.Join(d, "emrtd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "emrtd", "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, d)
	if got := string(Read(t, "emrtd", "x")); got != "x" {
		t.Fatalf("Read = %q", got)
	}
	if _, ok := Lookup("emrtd", "absent"); ok {
		t.Fatal("Lookup found an absent file")
	}
}

func TestRootMissing(t *testing.T) {
	t.Setenv(EnvDir, filepath.Join(t.TempDir(), "nowhere"))
	if _, err := Root(); err == nil {
		t.Fatal("Root accepted a missing folder")
	}
	if _, ok := Lookup("emrtd"); ok {
		t.Fatal("Lookup found a file in a missing folder")
	}
}

// No file of the project is a byte-for-byte copy of a shared vector: they
// are read from ../shared at test time.
func TestNoCopiesInProject(t *testing.T) {
	root := Path(t)
	shared := map[[32]byte]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		shared[sha256.Sum256(b)] = p
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	module := filepath.Join("..", "..")
	err = filepath.WalkDir(module, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "var", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if src, ok := shared[sha256.Sum256(b)]; ok {
			t.Errorf("%s is a copy of %s: read it from the shared vectors at test time", p, src)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
