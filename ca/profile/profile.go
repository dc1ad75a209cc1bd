package profile

import (
	"crypto"
	"crypto/sha1" //nolint:gosec // RFC 5280 section 4.2.1.2 method (1) key identifier, not a security use.
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"go.step.sm/crypto/x509util"
)

// Name names a certificate profile.
type Name string

// The profiles.
const (
	Citizen       Name = "citizen"
	Seal          Name = "seal"
	Officer       Name = "officer"
	TLSServer     Name = "tls-server"
	OCSPResponder Name = "ocsp-responder"
	TimeStamping  Name = "time-stamping"
)

// Issuer says which CA issues a profile: the citizen CA or the agency CA
// (which also serves officers, seals and the service's own certificates).
type Issuer string

// The issuing CAs.
const (
	CitizenCA Issuer = "citizen"
	AgencyCA  Issuer = "agency"
)

// Well-known object identifiers.
var (
	OIDUserID          = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	OIDDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	OIDOCSPNoCheck     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}
	OIDExtKeyUsage     = asn1.ObjectIdentifier{2, 5, 29, 37}
	OIDTimeStamping    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	// DefaultPolicyArc is the placeholder certificate-policies arc (see the
	// package documentation).
	DefaultPolicyArc = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 59595, 1}
)

// ErrInvalidSubject is returned when a request's subject data break the
// profile's rules.
var ErrInvalidSubject = errors.New("profile: invalid subject")

// Spec describes one profile.
type Spec struct {
	Name Name
	// Issuer is the CA that issues it.
	Issuer Issuer
	// PolicySuffix is appended to the policy arc.
	PolicySuffix int
	// DefaultValidity is used when the configuration says nothing.
	DefaultValidity time.Duration
	// Public reports whether clients may ask for it through the API.
	Public   bool
	template string
}

// Lookup returns the spec of a profile.
func Lookup(n Name) (Spec, bool) {
	for _, s := range specs() {
		if s.Name == n {
			return s, true
		}
	}
	return Spec{}, false
}

// All returns every profile.
func All() []Spec { return specs() }

const year = 365 * 24 * time.Hour

func specs() []Spec {
	return []Spec{
		{Name: Citizen, Issuer: CitizenCA, PolicySuffix: 1, DefaultValidity: 3 * year, Public: true, template: citizenTemplate},
		{Name: Seal, Issuer: AgencyCA, PolicySuffix: 2, DefaultValidity: 3 * year, template: sealTemplate},
		{Name: Officer, Issuer: AgencyCA, PolicySuffix: 3, DefaultValidity: 2 * year, template: officerTemplate},
		{Name: TLSServer, Issuer: AgencyCA, PolicySuffix: 4, DefaultValidity: 90 * 24 * time.Hour, template: tlsTemplate},
		{Name: OCSPResponder, Issuer: AgencyCA, PolicySuffix: 5, DefaultValidity: year, template: ocspTemplate},
		{Name: TimeStamping, Issuer: AgencyCA, PolicySuffix: 6, DefaultValidity: 5 * year, template: tsaTemplate},
	}
}

// Subject carries the data a profile puts in the subject and SANs.
type Subject struct {
	// CommonName is the citizen's or officer's full name, the agency's
	// name for seals, the responder's or TSA's name, or the TLS host name.
	CommonName string
	// Province is the ST attribute (citizens, optional).
	Province string
	// Organization is the O attribute (seals, officers, service certs).
	Organization string
	// UID is the userId attribute with its scheme prefix: "CCCD:…",
	// "MNS:…" or "MST:…".
	UID string
	// Email is the agency's official address, an rfc822Name in the
	// subject alternative name (seals only, optional): Vietnamese
	// e-government stamps show it beside the organisation.
	Email string
	// DNSNames and IPAddresses are the TLS server's names.
	DNSNames    []string
	IPAddresses []net.IP
}

