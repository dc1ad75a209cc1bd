package ceremony

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"kyso/ca/profile"
	"kyso/hsm"
)

// KeyConfig describes one CA or service key and its certificate.
type KeyConfig struct {
	CommonName   string `yaml:"common_name"`
	Organization string `yaml:"organization"`
	// KeyType is RSA2048, RSA3072, ECP256 or ECP384.
	KeyType string `yaml:"key_type"`
	// ValidityDays is the certificate's lifetime.
	ValidityDays int `yaml:"validity_days"`
}

// Agency is an agency whose seal the ceremony creates.
type Agency struct {
	// Code is the agency code (the seal's subject in the credential store
	// and part of its HSM label).
	Code string `yaml:"code"`
	// Name is the seal's common name, the agency's own name.
	Name string `yaml:"name"`
	// Organization is the organisation the agency belongs to (the seal's
	// O: the province or ministry, "Thành phố Hà Nội"); empty means the
	// agency's name.
	Organization string `yaml:"organization"`
	// Email is the agency's official address, put in the seal's subject
	// alternative name (optional). Visible stamps show the organisation
	// and the email, as Vietnamese e-government stamps do.
	Email string `yaml:"email"`
	// MNS is the budget relationship code; MST the tax code. One is
	// required; MNS wins when both are set.
	MNS string `yaml:"mns"`
	MST string `yaml:"mst"`
	// KeyType defaults to ECP256.
	KeyType string `yaml:"key_type"`
}

// Config is a key ceremony: what to create in the HSM and certify.
type Config struct {
	// BaseURL is the public URL of the service, used in CRL distribution
	// points, OCSP and CA-issuers URLs.
	BaseURL string `yaml:"base_url"`
	// OutputDir receives the certificates as PEM ("" : none written).
	OutputDir string `yaml:"output_dir"`
	// CRLShards is the number of CRL shards per issuing CA.
	CRLShards int `yaml:"crl_shards"`

	Root        KeyConfig `yaml:"root"`
	CitizenCA   KeyConfig `yaml:"citizen_ca"`
	AgencyCA    KeyConfig `yaml:"agency_ca"`
	OCSP        KeyConfig `yaml:"ocsp"`
	TSA         KeyConfig `yaml:"tsa"`
	Identity    KeyConfig `yaml:"identity"`
	ServiceSeal struct {
		KeyConfig `yaml:",inline"`
		MNS       string `yaml:"mns"`
		MST       string `yaml:"mst"`
	} `yaml:"service_seal"`
	// TLS, when Hosts is not empty, makes the service's TLS server key and
	// certificate.
	TLS struct {
		KeyConfig `yaml:",inline"`
		Hosts     []string `yaml:"hosts"`
	} `yaml:"tls"`
	Agencies []Agency `yaml:"agencies"`
}

// RotateConfig brings in a new issuing CA.
type RotateConfig struct {
	// Role is "citizen" or "agency".
	Role string
	// Overlap is how long the new CA is published before it takes over
	// issuance; the old CA keeps serving CRLs and OCSP for its certificates.
	Overlap time.Duration
	// CA describes the new key and certificate (zero values: as the
	// ceremony default).
	CA KeyConfig
	// BaseURL as in Config.
	BaseURL string
	// OutputDir as in Config.
	OutputDir string
}

const day = 24 * time.Hour

// DevConfig is the development ceremony that `make run` performs: a P-384
// root and issuing CAs, P-256 OCSP, TSA, identity and seal keys, and one
// demo agency, UBND-HN.
func DevConfig() Config {
	var c Config
	c.BaseURL = "http://127.0.0.1:8080"
	c.CRLShards = 4
	c.Root = KeyConfig{CommonName: "Kyso Dev Root CA", Organization: "Kyso", KeyType: string(hsm.ECP384), ValidityDays: 20 * 365}
	c.CitizenCA = KeyConfig{CommonName: "Kyso Dev Citizen CA 1", Organization: "Kyso", KeyType: string(hsm.ECP384), ValidityDays: 10 * 365}
	c.AgencyCA = KeyConfig{CommonName: "Kyso Dev Agency CA 1", Organization: "Kyso", KeyType: string(hsm.ECP384), ValidityDays: 10 * 365}
	c.OCSP = KeyConfig{CommonName: "Kyso Dev OCSP Responder", Organization: "Kyso", KeyType: string(hsm.ECP256), ValidityDays: 365}
	c.TSA = KeyConfig{CommonName: "Kyso Dev Time-Stamping Unit", Organization: "Kyso", KeyType: string(hsm.ECP256), ValidityDays: 5 * 365}
	c.Identity = KeyConfig{KeyType: string(hsm.ECP256)}
	c.ServiceSeal.KeyConfig = KeyConfig{CommonName: "Kyso Dev Service Seal", Organization: "Kyso", KeyType: string(hsm.ECP256), ValidityDays: 3 * 365}
	c.ServiceSeal.MST = "0109999999"
	c.TLS.KeyConfig = KeyConfig{CommonName: "localhost", Organization: "Kyso", KeyType: string(hsm.ECP256), ValidityDays: 90}
	c.TLS.Hosts = []string{"localhost", "127.0.0.1"}
	c.Agencies = []Agency{{Code: "UBND-HN", Name: "UBND Thành phố Hà Nội", Organization: "Thành phố Hà Nội",
		Email: "vanphong@hanoi.gov.vn", MNS: "1012345", KeyType: string(hsm.ECP256)}}
	return c
}

