package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/miekg/pkcs11"

	"kyso/hsm"
	"kyso/problem"
	"kyso/store"
)

// An HSM that cannot serve a request (a client module that does not forward
// a mechanism, a network HSM that is restarting) answers 503
// hsm-unavailable with Retry-After, never a 500, and a database that stayed
// busy 503 busy; other errors keep their answers.
func TestHSMFailureIs503(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"mechanism not forwarded", fmt.Errorf("credential: enrol: %w", fmt.Errorf("hsm: deriving the key-encryption key: %w", pkcs11.Error(pkcs11.CKR_MECHANISM_INVALID))), 503, "hsm-unavailable"},
		{"server restarting", fmt.Errorf("hsm: giving up after 4 attempts: %w", pkcs11.Error(pkcs11.CKR_DEVICE_ERROR)), 503, "hsm-unavailable"},
		{"closed", hsm.ErrClosed, 503, "hsm-unavailable"},
		{"database busy", fmt.Errorf("dossier: receive: %w", fmt.Errorf("store: begin: %w", store.ErrBusy)), 503, "busy"},
		{"problem kept", problem.New(http.StatusConflict, "conflict", "x"), 409, "conflict"},
		{"other error", errors.New("boom"), 500, "internal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, fail := range map[string]func(http.ResponseWriter, *http.Request, error){
				"failLogged": func(w http.ResponseWriter, r *http.Request, err error) { failLogged(log, w, r, err) },
				"Fail":       Fail,
			} {
				rec := httptest.NewRecorder()
				fail(rec, httptest.NewRequest(http.MethodPost, "/v1/credentials", nil), tc.err)
				if rec.Code != tc.status {
					t.Fatalf("%s: status %d, want %d", name, rec.Code, tc.status)
				}
				var doc map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if doc["code"] != tc.code {
					t.Fatalf("%s: code %v, want %s", name, doc["code"], tc.code)
				}
				if ra := rec.Header().Get("Retry-After"); (tc.status == 503) != (ra != "") {
					t.Fatalf("%s: Retry-After %q on a %d", name, ra, tc.status)
				}
			}
		})
	}
}
