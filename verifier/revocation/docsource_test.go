package revocation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"kyso/verifier/revocation"
)

// An online answer fetched at validation time is newer than the evidence a
// document carries and decides the reported status, but what the document
// carries still decides on its own: DocumentSource names it, so a B-LT
// signature does not read as B-T because the checker also went online.
// Evidence too old to decide alone leaves DocumentSource empty.
func TestDocumentSource(t *testing.T) {
	c := newCA(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(c.crl(t, time.Now().UTC().Truncate(time.Second), nil))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	leaf := c.leaf(t, 10, "", srv.URL+"/crl")
	at := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	chk := revocation.New(revocation.Config{AllowedHosts: []string{u.Host}, Freshness: time.Hour})
	for _, tc := range []struct {
		name    string
		this    time.Time
		wantDoc string
	}{
		{"embedded before the time of interest, fresh", at.Add(-10 * time.Second), "CMS CRL"},
		{"embedded too old to decide alone", at.Add(-2 * time.Hour), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := []revocation.Evidence{{Origin: "CMS", CRLs: [][]byte{c.crl(t, tc.this, nil)}}}
			r := chk.Check(context.Background(), leaf, c.cert, at, ev)
			if r.Status != revocation.Good || r.Source != "online CRL "+srv.URL+"/crl" {
				t.Fatalf("got %+v, want good from the newer online CRL", r)
			}
			if r.DocumentSource != tc.wantDoc {
				t.Fatalf("DocumentSource %q, want %q", r.DocumentSource, tc.wantDoc)
			}
		})
	}
}
