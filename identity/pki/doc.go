// Package pki parses the X.509 certificates and public keys found in
// eMRTD/CCCD security objects and verifies the signatures made with them:
// RSA PKCS#1 v1.5, RSASSA-PSS, and ECDSA (DER or plain r‖s) over NIST,
// brainpool and explicitly parameterised curves.
//
// We parse certificates ourselves instead of using crypto/x509 because
// x509 refuses elliptic-curve keys with explicit domain parameters and any
// curve it does not name, which is what many Document Signer and CSCA
// certificates (Germany, Austria, Vietnam, …) use. Only the fields needed
// for passive authentication are extracted: TBS bytes, names, validity,
// key identifiers, basic constraints and the public key.
package pki
