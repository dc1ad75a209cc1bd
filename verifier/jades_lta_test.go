package verifier_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kyso/jose"
	"kyso/signer"
	"kyso/signer/jws"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/tsa"
	"kyso/verifier"
	"kyso/verifier/report"
)

// oneDayKey is a signer whose certificate is valid for one day from now,
// issued by the test PKI's issuing CA.
func oneDayKey(t *testing.T, env *jwsEnv) signer.Key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pki := env.pki
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{Country: []string{"VN"}, CommonName: "Nguyễn Văn An"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(23 * time.Hour), BasicConstraintsValid: true,
		KeyUsage:   x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		OCSPServer: pki.Leaf.Cert.OCSPServer, CRLDistributionPoints: pki.Leaf.Cert.CRLDistributionPoints,
	}, pki.Issuing.Cert, k.Public(), pki.Issuing.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return signer.Key{Signer: k, Cert: cert, Chain: pki.Chain()}
}

func extendJWS(t *testing.T, env *jwsEnv, doc []byte) []byte {
	t.Helper()
	out, typ, err := signer.Extend(context.Background(), doc, nil, env.deps)
	if err != nil {
		t.Fatalf("extend: %v", err)
	}
	if typ != jws.JSONType {
		t.Fatalf("media type %q", typ)
	}
	return out
}

// etsiU returns the etsiU elements of a flattened JWS, decoded.
func etsiU(t *testing.T, doc []byte) (jwsFlat, []string, []map[string]json.RawMessage) {
	t.Helper()
	f := flat(t, doc)
	var h struct {
		EtsiU []string `json:"etsiU"`
	}
	if err := json.Unmarshal(f.Header, &h); err != nil {
		t.Fatalf("etsiU is not an array of base64url strings: %v", err)
	}
	var dec []map[string]json.RawMessage
	for _, e := range h.EtsiU {
		b, err := base64.RawURLEncoding.DecodeString(e)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		dec = append(dec, m)
	}
	return f, h.EtsiU, dec
}

// withEtsiU returns the flattened JWS f with its etsiU replaced.
func withEtsiU(t *testing.T, f jwsFlat, entries []any) []byte {
	t.Helper()
	f.Header = mustJSON(t, map[string]any{"etsiU": entries})
	return mustJSON(t, f)
}

func encodeEntry(t *testing.T, v any) string {
	return base64.RawURLEncoding.EncodeToString(mustJSON(t, v))
}

