package cms_test

import (
	"encoding/asn1"
	"errors"
	"testing"
	"time"

	certstest "kyso/certs-test"
	"kyso/cms"
	"kyso/identity/pki"
)

// An eMRTD security object is SignedData whose eContentType is not
// id-data (id-icao-mrtd-security-ldsSecurityObject) and whose signer
// certificate may carry an elliptic-curve key with explicit domain
// parameters (brainpool, as many document signers do). The one CMS
// reader parses and checks both.
func TestICAOSecurityObject(t *testing.T) {
	oidLDS := asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	for _, alg := range certstest.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			c, err := certstest.NewChip(certstest.ChipOptions{ID: "079090001234", Name: "Trần Đức Anh", Sex: "M", Alg: alg, Now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			// EF.SOD is the ContentInfo inside an application tag 0x77.
			var outer asn1.RawValue
			if _, err := asn1.Unmarshal(c.SOD, &outer); err != nil || outer.Class != asn1.ClassApplication || outer.Tag != 23 {
				t.Fatalf("EF.SOD wrapper: %v", err)
			}
			der, err := cms.ToDER(outer.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := cms.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if !sd.EContentType.Equal(oidLDS) || len(sd.EContent) == 0 {
				t.Fatalf("eContentType %v, %d content bytes", sd.EContentType, len(sd.EContent))
			}
			if len(sd.Signers) != 1 {
				t.Fatalf("%d signers", len(sd.Signers))
			}
			si := sd.Signers[0]
			if ct, err := si.ContentType(); err != nil || !ct.Equal(oidLDS) {
				t.Fatalf("content-type attribute %v, %v", ct, err)
			}
			cert := si.FindSigner(sd.Certificates)
			if cert == nil {
				t.Fatal("signer certificate not found")
			}
			pub, err := cms.PublicKey(cert)
			if err != nil {
				t.Fatal(err)
			}
			if alg == "brainpool" && !pub.ExplicitParams {
				t.Error("brainpool document signer key should carry explicit parameters")
			}
			if p, err := pki.ParseCertificate(cert.Raw); err != nil || p.PublicKey.ExplicitParams != pub.ExplicitParams {
				t.Errorf("raw certificate not kept: %v", err)
			}
			if err := si.VerifySignature(cert, sd.EContent); err != nil {
				t.Fatal(err)
			}
			// A changed signature value is refused as invalid, not unsupported.
			si.Signature[len(si.Signature)/2] ^= 1
			if err := si.VerifySignature(cert, sd.EContent); !errors.Is(err, cms.ErrSignatureInvalid) {
				t.Fatalf("tampered signature: %v", err)
			}
		})
	}
}
