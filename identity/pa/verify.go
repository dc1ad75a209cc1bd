package pa

import (
	"crypto"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/language"

	"kyso/identity/lds"
	"kyso/identity/pki"
)

// Errors Verify returns (wrapped); callers branch with errors.Is.
var (
	// ErrMalformed: the SOD or a data group does not parse.
	ErrMalformed = errors.New("pa: malformed security object")
	// ErrSignature: the SOD signature, messageDigest or content type is wrong.
	ErrSignature = errors.New("pa: SOD signature invalid")
	// ErrUntrusted: the DSC does not chain to a valid trusted CSCA.
	ErrUntrusted = errors.New("pa: document signer not trusted")
	// ErrDataGroupHash: a data group does not match its SOD hash.
	ErrDataGroupHash = lds.ErrDataGroupHash
	// ErrDataGroupNotInSOD: a presented data group is not listed in the SOD.
	ErrDataGroupNotInSOD = lds.ErrDataGroupNotInSOD

	// The certificate profile checks of ICAO Doc 9303-12 and BSI TR-03105-5;
	// each has its own error so that refusals say which rule failed.

	// ErrCountryMismatch: the CSCA's or DSC's countryName is not the
	// document's issuing state (a foreign CSCA signing for another state).
	ErrCountryMismatch = errors.New("pa: signer country is not the issuing state")
	// ErrDSCKeyUsage: the DSC lacks keyUsage digitalSignature.
	ErrDSCKeyUsage = errors.New("pa: document signer certificate lacks keyUsage digitalSignature")
	// ErrDSCIsCA: the DSC is a CA certificate (basicConstraints cA or
	// keyCertSign), as a CSCA presented in place of a document signer is.
	ErrDSCIsCA = errors.New("pa: document signer certificate is a CA certificate")
	// ErrCSCAProfile: the anchor is not a CA with keyUsage keyCertSign.
	ErrCSCAProfile = errors.New("pa: CSCA certificate is not a CA with keyCertSign")
	// ErrNotValidAtIssue: the DSC or CSCA was not valid when the document
	// was issued.
	ErrNotValidAtIssue = errors.New("pa: signer not valid at the document's issue date")
	// ErrAlgorithm: the SOD's hash, signature or DSC key is refused by the
	// algorithm policy.
	ErrAlgorithm = errors.New("pa: algorithm refused by policy")
)

// AlgorithmPolicy is the algorithm policy for SODs (and, in the identity
// package, Active Authentication keys).
type AlgorithmPolicy struct {
	// MinRSABits is the shortest RSA modulus accepted (0: 2048).
	MinRSABits int
	// LegacyRSABefore: documents issued before this date may use RSA keys
	// down to LegacyMinRSABits (zero: no exception).
	LegacyRSABefore  time.Time
	LegacyMinRSABits int // 0: 1024
	// MinECBits is the smallest EC group order accepted (0: 224).
	MinECBits int
	// AllowSHA1 accepts SHA-1 in the SOD's data-group hashes and signature
	// and in the DSC's certificate signature.
	AllowSHA1 bool
}

// CheckKey applies the key-size rules to pub for a document issued at
// issued (zero: unknown, the strict rule applies).
func (p AlgorithmPolicy) CheckKey(pub *pki.PublicKey, issued time.Time) error {
	minRSA := p.MinRSABits
	if minRSA == 0 {
		minRSA = 2048
	}
	if !p.LegacyRSABefore.IsZero() && !issued.IsZero() && issued.Before(p.LegacyRSABefore) {
		minRSA = p.LegacyMinRSABits
		if minRSA == 0 {
			minRSA = 1024
		}
	}
	minEC := p.MinECBits
	if minEC == 0 {
		minEC = 224
	}
	switch {
	case pub == nil:
		return fmt.Errorf("%w: no key", ErrAlgorithm)
	case pub.RSA != nil && pub.RSA.N.BitLen() < minRSA:
		return fmt.Errorf("%w: RSA key of %d bits, at least %d required", ErrAlgorithm, pub.RSA.N.BitLen(), minRSA)
	case pub.EC != nil && pub.EC.Curve.N.BitLen() < minEC:
		return fmt.Errorf("%w: EC key of %d bits, at least %d required", ErrAlgorithm, pub.EC.Curve.N.BitLen(), minEC)
	}
	return nil
}

