package verifier

import (
	"fmt"
	"strings"
	"testing"

	"kyso/verifier/internal/testdoc"
	"kyso/verifier/pdfscan"
	"kyso/verifier/report"
)

// formBase is a signed-looking form (no cryptography: change analysis
// alone is under test): text fields "name" (6), "amount" (7, read-only)
// and "city" (10), and signature field "Sig1" (8) whose value is the
// signature dictionary 9. sig and lock shape the signature dictionary and
// the field's /Lock; perms is added to the catalog.
func formBase(sig, lock, perms string) []byte {
	return testdoc.Build([]string{
		"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R 7 0 R 8 0 R 10 0 R] >> " + perms + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R 7 0 R 8 0 R 10 0 R] >>",
		"<< /Length 35 >>\nstream\nBT /F1 24 Tf 72 720 Td (Form) Tj ET\nendstream",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		"<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (A) /Rect [72 600 300 630] /P 3 0 R >>",
		"<< /Type /Annot /Subtype /Widget /FT /Tx /Ff 1 /T (amount) /V (1) /Rect [72 500 300 530] /P 3 0 R >>",
		"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Sig1) /V 9 0 R /F 132 /Rect [0 0 0 0] /P 3 0 R " + lock + " >>",
		"<< /Type /Sig /SubFilter /ETSI.CAdES.detached " + sig + " >>",
		"<< /Type /Annot /Subtype /Widget /FT /Tx /T (city) /V (HN) /Rect [72 400 300 430] /P 3 0 R >>",
	})
}

