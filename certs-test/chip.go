package certstest

import (
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"kyso/identity/aa"
	"kyso/identity/lds"
	"kyso/identity/pki"
)

// ChipOptions describes the card to generate.
type ChipOptions struct {
	ID        string // 12-digit personal ID number (required)
	Name      string // full name in Vietnamese order, e.g. "Nguyễn Thị Mai"
	BirthDate string // YYYY-MM-DD (default 1990-02-15)
	Sex       string // "M" or "F" (default "F")
	Expiry    string // YYYY-MM-DD (default: five years after Now)
	Alg       string // rsa, rsa-pss, p256, p384, brainpool (default p256)
	Tamper    string // "" or one of Tampers()
	// Passport makes DG1 a TD3 passport MRZ (document code P, the ID as
	// personal number) instead of the TD1 citizen card.
	Passport bool
	Seed     string // determinism: same seed and Now give the same card
	// IssuerSeed derives the CSCA and Document Signer keys (default Seed),
	// so that many cards can share one trusted test CSCA.
	IssuerSeed string
	Now        time.Time
}

// Tampers maps each tamper case to the reason code a verifier must answer.
func Tampers() map[string]string {
	return map[string]string{
		"dg-hash":           "dg-hash-mismatch",
		"sod-signature":     "sod-signature-invalid",
		"dsc-untrusted":     "dsc-untrusted",
		"expired-dsc":       "dsc-untrusted",
		"dg-not-in-sod":     "dg-not-in-sod",
		"mrz-check-digit":   "mrz-check-digit",
		"dg1-dg13-mismatch": "dg1-dg13-mismatch",
		"expired-card":      "card-expired",
		"aa-key":            "aa-failed",
		"issuing-state":     "issuing-state-refused",
		// Certificate profile and algorithm policy (ICAO Doc 9303-12,
		// BSI TR-03105-5).
		"foreign-csca":    "signer-country-mismatch", // a VNM card under a trusted French CSCA
		"dsc-key-usage":   "dsc-key-usage",           // DSC without digitalSignature
		"dsc-is-ca":       "dsc-is-ca",               // the SOD signed by a CA certificate
		"csca-not-ca":     "csca-not-ca",             // anchor without basicConstraints cA
		"dsc-after-issue": "signer-not-valid-at-issue",
		"sod-sha1":        "sod-algorithm-refused",
		"dsc-rsa-1024":    "sod-algorithm-refused",
		"aa-rsa-1024":     "aa-algorithm-refused",
	}
}

// TamperNames lists the tamper cases in order.
func TamperNames() []string {
	var out []string
	for k := range Tampers() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Card is the content of card.json.
type Card struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	BirthDate  string   `json:"birth_date"`
	Sex        string   `json:"sex"`
	Expiry     string   `json:"expiry"`
	Alg        string   `json:"alg"`
	Tamper     string   `json:"tamper,omitempty"`
	ExpectCode string   `json:"expect_code,omitempty"`
	Seed       string   `json:"seed"`
	AAHash     string   `json:"aa_hash"`
	Files      []string `json:"files"`
}

// Chip is a generated card.
type Chip struct {
	SOD, DG1, DG13, DG14, DG15 []byte
	CSCA                       []byte // DER
	Card                       Card
	aaKey                      *key
	aaHash                     crypto.Hash
}

// Files returns the file name → content map WriteChip writes.
func (c *Chip) Files() (map[string][]byte, error) {
	kp, err := c.aaKey.marshalPrivatePEM()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"sod.bin": c.SOD, "dg1.bin": c.DG1, "dg13.bin": c.DG13, "dg15.bin": c.DG15,
		"csca.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.CSCA}),
		"aa_key.pem": kp,
	}
	if c.DG14 != nil {
		files["dg14.bin"] = c.DG14
	}
	card := c.Card
	card.Files = nil
	for n := range files {
		card.Files = append(card.Files, n)
	}
	card.Files = append(card.Files, "card.json")
	sort.Strings(card.Files)
	j, err := json.MarshalIndent(card, "", "  ")
	if err != nil {
		return nil, err
	}
	files["card.json"] = append(j, '\n')
	return files, nil
}

// Answer signs nonce as the chip does in INTERNAL AUTHENTICATE.
func (c *Chip) Answer(nonce []byte) ([]byte, error) {
	return answer(c.aaKey, c.aaHash, c.Card.Seed, nonce)
}

