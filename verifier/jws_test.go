package verifier_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/tsa"
	"kyso/verifier"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// jwsEnv is a signer test PKI with a real time-stamp authority and
// verifiers that trust its root, online (revocation fetched from the PKI)
// and offline.
type jwsEnv struct {
	pki             *signertest.PKI
	key             signer.Key
	deps            signer.Deps
	online, offline *verifier.Verifier
}

func newJWSEnv(t *testing.T, kind signertest.KeyKind) *jwsEnv {
	t.Helper()
	pki := signertest.New(t, kind, nil)
	db := storetest.SQLite(t)
	ctx := context.Background()
	if err := tsa.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pki.Leaf.Cert.OCSPServer[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := []*x509.Certificate{pki.Root.Cert}
	return &jwsEnv{
		pki:     pki,
		key:     signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()},
		deps:    signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert},
		online:  verifier.New(verifier.Options{Roots: roots, Revocation: revocation.New(revocation.Config{AllowedHosts: []string{u.Host}})}),
		offline: verifier.New(verifier.Options{Roots: roots}),
	}
}

func (e *jwsEnv) sign(t *testing.T, key signer.Key, ser string, level signer.Level, payload []byte) []byte {
	t.Helper()
	out, _, err := signer.SignJWS(context.Background(), key, payload, signer.JWSOptions{Serialization: ser, Level: level, Deps: e.deps})
	if err != nil {
		t.Fatalf("sign %s %s: %v", ser, level, err)
	}
	return out
}

func verifyJWS(t *testing.T, v *verifier.Verifier, data, detached []byte) *report.Report {
	t.Helper()
	rep, err := v.Verify(context.Background(), verifier.Input{Data: data, Detached: detached})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Document.Format != verifier.FormatJWS {
		t.Fatalf("format %q", rep.Document.Format)
	}
	return rep
}

func reportText(rep *report.Report) string {
	var b bytes.Buffer
	_ = rep.Text(&b)
	return b.String()
}

var formPayload = []byte(`{"form":"TK01","ho_ten":"Nguyễn Văn An","cccd":"001099012345"}`)

