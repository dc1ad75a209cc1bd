package certfile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func cert(t *testing.T, cn string) []byte {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	a, b := cert(t, "a"), cert(t, "b")
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}})...)
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b})...)
	files := map[string][]byte{"bundle.pem": bundle, "one.der": a, "key.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}),
		"junk": []byte("hello"), "bad.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0}})}
	for name, data := range files {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	cases := []struct {
		files []string
		want  []string
		err   bool
	}{
		{[]string{"bundle.pem"}, []string{"a", "b"}, false},
		{[]string{"one.der", "bundle.pem"}, []string{"a", "a", "b"}, false},
		{[]string{"key.pem"}, nil, true},
		{[]string{"junk"}, nil, true},
		{[]string{"bad.pem"}, nil, true},
		{[]string{"missing"}, nil, true},
	}
	for _, tc := range cases {
		var paths []string
		for _, f := range tc.files {
			paths = append(paths, filepath.Join(dir, f))
		}
		got, err := Read(paths...)
		if (err != nil) != tc.err {
			t.Errorf("%v: err %v", tc.files, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%v: %d certificates, want %d", tc.files, len(got), len(tc.want))
			continue
		}
		for i, c := range got {
			if c.Subject.CommonName != tc.want[i] {
				t.Errorf("%v: certificate %d is %s", tc.files, i, c.Subject.CommonName)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		certs, err := Parse(b)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
	})
}
