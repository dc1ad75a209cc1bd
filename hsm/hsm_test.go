package hsm_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/pkcs11"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"kyso/hsm"
	"kyso/hsm/hsmtest"
)

func digest(h crypto.Hash, msg string) []byte {
	w := h.New()
	w.Write([]byte(msg))
	return w.Sum(nil)
}

func verify(t *testing.T, pub crypto.PublicKey, d, sig []byte, opts crypto.SignerOpts) {
	t.Helper()
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			// Verify with the salt length the signer was asked
			// for, so that a wrong salt length is caught.
			vo := *pss
			if vo.SaltLength == rsa.PSSSaltLengthAuto {
				vo.SaltLength = (pub.N.BitLen()-1+7)/8 - 2 - pss.Hash.Size()
			}
			if err := rsa.VerifyPSS(pub, pss.Hash, d, sig, &vo); err != nil {
				t.Fatalf("PSS signature does not verify: %v", err)
			}
			return
		}
		if err := rsa.VerifyPKCS1v15(pub, opts.HashFunc(), d, sig); err != nil {
			t.Fatalf("PKCS#1 v1.5 signature does not verify: %v", err)
		}
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, d, sig) {
			t.Fatalf("ECDSA signature does not verify")
		}
	default:
		t.Fatalf("public key of type %T", pub)
	}
}

func TestSignVerify(t *testing.T) {
	h := hsmtest.New(t)
	ctx := context.Background()
	cases := []struct {
		typ  hsm.KeyType
		opts []crypto.SignerOpts
		bits int
	}{
		{hsm.RSA2048, []crypto.SignerOpts{
			crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA1, crypto.SHA224,
			&rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash},
			&rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthAuto},
			&rsa.PSSOptions{Hash: crypto.SHA384, SaltLength: 20},
			&rsa.PSSOptions{Hash: crypto.SHA512, SaltLength: rsa.PSSSaltLengthEqualsHash},
		}, 2048},
		{hsm.RSA3072, []crypto.SignerOpts{
			crypto.SHA256, crypto.SHA512,
			&rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash},
		}, 3072},
		{hsm.ECP256, []crypto.SignerOpts{crypto.SHA256, crypto.SHA384}, 256},
		{hsm.ECP384, []crypto.SignerOpts{crypto.SHA384, crypto.SHA256, crypto.SHA512}, 384},
	}
	for _, c := range cases {
		t.Run(string(c.typ), func(t *testing.T) {
			id := []byte("id-" + string(c.typ))
			k, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "key-" + string(c.typ), ID: id, Type: c.typ})
			if err != nil {
				t.Fatal(err)
			}
			if k.Type() != c.typ || k.Label() != "key-"+string(c.typ) || string(k.ID()) != string(id) {
				t.Fatalf("key = %s %q %x", k.Type(), k.Label(), k.ID())
			}
			switch pub := k.Public().(type) {
			case *rsa.PublicKey:
				if pub.N.BitLen() != c.bits || pub.E != 65537 {
					t.Fatalf("RSA public key of %d bits, e=%d", pub.N.BitLen(), pub.E)
				}
			case *ecdsa.PublicKey:
				if pub.Curve.Params().BitSize != c.bits {
					t.Fatalf("EC public key on %s", pub.Curve.Params().Name)
				}
			}
			// The key found again has the same public key and signs too.
			found, err := h.FindKey(ctx, k.Label())
			if err != nil {
				t.Fatal(err)
			}
			if !found.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
				t.Fatal("FindKey returned another public key")
			}
			for _, opts := range c.opts {
				name := fmt.Sprint(opts.HashFunc())
				if pss, ok := opts.(*rsa.PSSOptions); ok {
					name = fmt.Sprintf("PSS-%v-salt%d", pss.Hash, pss.SaltLength)
				}
				t.Run(name, func(t *testing.T) {
					for _, signer := range []crypto.Signer{k, found} {
						d := digest(opts.HashFunc(), "Cộng hòa xã hội chủ nghĩa Việt Nam "+name)
						sig, err := signer.Sign(rand.Reader, d, opts)
						if err != nil {
							t.Fatal(err)
						}
						verify(t, signer.Public(), d, sig, opts)
						d[0] ^= 1
						switch pub := signer.Public().(type) {
						case *ecdsa.PublicKey:
							if ecdsa.VerifyASN1(pub, d, sig) {
								t.Fatal("signature verifies over another digest")
							}
						case *rsa.PublicKey:
							if _, ok := opts.(*rsa.PSSOptions); !ok && rsa.VerifyPKCS1v15(pub, opts.HashFunc(), d, sig) == nil {
								t.Fatal("signature verifies over another digest")
							}
						}
					}
				})
			}
		})
	}
}

