package jose

import "testing"

// FuzzParse feeds the JWS parser: serializations, header parameters and
// the JAdES unsigned properties.
func FuzzParse(f *testing.F) {
	f.Add([]byte("eyJhbGciOiJFUzI1NiJ9.e30.AAAA"))
	f.Add([]byte("eyJhbGciOiJFUzI1NiIsImNyaXQiOlsic2lnVCJdLCJzaWdUIjoiMjAyNi0wMS0wMVQwMDowMDowMFoifQ.e30.AAAA"))
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJSUzI1NiJ9","header":{"etsiU":[{"sigTst":{"tstTokens":[{"val":"MAA="}]}},{"xVals":[{"x509Cert":"MAA="}]},{"rVals":{"crlVals":[{"val":"MAA="}],"ocspVals":[{"val":"MAA="}]}},"eyJhIjoxfQ"]},"signature":"AAAA"}`))
	f.Add([]byte(`{"payload":"e30","signatures":[{"protected":"eyJhbGciOiJFUzI1NiJ9","signature":"AAAA"},{"header":{"alg":"EdDSA","x5t#S256":"AAAA"},"signature":""}]}`))
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"iat":1.5e9},"signature":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			return
		}
		for _, s := range doc.Sigs {
			if p, err := s.Params(); err == nil {
				_ = ParseUnsigned(p.EtsiU)
			}
		}
		_, _ = Payload(data)
	})
}