// LoadConfig reads a ceremony configuration from a YAML file. Unknown
// fields are errors; missing ones take DevConfig's values except the
// agencies, which are exactly those listed.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("ceremony: read config: %w", err)
	}
	return ParseConfig(b)
}

// ParseConfig parses a YAML ceremony configuration (see LoadConfig).
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("ceremony: parse config: %w", err)
	}
	def := DevConfig()
	fill := func(k *KeyConfig, d KeyConfig) {
		if k.CommonName == "" {
			k.CommonName = d.CommonName
		}
		if k.Organization == "" {
			k.Organization = d.Organization
		}
		if k.KeyType == "" {
			k.KeyType = d.KeyType
		}
		if k.ValidityDays == 0 {
			k.ValidityDays = d.ValidityDays
		}
	}
	fill(&c.Root, def.Root)
	fill(&c.CitizenCA, def.CitizenCA)
	fill(&c.AgencyCA, def.AgencyCA)
	fill(&c.OCSP, def.OCSP)
	fill(&c.TSA, def.TSA)
	fill(&c.Identity, def.Identity)
	fill(&c.ServiceSeal.KeyConfig, def.ServiceSeal.KeyConfig)
	if c.ServiceSeal.MNS == "" && c.ServiceSeal.MST == "" {
		c.ServiceSeal.MST = def.ServiceSeal.MST
	}
	fill(&c.TLS.KeyConfig, def.TLS.KeyConfig)
	if c.BaseURL == "" {
		c.BaseURL = def.BaseURL
	}
	if c.CRLShards == 0 {
		c.CRLShards = def.CRLShards
	}
	return c, c.Validate()
}

// subject is the agency's seal subject.
func (a Agency) subject() profile.Subject {
	org := a.Organization
	if org == "" {
		org = a.Name
	}
	return profile.Subject{CommonName: a.Name, Organization: org, UID: profile.AgencyUID(a.MNS, a.MST), Email: a.Email}
}

var (
	agencyCode = regexp.MustCompile(`^[A-Z0-9][A-Z0-9\-\.]{1,31}$`)
	mns        = regexp.MustCompile(`^[0-9]{7}$`)
	mst        = regexp.MustCompile(`^[0-9]{10}(-[0-9]{3})?$`)
)

// Validate checks a configuration.
func (c Config) Validate() error {
	var errs []error
	for name, k := range map[string]KeyConfig{"root": c.Root, "citizen_ca": c.CitizenCA, "agency_ca": c.AgencyCA, "ocsp": c.OCSP, "tsa": c.TSA, "identity": c.Identity, "service_seal": c.ServiceSeal.KeyConfig} {
		if _, err := hsm.ParseKeyType(k.KeyType); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		if name != "identity" && (k.ValidityDays <= 0 || k.CommonName == "") {
			errs = append(errs, fmt.Errorf("%s: common_name and a positive validity_days are required", name))
		}
	}
	if c.Identity.KeyType != string(hsm.ECP256) {
		errs = append(errs, errors.New("identity: the identity-assertion key must be ECP256 (ES256)"))
	}
	if c.CitizenCA.ValidityDays > c.Root.ValidityDays || c.AgencyCA.ValidityDays > c.Root.ValidityDays {
		errs = append(errs, errors.New("issuing CAs cannot outlive the root"))
	}
	if c.CRLShards < 1 || c.CRLShards > 1024 {
		errs = append(errs, errors.New("crl_shards must be 1 to 1024"))
	}
	seal, _ := profile.Lookup(profile.Seal)
	seen := map[string]bool{}
	for _, a := range c.Agencies {
		switch {
		case !agencyCode.MatchString(a.Code):
			errs = append(errs, fmt.Errorf("agency %q: code must be upper-case letters, digits, '-' or '.'", a.Code))
		case seen[a.Code]:
			errs = append(errs, fmt.Errorf("agency %q listed twice", a.Code))
		case a.Name == "":
			errs = append(errs, fmt.Errorf("agency %q: name is required", a.Code))
		case a.MNS == "" && a.MST == "":
			errs = append(errs, fmt.Errorf("agency %q: mns or mst is required", a.Code))
		case a.MNS != "" && !mns.MatchString(a.MNS):
			errs = append(errs, fmt.Errorf("agency %q: mns must be 7 digits", a.Code))
		case a.MNS == "" && !mst.MatchString(a.MST):
			errs = append(errs, fmt.Errorf("agency %q: mst must be 10 digits, optionally -NNN", a.Code))
		default:
			// The seal's subject as the CA will check it at issuance:
			// name and organisation lengths, the email address.
			if err := seal.Validate(a.subject()); err != nil {
				errs = append(errs, fmt.Errorf("agency %q: %w", a.Code, err))
			}
		}
		if a.KeyType != "" {
			if _, err := hsm.ParseKeyType(a.KeyType); err != nil {
				errs = append(errs, fmt.Errorf("agency %q: %w", a.Code, err))
			}
		}
		seen[a.Code] = true
	}
	if len(c.TLS.Hosts) > 0 {
		if _, err := hsm.ParseKeyType(c.TLS.KeyType); err != nil {
			errs = append(errs, fmt.Errorf("tls: %w", err))
		}
	}
	return errors.Join(errs...)
}