func TestSignRejectsBadInput(t *testing.T) {
	h := hsmtest.New(t)
	ctx := context.Background()
	rk, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "rsa", Type: hsm.RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	ek, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "ec", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		k      *hsm.Key
		digest []byte
		opts   crypto.SignerOpts
	}{
		{"digest length does not match hash", rk, make([]byte, 20), crypto.SHA256},
		{"unsupported hash for PKCS#1 v1.5", rk, make([]byte, 16), crypto.MD5},
		{"PSS without hash", rk, make([]byte, 32), &rsa.PSSOptions{}},
		{"PSS salt too long", rk, make([]byte, 32), &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: 300}},
		{"PSS invalid salt length", rk, make([]byte, 32), &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: -7}},
		{"raw input too long", rk, make([]byte, 250), crypto.Hash(0)},
		{"EC digest length does not match hash", ek, make([]byte, 31), crypto.SHA256},
		{"EC empty digest", ek, nil, crypto.Hash(0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if sig, err := c.k.Sign(nil, c.digest, c.opts); err == nil {
				t.Fatalf("signed: %x", sig)
			}
		})
	}
	// A raw PKCS#1 v1.5 signature (hash 0) signs the input as it is, as
	// rsa.SignPKCS1v15 does.
	raw := []byte("36 bytes of MD5+SHA1 as TLS 1.0 used")
	sig, err := rk.Sign(nil, raw, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(rk.Public().(*rsa.PublicKey), 0, raw, sig); err != nil {
		t.Fatal(err)
	}
}

func TestPrivateKeyIsSensitive(t *testing.T) {
	h := hsmtest.New(t)
	ctx := context.Background()
	for _, c := range []struct {
		typ    hsm.KeyType
		secret uint
	}{
		{hsm.RSA2048, pkcs11.CKA_PRIVATE_EXPONENT},
		{hsm.RSA3072, pkcs11.CKA_PRIME_1},
		{hsm.ECP256, pkcs11.CKA_VALUE},
		{hsm.ECP384, pkcs11.CKA_VALUE},
	} {
		t.Run(string(c.typ), func(t *testing.T) {
			label := "sensitive-" + string(c.typ)
			if _, err := h.GenerateKey(ctx, hsm.KeySpec{Label: label, Type: c.typ}); err != nil {
				t.Fatal(err)
			}
			v, err := hsm.PrivateKeyAttribute(h, label, c.secret)
			if !hsm.IsPKCS11Error(err, pkcs11.CKR_ATTRIBUTE_SENSITIVE) {
				t.Fatalf("reading the private key value: %x, %v; want CKR_ATTRIBUTE_SENSITIVE", v, err)
			}
			for _, a := range []struct {
				name string
				attr uint
				want bool
			}{
				{"CKA_TOKEN", pkcs11.CKA_TOKEN, true},
				{"CKA_PRIVATE", pkcs11.CKA_PRIVATE, true},
				{"CKA_SENSITIVE", pkcs11.CKA_SENSITIVE, true},
				{"CKA_ALWAYS_SENSITIVE", pkcs11.CKA_ALWAYS_SENSITIVE, true},
				{"CKA_EXTRACTABLE", pkcs11.CKA_EXTRACTABLE, false},
				{"CKA_NEVER_EXTRACTABLE", pkcs11.CKA_NEVER_EXTRACTABLE, true},
				{"CKA_SIGN", pkcs11.CKA_SIGN, true},
				{"CKA_DECRYPT", pkcs11.CKA_DECRYPT, false},
				{"CKA_UNWRAP", pkcs11.CKA_UNWRAP, false},
				{"CKA_DERIVE", pkcs11.CKA_DERIVE, false},
			} {
				v, err := hsm.PrivateKeyAttribute(h, label, a.attr)
				if err != nil {
					t.Fatalf("%s: %v", a.name, err)
				}
				if got := len(v) == 1 && v[0] != 0; got != a.want {
					t.Errorf("%s = %x, want %v", a.name, v, a.want)
				}
			}
		})
	}
}

