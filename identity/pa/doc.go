// Package pa performs ICAO Doc 9303-11 passive authentication: the EF.SOD
// signature by its Document Signer certificate (DSC), the DSC's chain to a
// trusted Country Signing CA (CSCA) at verification time, and the hash of
// every presented data group against the SOD.
//
// Trust anchors are CSCA certificates loaded from a directory: PEM or DER
// certificate files and ICAO master lists (.ml), whose CMS signature is
// checked. Every anchor stands on its own (link certificates are anchors
// for their new key); a DSC is accepted when an anchor with a matching
// name (and key identifier, when both are present) signed it and both are
// valid at the verification time.
package pa