// Params are the per-certificate values the CA decides.
type Params struct {
	Serial    *big.Int
	NotBefore time.Time
	NotAfter  time.Time
	// CRLURL is the distribution point of the certificate's shard.
	CRLURL string
	// OCSPURL and CAIssuersURL go in the authority information access.
	OCSPURL      string
	CAIssuersURL string
	// PolicyArc overrides DefaultPolicyArc.
	PolicyArc asn1.ObjectIdentifier
}

var (
	cccdUID = regexp.MustCompile(`^CCCD:[0-9]{12}$`)
	mnsUID  = regexp.MustCompile(`^MNS:[0-9]{7}$`)
	mstUID  = regexp.MustCompile(`^MST:[0-9]{10}(-[0-9]{3})?$`)
	dnsName = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	// emailLocal is an RFC 5322 dot-atom of ASCII atext: the local parts
	// an rfc822Name (IA5String, RFC 5280 section 4.2.1.6) carries without
	// quoting.
	emailLocal = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
)

// ErrInvalidEmail is returned by CheckEmail.
var ErrInvalidEmail = errors.New("profile: invalid email address")

// CheckEmail checks an address for an rfc822Name: an ASCII dot-atom local
// part of at most 64 characters, "@", and a lower-case host name of at
// least two labels (internationalised domains in their xn-- form), at
// most 254 characters in all. Display names, quoting, comments and IP
// literals are refused.
func CheckEmail(s string) error {
	at := strings.LastIndexByte(s, '@')
	switch {
	case len(s) > 254 || at < 1:
		return fmt.Errorf("%w: %q: want local-part@domain, at most 254 characters", ErrInvalidEmail, s)
	case at > 64 || !emailLocal.MatchString(s[:at]):
		return fmt.Errorf("%w: %q: the local part must be at most 64 letters, digits, dots and !#$%%&'*+/=?^_`{|}~-", ErrInvalidEmail, s)
	}
	host := s[at+1:]
	if len(host) > 253 || !dnsName.MatchString(host) || !strings.Contains(host, ".") {
		return fmt.Errorf("%w: %q: the domain must be a lower-case host name such as hanoi.gov.vn", ErrInvalidEmail, s)
	}
	return nil
}

// CitizenUID formats a 12-digit personal ID number as a UID value.
func CitizenUID(id string) string { return "CCCD:" + id }

// AgencyUID formats an agency's budget relationship code (MNS) or, when
// that is empty, its tax code (MST) as a UID value.
func AgencyUID(mns, mst string) string {
	if mns != "" {
		return "MNS:" + mns
	}
	return "MST:" + mst
}

func textOK(s string, max int) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max || strings.TrimSpace(s) != s {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Validate checks the subject against the profile's rules.
func (s Spec) Validate(sub Subject) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidSubject, s.Name, fmt.Sprintf(format, a...))
	}
	if !textOK(sub.CommonName, 64) {
		return bad("common name must be 1 to 64 printable characters")
	}
	if sub.Province != "" && !textOK(sub.Province, 128) {
		return bad("province must be at most 128 printable characters")
	}
	if sub.Organization != "" && !textOK(sub.Organization, 64) {
		return bad("organization must be at most 64 printable characters")
	}
	if sub.Email != "" && s.Name != Seal {
		return bad("only a seal carries an email address")
	}
	switch s.Name {
	case Citizen, Officer:
		if !cccdUID.MatchString(sub.UID) {
			return bad("UID must be CCCD: and 12 digits")
		}
		if s.Name == Officer && sub.Organization == "" {
			return bad("an officer certificate names the agency (O)")
		}
	case Seal:
		if !mnsUID.MatchString(sub.UID) && !mstUID.MatchString(sub.UID) {
			return bad("UID must be MNS: and 7 digits or MST: and a 10 or 13 digit tax code")
		}
		if sub.Organization == "" {
			return bad("a seal names the agency (O)")
		}
		if sub.Email != "" {
			if err := CheckEmail(sub.Email); err != nil {
				return bad("%v", err)
			}
		}
	case TLSServer:
		if len(sub.DNSNames) == 0 && len(sub.IPAddresses) == 0 {
			return bad("a TLS server certificate needs a DNS name or IP address")
		}
		for _, n := range sub.DNSNames {
			if len(n) > 253 || !dnsName.MatchString(n) {
				return bad("invalid DNS name %q", n)
			}
		}
	}
	return nil
}

