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
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"etsiU":["eyJzaWdUc3QiOnsidHN0VG9rZW5zIjpbeyJ2YWwiOiJNQUE9In1dfX0","eyJ0c3RWRCI6eyJ4VmFscyI6W3sieDUwOUNlcnQiOnsidmFsIjoiTUFBPSJ9fV19fQ","eyJhcmNUc3QiOnsidHN0VG9rZW5zIjpbeyJ2YWwiOiJNQUE9In1dfX0"]},"signature":"AAAA"}`))
	f.Add([]byte(`{"payload":"e30","protected":"eyJhbGciOiJFUzI1NiJ9","header":{"etsiU":[{"arcTst":{"canonAlg":"x","tstTokens":[{"val":"MAA="}]}}]},"signature":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			return
		}
		for _, s := range doc.Sigs {
			if p, err := s.Params(); err == nil {
				u := ParseUnsigned(p.EtsiU)
				for _, a := range u.ArcTst {
					_, _ = ArchiveInput(doc, s, p, u, a.Index, a.CanonAlg, nil)
				}
			}
		}
		_, _ = Payload(data)
	})
}

// FuzzSigningInput feeds sigD and b64 handling with and without content.
func FuzzSigningInput(f *testing.F) {
	f.Add([]byte(`{"payload":"","protected":"eyJhbGciOiJFUzI1NiIsImNyaXQiOlsic2lnRCJdLCJzaWdEIjp7Im1JZCI6Imh0dHA6Ly91cmkuZXRzaS5vcmcvMTkxODIvT2JqZWN0SWRCeVVSSUhhc2giLCJwYXJzIjpbImEiXSwiaGFzaE0iOiJTMjU2IiwiaGFzaFYiOlsiQUFBQSJdfX0","signature":"AAAA"}`), []byte("a"))
	f.Add([]byte("eyJhbGciOiJFUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..AAAA"), []byte(`{"a":1}`))
	f.Fuzz(func(t *testing.T, data, content []byte) {
		doc, err := Parse(data)
		if err != nil {
			return
		}
		for _, s := range doc.Sigs {
			p, err := s.Params()
			if err != nil {
				continue
			}
			_, _ = SigningInput(doc, s, p, content)
			_, _ = SigningInput(doc, s, p, nil)
		}
	})
}
