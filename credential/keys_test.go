package credential_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"kyso/credential"
	"kyso/hsm"
	"kyso/hsm/hsmtest"
	"kyso/store"
	"kyso/store/storetest"
)

const citizenPIN = "493817"

// enrolWrapped makes a citizen credential whose key is wrapped for
// citizenPIN, with a certificate valid from notBefore to notAfter.
func enrolWrapped(t *testing.T, s *credential.Store, keys *credential.Keys, id string, notBefore, notAfter time.Time) *credential.Credential {
	t.Helper()
	ctx := context.Background()
	nk, err := keys.Generate(ctx, citizenPIN)
	if err != nil {
		t.Fatal(err)
	}
	defer nk.Signer.Forget()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Citizen " + id},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, nk.Signer.Public(), nk.Signer)
	if err != nil {
		t.Fatalf("certificate signed by the wrapped key: %v", err)
	}
	c := credential.Credential{ID: id, Kind: credential.KindCitizen, Subject: "0010990" + id, Profile: "citizen-remote",
		KeyLabel: credential.KeyLabel(id), KeyType: "ECP256", CertSerial: id, CertDER: der, KDF: nk.KDF, Wrapped: nk.Wrapped}
	if err := s.CreateHashed(ctx, nil, c, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func citizenToken(t *testing.T, db *store.DB) (*credential.Store, *credential.Keys, *hsm.HSM) {
	t.Helper()
	s := credential.NewStore(db)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := hsmtest.New(t)
	keys := credential.NewKeys(s, h, "")
	if made, err := keys.EnsureSecret(context.Background()); err != nil || !made {
		t.Fatalf("EnsureSecret = %v, %v", made, err)
	}
	if made, err := keys.EnsureSecret(context.Background()); err != nil || made {
		t.Fatalf("second EnsureSecret = %v, %v", made, err)
	}
	return s, keys, h
}

// TestNoCitizenSignatureWithoutThePIN plays the insider who holds the whole
// database and the citizen-key token with its PIN, but not the citizen's
// signing PIN: no path yields a signature under the citizen's key.
func TestNoCitizenSignatureWithoutThePIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, keys, h := citizenToken(t, db)
		now := time.Now()
		c := enrolWrapped(t, s, keys, "c1", now.Add(-time.Hour), now.Add(24*time.Hour))
		pub := c.Wrapped // non-empty
		if len(pub) == 0 || c.KDF == "" {
			t.Fatal("credential without a wrapped key")
		}
		cert, _ := c.Certificate()
		digest := sha256.Sum256([]byte("contract"))

		// The token holds no private key at all, and none under the
		// credential's label: logged in with the token PIN, nothing signs.
		list, err := h.ListKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 {
			t.Fatalf("private keys on the citizen-key token: %v", list)
		}
		if _, err := h.FindKey(ctx, c.KeyLabel); !errors.Is(err, hsm.ErrKeyNotFound) {
			t.Fatalf("FindKey(%s) = %v, want ErrKeyNotFound", c.KeyLabel, err)
		}

		// The database keeps no hash of the PIN to search offline.
		var pinHash []byte
		if err := db.QueryRowContext(ctx, `SELECT pin_hash FROM credentials WHERE id = $1`, c.ID).Scan(&pinHash); err != nil {
			t.Fatal(err)
		}
		if len(pinHash) != 0 {
			t.Fatalf("the database holds a PIN hash of %d bytes", len(pinHash))
		}
		// The wrapped blob is not a private key in any encoding.
		if _, err := x509.ParsePKCS8PrivateKey(c.Wrapped); err == nil {
			t.Fatal("the stored blob parses as a private key")
		}
		if _, err := x509.ParseECPrivateKey(c.Wrapped); err == nil {
			t.Fatal("the stored blob parses as an EC private key")
		}

		// Unwrapping with keys derived from anything but the citizen's PIN
		// fails: other PINs' stretches, all-zero activation data.
		for _, act := range [][]byte{make([]byte, hsm.ActivationLen), bytes.Repeat([]byte{0xff}, hsm.ActivationLen), sha256.New().Sum(nil)} {
			w, err := h.WrappedKey(credential.SecretLabel, act, c.Wrapped, cert.PublicKey, "attack")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Sign(rand.Reader, digest[:], crypto.SHA256); !errors.Is(err, hsm.ErrActivation) {
				t.Fatalf("signature with guessed activation data: %v, want ErrActivation", err)
			}
		}
		for _, pin := range []string{"000000", "123456", "493818"} {
			if _, err := keys.Activate(ctx, c, pin, 5); !errors.Is(err, credential.ErrWrongPIN) {
				t.Fatalf("Activate(%s) = %v, want ErrWrongPIN", pin, err)
			}
		}

		// With the PIN the citizen signs, and the signature verifies
		// under the certified key.
		if err := s.Unlock(ctx, c.ID); err != nil && !errors.Is(err, credential.ErrInactive) {
			t.Fatal(err)
		}
		act, err := keys.Activate(ctx, c, citizenPIN, 5)
		if err != nil {
			t.Fatalf("Activate with the right PIN: %v", err)
		}
		signer, err := keys.Open(ctx, c, act)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if !ecdsa.VerifyASN1(cert.PublicKey.(*ecdsa.PublicKey), digest[:], sig) {
			t.Fatal("the citizen's signature does not verify")
		}
		if list, _ := h.ListKeys(ctx); len(list) != 0 {
			t.Fatalf("the unwrapped key stayed on the token: %v", list)
		}
	})
}

