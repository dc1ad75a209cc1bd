package hsm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

func TestConfigRedactsPIN(t *testing.T) {
	const pin = "s3cr3t-PIN-9876"
	cfg := Config{Module: "/m.so", TokenLabel: "kyso", PIN: pin, PoolSize: 3}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("open", "config", cfg)
	log.Info("open", slog.Any("config", &cfg))
	text := slog.New(slog.NewTextHandler(&buf, nil))
	text.Info("open", "config", cfg)
	fmt.Fprintf(&buf, "%v %+v %#v %s %v", cfg, cfg, cfg, cfg, &cfg)
	out := buf.String()
	if strings.Contains(out, pin) {
		t.Fatalf("PIN printed:\n%s", out)
	}
	for _, want := range []string{"REDACTED", "kyso", "/m.so"} {
		if !strings.Contains(out, want) {
			t.Errorf("%q missing from\n%s", want, out)
		}
	}
	if s := (Config{}).String(); !strings.Contains(s, "(unset)") {
		t.Errorf("empty PIN shown as %s", s)
	}
}

func TestLoadPIN(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pinFile := write("pin", "1234-file\n")
	crlf := write("crlf", "1234-crlf\r\n")
	empty := write("empty", "\n")
	t.Setenv("KYSO_TEST_PIN", "1234-env")
	t.Setenv("KYSO_TEST_EMPTY", "")
	cases := []struct {
		name, file, env string
		want            string
		wantErr         error
	}{
		{"file", pinFile, "", "1234-file", nil},
		{"file wins over env", pinFile, "KYSO_TEST_PIN", "1234-file", nil},
		{"CRLF trimmed", crlf, "", "1234-crlf", nil},
		{"env", "", "KYSO_TEST_PIN", "1234-env", nil},
		{"empty file", empty, "", "", ErrNoPIN},
		{"empty env", "", "KYSO_TEST_EMPTY", "", ErrNoPIN},
		{"unset env", "", "KYSO_TEST_UNSET_VARIABLE", "", ErrNoPIN},
		{"nothing", "", "", "", ErrNoPIN},
		{"missing file", filepath.Join(dir, "missing"), "", "", os.ErrNotExist},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadPIN(c.file, c.env)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("LoadPIN = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{Module: "/m.so", PIN: "1234"}).withDefaults(); err == nil {
		t.Error("no token label accepted")
	}
	if _, err := (Config{Module: "/m.so", TokenLabel: "t", PIN: "1234", PoolSize: -1}).withDefaults(); err == nil {
		t.Error("negative pool size accepted")
	}
	c, err := (Config{Module: "/m.so", TokenLabel: "t", PIN: "1234"}).withDefaults()
	if err != nil || c.PoolSize != DefaultPoolSize {
		t.Errorf("defaults: %v, %v", c, err)
	}
}

func TestParseKeyType(t *testing.T) {
	for _, kt := range KeyTypes() {
		for _, s := range []string{string(kt), strings.ToLower(string(kt))} {
			got, err := ParseKeyType(s)
			if err != nil || got != kt {
				t.Errorf("ParseKeyType(%q) = %v, %v", s, got, err)
			}
		}
	}
	if _, err := ParseKeyType("ED25519"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ParseKeyType(ED25519): %v", err)
	}
}

// TestDigestInfo checks the encodings against the DER prefixes listed in
// RFC 8017, section 9.2, note 1.
func TestDigestInfo(t *testing.T) {
	prefixes := map[crypto.Hash]string{
		crypto.SHA1:       "3021300906052b0e03021a05000414",
		crypto.SHA224:     "302d300d06096086480165030402040500041c",
		crypto.SHA256:     "3031300d060960864801650304020105000420",
		crypto.SHA384:     "3041300d060960864801650304020205000430",
		crypto.SHA512:     "3051300d060960864801650304020305000440",
		crypto.SHA512_224: "302d300d06096086480165030402050500041c",
		crypto.SHA512_256: "3031300d060960864801650304020605000420",
	}
	for hash, prefix := range prefixes {
		d := bytes.Repeat([]byte{0xAB}, hash.Size())
		got, err := digestInfo(hash, d)
		if err != nil {
			t.Fatalf("%v: %v", hash, err)
		}
		if want := prefix + hex.EncodeToString(d); hex.EncodeToString(got) != want {
			t.Errorf("%v: DigestInfo %x, want %s", hash, got, want)
		}
	}
	if _, err := digestInfo(crypto.MD5, make([]byte, 16)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("MD5: %v", err)
	}
}

// rawSignature returns r||s with each integer padded to size bytes.
func rawSignature(t testing.TB, der []byte, size int) []byte {
	t.Helper()
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() || !in.Empty() {
		t.Fatalf("bad DER signature %x", der)
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out
}

func TestECDSADER(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		key, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		size := (curve.Params().BitSize + 7) / 8
		for i := range 20 {
			d := sha256.Sum256([]byte{byte(i)})
			want, err := ecdsa.SignASN1(rand.Reader, key, d[:])
			if err != nil {
				t.Fatal(err)
			}
			got, err := ecdsaDER(rawSignature(t, want, size))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: DER %x, want %x", curve.Params().Name, got, want)
			}
		}
	}
	for _, bad := range [][]byte{nil, {1}, make([]byte, 63)} {
		if _, err := ecdsaDER(bad); err == nil {
			t.Errorf("ecdsaDER(%x) succeeded", bad)
		}
	}
}