// CheckHash applies the hash rules (what is the hash used for: "SOD
// data-group hashes", ...).
func (p AlgorithmPolicy) CheckHash(h crypto.Hash, what string) error {
	switch h {
	case crypto.SHA1:
		if !p.AllowSHA1 {
			return fmt.Errorf("%w: SHA-1 for the %s (allowed only by configuration)", ErrAlgorithm, what)
		}
	case crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512:
	default:
		return fmt.Errorf("%w: hash %v for the %s", ErrAlgorithm, h, what)
	}
	return nil
}

// Options for Verify.
type Options struct {
	// Now is the verification time (zero: time.Now()).
	Now time.Time
	// ContentTypes are the accepted eContentTypes; empty means only
	// id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1).
	ContentTypes []asn1.ObjectIdentifier
	// SkipChain verifies only the SOD signature and hashes (used for
	// inspecting documents whose CSCA is not configured; never in the
	// verification endpoint). It also skips the profile and algorithm
	// checks.
	SkipChain bool
	// IssuingState is the document's issuing state from the MRZ (ICAO
	// three-letter code); when set, the CSCA's and the DSC's countryName
	// must name the same state.
	IssuingState string
	// IssueDate is the document's date of issue; when set, the DSC and the
	// CSCA must have been valid then as well as at Now. When zero, the
	// SOD's signingTime is used if present.
	IssueDate time.Time
	// Algorithms is the algorithm policy.
	Algorithms AlgorithmPolicy
}

// Result is a successful passive authentication.
type Result struct {
	SOD  *lds.SOD
	DSC  *pki.Certificate
	CSCA *pki.Certificate // nil with SkipChain
	// SODHash is the SHA-256 (hex) of the EF.SOD bytes as received.
	SODHash string
	// DSCFingerprint is the SHA-256 (hex) of the DSC.
	DSCFingerprint string
	// DataGroups are the verified data-group numbers.
	DataGroups []int
}

