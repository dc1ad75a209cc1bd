// Package credential keeps signing credentials: a citizen's remote-signing
// key in the HSM (with the certificate issued for it and the signing PIN
// that activates it) and agency seals.
//
// The PIN is never stored: only an Argon2id hash (golang.org/x/crypto/argon2,
// RFC 9106) with a per-credential random salt, in a self-describing string
// so that the cost can be raised later. Wrong PINs are counted atomically in
// the store and lock the credential at a caller-chosen limit.
package credential
