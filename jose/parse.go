// Package jose is Kyso's one implementation of JWS and JAdES (RFC 7515,
// RFC 7797, ETSI TS 119 182-1): it splits the compact, flattened and
// general serializations, reads and checks header parameters (x5c,
// x5t#S256, crit, the claimed signing time, b64, sigD), the JAdES unsigned
// properties (etsiU: sigTst, xVals, rVals, tstVD, arcTst, cSig, in order,
// naming any other as unknown), computes the archive time-stamp imprint
// (ArchiveInput), verifies signature values, and adapts crypto.Signer keys
// (HSM keys) to go-jose for signing.
//
// Parsing is our own because go-jose refuses the critical sigT header that
// JAdES signatures made before ETSI TS 119 182-1 V1.2.1 carry, does not
// read the JAdES unsigned header, and cannot verify detached sigD payloads;
// signing goes through go-jose.
package jose

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds on what one JWS may carry, so hostile input costs little.
const (
	maxJWSCerts       = 16 // x5c entries
	maxJWSUnsigned    = 64 // etsiU entries
	maxJWSValues      = 64 // xVals, crlVals, ocspVals entries each
	maxJWSTimeStamp   = 8  // tstTokens of one sigTst
	maxJWSSignatures  = 100
	maxJWSCounterSigs = 8 // signatures of a general JWS
)

// Serializations of a JWS (RFC 7515 §7).
const (
	Compact   = "compact"
	Flattened = "flattened JSON"
	General   = "general JSON"
)

// Doc is a JWS split into its serialized parts; nothing is checked yet.
type Doc struct {
	Serialization string
	// payload is the base64url payload as serialized; detached is true when
	// it is absent (RFC 7515 Appendix F).
	Payload  string
	Detached bool
	Sigs     []Sig
}

// Sig is one signature: its protected header and signature (base64url,
// as serialized) and its unprotected header (JSON serialization only).
type Sig struct {
	Protected string
	Header    map[string]json.RawMessage
	Signature string
}

// Parse splits a JWS in compact, flattened JSON or general JSON
// serialization.
func Parse(data []byte) (*Doc, error) {
	t := bytes.TrimSpace(data)
	if len(t) > 0 && t[0] == '{' {
		return parseJSON(t)
	}
	parts := strings.Split(string(t), ".")
	if len(parts) != 3 {
		return nil, errors.New("a compact JWS has three dot-separated parts")
	}
	return &Doc{Serialization: Compact, Payload: parts[1], Detached: parts[1] == "", Sigs: []Sig{{Protected: parts[0], Signature: parts[2]}}}, nil
}

// Payload returns the payload a JWS (any serialization) carries, decoded
// unless its first signature says b64 false. It checks no signature: call
// it on what a verifier has validated.
func Payload(data []byte) ([]byte, error) {
	doc, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if doc.Detached {
		return nil, errors.New("the JWS payload is detached")
	}
	if len(doc.Sigs) > 0 {
		if p, err := doc.Sigs[0].Params(); err == nil && !p.B64 {
			return []byte(doc.Payload), nil
		}
	}
	return base64.RawURLEncoding.DecodeString(doc.Payload)
}

func parseJSON(t []byte) (*Doc, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(t, &top); err != nil {
		return nil, fmt.Errorf("not a JWS JSON serialization: %w", err)
	}
	doc := &Doc{}
	if raw, ok := top["payload"]; ok {
		if err := json.Unmarshal(raw, &doc.Payload); err != nil {
			return nil, errors.New("the payload member is not a string")
		}
	}
	doc.Detached = doc.Payload == ""
	if raw, ok := top["signatures"]; ok {
		for _, k := range []string{"protected", "header", "signature"} {
			if _, dup := top[k]; dup {
				return nil, fmt.Errorf("a general JWS JSON serialization has no top-level %q member", k)
			}
		}
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errors.New("the signatures member is not an array of objects")
		}
		if len(list) == 0 {
			return nil, errors.New("the signatures array is empty")
		}
		if len(list) > maxJWSSignatures {
			return nil, fmt.Errorf("%d signatures; at most %d are accepted", len(list), maxJWSSignatures)
		}
		doc.Serialization = General
		for i, m := range list {
			s, err := sigFromJSON(m)
			if err != nil {
				return nil, fmt.Errorf("signature %d: %w", i+1, err)
			}
			doc.Sigs = append(doc.Sigs, s)
		}
		return doc, nil
	}
	if _, ok := top["signature"]; !ok {
		return nil, errors.New("the JSON object has neither a signature nor a signatures member")
	}
	s, err := sigFromJSON(top)
	if err != nil {
		return nil, err
	}
	doc.Serialization = Flattened
	doc.Sigs = []Sig{s}
	return doc, nil
}