func TestWrongPINsLockAndDestroyedKeysNeverOpen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, keys, _ := citizenToken(t, db)
		now := time.Now()
		c := enrolWrapped(t, s, keys, "c2", now.Add(-time.Hour), now.Add(24*time.Hour))
		for i := 0; i < 2; i++ {
			if _, err := keys.Activate(ctx, c, "111111", 3); !errors.Is(err, credential.ErrWrongPIN) {
				t.Fatalf("wrong PIN %d: %v", i, err)
			}
		}
		if _, err := keys.Activate(ctx, c, "111111", 3); !errors.Is(err, credential.ErrLocked) {
			t.Fatalf("third wrong PIN: %v, want ErrLocked", err)
		}
		if _, err := keys.Activate(ctx, c, citizenPIN, 3); !errors.Is(err, credential.ErrLocked) {
			t.Fatalf("right PIN on a locked credential: %v, want ErrLocked", err)
		}
		if err := s.Unlock(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		act, err := keys.Activate(ctx, c, citizenPIN, 3)
		if err != nil {
			t.Fatal(err)
		}

		// Destroying the key material (revocation, expiry) leaves nothing
		// that opens, even with activation data obtained before.
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			ok, err := s.DestroyKeyTx(ctx, tx, c.ID)
			if err == nil && !ok {
				t.Error("DestroyKeyTx found nothing to destroy")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		d, err := s.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Wrapped) != 0 || d.KDF != "" || d.KeyDestroyedAt.IsZero() {
			t.Fatalf("destroyed credential keeps %d wrapped bytes, KDF %q", len(d.Wrapped), d.KDF)
		}
		if _, err := keys.Open(ctx, d, act); !errors.Is(err, credential.ErrKeyUnavailable) {
			t.Fatalf("Open after destruction: %v, want ErrKeyUnavailable", err)
		}
		if _, err := keys.Activate(ctx, d, citizenPIN, 3); !errors.Is(err, credential.ErrKeyUnavailable) {
			t.Fatalf("Activate after destruction: %v, want ErrKeyUnavailable", err)
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			ok, err := s.DestroyKeyTx(ctx, tx, c.ID)
			if ok {
				t.Error("a second destruction found key material")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}

		// Revocation destroys the key material with the status.
		r := enrolWrapped(t, s, keys, "c3", now.Add(-time.Hour), now.Add(24*time.Hour))
		if err := s.SetStatus(ctx, r.ID, credential.StatusRevoked); err != nil {
			t.Fatal(err)
		}
		if r, _ = s.Get(ctx, r.ID); len(r.Wrapped) != 0 || r.KeyDestroyedAt.IsZero() {
			t.Fatal("revocation kept the wrapped key")
		}
	})
}

func TestExpiredCertificateNeverSigns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, keys, _ := citizenToken(t, db)
		now := time.Now()
		c := enrolWrapped(t, s, keys, "c4", now.Add(-48*time.Hour), now.Add(-time.Hour))
		if _, err := keys.Activate(ctx, c, citizenPIN, 5); !errors.Is(err, credential.ErrCertificateExpired) {
			t.Fatalf("Activate with an expired certificate: %v, want ErrCertificateExpired", err)
		}
		if _, err := keys.Open(ctx, c, make([]byte, hsm.ActivationLen)); !errors.Is(err, credential.ErrCertificateExpired) {
			t.Fatalf("Open with an expired certificate: %v, want ErrCertificateExpired", err)
		}
		live := enrolWrapped(t, s, keys, "c5", now.Add(-time.Hour), now.Add(time.Hour))
		ids, err := s.ExpiredKeys(ctx, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || ids[0] != c.ID {
			t.Fatalf("ExpiredKeys = %v, want [%s] (not %s)", ids, c.ID, live.ID)
		}
	})
}

// pkcs11-tool, logged in to the citizen-key token with its PIN after a
// citizen enrolled and signed, finds the derivation secret (derive only,
// never extractable) and no private key at all.
func TestPKCS11ToolFindsNoCitizenKey(t *testing.T) {
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pkcs11-tool is not installed (apt-get install opensc)")
		}
		t.Skip("pkcs11-tool is not installed (apt-get install opensc); skipping")
	}
	ctx := context.Background()
	cfg := hsmtest.NewToken(t)
	h := hsmtest.Open(t, cfg, nil)
	s := credential.NewStore(storetest.SQLite(t))
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	keys := credential.NewKeys(s, h, "")
	if _, err := keys.EnsureSecret(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c := enrolWrapped(t, s, keys, "t1", now.Add(-time.Hour), now.Add(time.Hour))
	act, err := keys.Activate(ctx, c, citizenPIN, 5)
	if err != nil {
		t.Fatal(err)
	}
	w, err := keys.Open(ctx, c, act)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("x"))
	if _, err := w.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tool, "--module", cfg.Module, "--token-label", cfg.TokenLabel, "--login", "--pin", "env:KYSO_TEST_HSM_PIN", "-O")
	cmd.Env = append(os.Environ(), "KYSO_TEST_HSM_PIN="+cfg.PIN, "SOFTHSM2_CONF="+hsmtest.ConfPath(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, out)
	}
	t.Logf("pkcs11-tool -O:\n%s", out)
	text := string(out)
	if strings.Contains(text, "Private Key Object") || strings.Contains(text, "Public Key Object") {
		t.Fatalf("the citizen-key token holds key pair objects:\n%s", text)
	}
	for _, want := range []string{"Secret Key Object", "label:      " + credential.SecretLabel, "Usage:      derive\n", "never extractable"} {
		if !strings.Contains(text, want) {
			t.Errorf("pkcs11-tool output lacks %q:\n%s", want, text)
		}
	}
}
