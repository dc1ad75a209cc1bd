package lds

import (
	"errors"
	"kyso/internal/sharedvectors"
	"testing"
)

func vec(t testing.TB, parts ...string) []byte {
	t.Helper()
	return sharedvectors.Read(t, append([]string{"emrtd"}, parts...)...)
}

// Every SOD in the vectors parses and its SignerInfo verifies with the
// embedded Document Signer certificate (vectors README: SIG ✔, MD ✔).
func TestRealSODSignatures(t *testing.T) {
	files := []string{
		"jmrtd_loes2006_NL_specimen/EF_SOD.bin",
		"jmrtd_bsi2008_DE_test/EF_SOD.bin",
		"bsi_tr03105_5_via_pymrtd/EF_SOD.bin",
		"jmrtd_nz2013_sod/EF_SOD.bin",
	}
	for _, c := range []string{"AT", "DE", "FI", "FR", "NZ", "PH", "RU", "SG", "UK", "US"} {
		files = append(files, "gmrtd_realworld_sods/"+c+"_EF_SOD.bin")
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			sod, err := ParseSOD(vec(t, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := sod.VerifySignature(); err != nil {
				t.Fatalf("signature: %v (DSC %s, alg %v)", err, sod.DSC.PublicKey, sod.Signer.SignatureAlgorithm.Algorithm)
			}
			if !sod.SignedData.EContentType.Equal(OIDLDSSecurityObject) {
				t.Errorf("eContentType %v", sod.SignedData.EContentType)
			}
			t.Logf("v%d %v DGs=%d DSC=%q key=%s sig=%v", sod.LDS.Version, sod.LDS.Hash, len(sod.LDS.DataGroupHashes), sod.DSC.Subject.String(), sod.DSC.PublicKey, sod.Signer.SignatureAlgorithm.Algorithm)
		})
	}
}

func TestRealDataGroupHashes(t *testing.T) {
	tests := []struct {
		dir    string
		ok     map[int]string
		absent map[int]string
	}{
		{"jmrtd_loes2006_NL_specimen", map[int]string{1: "DG1.bin", 15: "DG15.bin"}, nil},
		{"jmrtd_bsi2008_DE_test", map[int]string{1: "DG1.bin", 14: "DG14.bin"}, map[int]string{15: "DG15.bin"}},
		{"bsi_tr03105_5_via_pymrtd", map[int]string{1: "DG1.bin", 14: "DG14.bin"}, map[int]string{15: "NOT_IN_SOD_DG15.bin"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			sod, err := ParseSOD(vec(t, tt.dir, "EF_SOD.bin"))
			if err != nil {
				t.Fatal(err)
			}
			for n, f := range tt.ok {
				if err := sod.LDS.CheckDataGroup(n, vec(t, tt.dir, f)); err != nil {
					t.Errorf("DG%d: %v", n, err)
				}
				bad := append([]byte(nil), vec(t, tt.dir, f)...)
				bad[len(bad)-1] ^= 0x01
				if err := sod.LDS.CheckDataGroup(n, bad); !errors.Is(err, ErrDataGroupHash) {
					t.Errorf("DG%d altered: %v", n, err)
				}
			}
			for n, f := range tt.absent {
				if err := sod.LDS.CheckDataGroup(n, vec(t, tt.dir, f)); !errors.Is(err, ErrDataGroupNotInSOD) {
					t.Errorf("DG%d not in SOD: got %v", n, err)
				}
			}
		})
	}
}

func TestRealDG1(t *testing.T) {
	for _, d := range []string{"jmrtd_loes2006_NL_specimen", "jmrtd_bsi2008_DE_test", "bsi_tr03105_5_via_pymrtd"} {
		m, err := ParseDG1(vec(t, d, "DG1.bin"))
		if err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		t.Logf("%s: %s %s %s %s %s", d, m.Format, m.IssuingState, m.DocumentNumber, m.Primary, m.Secondary)
	}
}

func TestRealDG15AndDG14(t *testing.T) {
	for _, f := range []string{"jmrtd_loes2006_NL_specimen/DG15.bin", "jmrtd_bsi2008_DE_test/DG15.bin", "gmrtd_aa_rsa_realworld/DG15.bin", "bsi_tr03105_5_via_pymrtd/NOT_IN_SOD_DG15.bin"} {
		k, err := ParseDG15(vec(t, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		t.Logf("%s: %s", f, k)
	}
	for _, f := range []string{"jmrtd_icao_dg14_sample/DG14.bin", "jmrtd_bsi2008_DE_test/DG14.bin", "bsi_tr03105_5_via_pymrtd/DG14.bin"} {
		d, err := ParseDG14(vec(t, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, i := range d.Infos {
			t.Logf("%s: %s %v", f, i.Kind, i.Protocol)
		}
	}
}

func TestRealMasterLists(t *testing.T) {
	for _, f := range []string{"DE_ML_2026-05-28-08-28-45.ml", "NL_ML_2026-07-22.ml"} {
		ml, err := ParseMasterList(vec(t, "csca", f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := ml.VerifySignature(); err != nil {
			t.Errorf("%s: signature: %v", f, err)
		}
		t.Logf("%s: %d CSCAs (%d skipped), signer %q", f, len(ml.Certificates), ml.Skipped, ml.SignerCert.Subject.String())
	}
}