func sigFromJSON(m map[string]json.RawMessage) (Sig, error) {
	var s Sig
	raw, ok := m["signature"]
	if !ok {
		return s, errors.New("no signature member")
	}
	if err := json.Unmarshal(raw, &s.Signature); err != nil {
		return s, errors.New("the signature member is not a string")
	}
	_, hasProt := m["protected"]
	if hasProt {
		if err := json.Unmarshal(m["protected"], &s.Protected); err != nil {
			return s, errors.New("the protected member is not a string")
		}
	}
	if raw, ok := m["header"]; ok {
		if err := json.Unmarshal(raw, &s.Header); err != nil || s.Header == nil {
			return s, errors.New("the header member is not a JSON object")
		}
	}
	if !hasProt && s.Header == nil {
		return s, errors.New("a signature needs a protected or an unprotected header")
	}
	return s, nil
}

// jwsRegistered are the header parameters RFC 7515 and RFC 7518 define for
// JWS; crit must not list them (RFC 7515 §4.1.11).
var jwsRegistered = []string{"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit"}

// jwsUnderstood are the extension parameters this verifier processes and so
// accepts as critical: the JAdES claimed signing time, as sigT or as iat
// (which ETSI TS 119 182-1 V1.2.1 does not ask to list in crit, but RFC 7515
// allows), RFC 7797's b64, and the JAdES detached-content reference sigD.
var jwsUnderstood = []string{"sigT", "iat", "b64", "sigD"}

// maxNumericDate is 9999-12-31T23:59:59Z, the latest iat accepted.
const maxNumericDate = 253402300799

