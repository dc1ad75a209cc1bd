package verifier

import (
	"context"
	"testing"
	"time"
)

// FuzzJWS feeds the whole JWS validation (the parser has its own fuzz
// target in package jose).
func FuzzJWS(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJFUzI1NiJ9.e30.AAAA"))
	f.Add([]byte("eyJhbGciOiJFUzI1NiIsImNyaXQiOlsic2lnVCJdLCJzaWdUIjoiMjAyNi0wMS0wMVQwMDowMDowMFoifQ.e30.AAAA"))
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"}`))
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJSUzI1NiJ9","header":{"etsiU":[{"sigTst":{"tstTokens":[{"val":"MAA="}]}},{"xVals":[{"x509Cert":"MAA="}]},{"rVals":{"crlVals":[{"val":"MAA="}],"ocspVals":[{"val":"MAA="}]}},"eyJhIjoxfQ"]},"signature":"AAAA"}`))
	f.Add([]byte(`{"payload":"e30","signatures":[{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"},{"header":{"alg":"EdDSA","x5t#S256":"AAAA"},"signature":""}]}`))
	f.Add([]byte(`{"signatures":[{"protected":"e30","header":{"crit":["sigT"]},"signature":"AA"}]}`))
	f.Add([]byte("eyJhbGciOiJFUzI1NiIsImlhdCI6MTc0ODc3OTIwMH0.e30.AAAA"))
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"iat":1.5e9},"signature":"AAAA"}`))
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"etsiU":["eyJzaWdUc3QiOnsidHN0VG9rZW5zIjpbeyJ2YWwiOiJNQUE9In1dfX0","eyJ0c3RWRCI6eyJ4VmFscyI6W3sieDUwOUNlcnQiOnsidmFsIjoiTUFBPSJ9fV19fQ","eyJhcmNUc3QiOnsidHN0VG9rZW5zIjpbeyJ2YWwiOiJNQUE9In1dfX0"]},"signature":"AAAA"}`))
	v := New(Options{At: time.Date(2026, 1, 15, 8, 0, 0, 0, time.UTC)})
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := v.Verify(context.Background(), Input{Data: data})
		if err == nil && rep.Status.MainIndication == "" {
			t.Fatal("report without indication")
		}
	})
}
