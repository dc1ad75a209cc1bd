// Package jws signs JSON form data as JSON Web Signatures (RFC 7515) with a
// crypto.Signer held in an HSM, through kyso/jose's KeySigner (a go-jose
// OpaqueSigner). Signatures
// follow JAdES (ETSI TS 119 182-1) baseline B-B: the protected header
// carries the signer's chain (x5c), its SHA-256 thumbprint (x5t#S256) and
// the claimed signing time as iat, a NumericDate in whole seconds (RFC 7519
// §4.1.6), as TS 119 182-1 V1.2.1 clause 5.1.11 requires of new signatures.
// The header has no crit: V1.2.1 asks for crit only with sigD, which is not
// made, and the sigT header earlier versions listed in crit is no longer
// written (Verify still accepts it). B-T adds a signature time-stamp
// (sigTst) in the unprotected etsiU header, which only the JSON
// serialization can carry; B-LT adds certificate and revocation values
// (xVals, rVals) there. B-LTA adds an archive time-stamp (arcTst, TS
// 119 182-1 §5.3.6) over the JWS components and every etsiU element before
// it; Extend makes it for an existing signature or renews it (validation
// data of the earlier time-stamps in tstVD, then a new arcTst). Archived
// signatures carry their etsiU elements base64url encoded, the form whose
// archive imprint needs no JSON canonicalization; Extend re-encodes clear
// elements (content unchanged) before the first arcTst. A compact JWS is
// extended into the flattened JSON serialization; the protected header,
// payload and signature value never change.
// Verify reads JWS with kyso/jose, the one JWS parser.
package jws
