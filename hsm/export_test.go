package hsm

import "github.com/miekg/pkcs11"

// InjectFault runs fault with the raw PKCS#11 context, the token's slot and
// the login session while no operation is under way, as a fault from
// outside the process (an HSM restart, a logout) would hit it between
// calls.
func InjectFault(h *HSM, fault func(p *pkcs11.Ctx, slot uint, login pkcs11.SessionHandle) error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return fault(h.p, h.slot, h.anchor)
}

// PrivateKeyAttribute reads one attribute of the private key with the label
// straight through PKCS#11.
func PrivateKeyAttribute(h *HSM, label string, attr uint) ([]byte, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	obj, err := h.findPrivateKey(h.anchor, label, nil)
	if err != nil {
		return nil, err
	}
	return h.attr(h.anchor, obj, attr)
}

// Reinitialize runs the heavy recovery (C_Finalize, C_Initialize, new
// sessions, login) as if an operation had failed in the current generation.
func Reinitialize(h *HSM) error {
	h.mu.RLock()
	gen := h.gen
	h.mu.RUnlock()
	return h.recover(gen, pkcs11.Error(pkcs11.CKR_DEVICE_ERROR), true)
}

// PooledSessions returns the number of idle sessions in the pool: all the
// pool's sessions when no operation is under way.
func PooledSessions(h *HSM) int {
	h.idleMu.Lock()
	defer h.idleMu.Unlock()
	return len(h.idle)
}

// SecretAttribute reads one attribute of the secret key with the label
// straight through PKCS#11.
func SecretAttribute(h *HSM, label string, attr uint) ([]byte, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	obj, err := h.findSecret(h.anchor, label)
	if err != nil {
		return nil, err
	}
	return h.attr(h.anchor, obj, attr)
}
