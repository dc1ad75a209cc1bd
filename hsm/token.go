package hsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/pkcs11"
)

// ErrTokenExists is returned by InitToken when a token with the label is
// already initialised.
var ErrTokenExists = errors.New("hsm: token already initialised")

// InitToken initialises a token with label in the first free slot of
// module (an empty module finds SoftHSM2) and sets its security officer and
// user PINs. The PINs travel only through PKCS#11 calls. It refuses to touch
// a token that already carries the label.
func InitToken(module, label, soPIN, userPIN string) error {
	if module == "" {
		m, err := DefaultModule()
		if err != nil {
			return err
		}
		module = m
	}
	if label == "" || soPIN == "" || userPIN == "" {
		return errors.New("hsm: init token: label and PINs are required")
	}
	p := pkcs11.New(module)
	if p == nil {
		return fmt.Errorf("hsm: cannot load PKCS#11 module %s", module)
	}
	if err := p.Initialize(); err != nil && !IsPKCS11Error(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return fmt.Errorf("hsm: C_Initialize: %w", err)
	}
	slots, err := p.GetSlotList(true)
	if err != nil {
		return fmt.Errorf("hsm: C_GetSlotList: %w", err)
	}
	free, found := uint(0), false
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err != nil {
			continue
		}
		if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0 && strings.TrimRight(ti.Label, " \x00") == label {
			return ErrTokenExists
		}
		if !found && ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			free, found = s, true
		}
	}
	if !found {
		return errors.New("hsm: init token: no free slot")
	}
	if err := p.InitToken(free, soPIN, label); err != nil {
		return fmt.Errorf("hsm: C_InitToken: %w", err)
	}
	// SoftHSM2 renumbers an initialised token's slot: find it by label.
	if slots, err = p.GetSlotList(true); err != nil {
		return fmt.Errorf("hsm: C_GetSlotList: %w", err)
	}
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err != nil || strings.TrimRight(ti.Label, " \x00") != label {
			continue
		}
		sh, err := p.OpenSession(s, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
		if err != nil {
			return fmt.Errorf("hsm: C_OpenSession: %w", err)
		}
		defer p.CloseSession(sh) //nolint:errcheck
		if err := p.Login(sh, pkcs11.CKU_SO, soPIN); err != nil {
			return fmt.Errorf("hsm: C_Login(SO): %w", err)
		}
		defer p.Logout(sh) //nolint:errcheck
		if err := p.InitPIN(sh, userPIN); err != nil {
			return fmt.Errorf("hsm: C_InitPIN: %w", err)
		}
		return nil
	}
	return fmt.Errorf("hsm: token %s not found after C_InitToken", label)
}
