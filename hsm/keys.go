package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/miekg/pkcs11"
)

// KeyType names a kind of key pair this package generates.
type KeyType string

// The key types GenerateKey supports. ListKeys reports other keys found on
// the token as "RSA<bits>", "EC" or "unknown".
const (
	RSA2048 KeyType = "RSA2048"
	RSA3072 KeyType = "RSA3072"
	ECP256  KeyType = "ECP256"
	ECP384  KeyType = "ECP384"
	// Ed25519 keys (CKK_EC_EDWARDS, PKCS#11 3.0) sign messages with
	// CKM_EDDSA; they serve signed notes (the audit log's checkpoints),
	// not certificates, so KeyTypes does not list them.
	Ed25519 KeyType = "Ed25519"
)

// PKCS#11 3.0 identifiers that github.com/miekg/pkcs11 does not define.
const (
	ckkECEdwards           = 0x40
	ckmECEdwardsKeyPairGen = 0x1055
	ckmEdDSA               = 0x1057
)

// KeyTypes lists the key types GenerateKey supports.
func KeyTypes() []KeyType { return []KeyType{RSA2048, RSA3072, ECP256, ECP384} }

// ParseKeyType parses a key type name such as "RSA2048" or "ecp256"
// (case-insensitive).
func ParseKeyType(s string) (KeyType, error) {
	for _, t := range KeyTypes() {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w: key type %q (want one of RSA2048, RSA3072, ECP256, ECP384)", ErrUnsupported, s)
}

// KeySpec describes a key pair to generate.
type KeySpec struct {
	// Label is the CKA_LABEL of both objects; it must be unique on the
	// token.
	Label string
	// ID is the CKA_ID of both objects; empty means 16 random bytes.
	ID []byte
	// Type is the kind of key pair.
	Type KeyType
}

// KeyInfo describes a private key found on the token.
type KeyInfo struct {
	Label string
	ID    []byte
	Type  KeyType
}

const maxLabelLen = 255

// curve OIDs (RFC 5480), as they appear DER-encoded in CKA_EC_PARAMS.
var (
	oidP256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384 = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521 = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	// id-Ed25519 (RFC 8410), as CKA_EC_PARAMS of an Edwards key.
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
)

func curveFromParams(params []byte) (elliptic.Curve, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(params, &oid)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: EC parameters are not a named curve", ErrUnsupported)
	}
	switch {
	case oid.Equal(oidP256):
		return elliptic.P256(), nil
	case oid.Equal(oidP384):
		return elliptic.P384(), nil
	case oid.Equal(oidP521):
		return elliptic.P521(), nil
	}
	return nil, fmt.Errorf("%w: curve %s", ErrUnsupported, oid)
}

// keyGenParams returns the mechanism and the templates of the public and the
// private key object for spec. Both keys serve signatures only.
func keyGenParams(spec KeySpec, id []byte) (*pkcs11.Mechanism, []*pkcs11.Attribute, []*pkcs11.Attribute, error) {
	common := func(class uint, keyType uint) []*pkcs11.Attribute {
		return []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, spec.Label),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		}
	}
	var (
		mech    *pkcs11.Mechanism
		keyType uint
		pubOnly []*pkcs11.Attribute
	)
	switch spec.Type {
	case RSA2048, RSA3072:
		bits := 2048
		if spec.Type == RSA3072 {
			bits = 3072
		}
		mech = pkcs11.NewMechanism(pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, nil)
		keyType = pkcs11.CKK_RSA
		pubOnly = []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_MODULUS_BITS, bits),
			pkcs11.NewAttribute(pkcs11.CKA_PUBLIC_EXPONENT, []byte{1, 0, 1}),
		}
	case ECP256, ECP384:
		oid := oidP256
		if spec.Type == ECP384 {
			oid = oidP384
		}
		params, err := asn1.Marshal(oid)
		if err != nil {
			return nil, nil, nil, err
		}
		mech = pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)
		keyType = pkcs11.CKK_EC
		pubOnly = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params)}
	case Ed25519:
		params, err := asn1.Marshal(oidEd25519)
		if err != nil {
			return nil, nil, nil, err
		}
		mech = pkcs11.NewMechanism(ckmECEdwardsKeyPairGen, nil)
		keyType = ckkECEdwards
		pubOnly = []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params)}
	default:
		return nil, nil, nil, fmt.Errorf("%w: key type %q", ErrUnsupported, spec.Type)
	}
	pub := append(common(pkcs11.CKO_PUBLIC_KEY, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
	)
	pub = append(pub, pubOnly...)
	priv := append(common(pkcs11.CKO_PRIVATE_KEY, keyType),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
	)
	return mech, pub, priv, nil
}

