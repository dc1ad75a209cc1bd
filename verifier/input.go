package verifier

import (
	"crypto/x509"

	"kyso/certfile"
)

// MaxInput bounds the size of a document read by the CLI and the API.
const MaxInput = 64 << 20

// LoadCertificates reads every certificate from PEM or DER files.
func LoadCertificates(paths ...string) ([]*x509.Certificate, error) {
	return certfile.Read(paths...)
}
