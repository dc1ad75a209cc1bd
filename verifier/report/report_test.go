package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestHTMLEscapesAndNamesVerdict(t *testing.T) {
	r := &Report{
		ValidationTime: time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC),
		Document:       Document{Name: "<script>alert(1)</script>.pdf", Format: "PDF"},
		Status:         Status{MainIndication: TotalFailed, SubIndication: HashFailure},
		Signatures: []Signature{{ID: "Signature1", Format: "PAdES", Status: Status{MainIndication: TotalFailed, SubIndication: HashFailure},
			Signer: &Signer{Name: "Nguyễn Văn An", UID: "CCCD:001234567890"}, Reason: `"><img src=x>`}},
	}
	var b bytes.Buffer
	if err := r.HTML(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script>alert", `"><img`} {
		if strings.Contains(out, bad) {
			t.Fatalf("unescaped %q in HTML", bad)
		}
	}
	for _, want := range []string{`id="verdict"`, "Invalid: the document was changed after it was signed.", "Nguyễn Văn An", "CCCD:001234567890"} {
		if !strings.Contains(out, want) {
			t.Fatalf("HTML lacks %q", want)
		}
	}
	if strings.Contains(out, "http://") || strings.Contains(out, "https://") {
		t.Fatal("the page must not load external assets")
	}
}

func TestVerdictWords(t *testing.T) {
	for _, s := range []Status{{MainIndication: TotalPassed}, {MainIndication: Indeterminate, SubIndication: TryLater}, {MainIndication: TotalFailed, SubIndication: Revoked}, {MainIndication: Indeterminate, SubIndication: SigConstraintsFailure}} {
		if v := Verdict(s); v == "" || strings.Contains(v, "see the details") {
			t.Errorf("%+v: %q", s, v)
		}
	}
}
