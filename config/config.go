// Package config loads Kyso's configuration: one YAML file, then
// environment overrides (KYSO_<SECTION>_<KEY>, for example
// KYSO_DATABASE_DSN or KYSO_HSM_TOKEN_LABEL), then validation whose messages
// name the bad key. Defaults are for local use and keep all state under
// ./var.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration.
type Config struct {
	// Mode is "production" (the default: kyso serve refuses development
	// settings, see CheckProduction) or "development" (what make run sets).
	Mode string `yaml:"mode"`
	// Listen is the HTTP listen address.
	Listen string `yaml:"listen"`
	// PublicURL is the base URL clients and certificates use to reach the
	// service (CRL distribution points, OCSP, CSC info).
	PublicURL string `yaml:"public_url"`
	// DataDir holds local state (SQLite database, PEM output, trust stores).
	DataDir  string   `yaml:"data_dir"`
	Database Database `yaml:"database"`
	HSM      HSM      `yaml:"hsm"`
	HTTP     HTTP     `yaml:"http"`
	TLS      TLS      `yaml:"tls"`
	Log      Log      `yaml:"log"`
	CA       CA       `yaml:"ca"`
	Identity Identity `yaml:"identity"`
	Signer   Signer   `yaml:"signer"`
	Verifier Verifier `yaml:"verifier"`
	Audit    Audit    `yaml:"audit"`
	Dev      Dev      `yaml:"dev"`
}

// Database selects the store.
type Database struct {
	// DSN is "" or "sqlite:PATH" for the embedded SQLite database, or a
	// postgres:// URL.
	DSN string `yaml:"dsn"`
}

// HSM is the PKCS#11 module and its tokens: the service token (issuing
// CAs, OCSP, TSA, identity and seal keys) and the citizen-key token, which
// holds only the derivation secret that citizens' wrapped keys open with,
// each with its own user PIN.
type HSM struct {
	// Module is the PKCS#11 library; empty finds SoftHSM2.
	Module     string `yaml:"module"`
	TokenLabel string `yaml:"token_label"`
	// PINFile and PINEnv name where the user PIN is read from; the PIN
	// itself never appears in the configuration, argv or logs.
	PINFile  string `yaml:"pin_file"`
	PINEnv   string `yaml:"pin_env"`
	PoolSize int    `yaml:"pool_size"`
	// CitizenModule is the PKCS#11 library the citizen-key token is
	// reached through; empty means Module. Citizens' keys need AES key
	// wrap with padding and AES-ECB-ENCRYPT-DATA derivation on that token,
	// mechanisms some client libraries do not forward (p11-kit's RPC).
	CitizenModule string `yaml:"citizen_module"`
	// AuditModule is the PKCS#11 library the audit log's Ed25519
	// checkpoint key (on TokenLabel, with the same user PIN) is used
	// through; empty means Module. It needs CKM_EDDSA.
	AuditModule string `yaml:"audit_module"`
	// CitizenTokenLabel, CitizenPINFile and CitizenPINEnv select the
	// citizen-key token and where its user PIN is read from.
	CitizenTokenLabel string `yaml:"citizen_token_label"`
	CitizenPINFile    string `yaml:"citizen_pin_file"`
	CitizenPINEnv     string `yaml:"citizen_pin_env"`
	// RootTokenLabel, RootPINFile and RootPINEnv select the root CA's
	// token, which only `kyso ceremony` opens (never `kyso serve`).
	RootTokenLabel string `yaml:"root_token_label"`
	RootPINFile    string `yaml:"root_pin_file"`
	RootPINEnv     string `yaml:"root_pin_env"`
}

