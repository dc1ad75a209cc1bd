package lds

import (
	"crypto"
	"encoding/asn1"

	"kyso/identity/pki"
)

// Security protocol identifiers found in DG14 (Doc 9303-11 9.2, BSI TR-03110).
var (
	OIDActiveAuthentication = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 5}
	oidBSIProtocols         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2}
)

// SecurityInfo is one element of the DG14 SecurityInfos set.
type SecurityInfo struct {
	Protocol asn1.ObjectIdentifier
	// Kind is "ActiveAuthenticationInfo", "ChipAuthenticationPublicKeyInfo",
	// "ChipAuthenticationInfo", "TerminalAuthenticationInfo", "PACEInfo",
	// "PACEDomainParameterInfo" or "unknown".
	Kind         string
	RequiredData asn1.RawValue
	OptionalData asn1.RawValue
}

// DG14 is the parsed SecurityInfos of EF.DG14.
type DG14 struct {
	Infos []SecurityInfo
	// AASignatureAlgorithm is the ActiveAuthenticationInfo's signature
	// algorithm (nil when absent) and AAHash the hash it names.
	AASignatureAlgorithm asn1.ObjectIdentifier
	AAHash               crypto.Hash
}

type securityInfo struct {
	Protocol     asn1.ObjectIdentifier
	RequiredData asn1.RawValue
	OptionalData asn1.RawValue `asn1:"optional"`
}

// ParseDG14 parses EF.DG14 (tag 0x6E containing SET OF SecurityInfo).
func ParseDG14(b []byte) (*DG14, error) {
	inner, err := unwrapApplication(b, 0x6E, "DG14")
	if err != nil {
		return nil, err
	}
	var set asn1.RawValue
	rest, err := asn1.Unmarshal(inner, &set)
	if err != nil || len(rest) != 0 || set.Tag != asn1.TagSet {
		return nil, malformed("DG14: expected SET OF SecurityInfo", err)
	}
	d := &DG14{}
	cur := set.Bytes
	for len(cur) > 0 {
		var si securityInfo
		r, err := asn1.Unmarshal(cur, &si)
		if err != nil {
			return nil, malformed("DG14 SecurityInfo", err)
		}
		cur = r
		info := SecurityInfo{Protocol: si.Protocol, Kind: protocolKind(si.Protocol), RequiredData: si.RequiredData, OptionalData: si.OptionalData}
		if info.Kind == "ActiveAuthenticationInfo" {
			var oid asn1.ObjectIdentifier
			if len(si.OptionalData.FullBytes) > 0 {
				if _, err := asn1.Unmarshal(si.OptionalData.FullBytes, &oid); err != nil {
					return nil, malformed("ActiveAuthenticationInfo signatureAlgorithm", err)
				}
				d.AASignatureAlgorithm = oid
				d.AAHash = pki.SignatureHash(oid)
			}
		}
		d.Infos = append(d.Infos, info)
	}
	return d, nil
}

func protocolKind(p asn1.ObjectIdentifier) string {
	if p.Equal(OIDActiveAuthentication) {
		return "ActiveAuthenticationInfo"
	}
	if len(p) >= 10 && asn1.ObjectIdentifier(p[:8]).Equal(oidBSIProtocols) {
		switch {
		case p[8] == 1:
			return "ChipAuthenticationPublicKeyInfo"
		case p[8] == 3:
			return "ChipAuthenticationInfo"
		case p[8] == 2:
			return "TerminalAuthenticationInfo"
		case p[8] == 4:
			return "PACEInfo"
		}
	}
	if len(p) == 9 && asn1.ObjectIdentifier(p[:8]).Equal(oidBSIProtocols) && p[8] == 2 {
		return "TerminalAuthenticationInfo"
	}
	return "unknown"
}