func keyGenMechanismName(t KeyType) string {
	if t == Ed25519 {
		return "EC_EDWARDS_KEY_PAIR_GEN"
	}
	if t == ECP256 || t == ECP384 {
		return "EC_KEY_PAIR_GEN"
	}
	return "RSA_PKCS_KEY_PAIR_GEN"
}

func validLabel(label string) error {
	if label == "" || len(label) > maxLabelLen || !utf8.ValidString(label) {
		return fmt.Errorf("hsm: invalid key label %q (1 to %d bytes of UTF-8)", label, maxLabelLen)
	}
	return nil
}

// GenerateKey generates a key pair on the token: both objects are token
// objects; the private key is private, sensitive, never extractable and
// may only sign. It fails with ErrKeyExists when an object with the label
// exists already.
func (h *HSM) GenerateKey(ctx context.Context, spec KeySpec) (*Key, error) {
	if err := validLabel(spec.Label); err != nil {
		return nil, err
	}
	id := spec.ID
	if len(id) == 0 {
		id = make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return nil, fmt.Errorf("hsm: key id: %w", err)
		}
	}
	mech, pubT, privT, err := keyGenParams(spec, id)
	if err != nil {
		return nil, err
	}
	h.keyMu.Lock()
	defer h.keyMu.Unlock()
	start := time.Now()
	var k *Key
	err = h.do(ctx, func(o *op) error {
		if err := h.requireLogin(o.s); err != nil {
			return err
		}
		existing, err := h.findObjects(o.s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, spec.Label)})
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			return fmt.Errorf("%w: %q", ErrKeyExists, spec.Label)
		}
		pubH, privH, err := h.p.GenerateKeyPair(o.s, []*pkcs11.Mechanism{mech}, pubT, privT)
		if err != nil {
			return fmt.Errorf("hsm: generating %s key %q: %w", spec.Type, spec.Label, err)
		}
		pub, _, err := h.readPublicKey(o.s, pubH, privH)
		if err != nil {
			return err
		}
		k = &Key{h: h, label: spec.Label, id: append([]byte(nil), id...), typ: spec.Type, pub: pub, handle: privH, gen: o.gen}
		return nil
	})
	h.metrics.observe(spec.Label, keyGenMechanismName(spec.Type), start, err)
	if err != nil {
		return nil, err
	}
	h.log.Info("hsm: key generated", "key", spec.Label, "type", spec.Type)
	return k, nil
}

