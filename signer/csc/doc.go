// Package csc implements remote signing with sole control, exposed as the
// Cloud Signature Consortium API v2 (info, credentials/list,
// credentials/info, credentials/authorize, signatures/signHash,
// signatures/signDoc) and used by the plain signing endpoints.
//
// A citizen's key signs only when the request carries a fresh identity
// assertion for the credential's owner and the right signing PIN
// (credential.Store.CheckPIN counts wrong PINs and locks the credential).
// credentials/authorize returns Signature Activation Data: a random opaque
// token, stored server-side only as its SHA-256, bound to the credential,
// the caller, the hash algorithm and the exact hashes (numSignatures of
// them), valid for a few minutes and consumed atomically by its first use,
// successful or not. Agency seals are used by that agency's principals
// only, without PIN.
//
// Every private-key operation is appended to the audit log first
// (credential, hash, client); if the audit log cannot record it, nothing
// is signed.
package csc
