package lds

import (
	"errors"
	"fmt"
	"strings"
)

// MRZ is a parsed machine-readable zone (Doc 9303 parts 4-6).
type MRZ struct {
	Format         string // "TD1", "TD2" or "TD3"
	Lines          []string
	DocumentCode   string
	IssuingState   string
	DocumentNumber string // without filler, including overflow for long numbers
	DateOfBirth    string // YYMMDD
	Sex            string // "M", "F" or "<"
	DateOfExpiry   string // YYMMDD
	Nationality    string
	OptionalData1  string // TD1 line 1 / TD3 personal number (raw, with fillers)
	OptionalData2  string // TD1 line 2 / TD2 optional data
	Primary        string // surname(s), '<' turned into spaces
	Secondary      string // given names
}

// CheckDigitError names the field whose check digit is wrong.
type CheckDigitError struct {
	Field      string
	Want, Have byte
}

func (e *CheckDigitError) Error() string {
	return fmt.Sprintf("lds: MRZ check digit for %s is %q, computed %q", e.Field, e.Have, e.Want)
}

// CheckDigit computes the Doc 9303-3 4.9 check digit of s: weights 7,3,1,
// digits as such, A-Z as 10-35, '<' as 0.
func CheckDigit(s string) (byte, error) {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		case c == '<':
			v = 0
		default:
			return 0, fmt.Errorf("%w: MRZ character %q", ErrMalformed, c)
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), nil
}

func validMRZChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '<') {
			return false
		}
	}
	return true
}

// ParseDG1 parses EF.DG1 (tag 0x61 containing 5F1F MRZ) and checks every
// check digit.
func ParseDG1(b []byte) (*MRZ, error) {
	inner, err := unwrapApplication(b, 0x61, "DG1")
	if err != nil {
		return nil, err
	}
	// 5F1F L mrz
	if len(inner) < 3 || inner[0] != 0x5F || inner[1] != 0x1F {
		return nil, malformed("DG1: missing 5F1F MRZ element", nil)
	}
	l, n, ok := shortLen(inner[2:])
	if !ok || 2+n+l != len(inner) {
		return nil, malformed("DG1: bad MRZ length", nil)
	}
	m, err := ParseMRZ(string(inner[2+n:]))
	if err != nil {
		return nil, err
	}
	if err := m.Verify(); err != nil {
		return m, err
	}
	return m, nil
}

func shortLen(b []byte) (length, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	switch {
	case b[0] < 0x80:
		return int(b[0]), 1, true
	case b[0] == 0x81 && len(b) >= 2:
		return int(b[1]), 2, true
	case b[0] == 0x82 && len(b) >= 3:
		return int(b[1])<<8 | int(b[2]), 3, true
	}
	return 0, 0, false
}

