package audit

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size and the root hash of the tree of that size.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Format returns the checkpoint body (the signed note's text).
func (c Checkpoint) Format() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// ErrCheckpoint is wrapped by every error about a malformed or
// wrongly-signed checkpoint.
var ErrCheckpoint = errors.New("audit: checkpoint")

// ParseCheckpointBody parses a checkpoint body (without signatures).
// Extension lines after the root hash are allowed and ignored.
func ParseCheckpointBody(text string) (Checkpoint, error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) < 4 || !strings.HasSuffix(text, "\n") {
		return Checkpoint{}, fmt.Errorf("%w: body has fewer than three lines", ErrCheckpoint)
	}
	origin := strings.TrimSuffix(lines[0], "\n")
	if origin == "" {
		return Checkpoint{}, fmt.Errorf("%w: empty origin", ErrCheckpoint)
	}
	sizeText := strings.TrimSuffix(lines[1], "\n")
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return Checkpoint{}, fmt.Errorf("%w: bad tree size %q", ErrCheckpoint, sizeText)
	}
	root, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(root) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: bad root hash", ErrCheckpoint)
	}
	c := Checkpoint{Origin: origin, Size: size}
	copy(c.Root[:], root)
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint note with v and parses it.
// The note must carry a valid signature by v and its origin must be v's
// name.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	if v == nil {
		return Checkpoint{}, fmt.Errorf("%w: no verifier key", ErrCheckpoint)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: not signed by %s: %w", ErrCheckpoint, v.Name(), err)
	}
	c, err := ParseCheckpointBody(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("%w: origin %q is not the key's name %q", ErrCheckpoint, c.Origin, v.Name())
	}
	return c, nil
}

// parseUnverified reads the body of a signed note without checking its
// signatures (to report on a checkpoint that failed verification).
func parseUnverified(msg []byte) (Checkpoint, bool) {
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, false
	}
	c, err := ParseCheckpointBody(string(msg[:i+1]))
	return c, err == nil
}

// VerifierKey returns the note verifier key text (name+hash+base64 of the
// algorithm byte and the key) of an Ed25519 log key.
func VerifierKey(name string, pub crypto.PublicKey) (string, error) {
	ed, ok := pub.(ed25519.PublicKey)
	if !ok {
		return "", fmt.Errorf("audit: log key is %T, not Ed25519", pub)
	}
	return note.NewEd25519VerifierKey(name, ed)
}

// NoteSigner signs notes with an Ed25519 crypto.Signer, such as a key in
// the HSM (which signs with CKM_EDDSA): the private key never leaves it.
func NoteSigner(name string, key crypto.Signer) (note.Signer, error) {
	vkey, err := VerifierKey(name, key.Public())
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("audit: log key name %q: %w", name, err)
	}
	return &noteSigner{name: name, hash: v.KeyHash(), key: key, verifier: v}, nil
}

type noteSigner struct {
	name     string
	hash     uint32
	key      crypto.Signer
	verifier note.Verifier
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.hash }

// Sign signs msg with pure Ed25519 (crypto.Hash(0)) and checks the result
// with the public key before returning it.
func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := s.key.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	if !s.verifier.Verify(msg, sig) {
		return nil, errors.New("audit: the log key produced a signature that does not verify")
	}
	return sig, nil
}

// Verifier returns the verifier matching a signer made by NoteSigner, or
// nil for any other signer.
func Verifier(s note.Signer) note.Verifier {
	if ns, ok := s.(*noteSigner); ok {
		return ns.verifier
	}
	return nil
}

// LogKeyLabel is the HSM label of the log's Ed25519 checkpoint key, which
// the key ceremony generates.
const LogKeyLabel = "kyso-audit-log-1"
