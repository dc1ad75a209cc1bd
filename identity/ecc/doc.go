// Package ecc implements ECDSA over generic short-Weierstrass prime curves
// (y² = x³ + ax + b mod p) with math/big, and knows the brainpool curves of
// RFC 5639 and the NIST curves by their parameters.
//
// We wrote this because Go's crypto/ecdsa and crypto/x509 support only the
// NIST curves and named parameters, while real eMRTD document signers and
// CSCAs (Germany, Austria, Vietnam, …) use brainpool curves and encode
// curves with explicit parameters. Verification is the production use;
// signing exists for generating test cards and is not constant-time, so it
// must never handle a production key.
package ecc
