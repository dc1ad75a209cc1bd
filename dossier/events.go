package dossier

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is one recorded step of a dossier, sealed with the service key.
type Event struct {
	DossierID string
	Seq       int64
	At        time.Time
	Actor     string
	Role      string
	Action    Action
	From      State
	To        State
	// Details is the canonical JSON of the step's details.
	Details json.RawMessage
	// KeyID is the hex SHA-256 of the sealing key's SubjectPublicKeyInfo;
	// Signature is over the SHA-256 of Canonical().
	KeyID     string
	Signature []byte
}

// eventVersion names the canonical encoding.
const eventVersion = "kyso-dossier-event-v1"

// Canonical is the encoding the seal covers: a JSON object with fixed
// member order (v, dossier, seq, at in Unix milliseconds, actor, role,
// action, from, to, details) and details as stored (compact JSON with
// sorted keys, as encoding/json writes maps).
func (e *Event) Canonical() ([]byte, error) {
	details := e.Details
	if len(details) == 0 {
		details = json.RawMessage("{}")
	}
	return json.Marshal(struct {
		V       string          `json:"v"`
		Dossier string          `json:"dossier"`
		Seq     int64           `json:"seq"`
		At      int64           `json:"at"`
		Actor   string          `json:"actor"`
		Role    string          `json:"role"`
		Action  Action          `json:"action"`
		From    State           `json:"from"`
		To      State           `json:"to"`
		Details json.RawMessage `json:"details"`
	}{eventVersion, e.DossierID, e.Seq, e.At.UnixMilli(), e.Actor, e.Role, e.Action, e.From, e.To, details})
}

// Digest is SHA-256 over Canonical().
func (e *Event) Digest() ([]byte, error) {
	c, err := e.Canonical()
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(c)
	return d[:], nil
}

// KeyID returns the hex SHA-256 of pub's SubjectPublicKeyInfo.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("dossier: event key: %w", err)
	}
	d := sha256.Sum256(der)
	return hex.EncodeToString(d[:]), nil
}

// seal signs the event with key.
func (e *Event) seal(key crypto.Signer) error {
	id, err := KeyID(key.Public())
	if err != nil {
		return err
	}
	digest, err := e.Digest()
	if err != nil {
		return fmt.Errorf("dossier: encode event: %w", err)
	}
	var opts crypto.SignerOpts = crypto.SHA256
	if _, ok := key.Public().(ed25519.PublicKey); ok {
		return errors.New("dossier: Ed25519 cannot sign a prehashed event digest")
	}
	sig, err := key.Sign(rand.Reader, digest, opts)
	if err != nil {
		return fmt.Errorf("dossier: seal event: %w", err)
	}
	e.KeyID, e.Signature = id, sig
	return nil
}

// ErrBadEventSeal is returned by VerifySeal for an event whose seal does
// not verify.
var ErrBadEventSeal = errors.New("dossier: event seal does not verify")

// VerifySeal checks the event's signature with pub (ECDSA or RSA PKCS#1
// v1.5 over SHA-256).
func (e *Event) VerifySeal(pub crypto.PublicKey) error {
	id, err := KeyID(pub)
	if err != nil {
		return err
	}
	if id != e.KeyID {
		return fmt.Errorf("%w: sealed by key %s, not %s", ErrBadEventSeal, e.KeyID, id)
	}
	digest, err := e.Digest()
	if err != nil {
		return err
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, e.Signature) {
			return fmt.Errorf("%w: event %s/%d", ErrBadEventSeal, e.DossierID, e.Seq)
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, e.Signature); err != nil {
			return fmt.Errorf("%w: event %s/%d", ErrBadEventSeal, e.DossierID, e.Seq)
		}
	default:
		return fmt.Errorf("dossier: unsupported event key %T", pub)
	}
	return nil
}
