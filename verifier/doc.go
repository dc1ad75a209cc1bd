// Package verifier validates signed documents — PDF (PAdES and
// adbe.pkcs7.detached signatures, document time-stamps), CMS (attached or
// detached) and JWS with an x5c chain — following ETSI EN 319 102-1, and
// reports per signature and for the document a main indication
// (TOTAL-PASSED, TOTAL-FAILED, INDETERMINATE) with a sub-indication.
//
// For each PDF signature it checks the structure (the ByteRange starts at 0,
// its only gap is exactly the signature dictionary's /Contents hex string,
// and it ends at a revision boundary, so the signed revision is a prefix of
// the file; no second /Contents; the signature dictionary is not redefined
// later; /Contents holds one DER object and zero padding), the message
// digest, the signature value, the signing-certificate(-v2) attribute, the
// chain to the configured trust anchors, revocation at the best signature
// time (document /DSS, CMS revocation values, else online OCSP then CRL),
// signature and document time-stamps (RFC 3161: the token's signature and
// chain, and that the imprint matches the signature value or the byte
// range), the PAdES baseline level reached, and each later incremental
// update: allowed (DSS, document time-stamps, further signatures, form
// filling where DocMDP permits) or not (changed content, new pages,
// annotations, objects overridden by later definitions, data after the last
// %%EOF).
//
// Policy where EN 319 102-1 leaves room: a disallowed change after signing
// makes the signature TOTAL-FAILED with HASH_FAILURE, because what a viewer
// shows is no longer the signed data; without a time-stamp the best
// signature time is the validation time, so revocation data must be fresh
// for it or be fetched online.
//
// Structure analysis uses our own scanner (package pdfscan; see its doc for
// why) and CMS parsing our own (package cms); signature values are checked
// with crypto/x509.
package verifier