// TestPKCS11ToolSeesKey checks the key with OpenSC's pkcs11-tool, a second
// implementation reading the token.
func TestPKCS11ToolSeesKey(t *testing.T) {
	tool, err := exec.LookPath("pkcs11-tool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pkcs11-tool is not installed (apt-get install opensc)")
		}
		t.Skip("pkcs11-tool is not installed (apt-get install opensc); skipping")
	}
	cfg := hsmtest.NewToken(t)
	h := hsmtest.Open(t, cfg, nil)
	ctx := context.Background()
	for _, typ := range []hsm.KeyType{hsm.RSA2048, hsm.ECP256} {
		if _, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "tool-" + string(typ), ID: []byte{0xCA, 0xFE}, Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(tool, "--module", cfg.Module, "--token-label", cfg.TokenLabel, "--login", "--pin", "env:KYSO_TEST_HSM_PIN", "-O")
	cmd.Env = append(os.Environ(), "KYSO_TEST_HSM_PIN="+cfg.PIN, "SOFTHSM2_CONF="+hsmtest.ConfPath(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, out)
	}
	t.Logf("pkcs11-tool -O:\n%s", out)
	objects := strings.Split(string(out), "\n\n")
	for _, typ := range []hsm.KeyType{hsm.RSA2048, hsm.ECP256} {
		label := "tool-" + string(typ)
		var priv string
		for _, o := range objects {
			if strings.Contains(o, "Private Key Object") && strings.Contains(o, "label:      "+label+"\n") {
				priv = o
			}
		}
		if priv == "" {
			t.Fatalf("pkcs11-tool does not list private key %s:\n%s", label, out)
		}
		if !strings.Contains(priv, "Usage:      sign\n") {
			t.Errorf("private key %s may do more than sign:\n%s", label, priv)
		}
		for _, want := range []string{"sensitive", "always sensitive", "never extractable", "local", "ID:         cafe"} {
			if !strings.Contains(priv, want) {
				t.Errorf("private key %s: %q missing in\n%s", label, want, priv)
			}
		}
		if strings.Contains(strings.ReplaceAll(priv, "never extractable", ""), "extractable") {
			t.Errorf("private key %s is extractable:\n%s", label, priv)
		}
	}
}

func TestDuplicateLabelRefused(t *testing.T) {
	h := hsmtest.New(t)
	ctx := context.Background()
	first, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "seal-agency-1", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []hsm.KeyType{hsm.ECP256, hsm.RSA2048} {
		_, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "seal-agency-1", Type: typ})
		if !errors.Is(err, hsm.ErrKeyExists) {
			t.Fatalf("second key with the same label: %v, want ErrKeyExists", err)
		}
	}
	keys, err := h.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || string(keys[0].ID) != string(first.ID()) {
		t.Fatalf("keys after refused duplicates: %+v", keys)
	}
}

