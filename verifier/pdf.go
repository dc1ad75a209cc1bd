package verifier

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"kyso/cms"
	"kyso/verifier/pdfscan"
	"kyso/verifier/report"
	"kyso/verifier/revocation"
)

// pdfSig is one signature dictionary found through the AcroForm.
type pdfSig struct {
	num      int
	dict     *pdfscan.Dict
	br       [4]int64
	rev      int // signed revision
	contents []byte
	subc     string
	sig      report.Signature
	res      signerResult
	docTS    bool
	tsTime   time.Time // valid document time-stamp time
	ok       bool      // structural checks passed
	docMDP   int
	lock     fieldLock
	// counters are the reports of the CMS counter-signatures of its signers.
	counters []report.Signature
}

const maxFields = 10000

// sigFields walks the AcroForm fields of revision rev and returns the
// object numbers of signature values with the field holding each.
func sigFields(f *pdfscan.File, rev int) ([]int, map[int]*pdfscan.Dict) {
	root := f.Root(rev)
	af := f.ResolveDict(rev, root.Get("AcroForm"))
	if af == nil {
		return nil, nil
	}
	var out []int
	holder := map[int]*pdfscan.Dict{}
	seen := map[int]bool{}
	count := 0
	var walk func(o pdfscan.Object, ft string, depth int)
	walk = func(o pdfscan.Object, ft string, depth int) {
		count++
		if depth > 32 || count > maxFields {
			return
		}
		if o.Kind == pdfscan.Reference {
			if seen[-o.Ref.Num-1] {
				return
			}
			seen[-o.Ref.Num-1] = true
		}
		d := f.ResolveDict(rev, o)
		if d == nil {
			return
		}
		if n := d.Name("FT"); n != "" {
			ft = n
		}
		if ft == "Sig" {
			if vv := d.Get("V"); vv.Kind == pdfscan.Reference && !seen[vv.Ref.Num] {
				seen[vv.Ref.Num] = true
				out = append(out, vv.Ref.Num)
				holder[vv.Ref.Num] = d
			}
		}
		if kids := d.Get("Kids"); kids.Kind == pdfscan.Array {
			for _, k := range kids.Array {
				walk(k, ft, depth+1)
			}
		}
	}
	if fields, err := f.Resolve(rev, af.Get("Fields")); err == nil && fields.Kind == pdfscan.Array {
		for _, fo := range fields.Array {
			walk(fo, "", 0)
		}
	}
	return out, holder
}