// TestJWSSignerLevels validates JWS made by kyso/signer at every level it
// makes, in both serializations, with ECDSA and RSA keys.
func TestJWSSignerLevels(t *testing.T) {
	for _, kind := range []struct {
		name string
		kind signertest.KeyKind
	}{{"P256", signertest.P256}, {"RSA2048", signertest.RSA2048}} {
		env := newJWSEnv(t, kind.kind)
		for _, tc := range []struct {
			ser   string
			level signer.Level
			want  string
			v     *verifier.Verifier
		}{
			{"compact", signer.BB, "JAdES-BASELINE-B", env.online},
			{"json", signer.BB, "JAdES-BASELINE-B", env.online},
			{"json", signer.BT, "JAdES-BASELINE-T", env.online},
			{"json", signer.BLT, "JAdES-BASELINE-LT", env.offline},
		} {
			t.Run(kind.name+"/"+tc.ser+"/"+tc.level.String(), func(t *testing.T) {
				rep := verifyJWS(t, tc.v, env.sign(t, env.key, tc.ser, tc.level, formPayload), nil)
				if rep.Status.MainIndication != report.TotalPassed || len(rep.Signatures) != 1 {
					t.Fatalf("got %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, reportText(rep))
				}
				s := rep.Signatures[0]
				if s.Level != tc.want || s.Format != "JAdES" {
					t.Fatalf("level %q format %q, want %s\n%s", s.Level, s.Format, tc.want, reportText(rep))
				}
				if s.Signer == nil || s.Signer.Name != "Nguyễn Văn An" || len(s.Chain) != 3 || s.SigningTime.Claimed == nil {
					t.Fatalf("signer, chain or claimed time missing\n%s", reportText(rep))
				}
				if (tc.level >= signer.BT) != (s.SigningTime.Proof == "signature-time-stamp") || (tc.level >= signer.BT) != (len(s.TimeStamps) == 1) {
					t.Fatalf("time-stamp proof %q, %d time-stamps\n%s", s.SigningTime.Proof, len(s.TimeStamps), reportText(rep))
				}
				if tc.level == signer.BLT && !strings.HasPrefix(s.Revocation[0].Source, "JAdES") {
					t.Fatalf("revocation source %q", s.Revocation[0].Source)
				}
			})
		}
	}
}

// jwsFlat is a flattened JSON JWS.
type jwsFlat struct {
	Payload   string          `json:"payload,omitempty"`
	Protected string          `json:"protected"`
	Header    json.RawMessage `json:"header,omitempty"`
	Signature string          `json:"signature"`
}

func flat(t *testing.T, b []byte) jwsFlat {
	t.Helper()
	var f jwsFlat
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// general combines flattened JWS over the same payload into the general
// JSON serialization.
func general(t *testing.T, flats ...[]byte) []byte {
	t.Helper()
	type sig struct {
		Protected string          `json:"protected"`
		Header    json.RawMessage `json:"header,omitempty"`
		Signature string          `json:"signature"`
	}
	var g struct {
		Payload    string `json:"payload"`
		Signatures []sig  `json:"signatures"`
	}
	for _, b := range flats {
		f := flat(t, b)
		g.Payload = f.Payload
		g.Signatures = append(g.Signatures, sig{f.Protected, f.Header, f.Signature})
	}
	return mustJSON(t, g)
}

// signRaw makes a compact JWS with any protected header, signed with an
// ECDSA P-256 key (ES256).
func signRaw(t *testing.T, key crypto.Signer, header map[string]any, payload []byte) string {
	t.Helper()
	segment := base64.RawURLEncoding.EncodeToString(payload)
	prot, sig := signSegment(t, key, header, segment)
	return prot + "." + segment + "." + sig
}

// jadesHeader is the protected header kyso/signer writes, for cert: the
// claimed signing time is iat, with no crit (ETSI TS 119 182-1 V1.2.1).
func jadesHeader(cert *x509.Certificate, chain ...*x509.Certificate) map[string]any {
	x5c := []string{base64.StdEncoding.EncodeToString(cert.Raw)}
	for _, c := range chain {
		x5c = append(x5c, base64.StdEncoding.EncodeToString(c.Raw))
	}
	sum := sha256.Sum256(cert.Raw)
	return map[string]any{"x5c": x5c, "x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:]),
		"iat": time.Now().Unix(), "cty": "json"}
}

func TestJWSFailures(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	pki := env.pki
	compact := env.sign(t, env.key, "compact", signer.BB, formPayload)
	parts := strings.Split(string(compact), ".")
	otherPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"form":"TK01","ho_ten":"Trần Văn B"}`))
	bt := env.sign(t, env.key, "json", signer.BT, formPayload)
	btFlat := flat(t, bt)

	// Protected header changed (a later claimed signing time), still valid JSON.
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var hm map[string]any
	if err := json.Unmarshal(hdr, &hm); err != nil {
		t.Fatal(err)
	}
	hm["iat"] = 1893456000 // 2030-01-01T00:00:00Z
	headerChanged := base64.RawURLEncoding.EncodeToString(mustJSON(t, hm)) + "." + parts[1] + "." + parts[2]

	// A B-T signature carrying another signature's time-stamp.
	other := flat(t, env.sign(t, env.key, "json", signer.BT, []byte(`{"other":true}`)))
	stolen := btFlat
	stolen.Header = other.Header

	// A second signer, and a general JWS with two signatures.
	second := pki.NewSigner(t, signertest.P256, nil, "Trần Thị Bình")
	key2 := signer.Key{Signer: second.Key, Cert: second.Cert, Chain: pki.Chain()}
	two := general(t, bt, env.sign(t, key2, "json", signer.BB, formPayload))
	badSecond := flat(t, env.sign(t, key2, "json", signer.BB, formPayload))
	badSecond.Signature = btFlat.Signature
	oneBad := general(t, bt, mustJSON(t, badSecond))

	// Hand-made headers.
	leafKey := pki.Leaf.Key
	withHeader := func(edit func(h map[string]any)) []byte {
		h := jadesHeader(pki.Leaf.Cert, pki.Issuing.Cert)
		edit(h)
		return []byte(signRaw(t, leafKey, h, formPayload))
	}
	unknownCrit := withHeader(func(h map[string]any) { h["crit"] = []string{"exp"}; h["exp"] = 1 })
	critAlg := withHeader(func(h map[string]any) { h["crit"] = []string{"alg"} })
	critAbsent := withHeader(func(h map[string]any) { h["crit"] = []string{"sigT"} })
	// Older JAdES signatures: sigT listed in crit instead of iat.
	oldSigT := withHeader(func(h map[string]any) {
		delete(h, "iat")
		h["sigT"], h["crit"] = "2025-06-01T12:00:00Z", []string{"sigT"}
	})
	sigTNotCrit := withHeader(func(h map[string]any) { delete(h, "iat"); h["sigT"] = "2025-06-01T12:00:00Z" })
	sigTUnknownCrit := withHeader(func(h map[string]any) {
		delete(h, "iat")
		h["sigT"], h["exp"], h["crit"] = "2025-06-01T12:00:00Z", 1, []string{"sigT", "exp"}
	})
	iatCrit := withHeader(func(h map[string]any) { h["crit"] = []string{"iat"} })
	iatFraction := withHeader(func(h map[string]any) { h["iat"] = 1748779200.5 })
	iatString := withHeader(func(h map[string]any) { h["iat"] = "1748779200" })
	iatNegative := withHeader(func(h map[string]any) { h["iat"] = -1 })
	iatAndSigT := withHeader(func(h map[string]any) { h["iat"] = 1748779200; h["sigT"] = "2025-06-01T12:00:05Z" })
	noClaimedTime := withHeader(func(h map[string]any) { delete(h, "iat") })
	otherSum := sha256.Sum256(pki.Issuing.Cert.Raw)
	x5tMismatch := withHeader(func(h map[string]any) { h["x5t#S256"] = base64.RawURLEncoding.EncodeToString(otherSum[:]) })
	unencoded := withHeader(func(h map[string]any) { h["b64"] = false; h["crit"] = []string{"b64"} })
	sigD := withHeader(func(h map[string]any) { h["sigD"] = map[string]any{"mId": "http://uri.etsi.org/19182/HttpHeaders"} })
	handMade := withHeader(func(h map[string]any) {})
	unsecured := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."

	// Detached payload (RFC 7515 Appendix F).
	detached := parts[0] + ".." + parts[2]

	untrusted := verifier.New(verifier.Options{Roots: []*x509.Certificate{signertest.New(t, signertest.P256, nil).Root.Cert}})
	for _, tc := range []struct {
		name     string
		v        *verifier.Verifier
		data     []byte
		detached []byte
		want     report.Indication
		sub      report.SubIndication
		sigs     int
		level    string
	}{
		{"hand-made JAdES header", env.online, handMade, nil, report.TotalPassed, "", 1, "JAdES-BASELINE-B"},
		{"payload changed (compact)", env.online, []byte(parts[0] + "." + otherPayload + "." + parts[2]), nil, report.TotalFailed, report.SigCryptoFailure, 1, ""},
		{"payload changed (JSON)", env.online, mustJSON(t, jwsFlat{otherPayload, btFlat.Protected, btFlat.Header, btFlat.Signature}), nil, report.TotalFailed, report.SigCryptoFailure, 1, ""},
		{"protected header changed", env.online, []byte(headerChanged), nil, report.TotalFailed, report.SigCryptoFailure, 1, ""},
		{"protected header not JSON", env.online, []byte("eyJhbGciOi." + parts[1] + "." + parts[2]), nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"unknown critical parameter", env.online, unknownCrit, nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"sigT listed in crit (older JAdES)", env.online, oldSigT, nil, report.TotalPassed, "", 1, "JAdES-BASELINE-B"},
		{"sigT not listed in crit", env.online, sigTNotCrit, nil, report.TotalPassed, "", 1, ""},
		{"sigT with an unknown critical parameter", env.online, sigTUnknownCrit, nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"iat listed in crit", env.online, iatCrit, nil, report.TotalPassed, "", 1, "JAdES-BASELINE-B"},
		{"iat with a fraction of a second", env.online, iatFraction, nil, report.TotalPassed, "", 1, ""},
		{"iat a string", env.online, iatString, nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"iat negative", env.online, iatNegative, nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"iat and a different sigT", env.online, iatAndSigT, nil, report.TotalPassed, "", 1, "JAdES-BASELINE-B"},
		{"no claimed signing time", env.online, noClaimedTime, nil, report.TotalPassed, "", 1, ""},
		{"crit lists alg", env.online, critAlg, nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"crit names an absent parameter", env.online, critAbsent, nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"x5t#S256 mismatch", env.online, x5tMismatch, nil, report.Indeterminate, report.NoSigningCertificateFound, 1, ""},
		{"b64 false (unencoded payload, RFC 7797)", env.online, unencoded, nil, report.TotalPassed, "", 1, "JAdES-BASELINE-B"},
		{"sigD not listed in crit", env.online, sigD, nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"alg none", env.online, []byte(unsecured), nil, report.TotalFailed, report.FormatFailure, 1, ""},
		{"untrusted root", untrusted, compact, nil, report.Indeterminate, report.NoCertificateChainFound, 1, ""},
		{"untrusted root (B-T)", untrusted, bt, nil, report.Indeterminate, report.NoCertificateChainFound, 1, ""},
		{"another signature's time-stamp", env.online, mustJSON(t, stolen), nil, report.TotalPassed, "", 1, "JAdES-BASELINE-B"},
		{"detached without content", env.online, []byte(detached), nil, report.Indeterminate, report.SignedDataNotFound, 1, ""},
		{"detached with content", env.online, []byte(detached), formPayload, report.TotalPassed, "", 1, "JAdES-BASELINE-B"},
		{"detached with other content", env.online, []byte(detached), []byte(`{}`), report.TotalFailed, report.SigCryptoFailure, 1, ""},
		{"general, two signers", env.online, two, nil, report.TotalPassed, "", 2, "JAdES-BASELINE-T"},
		{"general, second signature broken", env.online, oneBad, nil, report.TotalFailed, report.SigCryptoFailure, 2, "JAdES-BASELINE-T"},
		{"JSON without signature", env.online, []byte(`{"payload":"e30","signatures":[]}`), nil, report.TotalFailed, report.FormatFailure, 0, ""},
		{"flattened and general at once", env.online, []byte(`{"payload":"e30","signature":"AA","signatures":[{"protected":"e30","signature":"AA"}]}`), nil, report.TotalFailed, report.FormatFailure, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := verifyJWS(t, tc.v, tc.data, tc.detached)
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub || len(rep.Signatures) != tc.sigs {
				t.Fatalf("got %s/%s with %d signatures, want %s/%s with %d\n%s", rep.Status.MainIndication, rep.Status.SubIndication, len(rep.Signatures), tc.want, tc.sub, tc.sigs, reportText(rep))
			}
			if tc.sigs > 0 && rep.Signatures[0].Level != tc.level {
				t.Fatalf("level %q, want %q\n%s", rep.Signatures[0].Level, tc.level, reportText(rep))
			}
		})
	}

	// The second signer of the general JWS has its own entry.
	rep := verifyJWS(t, env.online, two, nil)
	if rep.Signatures[1].ID != "Signature2" || rep.Signatures[1].Signer.Name != "Trần Thị Bình" || rep.Signatures[1].Level != "JAdES-BASELINE-B" {
		t.Fatalf("second signature: %+v", rep.Signatures[1])
	}
	// A time-stamp over another signature value is reported as failed.
	rep = verifyJWS(t, env.online, mustJSON(t, stolen), nil)
	if ts := rep.Signatures[0].TimeStamps; len(ts) != 1 || ts[0].Status.SubIndication != report.HashFailure || rep.Signatures[0].SigningTime.Proof != "validation-time" {
		t.Fatalf("stolen time-stamp: %+v", rep.Signatures[0])
	}
	// The claimed signing time comes from iat, or from sigT in older
	// signatures, and the report says which.
	for _, tc := range []struct {
		name   string
		data   []byte
		format string
		want   time.Time
		check  string
	}{
		{"iat", iatAndSigT, "JAdES", time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), "warning"},
		{"sigT", oldSigT, "JAdES", time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), "passed"},
		{"sigT not critical", sigTNotCrit, "JAdES", time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), "warning"},
		{"iat fraction", iatFraction, "JAdES", time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), "warning"},
	} {
		rep := verifyJWS(t, env.online, tc.data, nil)
		s := rep.Signatures[0]
		var results []string
		for _, c := range s.Checks {
			if c.Name == "claimed signing time" {
				results = append(results, c.Result)
			}
		}
		if s.Format != tc.format || s.SigningTime.Claimed == nil || !s.SigningTime.Claimed.Equal(tc.want) || !slices.Contains(results, tc.check) {
			t.Errorf("%s: format %s, claimed %v, checks %v\n%s", tc.name, s.Format, s.SigningTime.Claimed, results, reportText(rep))
		}
	}
	if rep := verifyJWS(t, env.online, noClaimedTime, nil); rep.Signatures[0].Format != "JWS" || rep.Signatures[0].SigningTime.Claimed != nil {
		t.Errorf("no claimed signing time: %+v", rep.Signatures[0])
	}

	// An unknown critical parameter is named.
	rep = verifyJWS(t, env.online, unknownCrit, nil)
	if !strings.Contains(rep.Signatures[0].Status.Detail, `"exp"`) {
		t.Fatalf("detail %q", rep.Signatures[0].Status.Detail)
	}
}

// TestJWSWithoutJAdES validates JWS made with go-jose, carrying x5c but no
// JAdES header parameters: plain JWS, no baseline level.
func TestJWSWithoutJAdES(t *testing.T) {
	for _, kind := range []signertest.KeyKind{signertest.P256, signertest.RSA2048} {
		env := newJWSEnv(t, kind)
		alg := jose.ES256
		if kind == signertest.RSA2048 {
			alg = jose.PS256
		}
		opts := (&jose.SignerOptions{}).WithHeader("x5c", []string{
			base64.StdEncoding.EncodeToString(env.pki.Leaf.Cert.Raw), base64.StdEncoding.EncodeToString(env.pki.Issuing.Cert.Raw)})
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: env.pki.Leaf.Key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s.Sign(formPayload)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := obj.CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"compact": []byte(tok), "json": []byte(obj.FullSerialize())} {
			t.Run(string(alg)+"/"+name, func(t *testing.T) {
				rep := verifyJWS(t, env.online, data, nil)
				if rep.Status.MainIndication != report.TotalPassed || rep.Signatures[0].Format != "JWS" || rep.Signatures[0].Level != "" {
					t.Fatalf("got %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, reportText(rep))
				}
			})
		}
	}
}