func TestFindListDestroy(t *testing.T) {
	h := hsmtest.New(t)
	ctx := context.Background()
	want := map[string]hsm.KeyType{"ca-root": hsm.RSA3072, "ca-issuing": hsm.RSA2048, "ocsp": hsm.ECP256, "tsa": hsm.ECP384}
	keys := map[string]*hsm.Key{}
	for label, typ := range want {
		k, err := h.GenerateKey(ctx, hsm.KeySpec{Label: label, ID: []byte(label), Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		keys[label] = k
	}
	list, err := h.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]hsm.KeyType{}
	for _, ki := range list {
		got[ki.Label] = ki.Type
		if string(ki.ID) != ki.Label {
			t.Errorf("key %s has id %q", ki.Label, ki.ID)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ListKeys = %v, want %v", got, want)
	}
	for label, typ := range want {
		k, err := h.FindKey(ctx, label)
		if err != nil {
			t.Fatal(err)
		}
		if k.Type() != typ || string(k.ID()) != label {
			t.Errorf("FindKey(%s) = %s %q", label, k.Type(), k.ID())
		}
	}
	if _, err := h.FindKey(ctx, "no-such-key"); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("FindKey of a missing key: %v", err)
	}
	if err := h.DestroyKey(ctx, "ocsp"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.FindKey(ctx, "ocsp"); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("FindKey after DestroyKey: %v", err)
	}
	if err := h.DestroyKey(ctx, "ocsp"); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("second DestroyKey: %v", err)
	}
	// A Key value of a destroyed key stops signing.
	if _, err := keys["ocsp"].Sign(nil, digest(crypto.SHA256, "x"), crypto.SHA256); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("signing with a destroyed key: %v", err)
	}
	// The label is free again, and the old Key value does not pick up the
	// new key with the same label.
	if _, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "ocsp", Type: hsm.ECP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys["ocsp"].Sign(nil, digest(crypto.SHA256, "x"), crypto.SHA256); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Fatalf("signing with a destroyed key after its label was reused: %v", err)
	}
	list, err = h.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(want) {
		t.Fatalf("ListKeys after destroy and regenerate: %+v", list)
	}
	for _, bad := range []string{"", strings.Repeat("x", 256), "\xff"} {
		if _, err := h.GenerateKey(ctx, hsm.KeySpec{Label: bad, Type: hsm.ECP256}); err == nil {
			t.Errorf("GenerateKey accepted label %q", bad)
		}
	}
	if _, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "ed", Type: "ED25519"}); !errors.Is(err, hsm.ErrUnsupported) {
		t.Errorf("GenerateKey of an unsupported type: %v", err)
	}
}

// counter returns the value of a counter (labels in label order) on reg.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		ok := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == want[i] && lp.GetValue() == want[i+1] {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string, labels ...string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				if labelsMatch(m, labels) {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

