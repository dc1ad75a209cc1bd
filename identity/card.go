package identity

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"kyso/identity/aa"
	"kyso/identity/lds"
	"kyso/identity/pa"
	"kyso/identity/province"
)

// CardInput is what the phone read from the chip, as received.
type CardInput struct {
	SOD, DG1, DG13, DG15, DG14 []byte // DG14 and (for passports) DG13 may be nil
	AASignature                []byte
}

// CardPolicy is the part of the configuration VerifyCard applies.
type CardPolicy struct {
	// AllowPassports accepts TD3 passports besides TD1 citizen cards.
	AllowPassports bool
	// PassportStates are the accepted passport issuing states (empty: VNM).
	PassportStates []string
	// ContentTypes are accepted SOD eContentTypes (empty: 2.23.136.1.1.1).
	ContentTypes []asn1.ObjectIdentifier
	// Algorithms is the algorithm policy for the SOD and the DSC and,
	// except for SHA-1, for the Active Authentication key.
	Algorithms pa.AlgorithmPolicy
	// RefuseSHA1AA refuses Active Authentication signatures made with
	// SHA-1. The classic ISO/IEC 9796-2 AA of RSA chips hashes a nonce the
	// terminal chose, so collisions do not help a cloner; it stays allowed
	// unless configured otherwise.
	RefuseSHA1AA bool
}

// Card is a verified card.
type Card struct {
	IDNumber     string // 12 digits
	FullName     string
	BirthDate    string // YYYY-MM-DD
	Sex          string // "M", "F" or "" when unspecified
	Expiry       string // YYYY-MM-DD, "" when the card does not expire
	DocumentType string // "cccd" or "passport"
	IssuingState string
	// Province is the current provincial-level unit of the place of
	// residence in DG13 ("" when DG13 has none or it names no province).
	Province       string
	SODHash        string
	DSCFingerprint string
	DSCSubject     string
	CSCASubject    string
}

