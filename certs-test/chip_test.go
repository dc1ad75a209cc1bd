package certstest

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kyso/identity/aa"
	"kyso/identity/lds"
	"kyso/identity/pa"
	"kyso/identity/pki"
)

var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestChipsVerify(t *testing.T) {
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			c, err := NewChip(ChipOptions{ID: "079090001234", Name: "Trần Đức Anh", Sex: "M", Alg: alg, Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			csca, err := pki.ParseCertificate(c.CSCA)
			if err != nil {
				t.Fatal(err)
			}
			res, err := pa.Verify(c.SOD, map[int][]byte{1: c.DG1, 13: c.DG13, 15: c.DG15}, pa.NewTrustStore(csca), pa.Options{Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if alg == "brainpool" && !res.DSC.PublicKey.ExplicitParams {
				t.Error("brainpool DSC should use explicit parameters")
			}
			pub, err := lds.ParseDG15(c.DG15)
			if err != nil {
				t.Fatal(err)
			}
			var dg14 *lds.DG14
			if c.DG14 != nil {
				if dg14, err = lds.ParseDG14(c.DG14); err != nil {
					t.Fatal(err)
				}
			}
			nonce := []byte{1, 2, 3, 4, 5, 6, 7, 8}
			sig, err := c.Answer(nonce)
			if err != nil {
				t.Fatal(err)
			}
			if err := aa.Verify(pub, dg14, nonce, sig); err != nil {
				t.Fatal(err)
			}
			m, err := lds.ParseDG1(c.DG1)
			if err != nil {
				t.Fatal(err)
			}
			if m.Primary != "TRAN" || m.Secondary != "DUC ANH" || m.DocumentNumber != "090001234" {
				t.Errorf("MRZ %+v", m)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	opts := ChipOptions{ID: "001190012345", Alg: "brainpool", Seed: "s", Now: testNow}
	a, err := NewChip(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewChip(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.SOD, b.SOD) || !bytes.Equal(a.DG15, b.DG15) {
		t.Fatal("same seed gives different cards")
	}
}

func TestWriteAndAnswer(t *testing.T) {
	dir := t.TempDir()
	if err := WriteChip(dir, ChipOptions{ID: "001190012345", Alg: "rsa", Now: testNow}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sod.bin", "dg1.bin", "dg13.bin", "dg15.bin", "csca.pem", "aa_key.pem", "card.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	nonce := []byte("noncenon")
	sig, err := AnswerChallenge(dir, nonce)
	if err != nil {
		t.Fatal(err)
	}
	dg15, _ := os.ReadFile(filepath.Join(dir, "dg15.bin"))
	pub, err := lds.ParseDG15(dg15)
	if err != nil {
		t.Fatal(err)
	}
	if err := aa.Verify(pub, nil, nonce, sig); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownOptions(t *testing.T) {
	for _, o := range []ChipOptions{{ID: "123"}, {ID: "001190012345", Alg: "dsa"}, {ID: "001190012345", Tamper: "nope"}} {
		if _, err := NewChip(o); err == nil {
			t.Errorf("%+v: expected error", o)
		}
	}
	_ = errors.New
}

func TestIssuerSeedSharesTheCSCA(t *testing.T) {
	a, err := NewChip(ChipOptions{ID: "001190000001", Seed: "a", IssuerSeed: "dev", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewChip(ChipOptions{ID: "001190000002", Seed: "b", IssuerSeed: "dev", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewChip(ChipOptions{ID: "001190000003", Seed: "c", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	spki := func(der []byte) []byte {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return cert.RawSubjectPublicKeyInfo
	}
	if !bytes.Equal(spki(a.CSCA), spki(b.CSCA)) {
		t.Fatal("cards with one issuer seed have different CSCA keys")
	}
	if bytes.Equal(spki(a.CSCA), spki(c.CSCA)) {
		t.Fatal("cards with different seeds share a CSCA key")
	}
	if bytes.Equal(a.DG15, b.DG15) {
		t.Fatal("cards with one issuer seed share an AA key")
	}
}