// FindKey returns the private key with the label, with its public key read
// from the token.
func (h *HSM) FindKey(ctx context.Context, label string) (*Key, error) {
	if err := validLabel(label); err != nil {
		return nil, err
	}
	var k *Key
	err := h.do(ctx, func(o *op) error {
		privH, err := h.findPrivateKey(o.s, label, nil)
		if err != nil {
			return err
		}
		attrs, err := h.p.GetAttributeValue(o.s, privH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
		if err != nil {
			return fmt.Errorf("hsm: reading id of key %q: %w", label, err)
		}
		id := attrs[0].Value
		pubs, err := h.findObjects(o.s, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		})
		if err != nil {
			return err
		}
		var pubH pkcs11.ObjectHandle
		if len(pubs) > 0 {
			pubH = pubs[0]
		}
		pub, typ, err := h.readPublicKey(o.s, pubH, privH)
		if err != nil {
			return fmt.Errorf("hsm: key %q: %w", label, err)
		}
		k = &Key{h: h, label: label, id: id, typ: typ, pub: pub, handle: privH, gen: o.gen}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// ListKeys lists the private keys on the token.
func (h *HSM) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	err := h.do(ctx, func(o *op) error {
		out = out[:0]
		if err := h.requireLogin(o.s); err != nil {
			return err
		}
		objs, err := h.findObjects(o.s, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY)})
		if err != nil {
			return err
		}
		for _, obj := range objs {
			attrs, err := h.p.GetAttributeValue(o.s, obj, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
				pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
			})
			if err != nil {
				return fmt.Errorf("hsm: reading key attributes: %w", err)
			}
			out = append(out, KeyInfo{
				Label: string(attrs[0].Value),
				ID:    attrs[1].Value,
				Type:  h.privateKeyType(o.s, obj),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DestroyKey destroys the private and public key objects with the label.
func (h *HSM) DestroyKey(ctx context.Context, label string) error {
	if err := validLabel(label); err != nil {
		return err
	}
	h.keyMu.Lock()
	defer h.keyMu.Unlock()
	err := h.do(ctx, func(o *op) error {
		var objs []pkcs11.ObjectHandle
		for _, class := range []uint{pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY} {
			found, err := h.findObjects(o.s, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			})
			if err != nil {
				return err
			}
			objs = append(objs, found...)
		}
		if len(objs) == 0 {
			if err := h.requireLogin(o.s); err != nil {
				return err
			}
			return fmt.Errorf("%w: %q", ErrKeyNotFound, label)
		}
		for _, obj := range objs {
			if err := h.p.DestroyObject(o.s, obj); err != nil {
				return fmt.Errorf("hsm: destroying key %q: %w", label, err)
			}
		}
		return nil
	})
	if err == nil {
		h.log.Info("hsm: key destroyed", "key", label)
	}
	return err
}

// findObjects returns the handles of all objects matching tmpl.
func (h *HSM) findObjects(s pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := h.p.FindObjectsInit(s, tmpl); err != nil {
		return nil, fmt.Errorf("hsm: finding objects: %w", err)
	}
	var out []pkcs11.ObjectHandle
	for {
		objs, _, err := h.p.FindObjects(s, 64)
		if err != nil {
			_ = h.p.FindObjectsFinal(s)
			return nil, fmt.Errorf("hsm: finding objects: %w", err)
		}
		if len(objs) == 0 {
			break
		}
		out = append(out, objs...)
	}
	if err := h.p.FindObjectsFinal(s); err != nil {
		return nil, fmt.Errorf("hsm: finding objects: %w", err)
	}
	return out, nil
}

// findPrivateKey returns the one private key with the label (and the id,
// when id is not nil).
func (h *HSM) findPrivateKey(s pkcs11.SessionHandle, label string, id []byte) (pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}
	if id != nil {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	}
	objs, err := h.findObjects(s, tmpl)
	if err != nil {
		return 0, err
	}
	switch len(objs) {
	case 0:
		// Private objects are invisible to a session that lost its
		// login; that calls for recovery, not for "not found".
		if err := h.requireLogin(s); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: %q", ErrKeyNotFound, label)
	case 1:
		return objs[0], nil
	}
	return 0, fmt.Errorf("%w: %d private keys labelled %q", ErrAmbiguousKey, len(objs), label)
}

// requireLogin returns an error wrapping CKR_USER_NOT_LOGGED_IN when the
// session is not logged in as the user.
func (h *HSM) requireLogin(s pkcs11.SessionHandle) error {
	info, err := h.p.GetSessionInfo(s)
	if err != nil {
		return fmt.Errorf("hsm: session info: %w", err)
	}
	if info.State != pkcs11.CKS_RW_USER_FUNCTIONS && info.State != pkcs11.CKS_RO_USER_FUNCTIONS {
		return fmt.Errorf("hsm: session not logged in (state %d): %w", info.State,
			pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN))
	}
	return nil
}

func (h *HSM) attr(s pkcs11.SessionHandle, obj pkcs11.ObjectHandle, typ uint) ([]byte, error) {
	attrs, err := h.p.GetAttributeValue(s, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(typ, nil)})
	if err != nil {
		return nil, err
	}
	return attrs[0].Value, nil
}

func (h *HSM) keyTypeAttr(s pkcs11.SessionHandle, obj pkcs11.ObjectHandle) (uint, error) {
	v, err := h.attr(s, obj, pkcs11.CKA_KEY_TYPE)
	if err != nil {
		return 0, fmt.Errorf("hsm: reading key type: %w", err)
	}
	return ulong(v)
}

// ulong decodes a CK_ULONG attribute value (native byte order and size).
func ulong(v []byte) (uint, error) {
	switch len(v) {
	case 4:
		return uint(binary.NativeEndian.Uint32(v)), nil
	case 8:
		return uint(binary.NativeEndian.Uint64(v)), nil
	}
	return 0, fmt.Errorf("hsm: CK_ULONG attribute of %d bytes", len(v))
}

// privateKeyType works out the type of a private key from its public
// attributes (modulus, EC parameters).
func (h *HSM) privateKeyType(s pkcs11.SessionHandle, obj pkcs11.ObjectHandle) KeyType {
	kt, err := h.keyTypeAttr(s, obj)
	if err != nil {
		return "unknown"
	}
	switch kt {
	case pkcs11.CKK_RSA:
		mod, err := h.attr(s, obj, pkcs11.CKA_MODULUS)
		if err != nil {
			return "RSA"
		}
		return KeyType(fmt.Sprintf("RSA%d", new(big.Int).SetBytes(mod).BitLen()))
	case pkcs11.CKK_EC:
		params, err := h.attr(s, obj, pkcs11.CKA_EC_PARAMS)
		if err != nil {
			return "EC"
		}
		curve, err := curveFromParams(params)
		if err != nil {
			return "EC"
		}
		return ecKeyType(curve)
	case ckkECEdwards:
		return Ed25519
	}
	return "unknown"
}

func ecKeyType(c elliptic.Curve) KeyType {
	switch c {
	case elliptic.P256():
		return ECP256
	case elliptic.P384():
		return ECP384
	}
	return "EC"
}

// readPublicKey reads the public key of a key pair: from the public key
// object when there is one (pubH != 0), else, for RSA, from the modulus and
// exponent of the private key object.
func (h *HSM) readPublicKey(s pkcs11.SessionHandle, pubH, privH pkcs11.ObjectHandle) (crypto.PublicKey, KeyType, error) {
	kt, err := h.keyTypeAttr(s, privH)
	if err != nil {
		return nil, "", err
	}
	src := pubH
	if src == 0 {
		src = privH
	}
	switch kt {
	case pkcs11.CKK_RSA:
		mod, err := h.attr(s, src, pkcs11.CKA_MODULUS)
		if err != nil {
			return nil, "", fmt.Errorf("hsm: reading modulus: %w", err)
		}
		exp, err := h.attr(s, src, pkcs11.CKA_PUBLIC_EXPONENT)
		if err != nil {
			return nil, "", fmt.Errorf("hsm: reading public exponent: %w", err)
		}
		e := new(big.Int).SetBytes(exp)
		if !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 || len(mod) == 0 {
			return nil, "", fmt.Errorf("%w: RSA public key with exponent %s", ErrUnsupported, e)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(mod), E: int(e.Int64())}
		return pub, KeyType(fmt.Sprintf("RSA%d", pub.N.BitLen())), nil
	case pkcs11.CKK_EC:
		if pubH == 0 {
			return nil, "", fmt.Errorf("hsm: no public key object for the EC key")
		}
		params, err := h.attr(s, pubH, pkcs11.CKA_EC_PARAMS)
		if err != nil {
			return nil, "", fmt.Errorf("hsm: reading EC parameters: %w", err)
		}
		point, err := h.attr(s, pubH, pkcs11.CKA_EC_POINT)
		if err != nil {
			return nil, "", fmt.Errorf("hsm: reading EC point: %w", err)
		}
		pub, err := parseECPublicKey(params, point)
		if err != nil {
			return nil, "", err
		}
		return pub, ecKeyType(pub.Curve), nil
	case ckkECEdwards:
		if pubH == 0 {
			return nil, "", fmt.Errorf("hsm: no public key object for the Edwards key")
		}
		point, err := h.attr(s, pubH, pkcs11.CKA_EC_POINT)
		if err != nil {
			return nil, "", fmt.Errorf("hsm: reading EC point: %w", err)
		}
		pub, err := parseEd25519PublicKey(point)
		if err != nil {
			return nil, "", err
		}
		return pub, Ed25519, nil
	}
	return nil, "", fmt.Errorf("%w: PKCS#11 key type %#x", ErrUnsupported, kt)
}

// parseEd25519PublicKey parses the CKA_EC_POINT of an Ed25519 key: a DER
// OCTET STRING holding the 32-byte key, or the bare key.
func parseEd25519PublicKey(point []byte) (ed25519.PublicKey, error) {
	var raw []byte
	if rest, err := asn1.Unmarshal(point, &raw); err != nil || len(rest) != 0 {
		raw = point
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrUnsupported, len(raw))
	}
	return ed25519.PublicKey(append([]byte(nil), raw...)), nil
}

