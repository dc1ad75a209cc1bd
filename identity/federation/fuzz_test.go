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

// FuzzParsePrivateKey: reading a client key file never panics and yields
// only keys a client assertion can be signed with.
func FuzzParsePrivateKey(f *testing.F) {
	f.Add([]byte("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePrivateKey(b)
		if err == nil {
			if _, err := assertionAlg(k); err != nil {
				t.Fatal(err)
			}
		}
	})
}