func answer(k *key, h crypto.Hash, seed string, nonce []byte) ([]byte, error) {
	r := newStream(seed, "aa-answer:"+hex.EncodeToString(nonce))
	if k.rsa != nil {
		return aa.SignRSA(r, k.rsa, h, nonce)
	}
	d := h.New()
	d.Write(nonce)
	rr, ss, err := eccSignRS(r, k, d.Sum(nil))
	if err != nil {
		return nil, err
	}
	n := k.ec.Curve.OrderByteLen()
	return append(rr.FillBytes(make([]byte, n)), ss.FillBytes(make([]byte, n))...), nil
}

// WriteChip generates a card and writes its files into dir (created if
// needed). See the package documentation for the file names.
func WriteChip(dir string, opts ChipOptions) error {
	c, err := NewChip(opts)
	if err != nil {
		return err
	}
	files, err := c.Files()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("certstest: %w", err)
	}
	for name, b := range files {
		mode := os.FileMode(0o644)
		if name == "aa_key.pem" {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, mode); err != nil {
			return fmt.Errorf("certstest: %w", err)
		}
	}
	return nil
}

// AnswerChallenge loads the card in dir (card.json, aa_key.pem) and returns
// the Active Authentication signature over nonce.
func AnswerChallenge(dir string, nonce []byte) ([]byte, error) {
	j, err := os.ReadFile(filepath.Join(dir, "card.json"))
	if err != nil {
		return nil, fmt.Errorf("certstest: %w", err)
	}
	var card Card
	if err := json.Unmarshal(j, &card); err != nil {
		return nil, fmt.Errorf("certstest: card.json: %w", err)
	}
	kp, err := os.ReadFile(filepath.Join(dir, "aa_key.pem"))
	if err != nil {
		return nil, fmt.Errorf("certstest: %w", err)
	}
	k, err := parsePrivatePEM(kp)
	if err != nil {
		return nil, err
	}
	h := hashByName(card.AAHash)
	if h == 0 {
		return nil, fmt.Errorf("certstest: card.json: unknown aa_hash %q", card.AAHash)
	}
	return answer(k, h, card.Seed, nonce)
}

func hashByName(s string) crypto.Hash {
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if h.String() == s {
			return h
		}
	}
	return 0
}

