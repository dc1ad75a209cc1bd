package hsm

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/miekg/pkcs11"
)

// ActivationLen is the length of the activation data that, with a
// derivation secret on the token, opens a wrapped key: the output of a slow
// hash of a citizen's PIN, say.
const ActivationLen = 32

// ErrActivation is returned when a wrapped key does not unwrap: the
// activation data is wrong (a wrong PIN), or the blob was not made with this
// token's derivation secret, or it was altered. AES key wrap with padding
// (RFC 5649) checks its integrity, so a wrong key-encryption key never
// yields a key.
var ErrActivation = errors.New("hsm: the activation data does not open the wrapped key")

// secretTemplate is the template of a derivation secret: an AES-256 token
// key that is private, sensitive, never extractable, and may only derive.
func secretTemplate(label string) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false),
	}
}

// GenerateSecret generates a derivation secret on the token (an AES-256
// token key that may only derive other keys and never leaves the token).
// It fails with ErrKeyExists when an object with the label exists.
func (h *HSM) GenerateSecret(ctx context.Context, label string) error {
	if err := validLabel(label); err != nil {
		return err
	}
	h.keyMu.Lock()
	defer h.keyMu.Unlock()
	start := time.Now()
	err := h.do(ctx, func(o *op) error {
		if err := h.requireLogin(o.s); err != nil {
			return err
		}
		existing, err := h.findObjects(o.s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)})
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return fmt.Errorf("%w: %q", ErrKeyExists, label)
		}
		if _, err := h.p.GenerateKey(o.s, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}, secretTemplate(label)); err != nil {
			return fmt.Errorf("hsm: generating secret %q: %w", label, err)
		}
		return nil
	})
	h.metrics.observe(label, "AES_KEY_GEN", start, err)
	if err == nil {
		h.log.Info("hsm: derivation secret generated", "key", label)
	}
	return err
}

// HasSecret reports whether the token holds a secret key with the label.
func (h *HSM) HasSecret(ctx context.Context, label string) (bool, error) {
	if err := validLabel(label); err != nil {
		return false, err
	}
	found := false
	err := h.do(ctx, func(o *op) error {
		_, err := h.findSecret(o.s, label)
		if errors.Is(err, ErrKeyNotFound) {
			found = false
			return nil
		}
		found = err == nil
		return err
	})
	return found, err
}

// findSecret returns the one secret key with the label.
func (h *HSM) findSecret(s pkcs11.SessionHandle, label string) (pkcs11.ObjectHandle, error) {
	objs, err := h.findObjects(s, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	})
	if err != nil {
		return 0, err
	}
	switch len(objs) {
	case 0:
		if err := h.requireLogin(s); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: secret %q", ErrKeyNotFound, label)
	case 1:
		return objs[0], nil
	}
	return 0, fmt.Errorf("%w: %d secrets labelled %q", ErrAmbiguousKey, len(objs), label)
}

// deriveKEK derives, inside the token, the key-encryption key of some
// activation data: CKM_AES_ECB_ENCRYPT_DATA of the activation data under
// the derivation secret, i.e. KEK = AES-256-ECB(secret, activation), a
// pseudo-random function of the activation data keyed by a secret that
// never leaves the token. The KEK is a session object that may only wrap
// and unwrap, sensitive and not extractable; the caller destroys it.
func (h *HSM) deriveKEK(s pkcs11.SessionHandle, secretLabel string, activation []byte) (pkcs11.ObjectHandle, error) {
	if len(activation) != ActivationLen {
		return 0, fmt.Errorf("hsm: activation data of %d bytes (want %d)", len(activation), ActivationLen)
	}
	secret, err := h.findSecret(s, secretLabel)
	if err != nil {
		return 0, err
	}
	param, free, err := stringDataParam(activation)
	if err != nil {
		return 0, err
	}
	defer free()
	kek, err := h.p.DeriveKey(s, []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_ECB_ENCRYPT_DATA, param)}, secret, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, true),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	})
	if err != nil {
		return 0, fmt.Errorf("hsm: deriving the key-encryption key: %w", err)
	}
	return kek, nil
}

// wrapMechanism is AES key wrap with padding (RFC 5649), which SoftHSM2
// implements as CKM_AES_KEY_WRAP_PAD.
func wrapMechanism() []*pkcs11.Mechanism {
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}
}

// GenerateWrappedKey generates a key pair inside the token as session
// objects, wraps the private key (AES key wrap with padding) under the
// key-encryption key derived from the secret secretLabel and activation,
// destroys every object it made and returns the wrapped private key and the
// public key. No object remains on the token: the key exists only as the
// blob, which opens only with the same activation data on a token holding
// the same secret.
func (h *HSM) GenerateWrappedKey(ctx context.Context, secretLabel string, activation []byte, typ KeyType) ([]byte, crypto.PublicKey, error) {
	mech, pubT, privT, err := keyGenParams(KeySpec{Label: "wrapped-key", Type: typ}, []byte{0})
	if err != nil {
		return nil, nil, err
	}
	// Session objects; the private key may leave the token only wrapped,
	// and is never used to sign in this form.
	pubT = setAttrs(pubT, pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false))
	privT = setAttrs(privT,
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false),
	)
	start := time.Now()
	var blob []byte
	var pub crypto.PublicKey
	err = h.do(ctx, func(o *op) error {
		kek, err := h.deriveKEK(o.s, secretLabel, activation)
		if err != nil {
			return err
		}
		defer h.destroy(o.s, kek)
		pubH, privH, err := h.p.GenerateKeyPair(o.s, []*pkcs11.Mechanism{mech}, pubT, privT)
		if err != nil {
			return fmt.Errorf("hsm: generating %s key: %w", typ, err)
		}
		defer h.destroy(o.s, pubH)
		defer h.destroy(o.s, privH)
		if pub, _, err = h.readPublicKey(o.s, pubH, privH); err != nil {
			return err
		}
		if blob, err = h.p.WrapKey(o.s, wrapMechanism(), kek, privH); err != nil {
			return fmt.Errorf("hsm: wrapping the new key: %w", err)
		}
		return nil
	})
	h.metrics.observe(secretLabel, "AES_KEY_WRAP_PAD", start, err)
	if err != nil {
		return nil, nil, err
	}
	return blob, pub, nil
}

