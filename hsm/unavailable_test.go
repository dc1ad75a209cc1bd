package hsm_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/miekg/pkcs11"

	"kyso/hsm"
)

func TestIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"closed", fmt.Errorf("signing: %w", hsm.ErrClosed), true},
		{"token missing", fmt.Errorf("open: %w", hsm.ErrTokenNotFound), true},
		{"mechanism not forwarded", fmt.Errorf("hsm: deriving the key-encryption key: %w", pkcs11.Error(pkcs11.CKR_MECHANISM_INVALID)), true},
		{"server gone", fmt.Errorf("hsm: giving up after 4 attempts: %w", pkcs11.Error(pkcs11.CKR_DEVICE_ERROR)), true},
		{"session lost", pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID), true},
		{"login PIN wrong", pkcs11.Error(pkcs11.CKR_PIN_INCORRECT), true},
		{"wrong activation", fmt.Errorf("%w: %w", hsm.ErrActivation, pkcs11.Error(pkcs11.CKR_WRAPPED_KEY_INVALID)), false},
		{"bad data", pkcs11.Error(pkcs11.CKR_DATA_LEN_RANGE), false},
		{"unsupported option", fmt.Errorf("%w: hash", hsm.ErrUnsupported), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hsm.IsUnavailable(tc.err); got != tc.want {
				t.Fatalf("IsUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