func (v *Verifier) verifyPDF(ctx context.Context, data []byte, rep *report.Report) {
	f, err := pdfscan.Parse(data, v.opts.Limits)
	if err != nil {
		rep.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "the PDF structure is unreadable: " + err.Error()}
		return
	}
	rep.Document.Revisions = len(f.Revisions)
	last := len(f.Revisions) - 1
	var sigs []*pdfSig
	nums, holders := sigFields(f, last)
	if len(nums) > maxSignatures {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d signatures; only the first %d are validated", len(nums), maxSignatures))
		nums = nums[:maxSignatures]
	}
	for _, num := range nums {
		s := v.pdfStructure(f, num)
		if s.ok {
			s.docMDP, s.lock = sigPermissions(f, last, num, s.dict, holders[num])
		}
		sigs = append(sigs, s)
	}
	sort.SliceStable(sigs, func(i, j int) bool { return sigs[i].br[1] < sigs[j].br[1] })
	if len(sigs) == 0 && f.Trailing {
		rep.Status = report.Status{MainIndication: report.TotalFailed, SubIndication: report.FormatFailure, Detail: "the file is truncated or has data after its last %%EOF, and no intact signature was found"}
		return
	}

	// Document-level validation material.
	dssCerts, dssEv, dssRev := dss(f, last)

	// Document time-stamps first, the latest first: each gives a proof of
	// existence of everything before it, including earlier time-stamps
	// (the archive chain of PAdES-BASELINE-LTA).
	for i := len(sigs) - 1; i >= 0; i-- {
		if s := sigs[i]; s.ok && s.docTS {
			var poe []time.Time
			for _, t := range sigs {
				if t.docTS && !t.tsTime.IsZero() && t.rev > s.rev {
					poe = append(poe, t.tsTime)
				}
			}
			tsr, gen, ok := v.validateTimeStamp(ctx, s.contents, byteRange(data, s.br), "document", tsContext{evidence: dssEv, poe: poe})
			s.sig.TimeStamps = append(s.sig.TimeStamps, tsr)
			s.sig.Status = tsr.Status
			s.sig.SigningTime = report.SigningTime{Best: gen, Proof: "document-time-stamp"}
			if ok {
				s.tsTime = gen
				s.sig.Checks = append(s.sig.Checks, report.Check{Name: "document time-stamp", Result: "passed"})
			} else {
				s.sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
				s.sig.Checks = append(s.sig.Checks, report.Check{Name: "document time-stamp", Result: "failed", Detail: tsr.Status.Detail})
			}
		}
	}
	for _, s := range sigs {
		if !s.ok || s.docTS {
			continue
		}
		sd, err := cms.Parse(s.contents)
		if err != nil {
			s.fail(report.TotalFailed, report.FormatFailure, "signature value is not CMS: "+err.Error())
			continue
		}
		if len(sd.Signers) > maxSigners {
			st := tooManySigners(len(sd.Signers), "signer infos in the signature")
			s.fail(st.MainIndication, st.SubIndication, st.Detail)
			continue
		}
		br := s.br
		signed := func() []byte { return byteRange(data, br) }
		digests := v.newContentDigests(func(hh hash.Hash) {
			hh.Write(data[br[0] : br[0]+br[1]])
			hh.Write(data[br[2] : br[2]+br[3]])
		})
		var digest func(func() hash.Hash) ([]byte, error)
		content := func() ([]byte, error) { return signed(), nil }
		if s.subc == "adbe.pkcs7.sha1" {
			// The CMS encapsulates the SHA-1 digest of the signed bytes and
			// signs that (ISO 32000-1 §12.8.3.3.1).
			sum := sha1.Sum(signed())
			if sd.EContent == nil || !bytes.Equal(sd.EContent, sum[:]) {
				s.sig.Checks = append(s.sig.Checks, report.Check{Name: "message digest", Result: "failed", Detail: "the encapsulated SHA-1 digest is not the digest of the signed bytes"})
				s.fail(report.TotalFailed, report.HashFailure, "the signed data was changed")
				continue
			}
			econtent := sd.EContent
			digest = func(newHash func() hash.Hash) ([]byte, error) {
				hh := newHash()
				hh.Write(econtent)
				return hh.Sum(nil), nil
			}
			content = func() ([]byte, error) { return econtent, nil }
		} else if sd.EContent != nil {
			s.fail(report.TotalFailed, report.FormatFailure, "PDF signature CMS must be detached")
			continue
		}
		var poe []time.Time
		for _, t := range sigs {
			if t.docTS && !t.tsTime.IsZero() && t.rev > s.rev {
				poe = append(poe, t.tsTime)
			}
		}
		var claimed *time.Time
		if m, ok := pdfDate(s.dict.Get("M")); ok {
			claimed = &m
		}
		// Every SignerInfo is validated; the PDF signature takes the worst.
		for i, si := range sd.Signers {
			if err := ctx.Err(); err != nil {
				s.fail(report.Indeterminate, "", "validation stopped: "+err.Error())
				break
			}
			d := digest
			if d == nil {
				d = digests.forSigner(si)
			}
			check := signerCheck{sd: sd, si: si, digest: d, content: content,
				extraCerts: dssCerts, evidence: dssEv, poe: poe, claimed: claimed, format: FormatPDF}
			// Counter-signatures are covered by the document time-stamps
			// after the signature and by the signer's archive time-stamps.
			counters := func(res signerResult) {
				poeOf := func(a cms.Attribute, val []byte) []time.Time {
					return append(slices.Clone(poe), res.arch.covering(a, val)...)
				}
				s.counters = append(s.counters, v.cmsCounterSignatures(ctx, check, poeOf, 0)...)
			}
			if i == 0 {
				s.res = v.validateSigner(ctx, check, &s.sig)
				counters(s.res)
				continue
			}
			other := report.Signature{}
			counters(v.validateSigner(ctx, check, &other))
			for _, c := range other.Checks {
				c.Name = fmt.Sprintf("signer %d: %s", i+1, c.Name)
				s.sig.Checks = append(s.sig.Checks, c)
			}
			if report.Severity(other.Status.MainIndication) > report.Severity(s.sig.Status.MainIndication) {
				s.sig.Status = other.Status
				s.sig.Status.Detail = fmt.Sprintf("signer %d: %s", i+1, other.Status.Detail)
			}
		}
	}

	// Changes after each signed revision: a disallowed change fails every
	// signature made before it (the signed bytes are intact, what a reader
	// shows is not what was signed).
	var infos []sigInfo
	for _, s := range sigs {
		if s.ok {
			infos = append(infos, sigInfo{num: s.num, rev: s.rev, docTS: s.docTS, docMDP: s.docMDP, lock: s.lock})
		}
	}
	changes := classifyChanges(f, firstSigned(sigs), infos)
	rep.Changes = changes
	for _, c := range changes {
		if c.Allowed && strings.Contains(c.Detail, "warning:") {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("revision %d: %s: %s", c.Revision, c.Kind, c.Detail))
		}
	}
	for _, s := range sigs {
		if !s.ok {
			continue
		}
		for _, c := range changes {
			if c.Revision > s.rev+1 && !c.Allowed {
				s.sig.Checks = append(s.sig.Checks, report.Check{Name: "changes after signing", Result: "failed", Detail: fmt.Sprintf("revision %d: %s: %s", c.Revision, c.Kind, c.Detail)})
				s.fail(report.TotalFailed, report.FormatFailure, fmt.Sprintf("the document was changed after signing (revision %d: %s)", c.Revision, c.Kind))
				break
			}
		}
		if s.sig.Scope != nil {
			s.sig.Scope.LaterRevisions = last - s.rev
		}
	}

	// Levels.
	for _, s := range sigs {
		if s.docTS || !s.ok {
			continue
		}
		s.sig.Level = pdfLevel(s, sigs, dssRev)
	}
	for i, s := range sigs {
		s.sig.ID = fmt.Sprintf("Signature%d", i+1)
		if s.sig.Status.MainIndication == "" {
			s.sig.Status = report.Status{MainIndication: report.TotalPassed}
		}
		rep.Signatures = append(rep.Signatures, s.sig)
		for j, cs := range s.counters {
			cs.ID = fmt.Sprintf("%s-counter%d", s.sig.ID, j+1)
			cs.CounterSignature = true
			rep.Signatures = append(rep.Signatures, cs)
		}
	}
}