// A JAdES signature with a certificate valid for one day still validates
// two years later (fake clock, offline) once extended to B-LTA while the
// certificate was valid; without the extension nothing proves the
// signature existed while the certificate was valid. A second extension
// renews the archive time-stamp (validation data for the previous
// time-stamps in tstVD) and keeps it valid; a signature made at B-LTA, and
// a compact B-B signature extended (turned into flattened JSON), do too.
func TestJAdESArchiveKeepsSignaturesVerifiable(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	key := oneDayKey(t, env)
	bt := env.sign(t, key, "json", signer.BT, formPayload)
	blt := env.sign(t, key, "json", signer.BLT, formPayload)
	extended := extendJWS(t, env, bt)
	renewed := extendJWS(t, env, extended)
	fromLT := extendJWS(t, env, blt)
	blta := env.sign(t, key, "json", signer.BLTA, formPayload)
	fromCompact := extendJWS(t, env, env.sign(t, key, "compact", signer.BB, formPayload))

	// Shape: every etsiU element base64url encoded, in the order the
	// standard's imprint needs, the protected header, payload and
	// signature value untouched.
	bf := flat(t, bt)
	f, _, dec := etsiU(t, renewed)
	if f.Protected != bf.Protected || f.Payload != bf.Payload || f.Signature != bf.Signature {
		t.Fatal("extension changed the JWS components")
	}
	var names []string
	for _, m := range dec {
		for k := range m {
			names = append(names, k)
		}
	}
	if got := strings.Join(names, ","); got != "sigTst,xVals,rVals,arcTst,tstVD,arcTst" {
		t.Fatalf("etsiU of the renewed signature: %s", got)
	}
	if _, _, dec := etsiU(t, fromCompact); len(dec) != 4 {
		t.Fatalf("compact extended to %d etsiU elements, want sigTst, xVals, rVals, arcTst", len(dec))
	}

	// Let the test CA's CRLs and OCSP answers (dated to the second) move
	// on, so the online check "now" finds evidence newer than what the
	// signatures carry: their level must still come from what they carry.
	time.Sleep(1100 * time.Millisecond)
	later := verifier.New(verifier.Options{Roots: []*x509.Certificate{env.pki.Root.Cert}, At: time.Now().AddDate(2, 0, 0)})
	for _, tc := range []struct {
		name   string
		doc    []byte
		want   report.Indication
		level  string
		arcTst int
	}{
		{"B-T not extended", bt, report.Indeterminate, "", 0},
		// The TSA certificate outlives the check here, so the signature
		// time-stamp with its TSA's revocation data in rVals still proves
		// the signing time (TestJAdESArchiveOutlivesTheTSA shows it
		// expiring).
		{"B-LT not extended", blt, report.TotalPassed, "JAdES-BASELINE-LT", 0},
		{"B-T extended", extended, report.TotalPassed, "JAdES-BASELINE-LTA", 1},
		{"extended twice", renewed, report.TotalPassed, "JAdES-BASELINE-LTA", 2},
		{"B-LT extended", fromLT, report.TotalPassed, "JAdES-BASELINE-LTA", 1},
		{"signed at B-LTA", blta, report.TotalPassed, "JAdES-BASELINE-LTA", 1},
		{"compact B-B extended", fromCompact, report.TotalPassed, "JAdES-BASELINE-LTA", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []struct {
				name string
				v    *verifier.Verifier
				want report.Indication
			}{{"now", env.online, report.TotalPassed}, {"two years later", later, tc.want}} {
				rep := verifyJWS(t, v.v, tc.doc, nil)
				s := rep.Signatures[0]
				if rep.Status.MainIndication != v.want {
					t.Fatalf("%s: got %s/%s, want %s\n%s", v.name, rep.Status.MainIndication, rep.Status.SubIndication, v.want, reportText(rep))
				}
				if v.want == report.TotalPassed && tc.level != "" && s.Level != tc.level {
					t.Fatalf("%s: level %q, want %s\n%s", v.name, s.Level, tc.level, reportText(rep))
				}
				n := 0
				for _, ts := range s.TimeStamps {
					if ts.Type == "archive" {
						n++
						if ts.Status.MainIndication != report.TotalPassed {
							t.Fatalf("%s: archive time-stamp %s\n%s", v.name, ts.Status.MainIndication, reportText(rep))
						}
					}
				}
				if n != tc.arcTst {
					t.Fatalf("%s: %d archive time-stamps, want %d", v.name, n, tc.arcTst)
				}
			}
		})
	}
}

// shortTSA is a second time-stamp authority of the test PKI whose
// certificate expires after one year.
func shortTSA(t *testing.T, env *jwsEnv) signer.Stamper {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{Country: []string{"VN"}, CommonName: "Kyso Test TSA 1 year"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}},
		CRLDistributionPoints: env.pki.TSA.Cert.CRLDistributionPoints,
	}, env.pki.Root.Cert, k.Public(), env.pki.Root.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.SQLite(t)
	if err := tsa.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: cert, Signer: k, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// The archive chain: time-stamps made by a TSA whose certificate expires