// MRZName transliterates a Vietnamese name to MRZ characters: diacritics
// removed, Đ → D, family name as primary identifier.
func MRZName(full string) (primary, secondary string) {
	var b strings.Builder
	for _, r := range norm.NFD.String(full) {
		switch {
		case unicode.Is(unicode.Mn, r):
		case r == 'đ' || r == 'Đ':
			b.WriteRune('D')
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	parts := strings.Fields(b.String())
	if len(parts) == 0 {
		return "", ""
	}
	return parts[0], strings.Join(parts[1:], " ")
}

func yymmdd(t time.Time) string   { return t.Format("060102") }
func ddmmyyyy(t time.Time) string { return t.Format("02/01/2006") }

// NewChip generates a card in memory.
func NewChip(opts ChipOptions) (*Chip, error) {
	if len(opts.ID) != 12 || strings.Trim(opts.ID, "0123456789") != "" {
		return nil, errors.New("certstest: ID must be 12 digits")
	}
	if opts.Alg == "" {
		opts.Alg = "p256"
	}
	prof, ok := profiles[opts.Alg]
	if !ok {
		return nil, fmt.Errorf("certstest: unknown algorithm %q (want one of %s)", opts.Alg, strings.Join(Algorithms(), ", "))
	}
	expect, ok := Tampers()[opts.Tamper]
	if opts.Tamper != "" && !ok {
		return nil, fmt.Errorf("certstest: unknown tamper case %q (want one of %s)", opts.Tamper, strings.Join(TamperNames(), ", "))
	}
	if opts.Name == "" {
		opts.Name = "Nguyễn Thị Mai"
	}
	if opts.Sex == "" {
		opts.Sex = "F"
	}
	if opts.Sex != "M" && opts.Sex != "F" {
		return nil, errors.New("certstest: sex must be M or F")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	now := opts.Now.UTC()
	if opts.Seed == "" {
		opts.Seed = "kyso-test-card-" + opts.ID
	}
	if opts.BirthDate == "" {
		opts.BirthDate = "1990-02-15"
	}
	birth, err := time.Parse(time.DateOnly, opts.BirthDate)
	if err != nil {
		return nil, fmt.Errorf("certstest: birth date: %w", err)
	}
	expiry := time.Date(now.Year()+5, now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if opts.Expiry != "" {
		if expiry, err = time.Parse(time.DateOnly, opts.Expiry); err != nil {
			return nil, fmt.Errorf("certstest: expiry: %w", err)
		}
	}
	if opts.Tamper == "expired-card" {
		expiry = time.Date(now.Year()-1, now.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	issue := time.Date(now.Year()-1, now.Month(), 1, 0, 0, 0, 0, time.UTC)

	if opts.IssuerSeed == "" {
		opts.IssuerSeed = opts.Seed
	}

	// Keys.
	csca, err := genKey(opts.IssuerSeed, "csca", prof.cscaKey)
	if err != nil {
		return nil, err
	}
	dscKind, aaKind, sodHash := prof.dscKey, prof.aaKey, prof.hash
	switch opts.Tamper {
	case "dsc-rsa-1024":
		dscKind = "rsa1024"
	case "aa-rsa-1024":
		aaKind = "rsa1024"
	case "sod-sha1":
		sodHash = crypto.SHA1
	}
	dscLabel, aaLabel := "dsc", "aa"
	if dscKind != prof.dscKey {
		dscLabel += "-" + dscKind
	}
	if aaKind != prof.aaKey {
		aaLabel += "-" + aaKind
	}
	dsc, err := genKey(opts.IssuerSeed, dscLabel, dscKind)
	if err != nil {
		return nil, err
	}
	aaKey, err := genKey(opts.Seed, aaLabel, aaKind)
	if err != nil {
		return nil, err
	}
	sig := newStream(opts.Seed, "signatures")

	// Certificates.
	country := "VN"
	if opts.Tamper == "foreign-csca" {
		country = "FR"
	}
	cscaName := pkix.Name{Country: []string{country}, Organization: []string{"Kyso Test"}, CommonName: "Kyso Test CSCA " + opts.Alg}
	cscaDER, cscaSKI, err := makeCert(sig, certSpec{
		serial: 1, issuer: cscaName, subject: cscaName,
		notBefore: now.AddDate(-3, 0, 0), notAfter: now.AddDate(15, 0, 0),
		pub: csca.public(), explicit: prof.explicit, isCA: true,
		noBasicConstraints: opts.Tamper == "csca-not-ca",
	}, csca, prof.hash, prof.pss)
	if err != nil {
		return nil, err
	}
	dscSigner, dscAKI := csca, cscaSKI
	if opts.Tamper == "dsc-untrusted" {
		// Same CSCA name, different key: the chain must not verify.
		rogue, err := genKey(opts.Seed, "rogue-csca", prof.cscaKey)
		if err != nil {
			return nil, err
		}
		dscSigner, dscAKI = rogue, nil
	}
	dscNotAfter := now.AddDate(10, 0, 0)
	if opts.Tamper == "expired-dsc" {
		dscNotAfter = now.AddDate(0, 0, -1)
	}
	dscName := pkix.Name{Country: []string{country}, Organization: []string{"Kyso Test"}, CommonName: "Kyso Test Document Signer " + opts.Alg}
	const dscSerial = 2
	// The DSC was valid when the card was issued (a year before Now).
	dscNotBefore := issue.AddDate(0, -1, 0)
	if opts.Tamper == "dsc-after-issue" {
		dscNotBefore = issue.AddDate(0, 1, 0)
	}
	dscSpec := certSpec{
		serial: dscSerial, issuer: cscaName, subject: dscName,
		notBefore: dscNotBefore, notAfter: dscNotAfter,
		pub: dsc.public(), explicit: prof.explicit && dsc.ec != nil, aki: dscAKI,
	}
	switch opts.Tamper {
	case "dsc-key-usage":
		dscSpec.keyUsage = &asn1.BitString{Bytes: []byte{0x40}, BitLength: 2} // nonRepudiation only
	case "dsc-is-ca":
		dscSpec.isCA = true
	}
	dscDER, _, err := makeCert(sig, dscSpec, dscSigner, prof.hash, prof.pss)
	if err != nil {
		return nil, err
	}
	dscCert, err := pki.ParseCertificate(dscDER)
	if err != nil {
		return nil, fmt.Errorf("certstest: generated DSC does not parse: %w", err)
	}

	// Data groups.
	primary, secondary := MRZName(opts.Name)
	state := "VNM"
	if opts.Tamper == "issuing-state" {
		state = "UTO"
	}
	mrzBirth := birth
	if opts.Tamper == "dg1-dg13-mismatch" {
		mrzBirth = birth.AddDate(0, 0, 1)
	}
	var mrz string
	if opts.Passport {
		mrz, err = lds.BuildTD3(lds.TD3Fields{
			DocumentCode: "P", IssuingState: state, Primary: primary, Secondary: secondary,
			DocumentNumber: "C" + opts.ID[5:], Nationality: "VNM", DateOfBirth: yymmdd(mrzBirth), Sex: opts.Sex,
			DateOfExpiry: yymmdd(expiry), PersonalNumber: opts.ID,
		})
	} else {
		mrz, err = lds.BuildTD1(lds.TD1Fields{
			DocumentCode: "ID", IssuingState: state, DocumentNumber: opts.ID[3:], Optional1: opts.ID,
			DateOfBirth: yymmdd(mrzBirth), Sex: opts.Sex, DateOfExpiry: yymmdd(expiry), Nationality: "VNM",
			Primary: primary, Secondary: secondary,
		})
	}
	if err != nil {
		return nil, err
	}
	if opts.Tamper == "mrz-check-digit" {
		b := []byte(mrz)
		i := 59 // TD1 composite check digit
		if opts.Passport {
			i = 87
		}
		b[i] = '0' + (b[i]-'0'+1)%10
		mrz = string(b)
	}
	dg1 := lds.EncodeDG1(mrz)
	sexVN := map[string]string{"M": "Nam", "F": "Nữ"}[opts.Sex]
	fields := map[int]string{
		lds.DG13IDNumber: opts.ID, lds.DG13FullName: opts.Name, lds.DG13BirthDate: ddmmyyyy(birth),
		lds.DG13Sex: sexVN, lds.DG13Nationality: "Việt Nam", lds.DG13Ethnicity: "Kinh",
		lds.DG13Religion: "Không", lds.DG13PlaceOfOrigin: "Hoàn Kiếm, Hà Nội",
		lds.DG13Residence: "Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội", lds.DG13IdentifyingFeatures: "Nốt ruồi cách 2 cm trên đuôi mắt trái",
		lds.DG13IssueDate: ddmmyyyy(issue), lds.DG13ExpiryDate: ddmmyyyy(expiry),
		lds.DG13Parents: "Nguyễn Văn An; Trần Thị Bình", lds.DG13OtherNumber1: "0" + opts.ID[4:],
	}
	dg13, err := lds.EncodeDG13(fields)
	if err != nil {
		return nil, err
	}
	aaPub := aaKey.public()
	aaSPKI, err := marshalSPKI(aaPub, false)
	if err != nil {
		return nil, err
	}
	dg15 := lds.EncodeDG15(aaSPKI)
	aaHash := crypto.SHA256
	var dg14 []byte
	if aaKey.rsa != nil {
		if opts.Alg == "rsa" && opts.Tamper != "aa-rsa-1024" {
			aaHash = crypto.SHA1 // classic trailer 0xBC
		}
	} else {
		aaHash = prof.hash
		if dg14, err = lds.EncodeDG14AA(plainECDSAOID(aaHash)); err != nil {
			return nil, err
		}
	}
	listed := map[int][]byte{1: dg1, 13: dg13, 15: dg15}
	if dg14 != nil {
		listed[14] = dg14
	}
	if opts.Tamper == "dg-not-in-sod" {
		delete(listed, 15)
	}
	issuerDER, _ := asn1.Marshal(cscaName.ToRDNSequence())
	_ = dscCert
	sod, err := buildSOD(sig, sodSpec{
		hash: sodHash, pss: prof.pss && dsc.rsa != nil, dgs: listed, dsc: dscDER, dscSerial: dscSerial,
		dscIssuer: issuerDER, signer: dsc, signingTime: now.AddDate(0, 0, -1),
	})
	if err != nil {
		return nil, err
	}
	switch opts.Tamper {
	case "sod-signature":
		sod[len(sod)-5] ^= 0x01 // inside the signature value, the last element
	case "dg-hash":
		fields[lds.DG13Residence] = "Số 2 Tràng Tiền, Hoàn Kiếm, Hà Nội"
		if dg13, err = lds.EncodeDG13(fields); err != nil {
			return nil, err
		}
	}
	chipKey := aaKey
	if opts.Tamper == "aa-key" {
		if chipKey, err = genKey(opts.Seed, "cloned-aa", prof.aaKey); err != nil {
			return nil, err
		}
	}
	return &Chip{
		SOD: sod, DG1: dg1, DG13: dg13, DG14: dg14, DG15: dg15, CSCA: cscaDER,
		aaKey: chipKey, aaHash: aaHash,
		Card: Card{
			ID: opts.ID, Name: opts.Name, BirthDate: birth.Format(time.DateOnly), Sex: opts.Sex,
			Expiry: expiry.Format(time.DateOnly), Alg: opts.Alg, Tamper: opts.Tamper, ExpectCode: expect,
			Seed: opts.Seed, AAHash: aaHash.String(),
		},
	}, nil
}

func plainECDSAOID(h crypto.Hash) asn1.ObjectIdentifier {
	switch h {
	case crypto.SHA384:
		return pki.OIDECDSAPlainSHA384
	case crypto.SHA512:
		return pki.OIDECDSAPlainSHA512
	}
	return pki.OIDECDSAPlainSHA256
}