func firstSigned(sigs []*pdfSig) int {
	r := -1
	for _, s := range sigs {
		if s.ok && (r < 0 || s.rev < r) {
			r = s.rev
		}
	}
	return r
}

func (s *pdfSig) fail(ind report.Indication, sub report.SubIndication, detail string) {
	o := &outcome{sig: &s.sig, set: s.sig.Status.MainIndication != ""}
	o.fail(ind, sub, detail)
}

func byteRange(data []byte, br [4]int64) []byte {
	out := make([]byte, 0, br[1]+br[3])
	out = append(out, data[br[0]:br[0]+br[1]]...)
	return append(out, data[br[2]:br[2]+br[3]]...)
}

// pdfStructure runs the structural checks that catch universal signature
// forgery and signature wrapping: a well-formed ByteRange starting at 0 whose
// only gap is exactly this dictionary's /Contents hex string, ending at a
// revision boundary, with a signature dictionary that no later revision
// overrides and a /Contents holding one DER object.
func (v *Verifier) pdfStructure(f *pdfscan.File, num int) *pdfSig {
	s := &pdfSig{num: num}
	s.sig.Format = "PDF"
	s.sig.SigningTime = report.SigningTime{Best: v.validationTime(), Proof: "validation-time"}
	last := len(f.Revisions) - 1
	bad := func(detail string) *pdfSig {
		s.sig.Checks = append(s.sig.Checks, report.Check{Name: "signature structure", Result: "failed", Detail: detail})
		s.fail(report.TotalFailed, report.FormatFailure, detail)
		return s
	}
	e, _, ok := f.Lookup(last, num)
	if !ok {
		return bad(fmt.Sprintf("signature dictionary %d missing", num))
	}
	if e.Type != pdfscan.InUse {
		return bad("signature dictionary inside an object stream")
	}
	obj, err := f.Get(last, num)
	if err != nil || obj.Kind != pdfscan.Dictionary {
		return bad(fmt.Sprintf("signature dictionary %d unreadable", num))
	}
	d := obj.Dict
	s.dict = d
	s.subc = d.Name("SubFilter")
	s.docTS = s.subc == "ETSI.RFC3161" || d.Name("Type") == "DocTimeStamp"
	switch s.subc {
	case "ETSI.CAdES.detached":
		s.sig.Format = "PAdES"
	case "adbe.pkcs7.detached":
		s.sig.Format = "PDF (adbe.pkcs7.detached)"
	case "adbe.pkcs7.sha1":
		s.sig.Format = "PDF (adbe.pkcs7.sha1)"
	case "ETSI.RFC3161":
		s.sig.Format = "PDF document time-stamp"
	default:
		return bad(fmt.Sprintf("unsupported /SubFilter %q", s.subc))
	}
	if r := d.Get("Reason"); r.Kind == pdfscan.String {
		s.sig.Reason = pdfText(r.Str)
	}
	if l := d.Get("Location"); l.Kind == pdfscan.String {
		s.sig.Location = pdfText(l.Str)
	}
	for _, k := range d.Duplicates {
		if k == "Contents" || k == "ByteRange" || k == "SubFilter" {
			return bad(fmt.Sprintf("signature dictionary has a second /%s", k))
		}
	}
	bro := d.Get("ByteRange")
	if bro.Kind != pdfscan.Array || len(bro.Array) != 4 {
		return bad("/ByteRange missing or not four integers")
	}
	for i, x := range bro.Array {
		if x.Kind != pdfscan.Int || x.Int < 0 || x.Int > int64(len(f.Data)) {
			return bad("/ByteRange values must be integers inside the file")
		}
		s.br[i] = x.Int
	}
	br := s.br
	s.sig.Scope = &report.Scope{ByteRange: br[:]}
	if br[0] != 0 || br[1] <= 0 || br[2] < br[1]+2 || br[2]+br[3] > int64(len(f.Data)) {
		return bad(fmt.Sprintf("/ByteRange %v does not describe the file", br))
	}
	contents := d.Get("Contents")
	if contents.Kind != pdfscan.String || !contents.Hex {
		return bad("/Contents is not a hex string")
	}
	if contents.Pos != br[1] || contents.End != br[2] {
		return bad(fmt.Sprintf("/ByteRange gap [%d,%d) is not the /Contents value [%d,%d)", br[1], br[2], contents.Pos, contents.End))
	}
	if !(obj.Pos < br[1] && e.Offset < br[1]) {
		return bad("/Contents lies outside its signature dictionary")
	}
	end := br[2] + br[3]
	s.rev = -1
	for _, r := range f.Revisions {
		if end >= r.EOF+5 && end <= r.End {
			s.rev = r.Index
			break
		}
	}
	if s.rev < 0 {
		return bad("the signed bytes do not end at a revision boundary")
	}
	s.sig.Scope.Revision = s.rev + 1
	s.sig.Scope.CoversRevision = true
	if pe, _, ok := f.Lookup(s.rev, num); !ok || pe.Offset != e.Offset {
		return bad("the signature dictionary was replaced after signing")
	}
	der := []byte(contents.Str)
	n, err := derLength(der)
	if err != nil {
		return bad("/Contents: " + err.Error())
	}
	for _, b := range der[n:] {
		if b != 0 {
			return bad("/Contents has data after the signature")
		}
	}
	s.contents = der[:n]
	s.ok = true
	s.sig.Checks = append(s.sig.Checks, report.Check{Name: "signature structure", Result: "passed", Detail: fmt.Sprintf("byte range covers revision %d except /Contents", s.rev+1)})
	return s
}