// ParseMRZ splits an MRZ (90, 72 or 88 characters, optionally with line
// breaks) into fields. It does not check check digits: call Verify.
func ParseMRZ(s string) (*MRZ, error) {
	s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	if !validMRZChars(s) {
		return nil, malformed("MRZ contains characters outside A-Z 0-9 <", nil)
	}
	m := &MRZ{}
	switch len(s) {
	case 90:
		m.Format = "TD1"
		m.Lines = []string{s[:30], s[30:60], s[60:]}
		l1, l2 := m.Lines[0], m.Lines[1]
		m.DocumentCode, m.IssuingState = trimFiller(l1[0:2]), l1[2:5]
		m.DocumentNumber = trimFiller(l1[5:14])
		m.OptionalData1 = l1[15:30]
		if l1[14] == '<' { // long document number continues in optional data
			ext := strings.SplitN(l1[15:30], "<", 2)[0]
			if len(ext) >= 2 {
				m.DocumentNumber = l1[5:14] + ext[:len(ext)-1]
			}
		}
		m.DateOfBirth, m.Sex, m.DateOfExpiry, m.Nationality = l2[0:6], l2[7:8], l2[8:14], l2[15:18]
		m.OptionalData2 = l2[18:29]
		m.Primary, m.Secondary = splitName(m.Lines[2])
	case 72:
		m.Format = "TD2"
		m.Lines = []string{s[:36], s[36:]}
		l1, l2 := m.Lines[0], m.Lines[1]
		m.DocumentCode, m.IssuingState = trimFiller(l1[0:2]), l1[2:5]
		m.Primary, m.Secondary = splitName(l1[5:])
		m.DocumentNumber = trimFiller(l2[0:9])
		m.Nationality, m.DateOfBirth, m.Sex, m.DateOfExpiry = l2[10:13], l2[13:19], l2[20:21], l2[21:27]
		m.OptionalData2 = l2[28:35]
	case 88:
		m.Format = "TD3"
		m.Lines = []string{s[:44], s[44:]}
		l1, l2 := m.Lines[0], m.Lines[1]
		m.DocumentCode, m.IssuingState = trimFiller(l1[0:2]), l1[2:5]
		m.Primary, m.Secondary = splitName(l1[5:])
		m.DocumentNumber = trimFiller(l2[0:9])
		m.Nationality, m.DateOfBirth, m.Sex, m.DateOfExpiry = l2[10:13], l2[13:19], l2[20:21], l2[21:27]
		m.OptionalData1 = l2[28:42]
	default:
		return nil, malformed(fmt.Sprintf("MRZ of %d characters is neither TD1, TD2 nor TD3", len(s)), nil)
	}
	return m, nil
}

func trimFiller(s string) string { return strings.TrimRight(s, "<") }

func splitName(s string) (primary, secondary string) {
	s = trimFiller(s)
	p, sec, _ := strings.Cut(s, "<<")
	return strings.ReplaceAll(p, "<", " "), strings.TrimSpace(strings.ReplaceAll(sec, "<", " "))
}

// Verify checks every check digit of the MRZ, including the composite.
func (m *MRZ) Verify() error {
	type check struct {
		field, data string
		digit       byte
		optional    bool // '<' allowed when data is all filler
	}
	var checks []check
	switch m.Format {
	case "TD1":
		l1, l2 := m.Lines[0], m.Lines[1]
		if l1[14] == '<' {
			ext := strings.SplitN(l1[15:30], "<", 2)[0]
			if len(ext) < 2 {
				return &CheckDigitError{Field: "document number", Have: '<'}
			}
			checks = append(checks, check{"document number", l1[5:14] + ext[:len(ext)-1], ext[len(ext)-1], false})
		} else {
			checks = append(checks, check{"document number", l1[5:14], l1[14], false})
		}
		checks = append(checks,
			check{"date of birth", l2[0:6], l2[6], false},
			check{"date of expiry", l2[8:14], l2[14], false},
			check{"composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29], false},
		)
	case "TD2":
		l2 := m.Lines[1]
		checks = append(checks,
			check{"document number", l2[0:9], l2[9], false},
			check{"date of birth", l2[13:19], l2[19], false},
			check{"date of expiry", l2[21:27], l2[27], false},
			check{"composite", l2[0:10] + l2[13:20] + l2[21:35], l2[35], false},
		)
	case "TD3":
		l2 := m.Lines[1]
		checks = append(checks,
			check{"document number", l2[0:9], l2[9], false},
			check{"date of birth", l2[13:19], l2[19], false},
			check{"date of expiry", l2[21:27], l2[27], false},
			check{"personal number", l2[28:42], l2[42], true},
			check{"composite", l2[0:10] + l2[13:20] + l2[21:43], l2[43], false},
		)
	default:
		return errors.New("lds: unknown MRZ format")
	}
	for _, c := range checks {
		want, err := CheckDigit(c.data)
		if err != nil {
			return err
		}
		if c.digit == want {
			continue
		}
		if c.optional && c.digit == '<' && strings.Trim(c.data, "<") == "" {
			continue
		}
		return &CheckDigitError{Field: c.field, Want: want, Have: c.digit}
	}
	return nil
}
