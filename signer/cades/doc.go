// Package cades builds CAdES detached signatures (CMS SignedData, RFC 5652,
// ETSI EN 319 122-1 baseline B-B, B-T and B-LT) from a precomputed content
// digest.
//
// The signed attributes are content-type, message-digest,
// signing-certificate-v2 (RFC 5035) and, when asked for, signing-time (PAdES
// forbids it, CAdES carries it). B-T adds the RFC 3161 signature time-stamp
// as the id-aa-signatureTimeStampToken unsigned attribute; B-LT adds the
// certificates and revocation values (CRLs, and OCSP responses as RFC 5940
// other revocation information) to SignedData. B-LTA (archive time-stamps)
// is not made.
//
// We build the CMS structure ourselves with cryptobyte instead of using
// github.com/digitorus/pkcs7: that library hashes the content it holds in
// memory and cannot sign a digest computed elsewhere, which we need to hash
// large PDFs and files as streams (bounded memory) and to sign for remote
// clients that only send hashes. Parsing of CMS (for tests and for adding
// the time-stamp) uses the same small encoder's counterpart in this package.
package cades