// derLength returns the length of the DER/BER object at the start of b.
func derLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, fmt.Errorf("empty signature value")
	}
	if b[0] != 0x30 {
		if slices.IndexFunc(b, func(c byte) bool { return c != 0 }) < 0 {
			return 0, fmt.Errorf("signature value is all zeros")
		}
		return 0, fmt.Errorf("signature value is not a DER SEQUENCE")
	}
	n, err := cms.ObjectLength(b)
	if err != nil {
		return 0, fmt.Errorf("signature value: %v", err)
	}
	return n, nil
}

// sigPermissions returns the DocMDP P of a certification signature (from
// its /Reference, the catalog's /Perms naming it, or a PDF 2.0 /Lock /P; 0
// for an approval signature) and the fields its FieldMDP transform or its
// field's /Lock dictionary locks (ISO 32000-1 §12.8.2, ISO 32000-2
// §12.8.2.4).
func sigPermissions(f *pdfscan.File, rev, num int, d, field *pdfscan.Dict) (int, fieldLock) {
	p := 0
	var lock fieldLock
	params := func(tp *pdfscan.Dict) {
		if tp == nil {
			return
		}
		if pv := tp.Get("P"); pv.Kind == pdfscan.Int && pv.Int >= 1 && pv.Int <= 3 && (p == 0 || int(pv.Int) < p) {
			p = int(pv.Int)
		}
	}
	lockOf := func(tp *pdfscan.Dict) {
		if tp == nil {
			return
		}
		action := tp.Name("Action")
		if action != "All" && action != "Include" && action != "Exclude" {
			return
		}
		var names []string
		if fs, err := f.Resolve(rev, tp.Get("Fields")); err == nil && fs.Kind == pdfscan.Array {
			for _, x := range fs.Array {
				if x.Kind == pdfscan.String && len(names) < maxFields {
					names = append(names, pdfText(x.Str))
				}
			}
		}
		// Several locks combine into the strictest: keep the first unless
		// a later one locks everything.
		if lock.action == "" || action == "All" {
			lock = fieldLock{action: action, fields: names}
		}
	}
	certified := false
	if refs, err := f.Resolve(rev, d.Get("Reference")); err == nil && refs.Kind == pdfscan.Array {
		for i, r := range refs.Array {
			if i > 16 {
				break
			}
			rd := f.ResolveDict(rev, r)
			if rd == nil {
				continue
			}
			switch rd.Name("TransformMethod") {
			case "DocMDP":
				certified = true
				if p == 0 {
					p = 2
				}
				tp := f.ResolveDict(rev, rd.Get("TransformParams"))
				if tp != nil && tp.Get("P").Kind == pdfscan.Int {
					p = 0
					params(tp)
					if p == 0 {
						p = 2
					}
				}
			case "FieldMDP":
				lockOf(f.ResolveDict(rev, rd.Get("TransformParams")))
			}
		}
	}
	if perms := f.ResolveDict(rev, f.Root(rev).Get("Perms")); perms != nil {
		if dm := perms.Get("DocMDP"); dm.Kind == pdfscan.Reference && dm.Ref.Num == num && !certified {
			p = 2
		}
	}
	if field != nil {
		if ld := f.ResolveDict(rev, field.Get("Lock")); ld != nil {
			lockOf(ld)
			params(ld)
		}
	}
	return p, lock
}

