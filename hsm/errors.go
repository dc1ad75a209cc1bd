package hsm

import (
	"errors"

	"github.com/miekg/pkcs11"
)

var (
	// ErrKeyExists is returned by GenerateKey when an object with the
	// requested label is already on the token.
	ErrKeyExists = errors.New("hsm: key label already exists")
	// ErrKeyNotFound is returned when no private key has the label.
	ErrKeyNotFound = errors.New("hsm: key not found")
	// ErrAmbiguousKey is returned when several private keys share a label.
	ErrAmbiguousKey = errors.New("hsm: several keys have the label")
	// ErrTokenNotFound is returned when no slot holds a token with the
	// configured label.
	ErrTokenNotFound = errors.New("hsm: token not found")
	// ErrClosed is returned for operations on a closed HSM.
	ErrClosed = errors.New("hsm: closed")
	// ErrUnsupported is returned for a key type, hash or signing option
	// this package does not implement.
	ErrUnsupported = errors.New("hsm: unsupported")
)

// IsPKCS11Error reports whether err wraps the PKCS#11 return value rv
// (one of the pkcs11.CKR_* constants).
func IsPKCS11Error(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// needsRecovery reports whether err is one of the return values after which
// the sessions, the login or the whole library must be set up again: what a
// restarted network HSM, a removed token or a logout from elsewhere looks
// like. CKR_SLOT_ID_INVALID is among them because slot ids may change when
// the library is initialised again.
func needsRecovery(err error) bool {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return false
	}
	switch uint(e) {
	case pkcs11.CKR_SESSION_HANDLE_INVALID,
		pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_USER_NOT_LOGGED_IN,
		pkcs11.CKR_DEVICE_REMOVED,
		pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_CRYPTOKI_NOT_INITIALIZED,
		pkcs11.CKR_DEVICE_ERROR,
		pkcs11.CKR_OBJECT_HANDLE_INVALID,
		pkcs11.CKR_KEY_HANDLE_INVALID,
		pkcs11.CKR_SLOT_ID_INVALID:
		return true
	}
	return false
}

// isPINError reports whether a login failed for the PIN itself. Retrying
// would only bring the token closer to locking the PIN, so such errors end
// the retries at once.
func isPINError(err error) bool {
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return false
	}
	switch uint(e) {
	case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_LOCKED, pkcs11.CKR_PIN_EXPIRED,
		pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE:
		return true
	}
	return false
}

// IsUnavailable reports whether err says the HSM could not serve the
// request, rather than that the request was wrong: the HSM is closed or
// its token is missing, the library or the sessions could not be set up
// again (a network HSM restarting), or the token refused a mechanism or
// function it was configured to provide (a client module that does not
// forward it, say). Callers answer such failures as a temporary outage of
// the service, never as an internal error. A wrong citizen activation
// (ErrActivation) is not an outage.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, ErrActivation) {
		return false
	}
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrTokenNotFound) || needsRecovery(err) || isPINError(err) {
		return true
	}
	var e pkcs11.Error
	if !errors.As(err, &e) {
		return false
	}
	switch uint(e) {
	case pkcs11.CKR_MECHANISM_INVALID,
		pkcs11.CKR_MECHANISM_PARAM_INVALID,
		pkcs11.CKR_FUNCTION_NOT_SUPPORTED,
		pkcs11.CKR_FUNCTION_FAILED,
		pkcs11.CKR_GENERAL_ERROR,
		pkcs11.CKR_DEVICE_MEMORY,
		pkcs11.CKR_HOST_MEMORY,
		pkcs11.CKR_SESSION_COUNT,
		pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
		pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED,
		pkcs11.CKR_OPERATION_ACTIVE:
		return true
	}
	return false
}