// HTTP are the server's limits.
type HTTP struct {
	MaxBodyBytes    int64         `yaml:"max_body_bytes"`
	ReadTimeout     time.Duration `yaml:"read_timeout"`
	WriteTimeout    time.Duration `yaml:"write_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RateLimits are per-client token buckets on the public endpoints
	// that cost an HSM operation, an Argon2id run or comparable work.
	RateLimits RateLimits `yaml:"rate_limits"`
	// TrustedProxies (CIDRs) are reverse proxies whose X-Forwarded-For
	// names the client for rate limits.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// RateLimit is a token bucket: Burst requests at once, refilled at Rate
// per second; Rate 0 turns the limit off.
type RateLimit struct {
	Rate  float64 `yaml:"rate"`
	Burst int     `yaml:"burst"`
}

// RateLimits are the per-client limits of each class of endpoint.
type RateLimits struct {
	// Identity: POST /v1/identity/challenges and /v1/identity/verifications.
	Identity RateLimit `yaml:"identity"`
	// TSA: POST /tsa.
	TSA RateLimit `yaml:"tsa"`
	// OCSPSigned: OCSP requests answered by a signature on demand (nonce,
	// non-SHA-1 or several CertIDs).
	OCSPSigned RateLimit `yaml:"ocsp_signed"`
	// CRL: GET /crl/... (stale shards are regenerated).
	CRL RateLimit `yaml:"crl"`
	// Verify: POST /v1/verify and /verify.
	Verify RateLimit `yaml:"verify"`
	// Enrol: POST /v1/certificates.
	Enrol RateLimit `yaml:"enrol"`
}

// TLS turns on HTTPS and, with ClientCAFile, optional client certificates.
type TLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// Log configures log/slog.
type Log struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// CA configures the certificate authority.
type CA struct {
	// CitizenValidity is the validity of citizen certificates.
	CitizenValidity time.Duration `yaml:"citizen_validity"`
	// CRLShards is the number of CRL partitions per issuer.
	CRLShards int `yaml:"crl_shards"`
	// CRLValidity is nextUpdate - thisUpdate of CRLs; they are regenerated
	// when less than half of it is left, and after every revocation.
	CRLValidity time.Duration `yaml:"crl_validity"`
	// OCSPValidity is the validity of pre-signed OCSP responses.
	OCSPValidity time.Duration `yaml:"ocsp_validity"`
	// IssuancePerDay limits the certificates one citizen obtains in 24 hours.
	IssuancePerDay int `yaml:"issuance_per_day"`
	// PEMDir receives the CA certificates as PEM after a ceremony.
	PEMDir string `yaml:"pem_dir"`
}

// Identity configures chip-card verification and assertions.
type Identity struct {
	// CSCADir holds trusted CSCA certificates and ICAO master lists.
	CSCADir string `yaml:"csca_dir"`
	// Audience is the aud of identity assertions.
	Audience          string        `yaml:"audience"`
	AssertionLifetime time.Duration `yaml:"assertion_lifetime"`
	ChallengeLifetime time.Duration `yaml:"challenge_lifetime"`
	AllowPassports    bool          `yaml:"allow_passports"`
	// Registry is "embedded", "http" or "none".
	Registry string `yaml:"registry"`
	// RegistryURL is the national registry for Registry "http".
	RegistryURL     string        `yaml:"registry_url"`
	RegistryTimeout time.Duration `yaml:"registry_timeout"`
	// RequireRegistryMatch refuses citizens the registry does not know.
	RequireRegistryMatch bool `yaml:"require_registry_match"`
	// MasterListAnchors are PEM or DER certificate files (usually foreign
	// CSCAs obtained out of band): an ICAO master list in CSCADir is used
	// only when its signer is, or chains to, one of them. Without any,
	// master lists add no anchor.
	MasterListAnchors []string `yaml:"master_list_anchors"`
	// Algorithms is the algorithm policy for chip documents.
	Algorithms ChipAlgorithms `yaml:"algorithms"`
	// OIDC configures sign-in with OpenID Connect providers (VNeID).
	OIDC OIDC `yaml:"oidc"`
	// Assurance is the lowest level of assurance (low, substantial,
	// high) of a citizen's identity for each operation: enrol_remote,
	// enrol_csr, sign.
	Assurance map[string]string `yaml:"assurance"`
}

// OIDC lists the OpenID Connect providers Kyso is a relying party of.
type OIDC struct {
	Providers []OIDCProvider `yaml:"providers"`
}

// OIDCProvider configures one OpenID provider.
type OIDCProvider struct {
	Name string `yaml:"name"`
	// Issuer is the provider's issuer URL (discovery).
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// ClientSecretFile holds the client secret (never in the file itself).
	// PrivateKeyFile instead holds a PEM EC or RSA private key for
	// private_key_jwt client authentication (RFC 7523), PrivateKeyID its
	// kid at the provider. Exactly one of the two files is configured.
	ClientSecretFile string   `yaml:"client_secret_file"`
	PrivateKeyFile   string   `yaml:"private_key_file"`
	PrivateKeyID     string   `yaml:"private_key_id"`
	Scopes           []string `yaml:"scopes"`
	// IDClaim holds the 12-digit personal ID (default sub); NameClaim and
	// BirthDateClaim the full name and birth date.
	IDClaim        string `yaml:"id_claim"`
	NameClaim      string `yaml:"name_claim"`
	BirthDateClaim string `yaml:"birthdate_claim"`
	// ACR maps the provider's acr values to Kyso's level of assurance and
	// Vietnam's identification level (Decree 69/2024/NĐ-CP, 1 or 2).
	ACR map[string]OIDCLevel `yaml:"acr"`
	// CallbackURL is registered at the provider (default
	// public_url/v1/identity/oidc/NAME/callback).
	CallbackURL string `yaml:"callback_url"`
	// RedirectURIs are where the browser flow may send assertions.
	RedirectURIs []string `yaml:"redirect_uris"`
}

// OIDCLevel is what one acr value is worth.
type OIDCLevel struct {
	LoA     string `yaml:"loa"`
	IDLevel string `yaml:"id_level"`
}

// ChipAlgorithms is the algorithm policy for SODs, document signers and
// Active Authentication keys.
type ChipAlgorithms struct {
	// MinRSABits is the shortest RSA modulus accepted.
	MinRSABits int `yaml:"min_rsa_bits"`
	// LegacyRSABefore (YYYY-MM-DD): documents issued before this date may
	// use RSA keys of at least 1024 bits. Empty: no exception.
	LegacyRSABefore string `yaml:"legacy_rsa_before"`
	// AllowSHA1SOD accepts SHA-1 data-group hashes and SOD/DSC signatures.
	AllowSHA1SOD bool `yaml:"allow_sha1_sod"`
	// AllowSHA1AA accepts Active Authentication signatures with SHA-1
	// (ISO/IEC 9796-2 trailer 0xBC of classic RSA chips).
	AllowSHA1AA bool `yaml:"allow_sha1_aa"`
}

// Signer configures signing.
type Signer struct {
	// TSAURL is an external RFC 3161 time-stamp authority; empty uses the
	// built-in one.
	TSAURL string `yaml:"tsa_url"`
	// TSATrustFiles are PEM trust anchors the external TSA's tokens must
	// chain to; empty means the verifier's trust anchors and the CA's root.
	TSATrustFiles []string `yaml:"tsa_trust_files"`
	// SADLifetime is how long a signature activation stays usable.
	SADLifetime time.Duration `yaml:"sad_lifetime"`
	// MaxPINFailures locks a credential after this many wrong PINs.
	MaxPINFailures int `yaml:"max_pin_failures"`
}

// Verifier configures validation.
type Verifier struct {
	// TrustFiles are PEM files of trust anchors besides the CA's own root.
	TrustFiles []string `yaml:"trust_files"`
	// AllowedHosts are the hosts online revocation checks may contact.
	AllowedHosts []string `yaml:"allowed_hosts"`
	Offline      bool     `yaml:"offline"`
	// Policy is a validation policy file (YAML, see docs/validation.md);
	// empty means the embedded default policy.
	Policy string `yaml:"policy"`
}

// Audit configures the audit log.
type Audit struct {
	// CheckpointEvery is a removed key: every batch the sequencer
	// integrates gets a signed checkpoint, so a file that still sets it
	// is refused rather than silently ignored.
	CheckpointEvery removedKey `yaml:"checkpoint_every"`
	// Origin names the log in its checkpoints and verifier key; empty
	// means the host of public_url followed by "/audit".
	Origin string `yaml:"origin"`
	// SequenceInterval is how often the sequencer integrates pending
	// entries and signs a checkpoint.
	SequenceInterval time.Duration `yaml:"sequence_interval"`
	// LeaseTTL is how long the sequencer lease outlives its holder: another
	// replica takes over this long after the sequencing replica died.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// VerifierKey is a file holding the log's note verifier key; kyso audit
	// verify and witness use it instead of reading the key from the HSM.
	VerifierKey string `yaml:"verifier_key"`
}

// LogOrigin is the log's checkpoint origin.
func (c Config) LogOrigin() string {
	if c.Audit.Origin != "" {
		return c.Audit.Origin
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Host == "" {
		return "kyso/audit"
	}
	return u.Host + "/audit"
}

// Default returns every default of the configuration, in this one place:
// production mode, loopback listening and local state under ./var (the
// database, PEM output, trust stores and the local token's PIN file).
func Default() Config {
	return Config{
		Mode:      ModeProduction,
		Listen:    "127.0.0.1:8080",
		PublicURL: "http://127.0.0.1:8080",
		DataDir:   "./var",
		HSM: HSM{TokenLabel: "kyso-dev", PINFile: "./var/hsm/user.pin", PINEnv: "KYSO_HSM_PIN", PoolSize: 8,
			CitizenTokenLabel: "kyso-dev-citizen", CitizenPINFile: "./var/hsm/citizen.pin", CitizenPINEnv: "KYSO_HSM_CITIZEN_PIN",
			RootTokenLabel: "kyso-dev-root", RootPINFile: "./var/hsm/root.pin", RootPINEnv: "KYSO_HSM_ROOT_PIN"},
		HTTP: HTTP{MaxBodyBytes: 64 << 20, ReadTimeout: 60 * time.Second, WriteTimeout: 120 * time.Second,
			IdleTimeout: 120 * time.Second, ShutdownTimeout: 20 * time.Second,
			RateLimits: RateLimits{
				Identity: RateLimit{Rate: 1, Burst: 20}, TSA: RateLimit{Rate: 5, Burst: 50},
				OCSPSigned: RateLimit{Rate: 10, Burst: 100}, CRL: RateLimit{Rate: 5, Burst: 100},
				Verify: RateLimit{Rate: 2, Burst: 20}, Enrol: RateLimit{Rate: 0.2, Burst: 5},
			}},
		Log: Log{Level: "info", Format: "text"},
		CA: CA{CitizenValidity: 3 * 365 * 24 * time.Hour, CRLShards: 16, CRLValidity: 24 * time.Hour,
			OCSPValidity: 24 * time.Hour, IssuancePerDay: 5, PEMDir: "./var/pki"},
		Identity: Identity{CSCADir: "./var/trust/csca", Audience: "kyso", AssertionLifetime: 10 * time.Minute,
			ChallengeLifetime: 2 * time.Minute, Registry: "embedded", RegistryTimeout: 5 * time.Second,
			Algorithms: ChipAlgorithms{MinRSABits: 2048, AllowSHA1AA: true},
			Assurance:  map[string]string{"enrol_remote": "substantial", "enrol_csr": "substantial", "sign": "low"}},
		Signer:   Signer{SADLifetime: 5 * time.Minute, MaxPINFailures: 5},
		Verifier: Verifier{},
		Audit:    Audit{SequenceInterval: 250 * time.Millisecond, LeaseTTL: 3 * time.Second},
	}
}

// removedKey is a configuration key that is no longer supported: setting
// it, to any value, in the file or the environment fails validation with
// a message naming it.
type removedKey struct{ set bool }

// UnmarshalYAML records that the file sets the key.
func (r *removedKey) UnmarshalYAML(*yaml.Node) error {
	r.set = true
	return nil
}

// removedEnv are the environment variables of removed keys.
var removedEnv = map[string]func(*Config){
	EnvPrefix + "AUDIT_CHECKPOINT_EVERY": func(c *Config) { c.Audit.CheckpointEvery.set = true },
}

// Load reads path (if not empty) over the defaults, applies environment
// overrides from env (os.Environ() form) and validates the result.
func Load(path string, env []string) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config: %s: %w%s", path, err, keysAtErrorLines(b, err))
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// DatabaseDSN is database.dsn, or the embedded SQLite database in the data
// directory when it is empty.
func (c Config) DatabaseDSN() string {
	if c.Database.DSN != "" {
		return c.Database.DSN
	}
	return "sqlite:" + strings.TrimSuffix(c.DataDir, "/") + "/kyso.db"
}

// EnvPrefix starts every override variable.
const EnvPrefix = "KYSO_"

// applyEnv sets fields from KYSO_<PATH> variables, where PATH is the yaml
// path in upper case joined by underscores (KYSO_HSM_POOL_SIZE).
func applyEnv(c *Config, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			vars[k] = v
		}
		if mark, removed := removedEnv[k]; ok && removed {
			mark(c)
		}
	}
	var errs []error
	walk(reflect.ValueOf(c).Elem(), "", func(path string, f reflect.Value) {
		name := EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_").Replace(path))
		v, ok := vars[name]
		if !ok {
			return
		}
		if err := setString(f, v); err != nil {
			errs = append(errs, fmt.Errorf("config: %s (from %s): %w", path, name, err))
		}
	})
	return errors.Join(errs...)
}

func walk(v reflect.Value, prefix string, fn func(path string, f reflect.Value)) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			walk(f, path, fn)
			continue
		}
		fn(path, f)
	}
}

func setString(f reflect.Value, s string) error {
	switch f.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer, got %q", s)
		}
		f.SetInt(n)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		f.SetFloat(x)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		f.SetBool(b)
	case reflect.Slice:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		f.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// Validate checks every value and names each bad key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Mode != ModeProduction && c.Mode != ModeDevelopment {
		bad("mode", "want production or development, got %q", c.Mode)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "want host:port, got %q", c.Listen)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("public_url", "want an absolute http(s) URL, got %q", c.PublicURL)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if d := c.Database.DSN; d != "" && !strings.HasPrefix(d, "sqlite:") && !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
		bad("database.dsn", "want sqlite:PATH or a postgres:// URL")
	}
	if c.HSM.TokenLabel == "" {
		bad("hsm.token_label", "must not be empty")
	}
	if c.HSM.PINFile == "" && c.HSM.PINEnv == "" {
		bad("hsm.pin_file", "set pin_file or pin_env: the HSM user PIN is read from one of them")
	}
	switch {
	case c.HSM.CitizenTokenLabel == "":
		bad("hsm.citizen_token_label", "must not be empty")
	case c.HSM.CitizenTokenLabel == c.HSM.TokenLabel:
		bad("hsm.citizen_token_label", "must name a token other than hsm.token_label: citizens' key secret has a token and PIN of its own")
	}
	if c.HSM.CitizenPINFile == "" && c.HSM.CitizenPINEnv == "" {
		bad("hsm.citizen_pin_file", "set citizen_pin_file or citizen_pin_env: the citizen-key token's user PIN is read from one of them")
	}
	if c.HSM.CitizenPINFile != "" && c.HSM.CitizenPINFile == c.HSM.PINFile {
		bad("hsm.citizen_pin_file", "must differ from hsm.pin_file: each token has its own PIN")
	}
	switch {
	case c.HSM.RootTokenLabel == "":
		bad("hsm.root_token_label", "must not be empty")
	case c.HSM.RootTokenLabel == c.HSM.TokenLabel || c.HSM.RootTokenLabel == c.HSM.CitizenTokenLabel:
		bad("hsm.root_token_label", "must name a token of its own: the root CA key is used only in key ceremonies")
	}
	if c.HSM.RootPINFile == "" && c.HSM.RootPINEnv == "" {
		bad("hsm.root_pin_file", "set root_pin_file or root_pin_env: the root token's user PIN is read from one of them")
	}
	if c.HSM.RootPINFile != "" && (c.HSM.RootPINFile == c.HSM.PINFile || c.HSM.RootPINFile == c.HSM.CitizenPINFile) {
		bad("hsm.root_pin_file", "must differ from the other tokens' PIN files: each token has its own PIN")
	}
	if c.HSM.PoolSize < 1 || c.HSM.PoolSize > 256 {
		bad("hsm.pool_size", "want 1 to 256, got %d", c.HSM.PoolSize)
	}
	if c.HTTP.MaxBodyBytes < 1<<10 {
		bad("http.max_body_bytes", "want at least 1024, got %d", c.HTTP.MaxBodyBytes)
	}
	for key, d := range map[string]time.Duration{"http.read_timeout": c.HTTP.ReadTimeout, "http.write_timeout": c.HTTP.WriteTimeout,
		"http.idle_timeout": c.HTTP.IdleTimeout, "http.shutdown_timeout": c.HTTP.ShutdownTimeout} {
		if d <= 0 {
			bad(key, "must be a positive duration such as 30s")
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls.cert_file", "tls.cert_file and tls.key_file go together")
	}
	if c.TLS.ClientCAFile != "" && c.TLS.CertFile == "" {
		bad("tls.client_ca_file", "client certificates need tls.cert_file and tls.key_file")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "want text or json, got %q", c.Log.Format)
	}
	if c.CA.CitizenValidity < 24*time.Hour {
		bad("ca.citizen_validity", "want at least 24h, got %s", c.CA.CitizenValidity)
	}
	if c.CA.CRLShards < 1 || c.CA.CRLShards > 4096 {
		bad("ca.crl_shards", "want 1 to 4096, got %d", c.CA.CRLShards)
	}
	if c.CA.CRLValidity < 10*time.Minute {
		bad("ca.crl_validity", "want at least 10m, got %s", c.CA.CRLValidity)
	}
	if c.CA.OCSPValidity < time.Minute {
		bad("ca.ocsp_validity", "want at least 1m, got %s", c.CA.OCSPValidity)
	}
	if c.CA.IssuancePerDay < 1 {
		bad("ca.issuance_per_day", "want at least 1, got %d", c.CA.IssuancePerDay)
	}
	if c.Identity.AssertionLifetime <= 0 || c.Identity.AssertionLifetime > 15*time.Minute {
		bad("identity.assertion_lifetime", "want more than 0 and at most 15m, got %s", c.Identity.AssertionLifetime)
	}
	if c.Identity.ChallengeLifetime < 10*time.Second || c.Identity.ChallengeLifetime > 10*time.Minute {
		bad("identity.challenge_lifetime", "want 10s to 10m, got %s", c.Identity.ChallengeLifetime)
	}
	for op, loa := range c.Identity.Assurance {
		if loa != "low" && loa != "substantial" && loa != "high" {
			bad("identity.assurance."+op, "want low, substantial or high, got %q", loa)
		}
	}
	seenProvider := map[string]bool{}
	for i, p := range c.Identity.OIDC.Providers {
		key := fmt.Sprintf("identity.oidc.providers[%d]", i)
		if p.Name == "" || strings.ContainsAny(p.Name, "/?#% ") || seenProvider[p.Name] {
			bad(key+".name", "want a unique plain word, got %q", p.Name)
		}
		seenProvider[p.Name] = true
		if u, err := url.Parse(p.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopbackHost(u.Hostname()))) {
			bad(key+".issuer", "want an https URL (http only on loopback), got %q", p.Issuer)
		}
		if p.ClientID == "" {
			bad(key+".client_id", "must not be empty")
		}
		if (p.ClientSecretFile == "") == (p.PrivateKeyFile == "") {
			bad(key+".client_secret_file", "want exactly one of client_secret_file and private_key_file (private_key_jwt)")
		}
		if p.PrivateKeyID != "" && p.PrivateKeyFile == "" {
			bad(key+".private_key_id", "needs private_key_file")
		}
		if len(p.ACR) == 0 {
			bad(key+".acr", "needs the table from the provider's acr values to levels of assurance")
		}
		for acr, l := range p.ACR {
			if l.LoA != "low" && l.LoA != "substantial" && l.LoA != "high" {
				bad(key+".acr."+acr+".loa", "want low, substantial or high, got %q", l.LoA)
			}
			if l.IDLevel != "" && l.IDLevel != "1" && l.IDLevel != "2" {
				bad(key+".acr."+acr+".id_level", "want 1 or 2, got %q", l.IDLevel)
			}
		}
		if len(p.RedirectURIs) == 0 {
			bad(key+".redirect_uris", "needs at least one registered redirect URI")
		}
	}
	switch c.Identity.Registry {
	case "embedded", "none":
	case "http":
		if u, err := url.Parse(c.Identity.RegistryURL); err != nil || u.Host == "" {
			bad("identity.registry_url", "registry http needs an absolute URL, got %q", c.Identity.RegistryURL)
		}
	default:
		bad("identity.registry", "want embedded, http or none, got %q", c.Identity.Registry)
	}
	for name, rl := range map[string]RateLimit{"identity": c.HTTP.RateLimits.Identity, "tsa": c.HTTP.RateLimits.TSA,
		"ocsp_signed": c.HTTP.RateLimits.OCSPSigned, "crl": c.HTTP.RateLimits.CRL, "verify": c.HTTP.RateLimits.Verify, "enrol": c.HTTP.RateLimits.Enrol} {
		if rl.Rate < 0 || rl.Rate > 1e6 || (rl.Rate > 0 && (rl.Burst < 1 || rl.Burst > 1e6)) {
			bad("http.rate_limits."+name, "want rate 0 (off) or a positive rate with a burst of at least 1, got rate %v burst %d", rl.Rate, rl.Burst)
		}
	}
	for _, p := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad("http.trusted_proxies", "want CIDR prefixes, got %q", p)
		}
	}
	if c.Identity.Audience == "" {
		bad("identity.audience", "must not be empty")
	}
	if n := c.Identity.Algorithms.MinRSABits; n < 2048 || n > 16384 {
		bad("identity.algorithms.min_rsa_bits", "want 2048 to 16384, got %d", n)
	}
	if d := c.Identity.Algorithms.LegacyRSABefore; d != "" {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			bad("identity.algorithms.legacy_rsa_before", "want YYYY-MM-DD, got %q", d)
		}
	}
	if c.Signer.TSAURL != "" {
		if u, err := url.Parse(c.Signer.TSAURL); err != nil || u.Host == "" {
			bad("signer.tsa_url", "want an absolute URL, got %q", c.Signer.TSAURL)
		}
	}
	if c.Signer.SADLifetime <= 0 || c.Signer.SADLifetime > 15*time.Minute {
		bad("signer.sad_lifetime", "want more than 0 and at most 15m, got %s", c.Signer.SADLifetime)
	}
	if c.Signer.MaxPINFailures < 1 || c.Signer.MaxPINFailures > 20 {
		bad("signer.max_pin_failures", "want 1 to 20, got %d", c.Signer.MaxPINFailures)
	}
	if c.Audit.CheckpointEvery.set {
		bad("audit.checkpoint_every", "no longer supported: the sequencer signs a checkpoint for every batch it integrates, at most audit.sequence_interval after the batch's entries commit; remove the key (audit.sequence_interval sets how often)")
	}
	if c.Audit.SequenceInterval <= 0 || c.Audit.SequenceInterval > time.Second {
		bad("audit.sequence_interval", "want more than 0 and at most 1s, got %s", c.Audit.SequenceInterval)
	}
	if c.Audit.LeaseTTL < 2*c.Audit.SequenceInterval || c.Audit.LeaseTTL > time.Minute {
		bad("audit.lease_ttl", "want at least twice audit.sequence_interval and at most 1m, got %s", c.Audit.LeaseTTL)
	}
	if o := c.Audit.Origin; o != "" && (strings.ContainsAny(o, " +\n\t") || !utf8.ValidString(o)) {
		bad("audit.origin", "want a name without spaces or '+', got %q", o)
	}
	return errors.Join(errs...)
}

var lineRef = regexp.MustCompile(`line (\d+):`)

// keysAtErrorLines names the keys on the lines a YAML error points at, since
// yaml.v3's type errors give only line numbers.
func keysAtErrorLines(doc []byte, err error) string {
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil {
		return ""
	}
	byLine := map[int]string{}
	var visit func(n *yaml.Node, prefix string)
	visit = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				visit(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if prefix != "" {
					key = prefix + "." + key
				}
				byLine[n.Content[i].Line] = key
				visit(n.Content[i+1], key)
			}
		}
	}
	visit(&root, "")
	var keys []string
	for _, m := range lineRef.FindAllStringSubmatch(err.Error(), -1) {
		n, _ := strconv.Atoi(m[1])
		if k, ok := byLine[n]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return " (key " + strings.Join(keys, ", ") + ")"
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
