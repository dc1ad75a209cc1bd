// Package cades builds CAdES detached signatures (CMS SignedData, RFC 5652,
// ETSI EN 319 122-1 baseline B-B, B-T, B-LT and B-LTA) from a precomputed
// content digest, and extends existing ones to B-LTA.
//
// The signed attributes are content-type, message-digest,
// signing-certificate-v2 (RFC 5035) and, when asked for, signing-time (PAdES
// forbids it, CAdES carries it). B-T adds the RFC 3161 signature time-stamp
// as the id-aa-signatureTimeStampToken unsigned attribute; B-LT adds the
// certificates and revocation values (CRLs, and OCSP responses as RFC 5940
// other revocation information) to SignedData. B-LTA adds an
// archive-time-stamp-v3 unsigned attribute (§5.5.3) whose token carries the
// ats-hash-index-v3 of the certificates, revocation values and unsigned
// attribute values present; Extend adds current validation data for every
// signer and time-stamp first, and renews the archive time-stamp of a
// signature that has one.
//
// The CMS encoding (and all CMS parsing) is kyso/cms; this package chooses
// the CAdES attributes, signs through a crypto.Signer (an HSM key) over a
// digest computed elsewhere, so large files are hashed as streams and
// remote clients may send only hashes, and gathers the B-LT validation
// data. The archive time-stamp's content hash is the message-digest
// attribute when the signer digests with the archive hash, so a detached
// signature is extended without its content.
package cades