// Options returns the x509util options that render the profile for the
// subject and parameters.
func (s Spec) Options(sub Subject, p Params) ([]x509util.Option, error) {
	if err := s.Validate(sub); err != nil {
		return nil, err
	}
	arc := p.PolicyArc
	if len(arc) == 0 {
		arc = DefaultPolicyArc
	}
	policy := append(append(asn1.ObjectIdentifier{}, arc...), s.PolicySuffix)
	ips := make([]string, 0, len(sub.IPAddresses))
	for _, ip := range sub.IPAddresses {
		ips = append(ips, ip.String())
	}
	data := x509util.NewTemplateData()
	data.Set("Kyso", map[string]any{
		"CommonName":   sub.CommonName,
		"Province":     sub.Province,
		"Organization": sub.Organization,
		"UID":          sub.UID,
		"Email":        sub.Email,
		"DNSNames":     sub.DNSNames,
		"IPAddresses":  ips,
		"CRLURL":       p.CRLURL,
		"OCSPURL":      p.OCSPURL,
		"CAIssuersURL": p.CAIssuersURL,
		"Policy":       policy.String(),
		"UIDType":      OIDUserID.String(),
		"DocSigning":   OIDDocumentSigning.String(),
		"NoCheck":      OIDOCSPNoCheck.String(),
		"TSAEKU":       criticalTimeStampingEKU(),
	})
	return []x509util.Option{x509util.WithTemplate(s.template, data)}, nil
}

// Finish sets what the template leaves to the CA: serial, validity and
// the subject key identifier.
func Finish(cert *x509.Certificate, p Params) error {
	if p.Serial == nil || p.Serial.Sign() <= 0 {
		return errors.New("profile: serial must be positive")
	}
	if !p.NotAfter.After(p.NotBefore) {
		return errors.New("profile: notAfter must follow notBefore")
	}
	cert.SerialNumber = p.Serial
	cert.NotBefore = p.NotBefore.UTC().Truncate(time.Second)
	cert.NotAfter = p.NotAfter.UTC().Truncate(time.Second)
	skid, err := KeyID(cert.PublicKey)
	if err != nil {
		return err
	}
	cert.SubjectKeyId = skid
	return nil
}

// Render builds the unsigned certificate for a CSR the way the CA does.
func (s Spec) Render(csr *x509.CertificateRequest, sub Subject, p Params) (*x509.Certificate, error) {
	opts, err := s.Options(sub, p)
	if err != nil {
		return nil, err
	}
	c, err := x509util.NewCertificate(csr, opts...)
	if err != nil {
		return nil, fmt.Errorf("profile: render %s: %w", s.Name, err)
	}
	cert := c.GetCertificate()
	if err := Finish(cert, p); err != nil {
		return nil, err
	}
	return cert, nil
}

// KeyID is the RFC 5280 method (1) key identifier: SHA-1 of the
// subjectPublicKey bits.
func KeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("profile: marshal public key: %w", err)
	}
	var spki struct {
		Algorithm asn1.RawValue
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("profile: parse public key: %w", err)
	}
	sum := sha1.Sum(spki.Key.Bytes) //nolint:gosec // see import
	return sum[:], nil
}

// criticalTimeStampingEKU is the DER of an extKeyUsage extension value with
// only id-kp-timeStamping; RFC 3161 requires it to be critical, which Go's
// generated extension never is.
func criticalTimeStampingEKU() []byte {
	der, err := asn1.Marshal([]asn1.ObjectIdentifier{OIDTimeStamping})
	if err != nil {
		return nil
	}
	return der
}
