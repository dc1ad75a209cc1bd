// Package docformat tells which signed-document format a file is in — a
// PDF, a CMS SignedData (DER, BER or PEM) or a JWS (compact or a JSON
// serialization) — from its first bytes, so that the verifier and the
// signer's long-term extension choose the same path for the same input.
package docformat

import "bytes"

// The formats.
const (
	PDF = "PDF"
	CMS = "CMS"
	JWS = "JWS"
)

// oidSignedDataDER is the DER encoding of id-signedData, which a
// SignedData ContentInfo names in its first bytes.
const oidSignedDataDER = "\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"

// Detect returns PDF, CMS or JWS, or "" when b looks like none of them.
// It only looks: the format's parser decides whether b is well formed.
func Detect(b []byte) string {
	trim := bytes.TrimLeft(b, "\x00\t\n\f\r ")
	switch {
	case bytes.HasPrefix(trim, []byte("%PDF-")):
		return PDF
	case bytes.HasPrefix(trim, []byte("-----BEGIN PKCS7")), bytes.HasPrefix(trim, []byte("-----BEGIN CMS")):
		return CMS
	case len(trim) > 1 && trim[0] == 0x30 && bytes.Contains(trim[:min(len(trim), 24)], []byte(oidSignedDataDER)):
		return CMS
	case len(trim) > 1 && trim[0] == '{' && bytes.Contains(trim, []byte(`"signature`)):
		// The general ("signatures") or flattened ("signature") JSON
		// serialization.
		return JWS
	case bytes.Count(trim, []byte(".")) == 2 && len(trim) > 4 && trim[0] == 'e':
		// Compact: a protected header is base64url of "{", so it starts "e".
		return JWS
	}
	return ""
}