// destroy destroys a session object, ignoring errors: the session may be
// gone, and its session objects with it.
func (h *HSM) destroy(s pkcs11.SessionHandle, obj pkcs11.ObjectHandle) {
	if obj != 0 {
		_ = h.p.DestroyObject(s, obj)
	}
}

// setAttrs replaces the attributes of tmpl that have the types of attrs,
// and appends the others.
func setAttrs(tmpl []*pkcs11.Attribute, attrs ...*pkcs11.Attribute) []*pkcs11.Attribute {
	out := append([]*pkcs11.Attribute(nil), tmpl...)
	for _, a := range attrs {
		replaced := false
		for i, t := range out {
			if t.Type == a.Type {
				out[i] = a
				replaced = true
			}
		}
		if !replaced {
			out = append(out, a)
		}
	}
	return out
}

// WrappedKey is a private key kept wrapped outside the token, with the
// activation data that opens it. Each signature derives the key-encryption
// key, unwraps the private key into a session object (sensitive, not
// extractable, sign only), signs and destroys both objects, all in one
// session. It implements crypto.Signer.
type WrappedKey struct {
	h          *HSM
	secret     string
	activation []byte
	blob       []byte
	pub        crypto.PublicKey
	metric     string
}

// WrappedKey returns the signer of a wrapped private key whose public key is
// pub. metricLabel names it in the metrics. Nothing is checked until the
// key is used; Check tries the activation data.
func (h *HSM) WrappedKey(secretLabel string, activation, blob []byte, pub crypto.PublicKey, metricLabel string) (*WrappedKey, error) {
	if len(activation) != ActivationLen {
		return nil, fmt.Errorf("hsm: activation data of %d bytes (want %d)", len(activation), ActivationLen)
	}
	if len(blob) == 0 {
		return nil, fmt.Errorf("%w: empty wrapped key", ErrActivation)
	}
	if _, _, _, err := signMechanism(pub, make([]byte, 32), crypto.SHA256); err != nil {
		return nil, err
	}
	return &WrappedKey{h: h, secret: secretLabel, activation: append([]byte(nil), activation...),
		blob: append([]byte(nil), blob...), pub: pub, metric: metricLabel}, nil
}

// Public returns the public key.
func (w *WrappedKey) Public() crypto.PublicKey { return w.pub }

// Forget overwrites the activation data held in memory; the key is unusable
// afterwards.
func (w *WrappedKey) Forget() {
	clear(w.activation)
	w.activation = nil
}

// unwrap derives the KEK and unwraps the private key into a session object
// of o's session; the caller destroys it.
func (w *WrappedKey) unwrap(o *op) (pkcs11.ObjectHandle, error) {
	if w.activation == nil {
		return 0, fmt.Errorf("%w: activation data forgotten", ErrActivation)
	}
	kek, err := w.h.deriveKEK(o.s, w.secret, w.activation)
	if err != nil {
		return 0, err
	}
	defer w.h.destroy(o.s, kek)
	var keyType uint = pkcs11.CKK_EC
	if _, _, name, _ := signMechanism(w.pub, make([]byte, 32), crypto.SHA256); name != "ECDSA" {
		keyType = pkcs11.CKK_RSA
	}
	priv, err := w.h.p.UnwrapKey(o.s, wrapMechanism(), kek, w.blob, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	})
	if err != nil {
		if needsRecovery(err) {
			return 0, err
		}
		return 0, fmt.Errorf("%w: %w", ErrActivation, err)
	}
	return priv, nil
}

// Check unwraps the key and destroys it at once: it returns ErrActivation
// when the activation data does not open the key.
func (w *WrappedKey) Check(ctx context.Context) error {
	start := time.Now()
	err := w.h.do(ctx, func(o *op) error {
		priv, err := w.unwrap(o)
		if err != nil {
			return err
		}
		w.h.destroy(o.s, priv)
		return nil
	})
	w.h.metrics.observe(w.metric, "AES_KEY_WRAP_PAD", start, err)
	return err
}

// Sign signs digest like Key.Sign, with the private key unwrapped for this
// signature only.
func (w *WrappedKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return w.SignContext(context.Background(), digest, opts)
}

// SignContext is Sign with a context.
func (w *WrappedKey) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil {
		return nil, errors.New("hsm: sign: nil options")
	}
	mech, input, name, err := signMechanism(w.pub, digest, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var sig []byte
	err = w.h.do(ctx, func(o *op) error {
		priv, err := w.unwrap(o)
		if err != nil {
			return err
		}
		defer w.h.destroy(o.s, priv)
		if err := w.h.p.SignInit(o.s, []*pkcs11.Mechanism{mech}, priv); err != nil {
			return err
		}
		sig, err = w.h.p.Sign(o.s, input)
		return err
	})
	if err == nil && name == "ECDSA" {
		sig, err = ecdsaDER(sig)
	}
	w.h.metrics.observe(w.metric, name, start, err)
	if err != nil {
		return nil, fmt.Errorf("hsm: signing with wrapped key %s: %w", w.metric, err)
	}
	return sig, nil
}
