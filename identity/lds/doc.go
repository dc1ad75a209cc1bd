// Package lds parses the ICAO Doc 9303 Logical Data Structure of chip ID
// cards and passports: EF.SOD (CMS SignedData carrying an
// LDSSecurityObject v0 or v1), DG1 (MRZ in TD1, TD2 or TD3 layout, with
// every check digit), DG13 (the Vietnamese CCCD personal data), DG14
// (SecurityInfos), DG15 (Active Authentication public key) and ICAO CSCA
// master lists.
//
// These parsers are our own: no maintained Go library parses eMRTD data
// groups. The general CMS packages (github.com/digitorus/pkcs7,
// go.mozilla.org/pkcs7) reject BER input with indefinite lengths, which
// real SODs (e.g. New Zealand) use, verify through crypto/x509 which
// refuses explicit-parameter and brainpool keys, and do not let us keep
// the received bytes that the data-group hashes and the signed attributes
// must be checked against. Input is normalised from BER to DER for
// parsing only; data-group hashes are always computed by the caller over
// the bytes received, and signed attributes are verified over their DER
// SET OF encoding.
//
// Nothing here decides trust: see package kyso/identity/pa.
package lds
