package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		detail string
	}{
		{"problem", New(http.StatusConflict, "illegal-transition", "dossier is returned"), 409, "illegal-transition", "dossier is returned"},
		{"wrapped problem", fmt.Errorf("dossier: %w", Newf(http.StatusNotFound, "not-found", "no dossier %s", "x")), 404, "not-found", "no dossier x"},
		{"plain error", errors.New("pq: password authentication failed for user kyso"), 500, "internal", "the server could not complete the request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, httptest.NewRequest("GET", "/v1/x", nil), tc.err)
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != ContentType {
				t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if doc["code"] != tc.code || doc["type"] != TypeBase+tc.code || doc["detail"] != tc.detail ||
				doc["status"] != float64(tc.status) || doc["instance"] != "/v1/x" || doc["title"] != http.StatusText(tc.status) {
				t.Fatalf("document %v", doc)
			}
		})
	}
}

func TestWithAndIs(t *testing.T) {
	base := New(http.StatusConflict, "illegal-transition", "no")
	p := base.With("state", "returned")
	if base.Extra != nil {
		t.Fatal("With changed the original")
	}
	if p.Document("")["state"] != "returned" {
		t.Fatal("extra member missing")
	}
	if !errors.Is(fmt.Errorf("x: %w", p), base) {
		t.Fatal("errors.Is does not match on code and status")
	}
	if errors.Is(p, New(http.StatusConflict, "other", "")) {
		t.Fatal("errors.Is matched another code")
	}
	cause := errors.New("cause")
	if w := Wrap(400, "bad", cause); !errors.Is(w, cause) || w.Detail != "cause" {
		t.Fatal("Wrap lost its cause")
	}
	// Extra members never override the standard ones.
	doc := New(400, "bad", "d").With("status", 999).Document("")
	if doc["status"] != 400 {
		t.Fatalf("status overridden: %v", doc["status"])
	}
}