// VerifyCard runs passive authentication, the MRZ, profile and DG1 ⇄ DG13
// checks, the expiry check and Active Authentication over nonce. It needs
// no store; errors are *problem.Error with the reason code.
func VerifyCard(in CardInput, nonce []byte, trust *pa.TrustStore, policy CardPolicy, now time.Time) (*Card, error) {
	if len(in.SOD) == 0 || len(in.DG1) == 0 || len(in.DG15) == 0 || len(in.AASignature) == 0 {
		return nil, refusef(CodeMalformedInput, "sod, dg1, dg15 and aa_signature are required")
	}
	dgs := map[int][]byte{1: in.DG1, 15: in.DG15}
	if in.DG13 != nil {
		dgs[13] = in.DG13
	}
	if in.DG14 != nil {
		dgs[14] = in.DG14
	}
	// The issuing state and date of issue decide which signers may have
	// signed; pa.Verify checks the data groups' hashes before it uses them.
	popts := pa.Options{Now: now, ContentTypes: policy.ContentTypes, Algorithms: policy.Algorithms}
	if m, err := lds.ParseDG1(in.DG1); err == nil {
		// Documents of a type or state the policy refuses are refused
		// before any signer is looked at.
		if _, err := documentType(m, policy); err != nil {
			return nil, err
		}
		popts.IssuingState = m.IssuingState
	}
	if in.DG13 != nil {
		if d, err := lds.ParseDG13(in.DG13); err == nil && d.IssueDate() != "" {
			if t, err := vnDate(d.IssueDate()); err == nil {
				popts.IssueDate = t
			}
		}
	}
	res, err := pa.Verify(in.SOD, dgs, trust, popts)
	switch {
	case err == nil:
	case errors.Is(err, pa.ErrCountryMismatch):
		return nil, refuse(CodeSignerCountryMismatch, err)
	case errors.Is(err, pa.ErrDSCKeyUsage):
		return nil, refuse(CodeDSCKeyUsage, err)
	case errors.Is(err, pa.ErrDSCIsCA):
		return nil, refuse(CodeDSCIsCA, err)
	case errors.Is(err, pa.ErrCSCAProfile):
		return nil, refuse(CodeCSCANotCA, err)
	case errors.Is(err, pa.ErrNotValidAtIssue):
		return nil, refuse(CodeSignerNotValidAtIssue, err)
	case errors.Is(err, pa.ErrAlgorithm):
		return nil, refuse(CodeSODAlgorithmRefused, err)
	case errors.Is(err, pa.ErrMalformed):
		return nil, refuse(CodeMalformedInput, err)
	case errors.Is(err, pa.ErrSignature):
		return nil, refuse(CodeSODSignatureInvalid, err)
	case errors.Is(err, pa.ErrUntrusted):
		return nil, refuse(CodeDSCUntrusted, err)
	case errors.Is(err, pa.ErrDataGroupNotInSOD):
		return nil, refuse(CodeDGNotInSOD, err)
	case errors.Is(err, pa.ErrDataGroupHash):
		return nil, refuse(CodeDGHashMismatch, err)
	default:
		return nil, refuse(CodeSODSignatureInvalid, err)
	}

	mrz, err := lds.ParseDG1(in.DG1)
	var cde *lds.CheckDigitError
	switch {
	case errors.As(err, &cde):
		return nil, refuse(CodeMRZCheckDigit, err)
	case err != nil:
		return nil, refuse(CodeMalformedInput, err)
	}
	card := &Card{
		IssuingState: mrz.IssuingState, SODHash: res.SODHash, DSCFingerprint: res.DSCFingerprint,
		DSCSubject: res.DSC.Subject.String(),
	}
	if res.CSCA != nil {
		card.CSCASubject = res.CSCA.Subject.String()
	}
	var dg13 *lds.DG13
	if in.DG13 != nil {
		if dg13, err = lds.ParseDG13(in.DG13); err != nil {
			return nil, refuse(CodeMalformedInput, err)
		}
	}
	if card.DocumentType, err = documentType(mrz, policy); err != nil {
		return nil, err
	}
	if card.DocumentType == "cccd" && dg13 == nil {
		return nil, refusef(CodeMalformedInput, "dg13 is required for a citizen card")
	}
	if err := consistency(card, mrz, dg13, now); err != nil {
		return nil, err
	}

	pub, err := lds.ParseDG15(in.DG15)
	if err != nil {
		return nil, refuse(CodeMalformedInput, err)
	}
	var dg14 *lds.DG14
	if in.DG14 != nil {
		if dg14, err = lds.ParseDG14(in.DG14); err != nil {
			return nil, refuse(CodeMalformedInput, err)
		}
	}
	if err := policy.Algorithms.CheckKey(pub, popts.IssueDate); err != nil {
		return nil, refuse(CodeAAAlgorithmRefused, fmt.Errorf("active authentication key: %w", err))
	}
	if err := aa.Verify(pub, dg14, nonce, in.AASignature); err != nil {
		return nil, refuse(CodeAAFailed, err)
	}
	if h := aa.SignatureHash(pub, dg14, in.AASignature); policy.RefuseSHA1AA || h != crypto.SHA1 {
		if err := (pa.AlgorithmPolicy{}).CheckHash(h, "active authentication signature"); err != nil {
			return nil, refuse(CodeAAAlgorithmRefused, err)
		}
	}
	return card, nil
}

// documentType accepts VNM citizen cards and, when configured, passports
// of the listed states.
func documentType(mrz *lds.MRZ, policy CardPolicy) (string, error) {
	switch {
	case mrz.Format == "TD1" && mrz.DocumentCode != "" && strings.ContainsAny(mrz.DocumentCode[:1], "IAC"):
		if mrz.IssuingState != "VNM" {
			return "", refusef(CodeIssuingStateRefused, "citizen cards are accepted from VNM only, not %s", mrz.IssuingState)
		}
		return "cccd", nil
	case mrz.Format == "TD3" && strings.HasPrefix(mrz.DocumentCode, "P"):
		states := policy.PassportStates
		if len(states) == 0 {
			states = []string{"VNM"}
		}
		if !policy.AllowPassports || !slices.Contains(states, mrz.IssuingState) {
			return "", refusef(CodeIssuingStateRefused, "passports from %s are not accepted", mrz.IssuingState)
		}
		return "passport", nil
	}
	return "", refusef(CodeIssuingStateRefused, "document type %s (%s) is not accepted", mrz.DocumentCode, mrz.Format)
}

