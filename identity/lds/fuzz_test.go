package lds

import (
	"testing"
)

func FuzzParseSOD(f *testing.F) {
	for _, p := range []string{"jmrtd_nz2013_sod/EF_SOD.bin", "jmrtd_bsi2008_DE_test/EF_SOD.bin", "bsi_tr03105_5_via_pymrtd/EF_SOD.bin"} {
		f.Add(vec(f, p))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Parsing only: a generic-curve signature check costs milliseconds
		// per input, which starves the fuzzer; pa's tests cover signatures.
		s, err := ParseSOD(b)
		if err != nil {
			return
		}
		_ = s.LDS.CheckDataGroup(1, b)
	})
}

func FuzzParseDG1(f *testing.F) {
	f.Add(vec(f, "jmrtd_loes2006_NL_specimen/DG1.bin"))
	f.Add(EncodeDG1("I<UTOD231458907<<<<<<<<<<<<<<<" + "7408122F1204159UTO<<<<<<<<<<<6" + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseDG1(b)
	})
}

func FuzzParseDG13(f *testing.F) {
	b, _ := EncodeDG13(map[int]string{1: "079001234567", 2: "Nguyễn Thị Mai", 3: "15/02/1990"})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseDG13(b)
	})
}

func FuzzParseDG15(f *testing.F) {
	f.Add(vec(f, "gmrtd_aa_rsa_realworld/DG15.bin"))
	f.Add(vec(f, "jmrtd_bsi2008_DE_test/DG15.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseDG15(b)
	})
}

func FuzzParseDG14(f *testing.F) {
	f.Add(vec(f, "jmrtd_icao_dg14_sample/DG14.bin"))
	f.Add(vec(f, "bsi_tr03105_5_via_pymrtd/DG14.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseDG14(b)
	})
}

func FuzzParseMasterList(f *testing.F) {
	// A small seed: the SOD is CMS too (wrong content type), plus a
	// truncated master list prefix.
	ml := vec(f, "csca/NL_ML_2026-07-22.ml")
	f.Add(ml[:4096])
	f.Add(vec(f, "jmrtd_nz2013_sod/EF_SOD.bin")[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseMasterList(b)
	})
}
