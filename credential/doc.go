// Package credential keeps signing credentials: a citizen's remote-signing
// key (with the certificate issued for it and the signing PIN that
// activates it) and agency seals.
//
// A citizen's key is under the citizen's sole control (Keys): it is
// generated in the HSM and kept only wrapped (AES key wrap with padding)
// under a key-encryption key that the citizen-key token derives, inside the
// token, from its derivation secret and an Argon2id stretch of the PIN
// (RFC 9106, per-credential salt, parameters stored with the key). The
// database holds the wrapped key, the salt and the parameters, never the
// PIN, its stretch or a hash of it; the token holds only the derivation
// secret. Each signature unwraps the key into a session object that is
// destroyed after it. The PIN is checked by the unwrap itself; wrong PINs
// are counted atomically in the store, before the check, and lock the
// credential at a caller-chosen limit. Revocation and expiry destroy the
// wrapped key (DestroyKeyTx), inside the caller's transaction.
//
// Credentials made before keys were wrapped keep an Argon2id PIN hash
// (CheckPIN) and a token key; they no longer sign (ErrKeyUnavailable) and
// their holders enrol again.
package credential
