package main

import (
	"bytes"
	"crypto"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/digitorus/timestamp"
)

// With the configuration defaults, a burst of 300 identity challenges and
// 300 time-stamp requests from one client is answered with 429s carrying
// problem+json and Retry-After once the client's bucket is empty; the HSM
// and the database do not see the excess.
func TestBurstsFromOneClientAreLimited(t *testing.T) {
	b := startServer(t, newTestEnv(t))
	tsq, err := timestamp.CreateRequest(bytes.NewReader([]byte("document")), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, ctype string
		body              []byte
	}{
		{"identity challenges", "/v1/identity/challenges", "application/json", []byte("{}")},
		{"time-stamps", "/tsa", "application/timestamp-query", tsq},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, limited := 0, 0
			for range 300 {
				req := httptest.NewRequest(http.MethodPost, tc.path, bytes.NewReader(tc.body))
				req.RemoteAddr = "198.51.100.23:40000"
				req.Header.Set("Content-Type", tc.ctype)
				rec := httptest.NewRecorder()
				b.server.ServeHTTP(rec, req)
				switch rec.Code {
				case http.StatusOK, http.StatusCreated:
					ok++
				case http.StatusTooManyRequests:
					limited++
					if rec.Header().Get("Content-Type") != "application/problem+json" {
						t.Fatalf("429 content type %q", rec.Header().Get("Content-Type"))
					}
					if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 {
						t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
					}
					var p struct{ Code string }
					if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != "rate-limited" {
						t.Fatalf("429 body %s", rec.Body)
					}
				default:
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
			if ok == 0 || limited < 200 {
				t.Fatalf("%d answered, %d limited", ok, limited)
			}
			// Another client is not affected.
			req := httptest.NewRequest(http.MethodPost, tc.path, bytes.NewReader(tc.body))
			req.RemoteAddr = "203.0.113.5:40000"
			req.Header.Set("Content-Type", tc.ctype)
			rec := httptest.NewRecorder()
			b.server.ServeHTTP(rec, req)
			if rec.Code == http.StatusTooManyRequests {
				t.Fatal("another client was limited")
			}
		})
	}
}
