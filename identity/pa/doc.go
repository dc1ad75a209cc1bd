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
//
// On top of the chain, Verify applies the certificate profile of ICAO Doc
// 9303-12 as BSI TR-03105-5 tests it: the CSCA's and the DSC's countryName
// are the document's issuing state, the DSC has keyUsage digitalSignature
// and is no CA, the CSCA is a CA with keyCertSign, both were valid at the
// document's date of issue as well as now, and the algorithm policy (key
// sizes, SHA-1) holds. Each rule has its own error.
//
// Master lists are used only when their signer is, or chains to, a
// configured list-signer anchor: a list signed by anyone else, or vouched
// for only by a CSCA inside itself, adds nothing.
package pa
