// Package lds parses the ICAO Doc 9303 Logical Data Structure of chip ID
// cards and passports: EF.SOD (CMS SignedData carrying an
// LDSSecurityObject v0 or v1), DG1 (MRZ in TD1, TD2 or TD3 layout, with
// every check digit), DG13 (the Vietnamese CCCD personal data), DG14
// (SecurityInfos), DG15 (Active Authentication public key) and ICAO CSCA
// master lists.
//
// The CMS SignedData of EF.SOD and of master lists is read by kyso/cms,
// the project's one CMS implementation (BER input, eContentTypes other
// than id-data, explicit-parameter and brainpool signer keys); this
// package adds the ICAO rules on top: one SignerInfo, the signer's
// certificate carried in the SignedData, the LDSSecurityObject inside.
// The data-group parsers are our own: no maintained Go library parses
// eMRTD data groups. Input is normalised from BER to DER for parsing
// only; data-group hashes are always computed by the caller over the
// bytes received, and signed attributes are verified over their DER SET
// OF encoding.
//
// Nothing here decides trust: see package kyso/identity/pa.
package lds
