package dossier_test

import (
	"bytes"
	"context"
	"testing"

	"kyso/dossier"
	"kyso/dossier/resultpdf"
	"kyso/store/storetest"
	"kyso/verifier"
)

func FuzzVerifyFormJWS(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(`eyJhbGciOiJFUzI1NiIsIng1YyI6WyJNSUlCIl19.e30.AAAA`)
	f.Add(`eyJhbGciOiJFUzI1NiIsImlhdCI6MTc0ODc3OTIwMCwiY3JpdCI6WyJpYXQiXSwieDVjIjpbIk1JSUIiXX0.e30.AAAA`)
	f.Add(`eyJhbGciOiJFUzI1NiIsImlhdCI6bnVsbCwieDVjIjpbIk1JSUIiXX0.e30.AAAA`)
	forms := dossier.NewSignatureForms(dossier.FormsConfig{Verifier: verifier.New(verifier.Options{})})
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := forms.VerifyForm(context.Background(), "001099012345", dossier.Form{JWS: raw}); err == nil {
			t.Fatal("a form verified against an empty trust store")
		}
	})
}

func FuzzListPageToken(f *testing.F) {
	db := storetest.SQLite(f)
	e := newEnv(f, db)
	f.Add("MTc3MjQzODQwMDAwMC5kb3NfMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw")
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, tok string) {
		_, _ = e.svc.List(context.Background(), officer, dossier.ListQuery{PageToken: tok, PageSize: 2})
	})
}

func FuzzResultPDF(f *testing.F) {
	f.Add("KẾT QUẢ", "Đơn đề nghị (bản sao) \\ ) (")
	f.Add("", "\x00\xff")
	f.Fuzz(func(t *testing.T, title, line string) {
		pdf, stamp, err := resultpdf.Render(resultpdf.Document{Title: title, Agency: line, SignerName: line,
			Fields: []resultpdf.Field{{Label: line, Value: line}}, Paragraphs: []string{line}, Recipients: []string{line}})
		if err != nil {
			return
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-1.")) || !bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")) {
			t.Fatal("not a PDF")
		}
		if stamp.Page < 1 || stamp.Width <= 0 {
			t.Fatalf("stamp %+v", stamp)
		}
	})
}