func TestRecoveryFromFaults(t *testing.T) {
	faults := []struct {
		name  string
		fault func(p *pkcs11.Ctx, slot uint, login pkcs11.SessionHandle) error
	}{
		{"C_CloseAllSessions", func(p *pkcs11.Ctx, slot uint, _ pkcs11.SessionHandle) error {
			return p.CloseAllSessions(slot)
		}},
		{"C_Logout", func(p *pkcs11.Ctx, _ uint, login pkcs11.SessionHandle) error {
			return p.Logout(login)
		}},
		{"C_Finalize and C_Initialize", func(p *pkcs11.Ctx, _ uint, _ pkcs11.SessionHandle) error {
			if err := p.Finalize(); err != nil {
				return err
			}
			return p.Initialize()
		}},
		{"C_Finalize", func(p *pkcs11.Ctx, _ uint, _ pkcs11.SessionHandle) error {
			return p.Finalize()
		}},
	}
	cfg := hsmtest.NewToken(t)
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			h := hsmtest.Open(t, cfg, reg)
			ctx := context.Background()
			ec, err := h.FindKey(ctx, "recovery-ec")
			if errors.Is(err, hsm.ErrKeyNotFound) {
				ec, err = h.GenerateKey(ctx, hsm.KeySpec{Label: "recovery-ec", Type: hsm.ECP256})
			}
			if err != nil {
				t.Fatal(err)
			}
			rk, err := h.FindKey(ctx, "recovery-rsa")
			if errors.Is(err, hsm.ErrKeyNotFound) {
				rk, err = h.GenerateKey(ctx, hsm.KeySpec{Label: "recovery-rsa", Type: hsm.RSA2048})
			}
			if err != nil {
				t.Fatal(err)
			}
			d := digest(crypto.SHA256, f.name)

			// Signers keep running while the fault hits.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			for i := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k := []*hsm.Key{ec, rk}[i%2]
					for {
						select {
						case <-stop:
							return
						default:
						}
						sig, err := k.SignContext(ctx, d, crypto.SHA256)
						if err == nil && i%2 == 0 && !ecdsa.VerifyASN1(ec.Public().(*ecdsa.PublicKey), d, sig) {
							err = errors.New("bad signature")
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			before := counter(t, reg, "kyso_hsm_recoveries_total")
			if err := hsm.InjectFault(h, f.fault); err != nil {
				t.Fatalf("injecting the fault: %v", err)
			}
			for _, k := range []*hsm.Key{ec, rk} {
				sig, err := k.Sign(nil, d, crypto.SHA256)
				if err != nil {
					t.Fatalf("signing after %s: %v", f.name, err)
				}
				verify(t, k.Public(), d, sig, crypto.SHA256)
			}
			close(stop)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("background signer: %v", err)
			}
			if got := counter(t, reg, "kyso_hsm_recoveries_total") - before; got < 1 {
				t.Errorf("kyso_hsm_recoveries_total went up by %v, want at least 1", got)
			}
			if err := h.Ping(ctx); err != nil {
				t.Fatalf("Ping after recovery: %v", err)
			}
		})
	}
}

func TestPingRecovers(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := hsmtest.Open(t, hsmtest.NewToken(t), reg)
	ctx := context.Background()
	if err := h.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if err := hsm.InjectFault(h, func(p *pkcs11.Ctx, slot uint, _ pkcs11.SessionHandle) error {
		return p.CloseAllSessions(slot)
	}); err != nil {
		t.Fatal(err)
	}
	if err := h.Ping(ctx); err != nil {
		t.Fatalf("Ping after the sessions were closed: %v", err)
	}
	if got := counter(t, reg, "kyso_hsm_recoveries_total"); got != 1 {
		t.Fatalf("kyso_hsm_recoveries_total = %v, want 1", got)
	}
}