// after a year no longer prove anything two years later, unless a later
// archive time-stamp (by a TSA still valid then) covers them. A B-LT and a
// B-LTA signature stamped by the short-lived TSA are INDETERMINATE two
// years later; extended (renewed) with the other TSA within the year they
// validate: the new arcTst proves the earlier time-stamps existed while
// their TSA certificate was valid.
func TestJAdESArchiveOutlivesTheTSA(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	key := oneDayKey(t, env)
	short := env.deps
	short.Stamper = shortTSA(t, env)
	sign := func(level signer.Level) []byte {
		out, _, err := signer.SignJWS(context.Background(), key, formPayload, signer.JWSOptions{Serialization: "json", Level: level, Deps: short})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	blt, blta := sign(signer.BLT), sign(signer.BLTA)
	later := verifier.New(verifier.Options{Roots: []*x509.Certificate{env.pki.Root.Cert}, At: time.Now().AddDate(2, 0, 0)})
	for _, tc := range []struct {
		name string
		doc  []byte
		want report.Indication
	}{
		{"B-LT", blt, report.Indeterminate},
		{"B-LTA", blta, report.Indeterminate},
		{"B-LT extended", extendJWS(t, env, blt), report.TotalPassed},
		{"B-LTA renewed", extendJWS(t, env, blta), report.TotalPassed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if rep := verifyJWS(t, env.offline, tc.doc, nil); rep.Status.MainIndication != report.TotalPassed {
				t.Fatalf("now: %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, reportText(rep))
			}
			rep := verifyJWS(t, later, tc.doc, nil)
			if rep.Status.MainIndication != tc.want {
				t.Fatalf("two years later: %s/%s, want %s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, tc.want, reportText(rep))
			}
		})
	}
}

// An archive time-stamp protects the signature and every unsigned property
// before it: changing any of them after archiving (a certificate value
// dropped, revocation values swapped for others, the signature time-stamp
// replaced, an element re-serialized or inserted) leaves a JWS whose base
// signature still verifies, and the verifier fails it (HASH_FAILURE) — the
// attack is real since without the archive time-stamp the same document
// would be judged on the forged data. Unknown unsigned properties, an
// archive time-stamp with a canonicalization, with unknown members, or over
// etsiU elements in clear cannot be judged: INDETERMINATE, never ignored.
func TestJAdESArchiveAttacks(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	ctx := context.Background()
	lta := env.sign(t, env.key, "json", signer.BLTA, formPayload)
	f, enc, dec := etsiU(t, lta)
	if len(enc) != 4 {
		t.Fatalf("%d etsiU elements", len(enc))
	}
	other := flat(t, env.sign(t, env.key, "json", signer.BLT, []byte(`{"other":true}`)))
	var otherU []map[string]json.RawMessage
	var oh struct {
		EtsiU []map[string]json.RawMessage `json:"etsiU"`
	}
	if err := json.Unmarshal(other.Header, &oh); err != nil {
		t.Fatal(err)
	}
	otherU = oh.EtsiU

	// The certificate values without their last certificate.
	var xv []json.RawMessage
	if err := json.Unmarshal(dec[1]["xVals"], &xv); err != nil {
		t.Fatal(err)
	}
	fewerCerts := encodeEntry(t, map[string]any{"xVals": xv[:len(xv)-1]})
	// Revocation values of another signature (other OCSP responses).
	swappedRVals := encodeEntry(t, map[string]json.RawMessage{"rVals": otherU[2]["rVals"]})
	// The signature time-stamp of another signature.
	otherSigTst := encodeEntry(t, map[string]json.RawMessage{"sigTst": otherU[0]["sigTst"]})
	// The same xVals re-serialized with whitespace.
	spaced, _ := base64.RawURLEncoding.DecodeString(enc[1])
	respaced := base64.RawURLEncoding.EncodeToString(bytes.ReplaceAll(spaced, []byte(`":`), []byte(`": `)))

	entries := func(list ...string) []any {
		out := []any{}
		for _, e := range list {
			out = append(out, e)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		ind  report.Indication
		sub  report.SubIndication
	}{
		{"intact", lta, report.TotalPassed, ""},
		{"xVals changed", withEtsiU(t, f, entries(enc[0], fewerCerts, enc[2], enc[3])), report.TotalFailed, report.HashFailure},
		{"rVals swapped", withEtsiU(t, f, entries(enc[0], enc[1], swappedRVals, enc[3])), report.TotalFailed, report.HashFailure},
		{"sigTst replaced", withEtsiU(t, f, entries(otherSigTst, enc[1], enc[2], enc[3])), report.TotalFailed, report.HashFailure},
		{"xVals re-serialized", withEtsiU(t, f, entries(enc[0], respaced, enc[2], enc[3])), report.TotalFailed, report.HashFailure},
		{"element inserted", withEtsiU(t, f, entries(enc[0], enc[1], enc[2], swappedRVals, enc[3])), report.TotalFailed, report.HashFailure},
		{"element dropped", withEtsiU(t, f, entries(enc[0], enc[1], enc[3])), report.TotalFailed, report.HashFailure},
		{"unknown property", withEtsiU(t, f, entries(enc[0], enc[1], enc[2], enc[3], encodeEntry(t, map[string]any{"sigPSt": map[string]any{}}))), report.Indeterminate, report.SigConstraintsFailure},
		{"arcTst canonAlg", withEtsiU(t, f, entries(enc[0], enc[1], enc[2], encodeEntry(t, map[string]any{"arcTst": map[string]any{
			"canonAlg": "http://www.w3.org/2006/12/xml-c14n11", "tstTokens": tokensOf(t, dec[3]["arcTst"])}}))), report.Indeterminate, report.NoPOE},
		{"arcTst unknown member", withEtsiU(t, f, entries(enc[0], enc[1], enc[2], encodeEntry(t, map[string]any{"arcTst": map[string]any{
			"timeStamped": "previousArcTst", "tstTokens": tokensOf(t, dec[3]["arcTst"])}}))), report.Indeterminate, report.NoPOE},
		{"clear elements archived", withEtsiU(t, f, []any{dec[0], dec[1], dec[2], dec[3]}), report.Indeterminate, report.NoPOE},
		{"too many archive time-stamps", withEtsiU(t, f, append(entries(enc[0], enc[1], enc[2]), manyOf(enc[3], 17)...)), report.Indeterminate, report.SigConstraintsFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The base JWS still verifies: only unsigned data changed.
			if _, _, err := jws.Verify(tc.doc); err != nil {
				t.Fatalf("base JWS: %v", err)
			}
			rep := verifyJWS(t, env.offline, tc.doc, nil)
			if rep.Status.MainIndication != tc.ind || rep.Status.SubIndication != tc.sub {
				t.Fatalf("got %s/%s, want %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, tc.ind, tc.sub, reportText(rep))
			}
		})
	}

	// The forged certificate values are what a verifier without archive
	// time-stamps would use: the same document with the arcTst removed
	// validates on them.
	noArc := withEtsiU(t, f, entries(enc[0], fewerCerts, enc[2]))
	if rep := verifyJWS(t, env.offline, noArc, nil); rep.Status.MainIndication == report.TotalFailed {
		t.Fatalf("without the archive time-stamp the forged values were refused anyway\n%s", reportText(rep))
	}

	// Extension refuses what it cannot archive.
	for name, doc := range map[string][]byte{
		"not a JWS":        []byte(`{"a":1}`),
		"detached":         []byte(f.Protected + ".." + f.Signature),
		"signature broken": mustJSON(t, jwsFlat{Payload: base64.RawURLEncoding.EncodeToString([]byte(`{}`)), Protected: f.Protected, Signature: f.Signature}),
	} {
		if _, err := signer.ExtendJWS(ctx, doc, nil, env.deps); err == nil {
			t.Fatalf("%s: extended", name)
		}
	}
	clearArchived := withEtsiU(t, f, []any{dec[0], dec[1], dec[2], dec[3]})
	if _, err := jws.Extend(ctx, clearArchived, jws.ExtendOptions{Stamper: env.deps.Stamper, Revocation: env.deps.Revocation}); err == nil {
		t.Fatal("clear archived elements extended")
	}
}

func tokensOf(t *testing.T, raw json.RawMessage) json.RawMessage {
	t.Helper()
	var c struct {
		Tokens json.RawMessage `json:"tstTokens"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Tokens
}

// Interop: after extension the base JWS (protected header, payload,
// signature value) still verifies with PyJWT, and the archive time-stamp
// token verifies with `openssl ts -verify -digest` over the imprint
// recomputed here, against the TSA's chain.
func TestJAdESArchiveInterop(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	lta := extendJWS(t, env, env.sign(t, env.key, "json", signer.BT, formPayload))
	f, _, dec := etsiU(t, lta)
	dir := t.TempDir()

	// PyJWT over the compact form of the base JWS.
	py := pythonWithJWT(t)
	pub, err := x509.MarshalPKIXPublicKey(env.key.Cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pubPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `import jwt,sys
tok=sys.stdin.read().strip()
print(jwt.api_jws.PyJWS().decode(tok, open(sys.argv[1],'rb').read(), algorithms=['ES256']).decode())`
	cmd := exec.Command(py, "-c", script, pubPEM)
	cmd.Stdin = strings.NewReader(f.Protected + "." + f.Payload + "." + f.Signature)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != string(formPayload) {
		t.Fatalf("PyJWT: %v\n%s", err, out)
	}

	// openssl ts -verify over the recomputed imprint.
	openssl := needTool(t, "openssl")
	doc, err := jose.Parse(lta)
	if err != nil {
		t.Fatal(err)
	}
	p, err := doc.Sigs[0].Params()
	if err != nil {
		t.Fatal(err)
	}
	u := jose.ParseUnsigned(p.EtsiU)
	input, err := jose.ArchiveInput(doc, doc.Sigs[0], p, u, u.ArcTst[0].Index, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(input)
	var toks []struct {
		Val string `json:"val"`
	}
	if err := json.Unmarshal(tokensOf(t, dec[len(dec)-1]["arcTst"]), &toks); err != nil || len(toks) != 1 {
		t.Fatalf("arcTst tokens: %v", err)
	}
	tok, err := base64.StdEncoding.DecodeString(toks[0].Val)
	if err != nil {
		t.Fatal(err)
	}
	tokFile, caFile, untrusted := filepath.Join(dir, "arc.tst"), filepath.Join(dir, "root.pem"), filepath.Join(dir, "chain.pem")
	writePEM := func(name string, certs ...*x509.Certificate) {
		var b bytes.Buffer
		for _, c := range certs {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		if err := os.WriteFile(name, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(tokFile, tok, 0o600); err != nil {
		t.Fatal(err)
	}
	writePEM(caFile, env.pki.Root.Cert)
	writePEM(untrusted, env.pki.TSA.Cert, env.pki.Issuing.Cert)
	verify := func(digest []byte) ([]byte, error) {
		return exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(digest), "-in", tokFile, "-token_in",
			"-CAfile", caFile, "-untrusted", untrusted).CombinedOutput()
	}
	if out, err := verify(sum[:]); err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
	// The attack seen from outside: an imprint over changed data fails.
	input[len(input)-1] ^= 1
	bad := sha256.Sum256(input)
	if out, err := verify(bad[:]); err == nil {
		t.Fatalf("openssl accepted the token over changed data\n%s", out)
	}
}

// pythonWithJWT returns a python3 that imports PyJWT (Debian's
// python3-jwt), skipping outside CI when there is none.
func pythonWithJWT(t *testing.T) string {
	t.Helper()
	var cands []string
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	cands = append(cands, "/usr/bin/python3")
	for _, p := range cands {
		if exec.Command(p, "-c", "import jwt").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3 with PyJWT is required (apt-get install python3-jwt)")
	}
	t.Skip("python3 with PyJWT (python3-jwt) not installed")
	return ""
}

// needTool returns the path of an outside tool, skipping outside CI when
// it is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (install it with apt-get)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// Every signature of a general JSON JWS is extended, and a detached
// payload is extended with its content, which the archive time-stamp then
// covers: verified with that content it is JAdES-BASELINE-LTA two years on,
// with other content it fails.
func TestJAdESArchiveGeneralAndDetached(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	ctx := context.Background()
	key := oneDayKey(t, env)
	second := env.pki.NewSigner(t, signertest.P256, nil, "Trần Thị Bình")
	gen := general(t, env.sign(t, key, "json", signer.BT, formPayload),
		env.sign(t, signer.Key{Signer: second.Key, Cert: second.Cert, Chain: env.pki.Chain()}, "json", signer.BT, formPayload))
	genLTA := extendJWS(t, env, gen)

	compact := env.sign(t, key, "compact", signer.BB, formPayload)
	parts := strings.Split(string(compact), ".")
	detached := []byte(parts[0] + ".." + parts[2])
	detLTA, err := signer.ExtendJWS(ctx, detached, formPayload, env.deps)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(detLTA, []byte(`"payload"`)) {
		t.Fatalf("the detached payload was attached: %s", detLTA)
	}

	later := verifier.New(verifier.Options{Roots: []*x509.Certificate{env.pki.Root.Cert}, At: time.Now().AddDate(2, 0, 0)})
	rep := verifyJWS(t, later, genLTA, nil)
	if rep.Status.MainIndication != report.TotalPassed || len(rep.Signatures) != 2 {
		t.Fatalf("general: %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, reportText(rep))
	}
	for _, s := range rep.Signatures {
		if s.Level != "JAdES-BASELINE-LTA" {
			t.Fatalf("general: level %q\n%s", s.Level, reportText(rep))
		}
	}
	rep = verifyJWS(t, later, detLTA, formPayload)
	if rep.Status.MainIndication != report.TotalPassed || rep.Signatures[0].Level != "JAdES-BASELINE-LTA" {
		t.Fatalf("detached: %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, reportText(rep))
	}
	if rep := verifyJWS(t, later, detLTA, []byte(`{"form":"TK01"}`)); rep.Status.MainIndication == report.TotalPassed {
		t.Fatalf("detached with other content passed\n%s", reportText(rep))
	}
}

func manyOf(e string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = e
	}
	return out
}

// An archive time-stamp over a signature without a signature time-stamp
// proves the signature existed at its genTime (EN 319 102-1 §5.6): two
// years on, the one-day certificate is judged then.
func TestJAdESArchiveWithoutSignatureTimeStamp(t *testing.T) {
	env := newJWSEnv(t, signertest.P256)
	ctx := context.Background()
	key := oneDayKey(t, env)
	bb := env.sign(t, key, "json", signer.BB, formPayload)
	_, enc, _ := etsiU(t, extendJWS(t, env, bb))
	f := flat(t, bb)
	// xVals and rVals, then an arcTst over the JWS and them.
	input := []byte(f.Payload + "." + f.Protected + "." + f.Signature + "." + enc[1] + enc[2])
	sum := sha256.Sum256(input)
	tok, err := env.deps.Stamper.Stamp(ctx, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	arc := encodeEntry(t, map[string]any{"arcTst": map[string]any{"tstTokens": []any{map[string]any{"val": base64.StdEncoding.EncodeToString(tok)}}}})
	doc := withEtsiU(t, f, []any{enc[1], enc[2], arc})
	later := verifier.New(verifier.Options{Roots: []*x509.Certificate{env.pki.Root.Cert}, At: time.Now().AddDate(2, 0, 0)})
	rep := verifyJWS(t, later, doc, nil)
	if rep.Status.MainIndication != report.TotalPassed || rep.Signatures[0].SigningTime.Proof != "archive-time-stamp" {
		t.Fatalf("%s/%s proof %q\n%s", rep.Status.MainIndication, rep.Status.SubIndication, rep.Signatures[0].SigningTime.Proof, reportText(rep))
	}
	if rep := verifyJWS(t, later, withEtsiU(t, f, []any{enc[1], enc[2]}), nil); rep.Status.MainIndication == report.TotalPassed {
		t.Fatalf("without the archive time-stamp it passed\n%s", reportText(rep))
	}
}
