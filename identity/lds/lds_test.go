package lds

import (
	"errors"
	"testing"
)

// ICAO Doc 9303-3 4.9 worked examples.
func TestCheckDigitICAO(t *testing.T) {
	for in, want := range map[string]byte{
		"L898902C<": '3', "690806": '1', "940623": '6',
		"D23145890": '7', "740812": '2', "120415": '9',
	} {
		got, err := CheckDigit(in)
		if err != nil || got != want {
			t.Errorf("CheckDigit(%q) = %c, %v; want %c", in, got, err, want)
		}
	}
}

func TestTD1Specimens(t *testing.T) {
	tests := []struct {
		name, mrz, docNum, dob, exp, primary, secondary string
	}{
		{"Part 5 specimen",
			"I<UTOD231458907<<<<<<<<<<<<<<<" + "7408122F1204159UTO<<<<<<<<<<<6" + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
			"D23145890", "740812", "120415", "ERIKSSON", "ANNA MARIA"},
		{"long document number",
			"I<UTOD23145890<7349<<<<<<<<<<<" + "3407127M9507122UTO<<<<<<<<<<<2" + "STEVENSON<<PETER<JOHN<<<<<<<<<",
			"D23145890734", "340712", "950712", "STEVENSON", "PETER JOHN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMRZ(tt.mrz)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Verify(); err != nil {
				t.Fatal(err)
			}
			if m.Format != "TD1" || m.DocumentNumber != tt.docNum || m.DateOfBirth != tt.dob || m.DateOfExpiry != tt.exp || m.Primary != tt.primary || m.Secondary != tt.secondary {
				t.Fatalf("parsed %+v", m)
			}
		})
	}
}

func TestTD1CheckDigitErrors(t *testing.T) {
	good := "I<UTOD231458907<<<<<<<<<<<<<<<" + "7408122F1204159UTO<<<<<<<<<<<6" + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	tests := []struct {
		pos   int
		c     byte
		field string
	}{
		{14, '8', "document number"},
		{36, '3', "date of birth"},
		{44, '0', "date of expiry"},
		{59, '7', "composite"},
		{20, 'X', "composite"}, // optional data is covered only by the composite
	}
	for _, tt := range tests {
		b := []byte(good)
		b[tt.pos] = tt.c
		m, err := ParseMRZ(string(b))
		if err != nil {
			t.Fatal(err)
		}
		var cde *CheckDigitError
		if err := m.Verify(); !errors.As(err, &cde) || cde.Field != tt.field {
			t.Errorf("pos %d: got %v, want check digit error on %s", tt.pos, err, tt.field)
		}
	}
}

func TestBuildTD1CCCD(t *testing.T) {
	mrz, err := BuildTD1(TD1Fields{
		DocumentCode: "ID", IssuingState: "VNM", DocumentNumber: "001234567", Optional1: "079001234567",
		DateOfBirth: "900215", Sex: "F", DateOfExpiry: "300215", Nationality: "VNM",
		Primary: "NGUYEN", Secondary: "THI MAI",
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseDG1(EncodeDG1(mrz))
	if err != nil {
		t.Fatal(err)
	}
	if m.IssuingState != "VNM" || m.DocumentNumber != "001234567" || m.OptionalData1 != "079001234567<<<" {
		t.Fatalf("%+v", m)
	}
}

func TestDG13(t *testing.T) {
	b, err := EncodeDG13(map[int]string{1: "079001234567", 2: "Nguyễn Thị Mai", 3: "15/02/1990", 4: "Nữ", 12: "15/02/2030", 40: "extra"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDG13(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.IDNumber() != "079001234567" || d.FullName() != "Nguyễn Thị Mai" || d.BirthDate() != "15/02/1990" || d.Sex() != "Nữ" || d.ExpiryDate() != "15/02/2030" || d.Field(40) != "extra" || d.Field(7) != "" {
		t.Fatalf("%+v", d.Fields)
	}
}

// Hand-encoded DG13: fields out of order, PrintableString and UTF8String,
// parents as a SEQUENCE of two names, indefinite length outer element.
func TestDG13Unsorted(t *testing.T) {
	b := []byte{0x6D, 0x80,
		0x30, 0x80,
		0x02, 0x01, 0x01,
		0x06, 0x03, 0x2A, 0x03, 0x04,
		0x31, 0x80,
		0x30, 0x08, 0x02, 0x01, 0x02, 0x0C, 0x03, 'A', 'n', 'h',
		0x30, 0x0F, 0x02, 0x01, 0x01, 0x13, 0x0A, '0', '0', '1', '0', '9', '9', '0', '0', '0', '1',
		0x30, 0x0D, 0x02, 0x01, 0x0D, 0x30, 0x08, 0x0C, 0x02, 'B', 'a', 0x0C, 0x02, 'M', 'e',
		0x00, 0x00,
		0x00, 0x00,
		0x00, 0x00}
	d, err := ParseDG13(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.IDNumber() != "0010990001" || d.FullName() != "Anh" || d.Field(DG13Parents) != "Ba; Me" {
		t.Fatalf("%+v", d.Fields)
	}
}

func TestDG13Malformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"wrong tag": {0x6E, 0x02, 0x30, 0x00},
		"empty":     {0x6D, 0x02, 0x30, 0x00},
		"truncated": {0x6D, 0x05, 0x30, 0x03},
	} {
		if _, err := ParseDG13(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