func TestConcurrentSigning(t *testing.T) {
	cfg := hsmtest.NewToken(t)
	cfg.PoolSize = 4
	h := hsmtest.Open(t, cfg, nil)
	ctx := context.Background()
	ec, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "ec", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	rk, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "rsa", Type: hsm.RSA2048})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for i := range goroutines {
		wg.Go(func() {
			for j := range each {
				d := digest(crypto.SHA256, fmt.Sprintf("%d/%d", i, j))
				if sig, err := ec.Sign(nil, d, crypto.SHA256); err != nil {
					errs <- err
				} else if !ecdsa.VerifyASN1(ec.Public().(*ecdsa.PublicKey), d, sig) {
					errs <- fmt.Errorf("ECDSA signature %d/%d does not verify", i, j)
				}
				opts := &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: rsa.PSSSaltLengthEqualsHash}
				if sig, err := rk.Sign(nil, d, opts); err != nil {
					errs <- err
				} else if err := rsa.VerifyPSS(rk.Public().(*rsa.PublicKey), crypto.SHA256, d, sig, opts); err != nil {
					errs <- fmt.Errorf("PSS signature %d/%d: %w", i, j, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := hsm.PooledSessions(h); n < 1 || n > cfg.PoolSize {
		t.Errorf("%d sessions in the pool, want 1 to %d", n, cfg.PoolSize)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := hsmtest.NewToken(t)
	cfg.KeyMetricLabel = func(label string) string { return strings.TrimSuffix(label, "-2") }
	h := hsmtest.Open(t, cfg, reg)
	ctx := context.Background()
	k, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "seal", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	k2, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "seal-2", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for _, k := range []*hsm.Key{k, k2} {
			if _, err := k.Sign(nil, digest(crypto.SHA256, "m"), crypto.SHA256); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := k.Sign(nil, []byte("short"), crypto.SHA256); err == nil {
		t.Fatal("signed a digest of the wrong length")
	}
	if got := counter(t, reg, "kyso_hsm_operations_total", "key", "seal", "mechanism", "ECDSA", "result", "ok"); got != 6 {
		t.Errorf("signatures counted: %v, want 6", got)
	}
	if got := counter(t, reg, "kyso_hsm_operations_total", "key", "seal", "mechanism", "EC_KEY_PAIR_GEN", "result", "ok"); got != 2 {
		t.Errorf("key generations counted: %v, want 2", got)
	}
	if got := histogramCount(t, reg, "kyso_hsm_operation_duration_seconds", "key", "seal", "mechanism", "ECDSA"); got != 6 {
		t.Errorf("durations observed: %v, want 6", got)
	}
	// A second HSM on the same registry shares the collectors.
	h2 := hsmtest.Open(t, cfg, reg)
	k3, err := h2.FindKey(ctx, "seal")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k3.Sign(nil, digest(crypto.SHA256, "m"), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	if got := counter(t, reg, "kyso_hsm_operations_total", "key", "seal", "mechanism", "ECDSA", "result", "ok"); got != 7 {
		t.Errorf("signatures counted with two HSMs: %v, want 7", got)
	}
}

func TestOpenErrors(t *testing.T) {
	cfg := hsmtest.NewToken(t)
	ctx := context.Background()
	wrongPIN := cfg
	wrongPIN.PIN = "not-the-pin"
	if _, err := hsm.Open(ctx, wrongPIN, nil, nil); !hsm.IsPKCS11Error(err, pkcs11.CKR_PIN_INCORRECT) {
		t.Errorf("Open with a wrong PIN: %v", err)
	}
	noToken := cfg
	noToken.TokenLabel = "no-such-token"
	if _, err := hsm.Open(ctx, noToken, nil, nil); !errors.Is(err, hsm.ErrTokenNotFound) {
		t.Errorf("Open of a missing token: %v", err)
	}
	noPIN := cfg
	noPIN.PIN = ""
	if _, err := hsm.Open(ctx, noPIN, nil, nil); !errors.Is(err, hsm.ErrNoPIN) {
		t.Errorf("Open without a PIN: %v", err)
	}
	badModule := cfg
	badModule.Module = "/nonexistent/libpkcs11.so"
	if _, err := hsm.Open(ctx, badModule, nil, nil); err == nil {
		t.Error("Open of a missing module succeeded")
	}
}

func TestClose(t *testing.T) {
	cfg := hsmtest.NewToken(t)
	h, err := hsm.Open(context.Background(), cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := h.GenerateKey(context.Background(), hsm.KeySpec{Label: "k", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Sign(nil, digest(crypto.SHA256, "m"), crypto.SHA256); !errors.Is(err, hsm.ErrClosed) {
		t.Fatalf("Sign after Close: %v", err)
	}
	if err := h.Ping(context.Background()); !errors.Is(err, hsm.ErrClosed) {
		t.Fatalf("Ping after Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Another HSM on the same token still works: Close leaves the
	// library initialised.
	h2 := hsmtest.Open(t, cfg, nil)
	if _, err := h2.FindKey(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
}

func TestContextCancelledWhileWaitingForSession(t *testing.T) {
	cfg := hsmtest.NewToken(t)
	cfg.PoolSize = 1
	h := hsmtest.Open(t, cfg, nil)
	k, err := h.GenerateKey(context.Background(), hsm.KeySpec{Label: "k", Type: hsm.ECP256})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.SignContext(ctx, digest(crypto.SHA256, "m"), crypto.SHA256); !errors.Is(err, context.Canceled) {
		t.Fatalf("SignContext with a cancelled context: %v", err)
	}
}

func benchmarkSign(b *testing.B, typ hsm.KeyType) {
	h := hsmtest.New(b)
	k, err := h.GenerateKey(context.Background(), hsm.KeySpec{Label: "bench", Type: typ})
	if err != nil {
		b.Fatal(err)
	}
	d := digest(crypto.SHA256, "benchmark")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Sign(nil, d, crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSignRSA2048 is the raw rate of RSA-2048 PKCS#1 v1.5 signatures
// through the session pool, the baseline for the signing benchmarks above
// this package.
func BenchmarkSignRSA2048(b *testing.B) { benchmarkSign(b, hsm.RSA2048) }

// BenchmarkSignP256 is the raw rate of ECDSA P-256 signatures through the
// session pool.
func BenchmarkSignP256(b *testing.B) { benchmarkSign(b, hsm.ECP256) }

func TestReinitialize(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := hsmtest.Open(t, hsmtest.NewToken(t), reg)
	ctx := context.Background()
	k, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "k", Type: hsm.ECP384})
	if err != nil {
		t.Fatal(err)
	}
	d := digest(crypto.SHA384, "before")
	if _, err := k.Sign(nil, d, crypto.SHA384); err != nil {
		t.Fatal(err)
	}
	if err := hsm.Reinitialize(h); err != nil {
		t.Fatal(err)
	}
	sig, err := k.Sign(nil, d, crypto.SHA384)
	if err != nil {
		t.Fatalf("Sign after reinitialisation: %v", err)
	}
	verify(t, k.Public(), d, sig, crypto.SHA384)
	if got := counter(t, reg, "kyso_hsm_recoveries_total"); got != 1 {
		t.Fatalf("kyso_hsm_recoveries_total = %v, want 1", got)
	}
}

func TestInitTokenRefusesExistingLabel(t *testing.T) {
	cfg := hsmtest.NewToken(t)
	if err := hsm.InitToken(cfg.Module, cfg.TokenLabel, "so-pin-2", "user-pin-2"); !errors.Is(err, hsm.ErrTokenExists) {
		t.Fatalf("InitToken over an existing token: %v", err)
	}
	// The existing token keeps its PIN.
	h := hsmtest.Open(t, cfg, nil)
	if err := h.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := hsm.InitToken(cfg.Module, "", "so", "user"); err == nil {
		t.Fatal("InitToken without a label succeeded")
	}
}

// Ed25519 keys live in the token (CKM_EC_EDWARDS_KEY_PAIR_GEN) and sign
// messages with CKM_EDDSA; the signatures verify with crypto/ed25519.
func TestEd25519(t *testing.T) {
	h := hsmtest.New(t)
	ctx := context.Background()
	k, err := h.GenerateKey(ctx, hsm.KeySpec{Label: "ed-1", Type: hsm.Ed25519})
	if err != nil {
		t.Fatal(err)
	}
	found, err := h.FindKey(ctx, "ed-1")
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := found.Public().(ed25519.PublicKey)
	if !ok || !pub.Equal(k.Public()) {
		t.Fatalf("public key %T", found.Public())
	}
	msg := []byte("kyso.test/audit\n1\nAAAA\n")
	sig, err := found.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		t.Fatal("Ed25519 signature does not verify")
	}
	if _, err := found.Sign(nil, digest(crypto.SHA256, "x"), crypto.SHA256); err == nil {
		t.Fatal("pre-hashed Ed25519 accepted")
	}
	keys, err := h.ListKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Type != hsm.Ed25519 {
		t.Fatalf("ListKeys %+v %v", keys, err)
	}
	if v, err := hsm.PrivateKeyAttribute(h, "ed-1", pkcs11.CKA_EXTRACTABLE); err != nil || v[0] != 0 {
		t.Fatalf("extractable %v %v", v, err)
	}
}
