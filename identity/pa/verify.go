package pa

import (
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

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
)

// Options for Verify.
type Options struct {
	// Now is the verification time (zero: time.Now()).
	Now time.Time
	// ContentTypes are the accepted eContentTypes; empty means only
	// id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1).
	ContentTypes []asn1.ObjectIdentifier
	// SkipChain verifies only the SOD signature and hashes (used for
	// inspecting documents whose CSCA is not configured; never in the
	// verification endpoint).
	SkipChain bool
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
	return res, nil
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