func TestParseECPublicKey(t *testing.T) {
	for _, c := range []struct {
		curve elliptic.Curve
		oid   asn1.ObjectIdentifier
		typ   KeyType
	}{
		{elliptic.P256(), oidP256, ECP256},
		{elliptic.P384(), oidP384, ECP384},
		{elliptic.P521(), oidP521, "EC"},
	} {
		key, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		params, _ := asn1.Marshal(c.oid)
		raw, err := key.PublicKey.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		wrapped, _ := asn1.Marshal(raw)
		for _, point := range [][]byte{wrapped, raw} {
			pub, err := parseECPublicKey(params, point)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(&key.PublicKey) || ecKeyType(pub.Curve) != c.typ {
				t.Fatalf("%s: parsed another key", c.curve.Params().Name)
			}
		}
	}
	params, _ := asn1.Marshal(oidP256)
	other, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}) // brainpoolP256r1
	for _, c := range []struct {
		name          string
		params, point []byte
	}{
		{"unsupported curve", other, make([]byte, 65)},
		{"explicit parameters", []byte{0x30, 0x00}, make([]byte, 65)},
		{"point not on curve", params, append([]byte{4}, make([]byte, 64)...)},
		{"compressed point", params, append([]byte{2}, make([]byte, 32)...)},
		{"empty point", params, nil},
	} {
		if _, err := parseECPublicKey(c.params, c.point); err == nil {
			t.Errorf("%s: parsed", c.name)
		}
	}
}

func TestULong(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want uint
		ok   bool
	}{
		{[]byte{3, 0, 0, 0, 0, 0, 0, 0}, 3, true},
		{[]byte{0, 0, 0, 0}, 0, true},
		{[]byte{1, 2}, 0, false},
		{nil, 0, false},
	} {
		got, err := ulong(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("ulong(%x) = %d, %v", c.in, got, err)
		}
	}
}

// FuzzParseECPublicKey feeds CKA_EC_PARAMS and CKA_EC_POINT values, which
// come from the token, to the parser.
func FuzzParseECPublicKey(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	params, _ := asn1.Marshal(oidP256)
	raw, _ := key.PublicKey.Bytes()
	wrapped, _ := asn1.Marshal(raw)
	f.Add(params, wrapped)
	f.Add(params, raw)
	p384, _ := asn1.Marshal(oidP384)
	f.Add(p384, []byte{0x04, 0x01, 0x04})
	f.Add([]byte{0x06, 0x00}, []byte{})
	f.Fuzz(func(t *testing.T, params, point []byte) {
		pub, err := parseECPublicKey(params, point)
		if err != nil {
			return
		}
		if !pub.Curve.IsOnCurve(pub.X, pub.Y) { //nolint:staticcheck // checking the parser's result
			t.Fatalf("point not on curve accepted")
		}
	})
}

// FuzzECDSADER feeds CKM_ECDSA outputs, which come from the token, to the
// conversion.
func FuzzECDSADER(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xff}, 96))
	f.Add([]byte{0x80, 0x01})
	f.Fuzz(func(t *testing.T, raw []byte) {
		der, err := ecdsaDER(raw)
		if err != nil {
			return
		}
		back := rawSignature(t, der, len(raw)/2)
		if !bytes.Equal(back, raw) {
			t.Fatalf("round trip %x -> %x -> %x", raw, der, back)
		}
	})
}