// parseECPublicKey parses CKA_EC_PARAMS and CKA_EC_POINT. The point is a DER
// OCTET STRING holding the uncompressed point, as PKCS#11 specifies; some
// modules return the bare point, which is accepted too.
func parseECPublicKey(params, point []byte) (*ecdsa.PublicKey, error) {
	curve, err := curveFromParams(params)
	if err != nil {
		return nil, err
	}
	var inner []byte
	if rest, err := asn1.Unmarshal(point, &inner); err == nil && len(rest) == 0 {
		point = inner
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
	if err != nil {
		return nil, fmt.Errorf("hsm: EC point: %w", err)
	}
	return pub, nil
}

// Key is a private key on the token. It implements crypto.Signer. Its
// object handle is cached and found again after the token was set up anew.
type Key struct {
	h     *HSM
	label string
	id    []byte
	typ   KeyType
	pub   crypto.PublicKey

	mu     sync.Mutex
	handle pkcs11.ObjectHandle
	gen    uint64
}

// Label returns the key's CKA_LABEL.
func (k *Key) Label() string { return k.label }

// ID returns the key's CKA_ID.
func (k *Key) ID() []byte { return append([]byte(nil), k.id...) }

// Type returns the key's type.
func (k *Key) Type() KeyType { return k.typ }

// Public returns the public key read from the token: *rsa.PublicKey or
// *ecdsa.PublicKey.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// objectHandle returns the cached handle of the private key when it belongs
// to the generation of o, or finds the key again by label and id.
func (k *Key) objectHandle(o *op) (pkcs11.ObjectHandle, error) {
	k.mu.Lock()
	if k.handle != 0 && k.gen == o.gen {
		hd := k.handle
		k.mu.Unlock()
		return hd, nil
	}
	k.mu.Unlock()
	hd, err := k.h.findPrivateKey(o.s, k.label, k.id)
	if err != nil {
		return 0, err
	}
	k.mu.Lock()
	k.handle, k.gen = hd, o.gen
	k.mu.Unlock()
	return hd, nil
}

// forget drops the cached handle.
func (k *Key) forget() {
	k.mu.Lock()
	k.handle = 0
	k.mu.Unlock()
}
