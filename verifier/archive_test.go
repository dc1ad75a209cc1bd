package verifier_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"kyso/cms"
	"kyso/hashoid"
	"kyso/signer"
	"kyso/signer/signertest"
	"kyso/store/storetest"
	"kyso/tsa"
	"kyso/verifier"
	"kyso/verifier/report"
)

// flip returns der with one byte changed at the end of the first
// occurrence of part (a certificate's or token's signature value): same
// length, still parseable, different hash.
func flip(t *testing.T, der, part []byte) []byte {
	t.Helper()
	i := bytes.Index(der, part)
	if i < 0 {
		t.Fatal("part not found")
	}
	out := bytes.Clone(der)
	out[i+len(part)-1] ^= 0x01
	return out
}

// archiveStatus returns the status of the first archive time-stamp.
func archiveStatus(s report.Signature) report.Status {
	for _, ts := range s.TimeStamps {
		if ts.Type == "archive" {
			return ts.Status
		}
	}
	return report.Status{}
}

// Archive time-stamps of CAdES B-LTA: anything the hash index covers that
// changes after archiving fails the signature, whether or not the attacker
// also recomputes the index in the token (the imprint then no longer
// matches); archive time-stamp forms that are not checked leave the
// signature INDETERMINATE, never TOTAL-PASSED.
func TestArchiveTimeStampAttacks(t *testing.T) {
	ctx := context.Background()
	pki, deps, key, _, offline := signingKit(t)
	content := []byte("Giấy chứng nhận đăng ký hộ kinh doanh\n")
	p7s, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: signer.BT, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	lta, _, err := signer.Extend(ctx, p7s, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Parse(lta)
	if err != nil {
		t.Fatal(err)
	}
	si := sd.Signers[0]
	sigTST := si.Unsigned(cms.OIDTimeStampToken)[0]
	ats := si.Unsigned(cms.OIDArchiveTimeStampV3)[0]
	tok, err := cms.Parse(ats)
	if err != nil {
		t.Fatal(err)
	}
	oldIndex := tok.Signers[0].Unsigned(cms.OIDATSHashIndexV3)[0]

	// The root certificate copy in SignedData.certificates changed (it is
	// not needed for the chain: the anchor comes from the trust store).
	rootChanged := flip(t, lta, pki.Root.Cert.Raw)
	// ... and the hash index inside the archive token recomputed to match
	// the changed signature (same length: only hash values differ).
	sd2, err := cms.Parse(rootChanged)
	if err != nil {
		t.Fatal(err)
	}
	before := *sd2.Signers[0] // the signer as it was archived: no archive time-stamp yet
	before.UnsignedAttrs = nil
	for _, a := range sd2.Signers[0].UnsignedAttrs {
		if !a.Type.Equal(cms.OIDArchiveTimeStampV3) {
			before.UnsignedAttrs = append(before.UnsignedAttrs, a)
		}
	}
	newIndex, err := sd2.ATSHashIndexV3(&before, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if len(newIndex) != len(oldIndex) || bytes.Equal(newIndex, oldIndex) {
		t.Fatal("recomputed index has another length or is unchanged")
	}
	reindexed := bytes.Replace(rootChanged, oldIndex, newIndex, 1)
	if bytes.Equal(reindexed, rootChanged) {
		t.Fatal("the hash index was not replaced")
	}
	// The signature time-stamp (an unsigned attribute) changed.
	tstChanged := flip(t, lta, sigTST)
	// A legacy archive-time-stamp-v2 next to the signature.
	v2attr, err := cms.EncodeAttribute(cms.OIDArchiveTimeStampV2, ats)
	if err != nil {
		t.Fatal(err)
	}
	withV2, err := cms.AddUnsignedAttribute(p7s, 0, v2attr)
	if err != nil {
		t.Fatal(err)
	}
	withV2LTA, _, err := signer.Extend(ctx, withV2, nil, deps) // a v3 beside it does not hide it
	if err != nil {
		t.Fatal(err)
	}
	// An archive-time-stamp-v3 whose token carries the v2 hash index.
	v3oid, _ := asn1.Marshal(cms.OIDATSHashIndexV3)
	v2oid, _ := asn1.Marshal(cms.OIDATSHashIndexV2)
	oldIndexVersion := bytes.Replace(lta, v3oid, v2oid, 1)

	for _, tc := range []struct {
		name     string
		doc      []byte
		want     report.Indication
		sub      report.SubIndication
		atsWant  report.Indication
		atsSub   report.SubIndication
		levelLTA bool
		detail   string
	}{
		{"intact", lta, report.TotalPassed, "", report.TotalPassed, "", true, ""},
		{"certificate changed after archiving", rootChanged, report.TotalFailed, report.HashFailure, report.TotalFailed, report.HashFailure, false, "certificate 3 of the archive time-stamp's hash index"},
		{"certificate changed, hash index recomputed", reindexed, report.TotalFailed, report.HashFailure, report.TotalFailed, report.HashFailure, false, "imprint does not match"},
		{"signature time-stamp changed after archiving", tstChanged, report.TotalFailed, report.HashFailure, report.TotalFailed, report.HashFailure, false, "unsigned attribute"},
		{"archive-time-stamp-v2 beside a v3", withV2LTA, report.Indeterminate, report.NoPOE, report.Indeterminate, report.NoPOE, true, "archive-time-stamp-v2"},
		{"archive-time-stamp-v3 with a v2 hash index", oldIndexVersion, report.Indeterminate, report.NoPOE, report.Indeterminate, report.NoPOE, false, "earlier version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := offline.Verify(ctx, verifier.Input{Data: tc.doc, Detached: content})
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Signatures[0]
			if rep.Status.MainIndication != tc.want || rep.Status.SubIndication != tc.sub ||
				archiveStatus(s).MainIndication != tc.atsWant || archiveStatus(s).SubIndication != tc.atsSub ||
				(s.Level == "CAdES-BASELINE-LTA") != tc.levelLTA || !strings.Contains(archiveStatus(s).Detail, tc.detail) {
				var b bytes.Buffer
				rep.Text(&b)
				t.Fatalf("got %s/%s (archive %+v, level %s), want %s/%s (archive %s/%s)\n%s", rep.Status.MainIndication, rep.Status.SubIndication, archiveStatus(s), s.Level, tc.want, tc.sub, tc.atsWant, tc.atsSub, b.String())
			}
		})
	}
}

// counterSign returns a CAdES counter-signature (an encoded SignerInfo)
// by e over the signature value sigValue; withContentType adds the
// content-type attribute counter-signatures must not carry.
func counterSign(t *testing.T, e signertest.Entity, sigValue []byte, withContentType bool) []byte {
	t.Helper()
	md := sha256.Sum256(sigValue)
	mdDER, _ := asn1.Marshal(md[:])
	scv2, err := cms.SigningCertificateV2(e.Cert)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := asn1.MarshalWithParams(time.Now().UTC().Truncate(time.Second), "utc")
	values := []struct {
		oid asn1.ObjectIdentifier
		v   []byte
	}{{cms.OIDMessageDigest, mdDER}, {cms.OIDSigningCertificateV2, scv2}, {cms.OIDSigningTime, st}}
	if withContentType {
		ct, _ := asn1.Marshal(cms.OIDData)
		values = append(values, struct {
			oid asn1.ObjectIdentifier
			v   []byte
		}{cms.OIDContentType, ct})
	}
	var attrs [][]byte
	for _, a := range values {
		enc, err := cms.EncodeAttribute(a.oid, a.v)
		if err != nil {
			t.Fatal(err)
		}
		attrs = append(attrs, enc)
	}
	signed, err := cms.AttributeSet(attrs)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(signed)
	sig, err := e.Key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	alg, err := cms.SigningAlgorithm(e.Cert.PublicKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := (&cms.Signed{Hash: crypto.SHA256, SignatureAlgorithm: alg, Cert: e.Cert, Certs: [][]byte{e.Cert.Raw}, SignedAttrs: signed, Signature: sig}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	return sd.Signers[0].Raw
}

// withCounter adds the countersignature attribute value csi to the first
// signer of p7s, and the counter-signer's certificate to SignedData.
func withCounter(t *testing.T, p7s, csi []byte, cert *x509.Certificate) []byte {
	t.Helper()
	attr, err := cms.EncodeAttribute(cms.OIDCounterSignature, csi)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cms.AddUnsignedAttribute(p7s, 0, attr)
	if err != nil {
		t.Fatal(err)
	}
	if out, err = cms.AddValidationData(out, [][]byte{cert.Raw}, nil, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCounter checks that rep holds one TOTAL-PASSED signature and its
// counter-signature, judged want/sub on its own: the document's indication
// is the main signature's (EU DSS).
func checkCounter(t *testing.T, rep *report.Report, want report.Indication, sub report.SubIndication) {
	t.Helper()
	if len(rep.Signatures) != 2 || rep.Signatures[0].Status.MainIndication != report.TotalPassed || rep.Status.MainIndication != report.TotalPassed ||
		rep.Signatures[1].ID != "Signature1-counter1" || !rep.Signatures[1].CounterSignature ||
		rep.Signatures[1].Status.MainIndication != want || rep.Signatures[1].Status.SubIndication != sub {
		b, _ := json.MarshalIndent(rep.Signatures, "", " ")
		t.Fatalf("got document %s with %d signatures, want a counter-signature %s/%s\n%s", rep.Status.MainIndication, len(rep.Signatures), want, sub, b)
	}
}

// CMS counter-signatures (RFC 5652 §11.4) are validated like any signer
// and reported as signatures of their own; one moved from another
// signature, changed, malformed or not chaining to a trusted root is not
// passed over.
func TestCMSCounterSignatures(t *testing.T) {
	ctx := context.Background()
	pki, deps, key, online, _ := signingKit(t)
	content := []byte("Tờ khai đăng ký kết hôn\n")
	sign := func() []byte {
		p7s, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: signer.BB, Deps: deps})
		if err != nil {
			t.Fatal(err)
		}
		return p7s
	}
	main, other := sign(), sign()
	sigValue := func(der []byte) []byte {
		sd, err := cms.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		return sd.Signers[0].Signature
	}
	second := pki.NewSigner(t, signertest.P256, nil, "Trần Thị Bình")
	stranger := signertest.New(t, signertest.P256, nil).Leaf
	counter := counterSign(t, second, sigValue(main), false)
	for _, tc := range []struct {
		name string
		doc  []byte
		want report.Indication
		sub  report.SubIndication
	}{
		{"counter-signature", withCounter(t, main, counter, second.Cert), report.TotalPassed, ""},
		{"moved from another signature", withCounter(t, main, counterSign(t, second, sigValue(other), false), second.Cert), report.TotalFailed, report.HashFailure},
		{"signature value changed", withCounter(t, main, flip(t, counter, counter[len(counter)-8:]), second.Cert), report.TotalFailed, report.SigCryptoFailure},
		{"with a content-type attribute", withCounter(t, main, counterSign(t, second, sigValue(main), true), second.Cert), report.TotalFailed, report.FormatFailure},
		{"counter-signer not trusted", withCounter(t, main, counterSign(t, stranger, sigValue(main), false), stranger.Cert), report.Indeterminate, report.NoCertificateChainFound},
		{"malformed", withCounter(t, main, []byte{0x04, 0x01, 0x00}, second.Cert), report.TotalFailed, report.FormatFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := online.Verify(ctx, verifier.Input{Data: tc.doc, Detached: content})
			if err != nil {
				t.Fatal(err)
			}
			checkCounter(t, rep, tc.want, tc.sub)
			if tc.want == report.TotalPassed && (rep.Signatures[1].Format != "CAdES counter-signature" || rep.Signatures[1].Signer.Name != "Trần Thị Bình") {
				t.Fatalf("counter-signature reported as %+v", rep.Signatures[1])
			}
		})
	}
}

// essStamper makes RFC 3161 tokens with the TSA key, with or without the
// ESS signing-certificate-v2 attribute RFC 3161 §2.4.2 (RFC 5816) requires.
type essStamper struct {
	tsa signertest.Entity
	ess bool
}

func (s essStamper) Stamp(_ context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	oid, _ := hashoid.OID(h)
	type imprint struct {
		Alg    pkix.AlgorithmIdentifier
		Hashed []byte
	}
	info, err := asn1.Marshal(struct {
		Version int
		Policy  asn1.ObjectIdentifier
		Imprint imprint
		Serial  *big.Int
		GenTime time.Time `asn1:"generalized"`
	}{1, asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}, imprint{pkix.AlgorithmIdentifier{Algorithm: oid}, digest}, big.NewInt(time.Now().UnixNano()), time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return nil, err
	}
	md := sha256.Sum256(info)
	var cert *x509.Certificate
	if s.ess {
		cert = s.tsa.Cert
	}
	signed, err := cms.SignedAttributes(cms.OIDTSTInfo, md[:], cert, time.Time{})
	if err != nil {
		return nil, err
	}
	hs := sha256.Sum256(signed)
	sig, err := s.tsa.Key.Sign(rand.Reader, hs[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	alg, err := cms.SigningAlgorithm(s.tsa.Cert.PublicKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return (&cms.Signed{Hash: crypto.SHA256, SignatureAlgorithm: alg, Cert: s.tsa.Cert, Certs: [][]byte{s.tsa.Cert.Raw},
		ContentType: cms.OIDTSTInfo, Content: info, SignedAttrs: signed, Signature: sig}).Encode()
}

// A time-stamp token without the ESS signing-certificate(-v2) attribute
// is refused and proves nothing. The TSA certificate is still identified
// (by the signer identifier); the missing reference fails a signature
// acceptance constraint (EN 319 102-1 §5.2.8; EU DSS's
// SigningCertificatePresent check at level FAIL), which is
// INDETERMINATE/SIG_CONSTRAINTS_FAILURE, for a CAdES signature time-stamp
// and a PDF document time-stamp alike. The same tokens with the attribute
// pass.
func TestTimeStampWithoutESSAttributeRefused(t *testing.T) {
	ctx := context.Background()
	pki, deps, key, online, _ := signingKit(t)
	content := []byte("Đơn xin cấp phiếu lý lịch tư pháp\n")
	p7s, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: signer.BB, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Parse(p7s)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(sd.Signers[0].Signature)
	var pdf bytes.Buffer
	doc := signertest.PDF(t, signertest.PDFOptions{Pages: 1})
	if err := signer.SignPDF(ctx, key, bytes.NewReader(doc), int64(len(doc)), &pdf, signer.PDFOptions{Level: signer.BB, Deps: deps}); err != nil {
		t.Fatal(err)
	}
	for _, ess := range []bool{false, true} {
		stamper := essStamper{tsa: pki.TSA, ess: ess}
		want := report.Status{MainIndication: report.Indeterminate, SubIndication: report.SigConstraintsFailure}
		if ess {
			want = report.Status{MainIndication: report.TotalPassed}
		}
		t.Run(map[bool]string{false: "without", true: "with"}[ess], func(t *testing.T) {
			t.Run("CAdES signature time-stamp", func(t *testing.T) {
				tok, err := stamper.Stamp(ctx, sum[:], crypto.SHA256)
				if err != nil {
					t.Fatal(err)
				}
				attr, err := cms.EncodeAttribute(cms.OIDTimeStampToken, tok)
				if err != nil {
					t.Fatal(err)
				}
				bt, err := cms.AddUnsignedAttribute(p7s, 0, attr)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := online.Verify(ctx, verifier.Input{Data: bt, Detached: content})
				if err != nil {
					t.Fatal(err)
				}
				s := rep.Signatures[0]
				proof := map[bool]string{false: "validation-time", true: "signature-time-stamp"}[ess]
				if len(s.TimeStamps) != 1 || s.TimeStamps[0].Status.MainIndication != want.MainIndication || s.TimeStamps[0].Status.SubIndication != want.SubIndication || s.SigningTime.Proof != proof {
					b, _ := json.MarshalIndent(s, "", " ")
					t.Fatalf("want a %s/%s time-stamp and proof %s\n%s", want.MainIndication, want.SubIndication, proof, b)
				}
			})
			t.Run("PDF document time-stamp", func(t *testing.T) {
				extended, err := signer.ExtendPDF(ctx, pdf.Bytes(), signer.Deps{Stamper: stamper, Revocation: pki, Root: pki.Root.Cert})
				if err != nil {
					t.Fatal(err)
				}
				rep, err := online.Verify(ctx, verifier.Input{Data: extended})
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Signatures) != 2 || rep.Signatures[1].Format != "PDF document time-stamp" ||
					rep.Signatures[1].Status.MainIndication != want.MainIndication || rep.Signatures[1].Status.SubIndication != want.SubIndication ||
					rep.Status.MainIndication != want.MainIndication {
					b, _ := json.MarshalIndent(rep, "", " ")
					t.Fatalf("want the document time-stamp %s/%s\n%s", want.MainIndication, want.SubIndication, b)
				}
			})
		})
	}
}

// A signer with more archive time-stamps than are validated gets none
// validated and is INDETERMINATE (bounded work), not TOTAL-PASSED.
func TestTooManyArchiveTimeStamps(t *testing.T) {
	ctx := context.Background()
	_, deps, key, _, offline := signingKit(t)
	content := []byte("Tờ khai\n")
	lta, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: signer.BLTA, Deps: deps})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cms.Parse(lta)
	if err != nil {
		t.Fatal(err)
	}
	attr, err := cms.EncodeAttribute(cms.OIDArchiveTimeStampV3, sd.Signers[0].Unsigned(cms.OIDArchiveTimeStampV3)[0])
	if err != nil {
		t.Fatal(err)
	}
	many := lta
	for range 60 {
		if many, err = cms.AddUnsignedAttribute(many, 0, attr); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := offline.Verify(ctx, verifier.Input{Data: many, Detached: content})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status.MainIndication != report.Indeterminate || rep.Status.SubIndication != report.NoPOE || len(rep.Signatures[0].TimeStamps) != 2 {
		b, _ := json.MarshalIndent(rep, "", " ")
		t.Fatalf("got %s/%s\n%s", rep.Status.MainIndication, rep.Status.SubIndication, b)
	}
}

// FuzzVerifyCAdES mutates a CAdES B-LTA signature with a counter-signature
// (archive tokens, hash indexes, countersignature attributes): the
// verifier must answer with an indication, never panic.
func FuzzVerifyCAdES(f *testing.F) {
	ctx := context.Background()
	pki := signertest.New(f, signertest.P256, nil)
	db := storetest.SQLite(f)
	if err := tsa.Migrate(ctx, db); err != nil {
		f.Fatal(err)
	}
	ts, err := tsa.New(tsa.Config{Cert: pki.TSA.Cert, Signer: pki.TSA.Key, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 3, 1}}, db)
	if err != nil {
		f.Fatal(err)
	}
	content := []byte("Tờ khai\n")
	key := signer.Key{Signer: pki.Leaf.Key, Cert: pki.Leaf.Cert, Chain: pki.Chain()}
	deps := signer.Deps{Stamper: ts, Revocation: pki, Root: pki.Root.Cert}
	lta, err := signer.SignCMS(ctx, key, bytes.NewReader(content), signer.CMSOptions{Level: signer.BLTA, Deps: deps})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(lta)
	v := verifier.New(verifier.Options{Roots: []*x509.Certificate{pki.Root.Cert}})
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := v.Verify(ctx, verifier.Input{Data: data, Detached: content})
		if err == nil && rep.Status.MainIndication == "" {
			t.Fatal("report without indication")
		}
	})
}