// jwsAlgs are the signature algorithms accepted (RFC 7518 §3, RFC 8037).
var jwsAlgs = []string{"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// Params are the header parameters of one signature.
type Params struct {
	Alg string
	// certs is the x5c chain, signer first; certsProtected says it came
	// from the protected header.
	Certs          []*x509.Certificate
	CertsProtected bool
	// x5t is the x5t#S256 thumbprint when present (protected or not).
	X5T          []byte
	X5TProtected bool
	// claimed is the JAdES claimed signing time, from iat (ETSI TS 119
	// 182-1 V1.2.1 clause 5.1.11) or, in signatures made before V1.2.1,
	// from sigT (clause 5.2.1); claimedFrom names the header parameter
	// used. claimedOK says whether it is carried as JAdES requires: iat in
	// the protected header, in whole seconds; sigT in the protected header
	// and listed in crit. claimedNotes say what is amiss.
	Claimed      *time.Time
	ClaimedFrom  string
	ClaimedOK    bool
	ClaimedNotes []string
	// etsiU holds the JAdES unsigned properties, in order.
	EtsiU []json.RawMessage
	// B64 is false for an unencoded payload (RFC 7797).
	B64 bool
	// SigD references detached content (ETSI TS 119 182-1 §5.2.8).
	SigD *SigD
}

// Mechanisms of sigD (ETSI TS 119 182-1 §5.2.8).
const (
	MechHTTPHeaders   = "http://uri.etsi.org/19182/HttpHeaders"
	MechObjectByURI   = "http://uri.etsi.org/19182/ObjectIdByURI"
	MechObjectByHash  = "http://uri.etsi.org/19182/ObjectIdByURIHash"
	maxSigDReferences = 16
)

// SigD is the JAdES reference to detached data objects.
type SigD struct {
	Mechanism string
	// Names are the data objects' URIs (pars).
	Names []string
	// HashAlg and Digests (hashM, hashV) are the digests of each object
	// (ObjectIdByURIHash); HashAlg is 0 when hashM names no known digest.
	HashAlg  crypto.Hash
	HashName string
	Digests  [][]byte
	Types    []string
}

func critLists(prot map[string]json.RawMessage, name string) bool {
	var crit []string
	_ = json.Unmarshal(prot["crit"], &crit)
	return slices.Contains(crit, name)
}

func parseSigD(raw json.RawMessage) (*SigD, error) {
	var v struct {
		MID   string   `json:"mId"`
		Pars  []string `json:"pars"`
		HashM string   `json:"hashM"`
		HashV []string `json:"hashV"`
		Ctys  []string `json:"ctys"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, formatErr("sigD is not an object")
	}
	if len(v.Pars) == 0 || len(v.Pars) > maxSigDReferences {
		return nil, formatErr("sigD references %d objects", len(v.Pars))
	}
	d := &SigD{Mechanism: v.MID, Names: v.Pars, HashName: v.HashM, Types: v.Ctys}
	switch v.MID {
	case MechHTTPHeaders, MechObjectByURI:
	case MechObjectByHash:
		if len(v.HashV) != len(v.Pars) {
			return nil, formatErr("sigD has %d digests for %d objects", len(v.HashV), len(v.Pars))
		}
		d.HashAlg = map[string]crypto.Hash{"S256": crypto.SHA256, "S384": crypto.SHA384, "S512": crypto.SHA512}[v.HashM]
		for i, h := range v.HashV {
			b, err := base64.RawURLEncoding.DecodeString(h)
			if err != nil {
				return nil, formatErr("sigD digest %d is not base64url", i+1)
			}
			d.Digests = append(d.Digests, b)
		}
	default:
		return nil, formatErr("unknown sigD mechanism %q", v.MID)
	}
	return d, nil
}

// FormatError is a header or serialization defect: FORMAT_FAILURE.
type FormatError struct{ msg string }

func (e *FormatError) Error() string { return e.msg }

func formatErr(format string, args ...any) error {
	return &FormatError{msg: fmt.Sprintf(format, args...)}
}

// parseParams decodes and checks one signature's headers.
func (s Sig) Params() (*Params, error) {
	prot := map[string]json.RawMessage{}
	if s.Protected != "" {
		b, err := base64.RawURLEncoding.DecodeString(s.Protected)
		if err != nil {
			return nil, formatErr("the protected header is not base64url")
		}
		if err := json.Unmarshal(b, &prot); err != nil || prot == nil {
			return nil, formatErr("the protected header is not a JSON object")
		}
	}
	for k := range s.Header {
		if _, dup := prot[k]; dup {
			return nil, formatErr("header parameter %q is both protected and unprotected", k)
		}
	}
	get := func(name string) (json.RawMessage, bool, bool) {
		if v, ok := prot[name]; ok {
			return v, true, true
		}
		v, ok := s.Header[name]
		return v, ok, false
	}
	p := &Params{}

	// Unencoded payload (RFC 7797) and detached content (JAdES sigD): both
	// change the signing input and must be understood, so both must be
	// protected and listed in crit.
	p.B64 = true
	if raw, ok, protected := get("b64"); ok {
		if err := json.Unmarshal(raw, &p.B64); err != nil {
			return nil, formatErr("the b64 header parameter is not a boolean")
		}
		if !p.B64 && (!protected || !critLists(prot, "b64")) {
			return nil, formatErr("b64 false must be protected and listed in crit (RFC 7797 §6)")
		}
	}
	if raw, ok, protected := get("sigD"); ok {
		if !protected || !critLists(prot, "sigD") {
			return nil, formatErr("sigD must be protected and listed in crit")
		}
		d, err := parseSigD(raw)
		if err != nil {
			return nil, err
		}
		p.SigD = d
	}

	// crit (RFC 7515 §4.1.11).
	if _, ok := s.Header["crit"]; ok {
		return nil, formatErr("crit must be in the protected header")
	}
	var crit []string
	if raw, ok := prot["crit"]; ok {
		if err := json.Unmarshal(raw, &crit); err != nil || len(crit) == 0 {
			return nil, formatErr("crit must be a non-empty array of strings")
		}
		for _, name := range crit {
			switch {
			case slices.Contains(jwsRegistered, name):
				return nil, formatErr("crit lists %q, which RFC 7515 defines", name)
			case !slices.Contains(jwsUnderstood, name):
				return nil, formatErr("unsupported critical header parameter %q", name)
			}
			if _, ok := prot[name]; !ok {
				return nil, formatErr("crit lists %q, which the protected header does not carry", name)
			}
		}
	}

	// alg.
	raw, ok, _ := get("alg")
	if !ok {
		return nil, formatErr("no alg header parameter")
	}
	if err := json.Unmarshal(raw, &p.Alg); err != nil {
		return nil, formatErr("alg is not a string")
	}
	switch {
	case p.Alg == "none":
		return nil, formatErr("an unsecured JWS (alg none) has no signature")
	case strings.HasPrefix(p.Alg, "HS"):
		return nil, formatErr("alg %s is a MAC, not a signature", p.Alg)
	case !slices.Contains(jwsAlgs, p.Alg):
		return nil, formatErr("unsupported alg %q", p.Alg)
	}

	// Signing certificate: x5c and x5t#S256.
	if raw, ok, protected := get("x5c"); ok {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, formatErr("x5c is not an array of strings")
		}
		if len(list) > maxJWSCerts {
			return nil, formatErr("x5c has %d certificates; at most %d are accepted", len(list), maxJWSCerts)
		}
		for i, b64 := range list {
			der, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return nil, formatErr("x5c entry %d is not base64", i+1)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return nil, formatErr("x5c entry %d is not a certificate: %v", i+1, err)
			}
			p.Certs = append(p.Certs, c)
		}
		p.CertsProtected = protected && len(p.Certs) > 0
	}
	if raw, ok, protected := get("x5t#S256"); ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, formatErr("x5t#S256 is not a string")
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) != sha256.Size {
			return nil, formatErr("x5t#S256 is not a base64url SHA-256 digest")
		}
		p.X5T, p.X5TProtected = b, protected
	}

	// JAdES claimed signing time: iat, or sigT in older signatures.
	var sigT *time.Time
	var sigTOK bool
	if raw, ok, protected := get("sigT"); ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, formatErr("sigT is not a string")
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, formatErr("sigT is not an RFC 3339 time: %q", s)
		}
		t = t.UTC()
		sigT, sigTOK = &t, protected && slices.Contains(crit, "sigT")
	}
	if raw, ok, protected := get("iat"); ok {
		t, whole, err := NumericDate(raw)
		if err != nil {
			return nil, formatErr("iat %v", err)
		}
		p.Claimed, p.ClaimedFrom, p.ClaimedOK = &t, "iat", protected && whole
		if !protected {
			p.ClaimedNotes = append(p.ClaimedNotes, "iat is not in the protected header, as JAdES requires")
		}
		if !whole {
			p.ClaimedNotes = append(p.ClaimedNotes, "iat has fractions of a second, which JAdES does not allow")
		}
		if sigT != nil && !sigT.Equal(t) {
			p.ClaimedNotes = append(p.ClaimedNotes, "sigT "+sigT.Format(time.RFC3339)+" differs from iat; iat is used")
		}
	} else if sigT != nil {
		p.Claimed, p.ClaimedFrom, p.ClaimedOK = sigT, "sigT", sigTOK
		if !sigTOK {
			p.ClaimedNotes = append(p.ClaimedNotes, "sigT is not a protected header parameter listed in crit, as JAdES requires")
		}
	}

	// JAdES unsigned properties.
	if _, ok := prot["etsiU"]; ok {
		return nil, formatErr("etsiU must be in the unprotected header")
	}
	if raw, ok := s.Header["etsiU"]; ok {
		if err := json.Unmarshal(raw, &p.EtsiU); err != nil {
			return nil, formatErr("etsiU is not an array")
		}
		if len(p.EtsiU) > maxJWSUnsigned {
			return nil, formatErr("etsiU has %d entries; at most %d are accepted", len(p.EtsiU), maxJWSUnsigned)
		}
	}
	return p, nil
}

// NumericDate reads an RFC 7519 NumericDate (seconds since the epoch, a
// JSON number) and says whether it has no fraction of a second.
func NumericDate(raw json.RawMessage) (time.Time, bool, error) {
	var n json.Number
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] == '"' || json.Unmarshal(t, &n) != nil || n == "" {
		return time.Time{}, false, errors.New("is not a NumericDate (a JSON number)")
	}
	secs, whole := int64(0), true
	if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
		secs = i
	} else {
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
			return time.Time{}, false, errors.New("is out of range")
		}
		secs, whole = int64(math.Floor(f)), f == math.Floor(f)
	}
	if secs < 0 || secs > maxNumericDate {
		return time.Time{}, false, errors.New("is out of range")
	}
	return time.Unix(secs, 0).UTC(), whole, nil
}

// Unsigned is what the JAdES unsigned properties carry.
type Unsigned struct {
	// sigTst are the signature time-stamp tokens (DER).
	SigTst [][]byte
	// certs are the certificate values (xVals).
	Certs []*x509.Certificate
	// CRLs, OCSPs (OCSPResponse) and BasicOCSPs (BasicOCSPResponse) are the
	// revocation values (rVals).
	CRLs, OCSPs, BasicOCSPs [][]byte
	// CounterSigs are the counter-signatures (cSig), each a JWS in compact
	// (a JSON string) or JSON serialization.
	CounterSigs []json.RawMessage
	// Entries are the etsiU elements in order, as serialized.
	Entries []Entry
	// ArcTst are the archive time-stamps (arcTst), in etsiU order.
	ArcTst []ArchiveTimeStamp
	// SigTstAt is the etsiU position of each SigTst token.
	SigTstAt []int
	// Unknown names unsigned properties this package does not process: a
	// validator must not pass a signature it did not fully understand.
	Unknown []string
	// problems are unreadable entries, skipped.
	Problems []string
}

// Entry is one element of the etsiU array.
type Entry struct {
	// Name is the element's one member name ("" when unreadable).
	Name string
	// Encoded is the element as serialized when it is incorporated
	// base64url encoded; Clear says it is incorporated as a JSON object.
	Encoded string
	Clear   bool
}

// ArchiveTimeStamp is one arcTst element (ETSI TS 119 182-1 §5.3.6.2).
type ArchiveTimeStamp struct {
	// Index is its position in etsiU.
	Index int
	// Tokens are the time-stamp tokens (DER).
	Tokens [][]byte
	// CanonAlg is the canonicalization algorithm named, if any.
	CanonAlg string
	// Err says why the element cannot be used (unreadable, or a form
	// this package does not process).
	Err error
}

// ParseUnsigned reads the etsiU entries: each a JSON object with one member,
// incorporated as is or base64url encoded (ETSI TS 119 182-1 §5.3).
func ParseUnsigned(entries []json.RawMessage) *Unsigned {
	u := &Unsigned{}
	for i, raw := range entries {
		var obj map[string]json.RawMessage
		var enc string
		entry := Entry{Clear: true}
		if json.Unmarshal(raw, &enc) == nil {
			entry = Entry{Encoded: enc}
			b, err := base64.RawURLEncoding.DecodeString(enc)
			if err != nil {
				u.Entries = append(u.Entries, entry)
				u.Problems = append(u.Problems, fmt.Sprintf("etsiU entry %d is not base64url", i+1))
				continue
			}
			raw = b
		}
		if err := json.Unmarshal(raw, &obj); err != nil || len(obj) != 1 {
			u.Entries = append(u.Entries, entry)
			u.Problems = append(u.Problems, fmt.Sprintf("etsiU entry %d is not an object with one member", i+1))
			continue
		}
		for name, val := range obj {
			entry.Name = name
			u.Entries = append(u.Entries, entry)
			var err error
			switch name {
			case "sigTst":
				before := len(u.SigTst)
				err = u.addSigTst(val)
				for range u.SigTst[before:] {
					u.SigTstAt = append(u.SigTstAt, i)
				}
			case "xVals":
				err = u.addXVals(val)
			case "rVals":
				err = u.addRVals(val)
			case "tstVD":
				err = u.addTstVD(val)
			case "arcTst":
				a := ArchiveTimeStamp{Index: i}
				a.Tokens, a.CanonAlg, a.Err = parseArcTst(val)
				u.ArcTst = append(u.ArcTst, a)
			case "cSig":
				if len(u.CounterSigs) >= maxJWSCounterSigs {
					err = fmt.Errorf("more than %d counter-signatures", maxJWSCounterSigs)
				} else {
					u.CounterSigs = append(u.CounterSigs, val)
				}
			default:
				u.Unknown = append(u.Unknown, name)
			}
			if err != nil {
				u.Problems = append(u.Problems, fmt.Sprintf("etsiU %s: %v", name, err))
			}
		}
	}
	return u
}

type jadesValue struct {
	Val      string `json:"val"`
	Encoding string `json:"encoding"`
}

// derEncoding is the one value encoding accepted (the default).
const derEncoding = "http://uri.etsi.org/19182/DER"

func (jv jadesValue) der() ([]byte, error) {
	if jv.Encoding != "" && jv.Encoding != derEncoding {
		return nil, fmt.Errorf("unsupported encoding %q", jv.Encoding)
	}
	b, err := base64.StdEncoding.DecodeString(jv.Val)
	if err != nil || len(b) == 0 {
		return nil, errors.New("value is not base64")
	}
	return b, nil
}

func (u *Unsigned) addSigTst(raw json.RawMessage) error {
	var tst struct {
		Tokens   []jadesValue `json:"tstTokens"`
		CanonAlg string       `json:"canonAlg"`
	}
	if err := json.Unmarshal(raw, &tst); err != nil {
		return errors.New("not a time-stamp object")
	}
	if tst.CanonAlg != "" {
		return fmt.Errorf("canonicalization %q is not supported", tst.CanonAlg)
	}
	if len(tst.Tokens) == 0 || len(tst.Tokens) > maxJWSTimeStamp {
		return fmt.Errorf("%d time-stamp tokens", len(tst.Tokens))
	}
	for _, tok := range tst.Tokens {
		der, err := tok.der()
		if err != nil {
			return err
		}
		u.SigTst = append(u.SigTst, der)
	}
	return nil
}

func (u *Unsigned) addXVals(raw json.RawMessage) error {
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return errors.New("not an array of objects")
	}
	if len(list) > maxJWSValues {
		return fmt.Errorf("%d values; at most %d are accepted", len(list), maxJWSValues)
	}
	for _, item := range list {
		raw, ok := item["x509Cert"]
		if !ok {
			continue // otherCert: not used
		}
		// x509Cert is a pkiOb object (ETSI TS 119 182-1 §5.3.5.1); Kyso
		// signatures made before wrote the base64 string alone.
		var der []byte
		var s string
		if json.Unmarshal(raw, &s) == nil {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return errors.New("x509Cert is not base64")
			}
			der = b
		} else {
			var jv jadesValue
			if err := json.Unmarshal(raw, &jv); err != nil {
				return errors.New("x509Cert is neither a pkiOb object nor a string")
			}
			b, err := jv.der()
			if err != nil {
				return fmt.Errorf("x509Cert: %w", err)
			}
			der = b
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return fmt.Errorf("x509Cert: %w", err)
		}
		u.Certs = append(u.Certs, c)
	}
	return nil
}

func (u *Unsigned) addRVals(raw json.RawMessage) error {
	var rv struct {
		CRLs  []jadesValue `json:"crlVals"`
		OCSPs []jadesValue `json:"ocspVals"`
	}
	if err := json.Unmarshal(raw, &rv); err != nil {
		return errors.New("not a revocation values object")
	}
	if len(rv.CRLs) > maxJWSValues || len(rv.OCSPs) > maxJWSValues {
		return fmt.Errorf("more than %d revocation values", maxJWSValues)
	}
	for _, c := range rv.CRLs {
		der, err := c.der()
		if err != nil {
			return fmt.Errorf("crlVals: %w", err)
		}
		u.CRLs = append(u.CRLs, der)
	}
	for _, o := range rv.OCSPs {
		der, err := o.der()
		if err != nil {
			return fmt.Errorf("ocspVals: %w", err)
		}
		// An OCSPResponse starts with its ENUMERATED status; a
		// BasicOCSPResponse with its tbsResponseData SEQUENCE.
		if isOCSPResponse(der) {
			u.OCSPs = append(u.OCSPs, der)
		} else {
			u.BasicOCSPs = append(u.BasicOCSPs, der)
		}
	}
	return nil
}

// isOCSPResponse says whether der is an OCSPResponse (rather than a
// BasicOCSPResponse): its first inner element is an ENUMERATED.
func isOCSPResponse(der []byte) bool {
	if len(der) < 2 || der[0] != 0x30 {
		return false
	}
	i := 2
	if der[1]&0x80 != 0 {
		i += int(der[1] & 0x7f)
	}
	return i < len(der) && der[i] == 0x0a
}

// addTstVD reads time-stamp validation data (tstVD, ETSI TS 119 182-1
// §5.3.5.5): certificate and revocation values for time-stamp tokens, used
// like xVals and rVals.
func (u *Unsigned) addTstVD(raw json.RawMessage) error {
	var vd map[string]json.RawMessage
	if err := json.Unmarshal(raw, &vd); err != nil {
		return errors.New("not an object")
	}
	for k := range vd {
		if k != "xVals" && k != "rVals" {
			return fmt.Errorf("unknown member %q", k)
		}
	}
	if x, ok := vd["xVals"]; ok {
		if err := u.addXVals(x); err != nil {
			return fmt.Errorf("xVals: %w", err)
		}
	}
	if r, ok := vd["rVals"]; ok {
		if err := u.addRVals(r); err != nil {
			return fmt.Errorf("rVals: %w", err)
		}
	}
	return nil
}

// ErrUnsupportedArchive marks an archive time-stamp whose message imprint
// this package cannot compute: a validator must not treat it as valid,
// nor ignore it.
var ErrUnsupportedArchive = errors.New("unsupported archive time-stamp")

// parseArcTst reads an arcTst time-stamp container: tstTokens and an
// optional canonAlg, nothing else.
func parseArcTst(raw json.RawMessage) ([][]byte, string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "", errors.New("arcTst is not a time-stamp container object")
	}
	for k := range m {
		if k != "tstTokens" && k != "canonAlg" {
			return nil, "", fmt.Errorf("%w: arcTst member %q", ErrUnsupportedArchive, k)
		}
	}
	var tst struct {
		Tokens   []jadesValue `json:"tstTokens"`
		CanonAlg string       `json:"canonAlg"`
	}
	if err := json.Unmarshal(raw, &tst); err != nil {
		return nil, "", errors.New("arcTst is not a time-stamp container object")
	}
	if len(tst.Tokens) == 0 || len(tst.Tokens) > maxJWSTimeStamp {
		return nil, tst.CanonAlg, fmt.Errorf("arcTst has %d time-stamp tokens", len(tst.Tokens))
	}
	var out [][]byte
	for _, tok := range tst.Tokens {
		der, err := tok.der()
		if err != nil {
			return nil, tst.CanonAlg, fmt.Errorf("arcTst: %w", err)
		}
		out = append(out, der)
	}
	return out, tst.CanonAlg, nil
}
