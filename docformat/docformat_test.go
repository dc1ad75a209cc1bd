package docformat

import "testing"

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"pdf", "%PDF-1.7\n...", PDF},
		{"pdf after whitespace", "\r\n %PDF-2.0", PDF},
		{"pem pkcs7", "-----BEGIN PKCS7-----\nMIIB", CMS},
		{"pem cms", "-----BEGIN CMS-----\nMIIB", CMS},
		{"pem certificate", "-----BEGIN CERTIFICATE-----\nMIIB", ""},
		{"der signed data", "\x30\x82\x01\x00\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0", CMS},
		{"ber signed data", "\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80", CMS},
		{"der other", "\x30\x03\x02\x01\x01", ""},
		{"der enveloped data", "\x30\x82\x01\x00\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03\xa0", ""},
		{"jws flattened", `{"payload":"e30","protected":"eyJ9","signature":"AA"}`, JWS},
		{"jws general", `{"payload":"e30","signatures":[]}`, JWS},
		{"json without signature", `{"payload":"e30"}`, ""},
		{"jws compact", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", JWS},
		{"two dots not jws", "a.b.c", ""},
		{"text", "hello", ""},
		{"empty", "", ""},
	} {
		if got := Detect([]byte(tc.in)); got != tc.want {
			t.Errorf("%s: Detect = %q, want %q", tc.name, got, tc.want)
		}
	}
}
