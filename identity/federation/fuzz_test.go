package federation

import "testing"

// FuzzUnverifiedIssuer: reading the iss of an untrusted token never panics
// and finds an issuer only in a three-part token.
func FuzzUnverifiedIssuer(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		iss, err := unverifiedIssuer(raw)
		if err == nil && iss == "" {
			t.Fatal("no error and no issuer")
		}
	})
}