// dss collects the /DSS certificates and revocation data of revision rev and
// the first revision that has a /DSS (-1 when none).
func dss(f *pdfscan.File, rev int) ([]*x509.Certificate, []revocation.Evidence, int) {
	first := -1
	for r := range f.Revisions {
		if f.Root(r).Has("DSS") {
			first = r
			break
		}
	}
	d := f.ResolveDict(rev, f.Root(rev).Get("DSS"))
	if d == nil {
		return nil, nil, first
	}
	streams := func(key string) [][]byte {
		var out [][]byte
		arr, err := f.Resolve(rev, d.Get(key))
		if err != nil || arr.Kind != pdfscan.Array {
			return nil
		}
		for i, o := range arr.Array {
			if i > 10000 {
				break
			}
			so, err := f.Resolve(rev, o)
			if err != nil || so.Kind != pdfscan.Stream {
				continue
			}
			if b, err := f.Decode(so); err == nil {
				out = append(out, b)
			}
		}
		return out
	}
	var certs []*x509.Certificate
	for _, b := range streams("Certs") {
		if c, err := cms.ParseCertificate(b); err == nil {
			certs = append(certs, c)
		}
	}
	ev := revocation.Evidence{Origin: "DSS", OCSP: streams("OCSPs"), CRLs: streams("CRLs")}
	return certs, []revocation.Evidence{ev}, first
}

func pdfLevel(s *pdfSig, sigs []*pdfSig, dssRev int) string {
	if s.subc != "ETSI.CAdES.detached" || !s.res.essV2 {
		return ""
	}
	level := "PAdES-BASELINE-B"
	hasT := s.res.sigTST
	for _, t := range sigs {
		if t.docTS && !t.tsTime.IsZero() && t.rev > s.rev {
			hasT = true
		}
	}
	if !hasT {
		return level
	}
	level = "PAdES-BASELINE-T"
	if dssRev <= s.rev || !strings.HasPrefix(s.res.revocSource, "DSS") {
		return level
	}
	level = "PAdES-BASELINE-LT"
	for _, t := range sigs {
		if t.docTS && !t.tsTime.IsZero() && t.rev >= dssRev {
			return "PAdES-BASELINE-LTA"
		}
	}
	return level
}

// pdfText decodes a PDF text string: UTF-16BE or UTF-8 with a byte order
// mark, else PDFDocEncoding (read as Latin-1, which it matches for text).
func pdfText(s string) string {
	b := []byte(s)
	switch {
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return strings.ToValidUTF8(string(b[3:]), "\uFFFD")
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// pdfDate parses a PDF date string (D:YYYYMMDDHHmmSSOHH'mm').
func pdfDate(o pdfscan.Object) (time.Time, bool) {
	if o.Kind != pdfscan.String {
		return time.Time{}, false
	}
	s := strings.TrimPrefix(o.Str, "D:")
	s = strings.ReplaceAll(s, "'", "")
	for _, layout := range []string{"20060102150405Z0700", "20060102150405-0700", "20060102150405Z", "20060102150405"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