func fill(num int, name, value string) map[int]string {
	rects := map[int]string{6: "72 600 300 630", 7: "72 500 300 530", 10: "72 400 300 430"}
	ff := ""
	if num == 7 {
		ff = "/Ff 1 "
	}
	return map[int]string{num: fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Tx %s/T (%s) /V (%s) /Rect [%s] /P 3 0 R >>", ff, name, value, rects[num])}
}

func addAnnot() map[int]string {
	return map[int]string{
		3:  "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R 7 0 R 8 0 R 10 0 R 11 0 R] >>",
		11: "<< /Type /Annot /Subtype /Text /Rect [10 10 30 30] /Contents (note) >>",
	}
}

// TestChangePermissions runs the change analysis on updates of formBase
// under DocMDP, FieldMDP and /Lock permissions.
func TestChangePermissions(t *testing.T) {
	fieldMDP := func(action, fields string) string {
		return fmt.Sprintf("/Reference [<< /Type /SigRef /TransformMethod /FieldMDP /TransformParams << /Type /TransformParams /Action /%s /Fields [%s] /V /1.2 >> >>]", action, fields)
	}
	docMDP := func(p int) string {
		return fmt.Sprintf("/Reference [<< /Type /SigRef /TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P %d /V /1.2 >> >>]", p)
	}
	for _, tc := range []struct {
		name             string
		sig, lock, perms string
		update           map[int]string
		allowed          bool
		wantKind, wantP  string
	}{
		{name: "approval: fill a field", update: fill(6, "name", "B"), allowed: true},
		{name: "approval: annotation", update: addAnnot(), allowed: true},
		{name: "approval: read-only field filled", update: fill(7, "amount", "1000000"), wantKind: "read-only field changed"},
		{name: "FieldMDP Include locks the named field", sig: fieldMDP("Include", "(name)"), update: fill(6, "name", "B"), wantKind: "locked field changed"},
		{name: "FieldMDP Include leaves the others", sig: fieldMDP("Include", "(name)"), update: fill(10, "city", "HCM"), allowed: true},
		{name: "FieldMDP Exclude leaves the named field", sig: fieldMDP("Exclude", "(name)"), update: fill(6, "name", "B"), allowed: true},
		{name: "FieldMDP Exclude locks the others", sig: fieldMDP("Exclude", "(name)"), update: fill(10, "city", "HCM"), wantKind: "locked field changed"},
		{name: "Lock All", lock: "/Lock << /Type /SigFieldLock /Action /All >>", update: fill(10, "city", "HCM"), wantKind: "locked field changed"},
		{name: "Lock with P=1", lock: "/Lock << /Type /SigFieldLock /Action /Include /Fields [(name)] /P 1 >>", update: fill(10, "city", "HCM"), wantKind: "form filled"},
		{name: "DocMDP P=1: fill", sig: docMDP(1), update: fill(6, "name", "B"), wantKind: "form filled"},
		{name: "DocMDP P=2: fill", sig: docMDP(2), update: fill(6, "name", "B"), allowed: true},
		{name: "DocMDP P=2: annotation", sig: docMDP(2), update: addAnnot(), wantKind: "annotation added"},
		{name: "DocMDP P=3: annotation", sig: docMDP(3), update: addAnnot(), allowed: true},
		{name: "certification from /Perms alone (P=2): annotation", perms: "/Perms << /DocMDP 9 0 R >>", update: addAnnot(), wantKind: "annotation added"},
		{name: "certification from /Perms alone (P=2): fill", perms: "/Perms << /DocMDP 9 0 R >>", update: fill(6, "name", "B"), allowed: true},
		{name: "signature dictionary re-emitted", update: map[int]string{9: "<< /Type /Sig /SubFilter /ETSI.CAdES.detached /Reason (changed) >>"}, wantKind: "signature changed"},
		{name: "field moved", update: map[int]string{6: "<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (A) /Rect [72 100 300 130] /P 3 0 R >>"}, wantKind: "form field changed"},
		{name: "field hidden", update: map[int]string{6: "<< /Type /Annot /Subtype /Widget /FT /Tx /T (name) /V (A) /F 2 /Rect [72 600 300 630] /P 3 0 R >>"}, wantKind: "form field changed"},
		{name: "font changed", update: map[int]string{5: "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"}, wantKind: "content changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := formBase(tc.sig, tc.lock, tc.perms)
			doc := incr(t, base, tc.update, incrOpts{})
			f, err := pdfscan.Parse(doc, pdfscan.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			nums, holders := sigFields(f, 1)
			if len(nums) != 1 || nums[0] != 9 {
				t.Fatalf("signature fields: %v", nums)
			}
			sd := f.ResolveDict(0, pdfscan.Object{Kind: pdfscan.Reference, Ref: pdfscan.Ref{Num: 9}})
			p, lock := sigPermissions(f, 0, 9, sd, holders[9])
			changes := classifyChanges(f, 0, []sigInfo{{num: 9, rev: 0, docMDP: p, lock: lock}})
			var bad []report.Change
			for _, c := range changes {
				if !c.Allowed {
					bad = append(bad, c)
				}
			}
			switch {
			case tc.allowed && len(bad) > 0:
				t.Fatalf("disallowed: %+v", bad)
			case !tc.allowed && len(bad) == 0:
				t.Fatalf("allowed, want %q: %+v", tc.wantKind, changes)
			case !tc.allowed && !strings.Contains(fmt.Sprint(bad), tc.wantKind):
				t.Fatalf("want %q among %+v", tc.wantKind, bad)
			}
		})
	}
}

// The change report stays small whatever an update defines.
func TestChangesBounded(t *testing.T) {
	base := formBase("", "", "")
	objs := map[int]string{}
	for i := range 3000 {
		objs[100+i] = "<< /Type /Annot /Subtype /Text /Rect [0 0 1 1] >>"
	}
	refs := make([]string, 0, 3000)
	for i := range 3000 {
		refs = append(refs, fmt.Sprintf("%d 0 R", 100+i))
	}
	objs[3] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [" + strings.Join(refs, " ") + "] >>"
	doc := incr(t, base, objs, incrOpts{})
	f, err := pdfscan.Parse(doc, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	changes := classifyChanges(f, 0, []sigInfo{{num: 9, rev: 0}})
	if len(changes) > maxChangesListed+1 {
		t.Fatalf("%d changes listed", len(changes))
	}
	if len(fmt.Sprint(changes)) > 64<<10 {
		t.Fatalf("change report of %d bytes", len(fmt.Sprint(changes)))
	}
}

// A co-signature's visible stamp is allowed and reported, with a warning
// when it covers much of its page.
func TestCoSignatureStampWarning(t *testing.T) {
	base := formBase("", "", "")
	doc := incr(t, base, map[int]string{
		1:  "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R 7 0 R 8 0 R 10 0 R 12 0 R] >> >>",
		3:  "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R 7 0 R 8 0 R 10 0 R 12 0 R] >>",
		12: "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Sig2) /V 13 0 R /F 4 /Rect [0 0 595 842] /P 3 0 R /AP << /N 14 0 R >> >>",
		13: "<< /Type /Sig /SubFilter /ETSI.CAdES.detached >>",
		14: blackPage,
	}, incrOpts{})
	f, err := pdfscan.Parse(doc, pdfscan.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	changes := classifyChanges(f, 0, []sigInfo{{num: 9, rev: 0}, {num: 13, rev: 1}})
	var found bool
	for _, c := range changes {
		if !c.Allowed {
			t.Fatalf("disallowed: %+v", c)
		}
		if c.Kind == "signature added" && strings.Contains(c.Detail, "warning: it covers 100% of its page") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no stamp warning: %+v", changes)
	}
}