// A PAdES signature's CMS may carry counter-signatures too (the
// unsigned attributes lie in /Contents, outside the signed byte range).
// They go through the same checks as in CAdES and are judged on their own:
// a valid one passes, one moved from another signature fails, and neither
// changes the signature's or the document's indication.
func TestPDFCounterSignatures(t *testing.T) {
	ctx := context.Background()
	pki, deps, key, online, _ := signingKit(t)
	doc := signertest.PDF(t, signertest.PDFOptions{Pages: 1})
	sign := func() []byte {
		var out bytes.Buffer
		if err := signer.SignPDF(ctx, key, bytes.NewReader(doc), int64(len(doc)), &out, signer.PDFOptions{Level: signer.BB, Deps: deps}); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	// contents returns the hex digits' span of the last /Contents and the
	// CMS they hold.
	contents := func(pdf []byte) (int, int, []byte) {
		i := bytes.LastIndex(pdf, []byte("/Contents <"))
		if i < 0 {
			t.Fatal("no /Contents")
		}
		start := i + len("/Contents <")
		end := start + bytes.IndexByte(pdf[start:], '>')
		raw, err := hex.DecodeString(string(pdf[start:end]))
		if err != nil {
			t.Fatal(err)
		}
		var v asn1.RawValue
		if _, err := asn1.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		return start, end, v.FullBytes
	}
	withCounterPDF := func(pdf, csi []byte, cert *x509.Certificate) []byte {
		start, end, der := contents(pdf)
		h := hex.EncodeToString(withCounter(t, der, csi, cert))
		if len(h) > end-start {
			t.Fatalf("counter-signed CMS (%d hex digits) does not fit /Contents (%d)", len(h), end-start)
		}
		out := bytes.Clone(pdf)
		copy(out[start:end], h+strings.Repeat("0", end-start-len(h)))
		return out
	}
	sigValue := func(pdf []byte) []byte {
		_, _, der := contents(pdf)
		sd, err := cms.Parse(der)
		if err != nil {
			t.Fatal(err)
		}
		return sd.Signers[0].Signature
	}
	main, other := sign(), sign()
	second := pki.NewSigner(t, signertest.P256, nil, "Trần Thị Bình")
	for _, tc := range []struct {
		name string
		doc  []byte
		want report.Indication
		sub  report.SubIndication
	}{
		{"counter-signature", withCounterPDF(main, counterSign(t, second, sigValue(main), false), second.Cert), report.TotalPassed, ""},
		{"moved from another signature", withCounterPDF(main, counterSign(t, second, sigValue(other), false), second.Cert), report.TotalFailed, report.HashFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := online.Verify(ctx, verifier.Input{Name: "form.pdf", Data: tc.doc})
			if err != nil {
				t.Fatal(err)
			}
			checkCounter(t, rep, tc.want, tc.sub)
		})
	}
}
