package cms

import (
	"crypto"
	"crypto/x509"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Add([]byte("\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02\xa0\x80\x30\x80\x02\x01\x01\x31\x00\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01\x00\x00\x31\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x30\x80\x02\x01\x01\x24\x80\x04\x01\x61\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, err := ObjectLength(data); err == nil && (n <= 0 || n > len(data)) {
			t.Fatalf("ObjectLength %d outside [1,%d]", n, len(data))
		}
		sd, err := Parse(data)
		if err != nil {
			ParseTimeStamp(data)
			return
		}
		for _, si := range sd.Signers {
			si.MessageDigest()
			si.ContentType()
			si.SigningTime()
			si.SigningCertificate()
			si.CheckSignedAttributes()
			si.Digest()
			if len(sd.Certificates) > 0 {
				si.VerifySignature(sd.Certificates[0], sd.EContent)
				si.FindSigner(sd.Certificates)
			} else {
				si.VerifySignature(&x509.Certificate{}, sd.EContent)
			}
		}
		ParseTimeStamp(data)
	})
}

// FuzzParseCertificate feeds the lenient certificate reader (stand-in key
// and serial re-encoding).
func FuzzParseCertificate(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x80})
	f.Add([]byte("\x30\x0c\x30\x06\xa0\x03\x02\x01\x02\x02\x01\xff\x30\x00\x03\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCertificate(data)
		if err != nil {
			return
		}
		_, _ = PublicKey(c)
	})
}

// FuzzArchive feeds the parsers of archive time-stamp hash indexes and
// counter-signature SignerInfos, and the attribute rewriting used when
// extending signatures.
func FuzzArchive(f *testing.F) {
	f.Add([]byte("\x30\x06\x30\x00\x30\x00\x30\x00"))
	f.Add([]byte("\x30\x0d\x30\x0b\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if idx, err := ParseATSHashIndexV3(data); err == nil {
			_ = idx.Missing(&SignedData{}, &SignerInfo{})
			_ = idx.Covers(Attribute{Type: OIDTimeStampToken}, data)
		}
		if si, err := ParseSignerInfo(data); err == nil {
			sd := &SignedData{EContentType: OIDData}
			_, _ = sd.ATSHashIndexV3(si, crypto.SHA256)
			_, _ = sd.ArchiveTimeStampV3Input(si, nil, nil)
		}
		_, _ = AddUnsignedAttribute(data, 0, []byte{0x30, 0x00})
	})
}
