package pa

import (
	"errors"
	"kyso/internal/sharedvectors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kyso/identity/lds"
	"kyso/identity/pki"
)

var alpha3 = map[string]string{"AT": "AUT", "FR": "FRA", "NZ": "NZL", "PH": "PHL", "SG": "SGP", "US": "USA", "DE": "D", "FI": "FIN", "RU": "RUS", "UK": "GBR"}

func vec(t testing.TB, parts ...string) []byte {
	t.Helper()
	return sharedvectors.Read(t, append([]string{"emrtd"}, parts...)...)
}

// listSignerAnchors returns, for each master list of the vectors, the
// CSCA that issued its signer: what an operator configures, from a source
// outside the list, as identity.master_list_anchors.
func listSignerAnchors(t testing.TB) []*pki.Certificate {
	t.Helper()
	var out []*pki.Certificate
	for _, f := range []string{"DE_ML_2026-05-28-08-28-45.ml", "NL_ML_2026-07-22.ml"} {
		ml, err := lds.ParseMasterList(vec(t, "csca", f))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range ml.Certificates {
			if c.MayHaveIssued(ml.SignerCert) && ml.SignerCert.CheckSignatureFrom(c) == nil {
				out = append(out, c)
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("%s: no listed CSCA issued the signer", f)
		}
	}
	return out
}

func loadCSCA(t testing.TB) *TrustStore {
	t.Helper()
	ts, reports, err := LoadDir(sharedvectors.Path(t, "emrtd", "csca"), LoadOptions{Now: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), ListSignerAnchors: listSignerAnchors(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.Err != nil {
			t.Errorf("%s: %v", r.File, r.Err)
		}
		t.Logf("%s: %s, %d anchors, signer %s", r.File, r.Kind, r.Certificates, r.SignerTrust)
	}
	return ts
}

// The DE and NL master lists load with a verified signature, and real
// document signers chain to the CSCAs they or the AT file provide.
func TestRealChains(t *testing.T) {
	ts := loadCSCA(t)
	if ts.Len() < 500 {
		t.Fatalf("only %d anchors loaded", ts.Len())
	}
	for _, c := range []string{"AT", "FR", "NZ", "PH", "SG", "US", "DE", "FI", "RU", "UK"} {
		t.Run(c, func(t *testing.T) {
			sod := vec(t, "gmrtd_realworld_sods", c+"_EF_SOD.bin")
			s, err := lds.ParseSOD(sod)
			if err != nil {
				t.Fatal(err)
			}
			// Verify while the DSC is valid: these are real documents
			// whose signers may have expired since.
			at := s.DSC.NotBefore.Add(24 * time.Hour)
			res, err := Verify(sod, nil, ts, Options{Now: at, IssuingState: alpha3[c], Algorithms: AlgorithmPolicy{AllowSHA1: true, LegacyRSABefore: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}})
			if err != nil {
				t.Fatalf("%v (DSC issuer %q)", err, s.DSC.Issuer.String())
			}
			t.Logf("DSC %q under %q", res.DSC.Subject.String(), res.CSCA.Subject.String())
		})
	}
}

func TestExpiredDSCIsUntrusted(t *testing.T) {
	ts := loadCSCA(t)
	sod := vec(t, "gmrtd_realworld_sods", "AT_EF_SOD.bin")
	s, _ := lds.ParseSOD(sod)
	_, err := Verify(sod, nil, ts, Options{Now: s.DSC.NotAfter.Add(time.Hour)})
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("got %v, want ErrUntrusted", err)
	}
}

func TestMissingCSCAIsUntrusted(t *testing.T) {
	ts := loadCSCA(t)
	// NL specimen: issuer "CSCA Test" is in no list.
	sod := vec(t, "jmrtd_loes2006_NL_specimen", "EF_SOD.bin")
	s, _ := lds.ParseSOD(sod)
	_, err := Verify(sod, nil, ts, Options{Now: s.DSC.NotBefore.Add(time.Hour)})
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("got %v, want ErrUntrusted", err)
	}
}

func TestDataGroups(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		dgs  map[int]string
		want error
	}{
		{"NL DG1+DG15", "jmrtd_loes2006_NL_specimen", map[int]string{1: "DG1.bin", 15: "DG15.bin"}, nil},
		{"DE DG1+DG14", "jmrtd_bsi2008_DE_test", map[int]string{1: "DG1.bin", 14: "DG14.bin"}, nil},
		{"DE injected DG15", "jmrtd_bsi2008_DE_test", map[int]string{1: "DG1.bin", 15: "DG15.bin"}, ErrDataGroupNotInSOD},
		{"BSI PSS injected DG15", "bsi_tr03105_5_via_pymrtd", map[int]string{1: "DG1.bin", 15: "NOT_IN_SOD_DG15.bin"}, ErrDataGroupNotInSOD},
		{"DG1 presented as DG14", "bsi_tr03105_5_via_pymrtd", map[int]string{14: "DG1.bin"}, ErrDataGroupHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dgs := map[int][]byte{}
			for n, f := range tt.dgs {
				dgs[n] = vec(t, tt.dir, f)
			}
			_, err := Verify(vec(t, tt.dir, "EF_SOD.bin"), dgs, nil, Options{SkipChain: true})
			if !errors.Is(err, tt.want) && !(err == nil && tt.want == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestTamperedSOD(t *testing.T) {
	sod := append([]byte(nil), vec(t, "jmrtd_loes2006_NL_specimen", "EF_SOD.bin")...)
	// Flip a byte of the signature (the last bytes of the SOD).
	sod[len(sod)-3] ^= 0x55
	_, err := Verify(sod, nil, nil, Options{SkipChain: true})
	if !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v, want ErrSignature", err)
	}
}

func TestMasterListTamperedOrUntrustedSigner(t *testing.T) {
	dir := t.TempDir()
	ml := append([]byte(nil), vec(t, "csca", "NL_ML_2026-07-22.ml")...)
	// Flip a byte inside the listed certificates (well inside the content).
	ml[len(ml)/2] ^= 0x01
	if err := os.WriteFile(filepath.Join(dir, "nl.ml"), ml, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "de.ml"), vec(t, "csca", "DE_ML_2026-05-28-08-28-45.ml"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, reports, err := LoadDir(dir, LoadOptions{Now: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), ListSignerAnchors: listSignerAnchors(t)})
	if err != nil {
		t.Fatal(err)
	}
	byFile := map[string]SourceReport{}
	for _, r := range reports {
		byFile[r.File] = r
	}
	if byFile["nl.ml"].Err == nil || byFile["nl.ml"].Certificates != 0 {
		t.Errorf("tampered list loaded: %+v", byFile["nl.ml"])
	}
	if byFile["de.ml"].Err != nil || byFile["de.ml"].SignerTrust != "configured-anchor" || ts.Len() != byFile["de.ml"].Certificates {
		t.Errorf("DE list: %+v", byFile["de.ml"])
	}
	// Without a configured anchor for its signer, the genuine DE list,
	// whose signer chains to a CSCA inside the list, adds nothing: a list
	// cannot vouch for itself.
	ts, reports, err = LoadDir(dir, LoadOptions{Now: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.File == "de.ml" && (!errors.Is(r.Err, ErrListSignerUntrusted) || r.Certificates != 0) {
			t.Errorf("DE list loaded without a configured anchor for its signer: %+v", r)
		}
	}
	if ts.Len() != 0 {
		t.Errorf("%d anchors added by lists whose signers are not configured", ts.Len())
	}
}