// Verify performs passive authentication of sod and the presented data
// groups (number → raw bytes as read from the chip). Every presented data
// group must be listed in the SOD and match its hash.
func Verify(sod []byte, dataGroups map[int][]byte, ts *TrustStore, opts Options) (*Result, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	s, err := lds.ParseSOD(sod)
	if err != nil {
		if errors.Is(err, lds.ErrSignerNotFound) {
			return nil, fmt.Errorf("%w: %v", ErrSignature, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	cts := opts.ContentTypes
	if len(cts) == 0 {
		cts = []asn1.ObjectIdentifier{lds.OIDLDSSecurityObject}
	}
	okType := false
	for _, ct := range cts {
		if ct.Equal(s.SignedData.EContentType) {
			okType = true
		}
	}
	if !okType {
		return nil, fmt.Errorf("%w: eContentType %v not accepted", ErrSignature, s.SignedData.EContentType)
	}
	if err := s.VerifySignature(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	sum := sha256.Sum256(sod)
	res := &Result{SOD: s, DSC: s.DSC, SODHash: hex.EncodeToString(sum[:]), DSCFingerprint: s.DSC.Fingerprint()}
	if !opts.SkipChain {
		if ts == nil {
			return nil, fmt.Errorf("%w: no trust anchors configured", ErrUntrusted)
		}
		csca, err := chain(s.DSC, ts, now)
		if err != nil {
			return nil, err
		}
		res.CSCA = csca
	}
	nums := make([]int, 0, len(dataGroups))
	for n := range dataGroups {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		if err := s.LDS.CheckDataGroup(n, dataGroups[n]); err != nil {
			return nil, err
		}
		res.DataGroups = append(res.DataGroups, n)
	}
	if !opts.SkipChain {
		if err := checkProfile(res, opts); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkProfile applies the certificate profile of ICAO Doc 9303-12 7.1
// (as tested by BSI TR-03105-5) and the algorithm policy to a chained
// result.
func checkProfile(res *Result, opts Options) error {
	dsc, csca, s := res.DSC, res.CSCA, res.SOD
	if opts.IssuingState != "" {
		want, ok := countryOfState(opts.IssuingState)
		if !ok {
			return fmt.Errorf("%w: issuing state %q is not a known country", ErrCountryMismatch, opts.IssuingState)
		}
		for _, c := range []struct {
			role string
			cert *pki.Certificate
		}{{"CSCA", csca}, {"DSC", dsc}} {
			if len(c.cert.Subject.Country) != 1 || !strings.EqualFold(c.cert.Subject.Country[0], want) {
				return fmt.Errorf("%w: %s %q names country %v, the document is issued by %s", ErrCountryMismatch,
					c.role, c.cert.Subject.String(), c.cert.Subject.Country, opts.IssuingState)
			}
		}
	}
	if dsc.IsCA || dsc.KeyUsage&(pki.KeyUsageKeyCertSign|pki.KeyUsageCRLSign) != 0 {
		return fmt.Errorf("%w: %q", ErrDSCIsCA, dsc.Subject.String())
	}
	if !dsc.HasKeyUsage || dsc.KeyUsage&pki.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: %q", ErrDSCKeyUsage, dsc.Subject.String())
	}
	if !csca.IsCA || !csca.HasKeyUsage || csca.KeyUsage&pki.KeyUsageKeyCertSign == 0 {
		return fmt.Errorf("%w: %q", ErrCSCAProfile, csca.Subject.String())
	}
	issued := opts.IssueDate
	if issued.IsZero() {
		issued, _ = s.Signer.SigningTime()
	}
	if !issued.IsZero() {
		for _, c := range []*pki.Certificate{dsc, csca} {
			// Dates of issue carry no time of day: any moment of that day
			// (in any time zone) counts.
			if issued.Add(36*time.Hour).Before(c.NotBefore) || issued.Add(-12*time.Hour).After(c.NotAfter) {
				return fmt.Errorf("%w: %q valid %s to %s, document issued %s", ErrNotValidAtIssue, c.Subject.String(),
					c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly), issued.UTC().Format(time.DateOnly))
			}
		}
	}
	pol := opts.Algorithms
	if err := pol.CheckKey(dsc.PublicKey, issued); err != nil {
		return fmt.Errorf("document signer key: %w", err)
	}
	if err := pol.CheckHash(s.LDS.Hash, "SOD data-group hashes"); err != nil {
		return err
	}
	if err := pol.CheckHash(pki.SignatureDigest(s.Signer.SignatureAlgorithm, s.Signer.DigestAlgorithm.Algorithm), "SOD signature"); err != nil {
		return err
	}
	if err := pol.CheckHash(pki.SignatureDigest(dsc.SignatureAlgorithm, nil), "DSC certificate signature"); err != nil {
		return err
	}
	return nil
}

// countryOfState maps an MRZ issuing state (ISO 3166-1 alpha-3, with the
// ICAO exceptions of Doc 9303-3 5) to the alpha-2 code certificates carry.
func countryOfState(state string) (string, bool) {
	state = strings.ToUpper(strings.TrimRight(state, "<"))
	switch {
	case state == "D":
		return "DE", true
	case len(state) == 3 && strings.HasPrefix(state, "GB"):
		return "GB", true // GBR and the British nationality variants
	case state == "RKS":
		return "XK", true
	}
	if len(state) != 3 {
		return "", false
	}
	r, err := language.ParseRegion(state)
	if err != nil || !r.IsCountry() {
		return "", false
	}
	return r.String(), true
}

// chain finds the anchor that signed cert, with both valid at now.
func chain(cert *pki.Certificate, ts *TrustStore, now time.Time) (*pki.Certificate, error) {
	if !cert.ValidAt(now) {
		return nil, fmt.Errorf("%w: certificate %q not valid at %s (valid %s to %s)", ErrUntrusted,
			cert.Subject.String(), now.UTC().Format(time.RFC3339), cert.NotBefore.UTC().Format(time.DateOnly), cert.NotAfter.UTC().Format(time.DateOnly))
	}
	cands := ts.candidates(cert)
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: no CSCA named %q", ErrUntrusted, cert.Issuer.String())
	}
	var last error
	for _, a := range cands {
		key := cert.Fingerprint() + "|" + a.Fingerprint()
		if _, ok := ts.verified.Load(key); !ok {
			if err := cert.CheckSignatureFrom(a); err != nil {
				last = err
				continue
			}
			ts.verified.Store(key, struct{}{})
		}
		if !a.ValidAt(now) {
			last = fmt.Errorf("CSCA %q not valid at %s", a.Subject.String(), now.UTC().Format(time.RFC3339))
			continue
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrUntrusted, last)
}
