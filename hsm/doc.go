// Package hsm keeps Kyso's private keys in a hardware security module
// through PKCS#11 (github.com/miekg/pkcs11): any PKCS#11 module, SoftHSM2 in
// tests and in the default local setup.
//
// # Opening a token
//
// Open loads the module, finds the token by its label, opens one session
// that logs in as the user and holds the login for the life of the HSM, and
// hands out up to Config.PoolSize further sessions for operations, opened
// when first needed and reused; callers wait for a free session as long as
// their context allows. The user PIN comes from a file or an environment
// variable (LoadPIN), never from the command line, and Config redacts it
// when logged or printed. Close closes the sessions; it does not call
// C_Finalize, because PKCS#11 initialisation belongs to the whole process
// and other HSM values may share the module. InitToken initialises a new
// token in the first free slot and sets its PINs through PKCS#11, so that
// no PIN appears on a command line.
//
// # Keys
//
// GenerateKey makes a key pair (RSA-2048, RSA-3072, ECDSA P-256 or P-384) of
// token objects: the private key is private, sensitive, never extractable
// and may only sign; the public key may only verify. Labels are unique:
// GenerateKey refuses a label in use with ErrKeyExists (the check and the
// generation are one step within a process; processes sharing a token must
// not generate the same label at once). FindKey, ListKeys and DestroyKey find keys by label. A *Key reads
// its public key from the token and implements crypto.Signer:
//
//   - RSA PKCS#1 v1.5 with CKM_RSA_PKCS over the DigestInfo, which this
//     package encodes for the hash (the raw mechanism signs its input as
//     it is, and hash-and-sign mechanisms would hash again);
//   - RSA-PSS with CKM_RSA_PKCS_PSS when the options are *rsa.PSSOptions,
//     with Go's salt length conventions (PSSSaltLengthEqualsHash, and
//     PSSSaltLengthAuto as the longest salt, as rsa.SignPSS does);
//   - ECDSA with CKM_ECDSA, whose r||s output is converted to the ASN.1 DER
//     that crypto.Signer callers expect.
//
// # Wrapped keys
//
// Keys that must be usable only with someone's activation data (a
// citizen's signing key) are not kept on the token. GenerateSecret makes a
// derivation secret: an AES-256 token key, sensitive, never extractable,
// whose only use is CKA_DERIVE. GenerateWrappedKey derives from it, inside
// the token, a key-encryption key for 32 bytes of activation data
// (CKM_AES_ECB_ENCRYPT_DATA: KEK = AES-256(secret, activation), a
// pseudo-random function keyed by a secret that never leaves the token),
// generates a key pair as session objects, wraps the private key with
// CKM_AES_KEY_WRAP_PAD (RFC 5649) and destroys every object: only the blob
// and the public key leave. A WrappedKey holds the blob and the activation
// data; each signature derives the KEK again, unwraps the private key into
// a session object (sensitive, not extractable, sign only), signs and
// destroys it, in one session. Wrong activation data fails the wrap's
// integrity check (ErrActivation); the blob is useless without both the
// activation data and the token that holds the secret. miekg/pkcs11 has no
// constructor for CK_KEY_DERIVATION_STRING_DATA, so derive.go builds it with
// cgo.
//
// # Recovery
//
// A network HSM that restarts, a token that is removed and put back, or a
// logout from elsewhere shows up as errors such as CKR_SESSION_HANDLE_INVALID,
// CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_REMOVED or CKR_CRYPTOKI_NOT_INITIALIZED.
// Every operation that fails so is retried after the HSM sets itself up
// again without a process restart: it drops the pool, opens a new login
// session and logs in; if that fails, or the operation fails again, it calls
// C_Finalize and C_Initialize first. Object handles are cached per key and
// found again by label and id after a recovery. Only one goroutine recovers
// at a time, never while another is inside the library; the others retry
// once it is done. Operations are tried up to four times, with a backoff
// bounded by their context when a recovery fails; a wrong PIN ends the
// retries at once, so that the token does not lock it.
//
// # Metrics
//
// Open registers on the given Registerer (never the global one):
// kyso_hsm_operations_total{key,mechanism,result},
// kyso_hsm_operation_duration_seconds{key,mechanism} and
// kyso_hsm_recoveries_total. Config.KeyMetricLabel bounds the "key" label
// when keys are many, such as one per citizen.
//
// # Why not a wrapper library
//
// A higher-level wrapper such as github.com/ThalesIgnite/crypto11 (under
// go.step.sm/crypto's PKCS#11 KMS) hides the sessions and the library's life
// cycle, which recovery has to control (dropping the pool, C_Finalize and
// C_Initialize, logging in again, finding handles again), and the points
// where each operation is measured. So this package is written directly on
// miekg/pkcs11, a thin binding of the PKCS#11 C API, and keeps its own code
// to what that control needs.
//
// Package hsmtest gives tests a fresh SoftHSM2 token.
package hsm
