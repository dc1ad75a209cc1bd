// Package verifier validates signed documents — PDF (PAdES,
// adbe.pkcs7.detached and adbe.pkcs7.sha1 signatures, document
// time-stamps), CMS (attached or detached; content the user gives is what
// is verified, and an encapsulated content that differs from it fails) and JWS (JAdES baseline or plain, with an x5c chain) —
// following ETSI EN 319 102-1, and
// reports per signature and for the document a main indication
// (TOTAL-PASSED, TOTAL-FAILED, INDETERMINATE) with a sub-indication.
//
// For each PDF signature it checks the structure (the ByteRange starts at 0,
// its only gap is exactly the signature dictionary's /Contents hex string,
// and it ends at a revision boundary, so the signed revision is a prefix of
// the file; no second /Contents; the signature dictionary is not redefined
// later; /Contents holds one DER object and zero padding), the message
// digest, the signature value, the signing-certificate(-v2) attribute, the
// chain to the configured trust anchors, the signing certificate's key
// usage and the algorithms under the validation policy, revocation at the
// best signature time (all evidence weighed: document /DSS, CMS revocation
// values and online OCSP and CRL, each only within its scope), signature
// and document time-stamps validated like signatures (RFC 3161 and EN 319
// 102-1 §5.4: token signature, ESS certificate, critical timeStamping EKU,
// chain and TSA revocation, imprint over the signature value or the byte
// range), proving existence only when valid (docs/validation.md), the
// PAdES baseline level reached, and each later incremental
// update, analysed as a whitelist over the object graph (see changes.go):
// every object a later revision defines, changes or frees must be
// explained by an allowed kind of update — validation data (/DSS) sharing
// no object with the content, document time-stamps, co-signatures, filling
// existing fields and annotations where DocMDP (P, from the signature's
// /Reference or the catalog's /Perms), FieldMDP and /Lock permit,
// document metadata — else it is a modification: changed content, new
// pages, a reference dangling at signing time defined later, repeated
// dictionary keys, an overlay widget, /NeedAppearances or /XFA set, a
// re-emitted signature dictionary, data after the last %%EOF.
//
// For each CMS signer it checks the same signer properties, and its CAdES
// archive-time-stamps-v3 (archive.go), the latest first: the
// ats-hash-index-v3 in each token must still match the certificates,
// revocation values and unsigned attribute values it indexes, the imprint
// is recomputed from the eContentType, the content hash, the signer's
// fields and that index, and the token is validated like every
// time-stamp; a valid one proves the signature, its validation data and
// what it indexes existed (CAdES-BASELINE-LTA), a broken one fails the
// signature, and the legacy archive time-stamps of TS 101 733 leave it
// INDETERMINATE/NO_POE. CMS counter-signatures (RFC 5652 §11.4, CAdES) are
// validated like signers over the countersigned signature value and
// reported as signatures of their own, as JAdES counter-signatures are.
//
// A JWS may come in compact, flattened JSON or general JSON serialization;
// every signature of a general JWS gets its own report entry. For each it
// checks the header parameters (crit is accepted exactly when every name it
// lists is one the verifier processes — JAdES sigT, iat, sigD and b64 —,
// per RFC 7515 §4.1.11), the signed content (attached, detached, unencoded
// with b64 false per RFC 7797, or referenced by sigD with ObjectIdByURI or
// ObjectIdByURIHash; content the user gives is what is verified, and an
// attached payload or sigD digest that differs fails with HASH_FAILURE),
// the signing
// certificate from x5c (or the certificate values matching x5t#S256) and
// that x5t#S256 matches it, the signature value (ES256/384/512,
// RS256/384/512, PS256/384/512, EdDSA), the claimed signing time (iat, or
// sigT in older signatures),
// the JAdES counter-signatures in etsiU (cSig: each validated as its own
// signature whose payload is the countersigned signature value, so one
// moved onto another signature fails), the JAdES signature time-stamps in
// etsiU (sigTst, whose imprint is over
// the base64url signature value as serialized, ETSI TS 119 182-1), the
// chain with the certificate values (xVals), revocation from the
// revocation values (rVals) or online, and the level reached
// (JAdES-BASELINE-B, -T, -LT). A changed payload or protected header makes
// the signature value fail (SIG_CRYPTO_FAILURE): a JWS has no separate
// digest. JWS parsing and signature values are package kyso/jose.
//
// Policy where EN 319 102-1 leaves room: as EU DSS does, a disallowed
// change after signing makes every signature made before it TOTAL-FAILED
// with FORMAT_FAILURE (HASH_FAILURE only when a signature's own bytes do
// not match), and the document takes its worst signature's result; without a time-stamp the best
// signature time is the validation time, so revocation data must be fresh
// for it or be fetched online.
//
// Structure analysis uses our own scanner (package pdfscan; see its doc for
// why) and CMS parsing our own (package kyso/cms). CMS signature values are
// checked for every algorithm real signers use: RSA PKCS #1 v1.5 and
// RSASSA-PSS, ECDSA (DER or BSI TR-03111 plain) on NIST and brainpool
// curves, SHA-2 and SHA-3, Ed25519 and Ed448 (SHAKE256), with or without
// signed attributes, every SignerInfo of a SignedData, and a signer
// certificate taken from the trust store when the CMS carries none. An
// algorithm outside that set is INDETERMINATE/CRYPTO_CONSTRAINTS_FAILURE
// naming it. Which algorithms are acceptable until when (SHA-1, RSA below
// 2048 bits), how fresh revocation data must be and what the signing
// certificate's key usage must allow is the validation policy's (package
// policy, docs/validation.md).
package verifier