// consistency fills card from DG1 and DG13 and refuses disagreements.
func consistency(card *Card, mrz *lds.MRZ, dg13 *lds.DG13, now time.Time) error {
	mismatch := func(format string, args ...any) error {
		return refusef(CodeDG1DG13Mismatch, format, args...)
	}
	mrzSex := ""
	if mrz.Sex == "M" || mrz.Sex == "F" {
		mrzSex = mrz.Sex
	}
	card.Sex = mrzSex
	card.FullName = strings.TrimSpace(mrz.Primary + " " + mrz.Secondary)
	card.BirthDate = mrzDate(mrz.DateOfBirth, now, true)
	card.Expiry = mrzDate(mrz.DateOfExpiry, now, false)

	if dg13 == nil { // passport without DG13: the personal number is the ID
		id := strings.TrimRight(mrz.OptionalData1, "<")
		if !isID(id) {
			return refusef(CodeMalformedInput, "the passport carries no 12-digit personal ID number")
		}
		card.IDNumber = id
	} else {
		id := dg13.IDNumber()
		if !isID(id) {
			return refusef(CodeMalformedInput, "DG13 ID number %q is not 12 digits", id)
		}
		card.IDNumber = id
		if u, ok := province.FromAddress(norm.NFC.String(dg13.Field(lds.DG13Residence))); ok {
			card.Province = u.Name
		}
		if name := norm.NFC.String(dg13.FullName()); name != "" {
			card.FullName = name
		}
		if card.DocumentType == "cccd" {
			if mrz.DocumentNumber != id[3:] {
				return mismatch("MRZ document number %s is not the last 9 digits of ID %s", mrz.DocumentNumber, id)
			}
			if !strings.HasPrefix(mrz.OptionalData1, id) {
				return mismatch("MRZ optional data does not carry ID %s", id)
			}
		} else if pn := strings.TrimRight(mrz.OptionalData1, "<"); pn != "" && pn != id {
			return mismatch("passport personal number %s differs from DG13 ID %s", pn, id)
		}
		if b := dg13.BirthDate(); b != "" {
			d, err := vnDate(b)
			if err != nil {
				return refuse(CodeMalformedInput, fmt.Errorf("DG13 birth date: %w", err))
			}
			if d.Format("060102") != mrz.DateOfBirth {
				return mismatch("birth date %s in DG13 differs from %s in the MRZ", b, mrz.DateOfBirth)
			}
			card.BirthDate = d.Format(time.DateOnly)
		}
		if s := dg13.Sex(); s != "" {
			sex := vnSex(s)
			if sex == "" {
				return refusef(CodeMalformedInput, "DG13 sex %q not understood", s)
			}
			if mrzSex != "" && sex != mrzSex {
				return mismatch("sex %s in DG13 differs from %s in the MRZ", sex, mrzSex)
			}
			card.Sex = sex
		}
		if e := dg13.ExpiryDate(); e != "" {
			if d, err := vnDate(e); err == nil {
				if d.Format("060102") != mrz.DateOfExpiry {
					return mismatch("expiry %s in DG13 differs from %s in the MRZ", e, mrz.DateOfExpiry)
				}
				card.Expiry = d.Format(time.DateOnly)
			} else if strings.Trim(mrz.DateOfExpiry, "<") == "" {
				card.Expiry = "" // no expiry ("Không thời hạn")
			}
		}
	}
	if card.Expiry != "" {
		exp, err := time.Parse(time.DateOnly, card.Expiry)
		if err != nil {
			return refuse(CodeMalformedInput, fmt.Errorf("expiry: %w", err))
		}
		// Valid through the whole expiry day, Vietnam time (UTC+7).
		if now.After(exp.Add(24*time.Hour - 7*time.Hour)) {
			return refusef(CodeCardExpired, "the card expired on %s", card.Expiry)
		}
	}
	return nil
}

func isID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}

// vnDate parses dd/mm/yyyy (also d/m/yyyy and dd-mm-yyyy).
func vnDate(s string) (time.Time, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "-", "/")
	for _, layout := range []string{"02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not dd/mm/yyyy", s)
}

func vnSex(s string) string {
	s = strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	switch s {
	case "nam", "m", "male":
		return "M"
	case "nữ", "nu", "f", "female":
		return "F"
	}
	return ""
}

// mrzDate turns YYMMDD into YYYY-MM-DD: birth dates are never in the
// future, expiry dates are taken in 20YY. Unreadable dates give "".
func mrzDate(s string, now time.Time, birth bool) string {
	t, err := time.Parse("060102", s)
	if err != nil {
		return ""
	}
	y := t.Year()%100 + 2000
	if birth && y > now.Year() {
		y -= 100
	}
	return time.Date(y, t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}
