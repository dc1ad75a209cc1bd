package hsm

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// DefaultPoolSize is the number of sessions in the pool when Config.PoolSize
// is zero.
const DefaultPoolSize = 4

// softHSMPaths returns the places Debian, Ubuntu, Fedora and a source build
// install SoftHSM2's PKCS#11 module, most common first.
func softHSMPaths() []string {
	return []string{
		"/usr/lib/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/x86_64-linux-gnu/pkcs11/libsofthsm2.so",
		"/usr/lib/aarch64-linux-gnu/pkcs11/libsofthsm2.so",
		"/usr/local/lib/softhsm/libsofthsm2.so",
		"/usr/lib64/pkcs11/libsofthsm2.so",
		"/usr/lib/pkcs11/libsofthsm2.so",
	}
}

// ErrNoModule is returned when no PKCS#11 module is configured and SoftHSM2
// is not installed in any of the usual places.
var ErrNoModule = errors.New("hsm: no PKCS#11 module configured and SoftHSM2 not found")

// ErrNoPIN is returned by LoadPIN when neither the file nor the environment
// variable yields a PIN.
var ErrNoPIN = errors.New("hsm: no user PIN configured")

// Config says which PKCS#11 module and token to use.
type Config struct {
	// Module is the path of the PKCS#11 shared library. Empty means
	// SoftHSM2, found with DefaultModule.
	Module string
	// TokenLabel selects the token (slot) by its label.
	TokenLabel string
	// PIN is the user (CKU_USER) PIN. Load it with LoadPIN; it is never
	// logged or printed (see LogValue and String).
	PIN string
	// PoolSize is the number of sessions used for operations at once;
	// zero means DefaultPoolSize. One more session is held open to keep the
	// token logged in.
	PoolSize int
	// KeyMetricLabel maps a key label to the value of the "key" label of
	// the metrics. Nil means the key label itself; set it when keys are
	// numerous (one per citizen, say) to keep the metrics' cardinality
	// bounded.
	KeyMetricLabel func(keyLabel string) string
}

// LogValue implements slog.LogValuer; the PIN is redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("module", c.Module),
		slog.String("token", c.TokenLabel),
		slog.String("pin", redact(c.PIN)),
		slog.Int("pool_size", c.PoolSize),
	)
}

// String implements fmt.Stringer; the PIN is redacted.
func (c Config) String() string {
	return fmt.Sprintf("hsm.Config{Module:%q TokenLabel:%q PIN:%s PoolSize:%d}",
		c.Module, c.TokenLabel, redact(c.PIN), c.PoolSize)
}

// GoString implements fmt.GoStringer so that %#v redacts the PIN too.
func (c Config) GoString() string { return c.String() }

func redact(pin string) string {
	if pin == "" {
		return "(unset)"
	}
	return "REDACTED"
}

func (c Config) withDefaults() (Config, error) {
	if c.Module == "" {
		m, err := DefaultModule()
		if err != nil {
			return c, err
		}
		c.Module = m
	}
	if c.TokenLabel == "" {
		return c, errors.New("hsm: token label is required")
	}
	if c.PIN == "" {
		return c, ErrNoPIN
	}
	if c.PoolSize < 0 {
		return c, fmt.Errorf("hsm: pool size %d is negative", c.PoolSize)
	}
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	return c, nil
}

// DefaultModule returns the path of SoftHSM2's PKCS#11 module in the first
// of the usual install locations where it exists.
func DefaultModule() (string, error) {
	for _, p := range softHSMPaths() {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", ErrNoModule
}

// LoadPIN reads the user PIN from file (when file is not empty) or else from
// the environment variable envVar (when not empty). A PIN file holds the PIN
// alone; trailing white space and line ends are removed. PINs are never taken
// from the command line, where other users of the machine could read them.
func LoadPIN(file, envVar string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("hsm: reading PIN file: %w", err)
		}
		pin := strings.TrimRight(string(b), " \t\r\n")
		if pin == "" {
			return "", fmt.Errorf("hsm: PIN file %s is empty: %w", file, ErrNoPIN)
		}
		return pin, nil
	}
	if envVar != "" {
		if pin := os.Getenv(envVar); pin != "" {
			return pin, nil
		}
		return "", fmt.Errorf("hsm: environment variable %s is not set: %w", envVar, ErrNoPIN)
	}
	return "", ErrNoPIN
}
