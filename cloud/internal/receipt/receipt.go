package receipt

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"livegate.dev/cloud/internal/core"
)

// Genesis is the PrevHash of a tenant's first receipt.
var Genesis = strings.Repeat("0", 64)

// Errors of Verify and VerifyChain.
var (
	ErrSignature = errors.New("receipt: signature does not verify")
	ErrHash      = errors.New("receipt: hash does not match the receipt")
	ErrChain     = errors.New("receipt: chain broken")
	ErrKey       = errors.New("receipt: signed by an unknown key")
)

// Signer signs receipts with one Ed25519 key.
type Signer struct {
	priv  ed25519.PrivateKey
	keyID string
}

// NewSigner derives the signing key from seedKey (≥ 32 bytes of secret
// key material, e.g. a key derived from the master key).
func NewSigner(seedKey []byte) (*Signer, error) {
	if len(seedKey) < 32 {
		return nil, errors.New("receipt: seed key shorter than 32 bytes")
	}
	m := hmac.New(sha256.New, seedKey)
	m.Write([]byte("livegate deletion receipt signing key v1"))
	priv := ed25519.NewKeyFromSeed(m.Sum(nil))
	return &Signer{priv: priv, keyID: KeyID(priv.Public().(ed25519.PublicKey))}, nil
}

// KeyID names a public key: "lgdk_" and the first 16 hex digits of its
// SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "lgdk_" + hex.EncodeToString(sum[:8])
}

// PublicKey is the verification key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

// KeyID is the verification key's id.
func (s *Signer) KeyID() string { return s.keyID }

// Seal completes r as the entry after prev (nil: the tenant's first):
// Seq, PrevHash, KeyID, Hash and Signature.
func (s *Signer) Seal(r *core.DeletionReceipt, prev *core.DeletionReceipt) error {
	r.Seq, r.PrevHash = 1, Genesis
	if prev != nil {
		r.Seq, r.PrevHash = prev.Seq+1, prev.Hash
	}
	r.KeyID = s.keyID
	h, err := Hash(r)
	if err != nil {
		return err
	}
	r.Hash = h
	msg, err := Canonical(r, "signature")
	if err != nil {
		return err
	}
	r.Signature = base64.RawURLEncoding.EncodeToString(ed25519.Sign(s.priv, msg))
	return nil
}

// Canonical is r's canonical JSON without the members named in omit.
func Canonical(r *core.DeletionReceipt, omit ...string) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("receipt: encode %s: %w", r.ID, err)
	}
	return CanonicalJSON(b, omit...)
}

// CanonicalJSON is the canonical form of a receipt's JSON object as
// received (raw), without the members named in omit.
func CanonicalJSON(raw []byte, omit ...string) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("receipt: not a JSON object: %w", err)
	}
	for _, k := range omit {
		delete(m, k)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Hash is the hex SHA-256 of r's canonical form without hash and
// signature.
func Hash(r *core.DeletionReceipt) (string, error) {
	b, err := Canonical(r, "hash", "signature")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Verify checks r's hash and its signature with pub.
func Verify(pub ed25519.PublicKey, r *core.DeletionReceipt) error {
	if r.KeyID != KeyID(pub) {
		return fmt.Errorf("%w: %s", ErrKey, r.KeyID)
	}
	h, err := Hash(r)
	if err != nil {
		return err
	}
	if h != r.Hash {
		return fmt.Errorf("%w: receipt %s", ErrHash, r.ID)
	}
	sig, err := base64.RawURLEncoding.DecodeString(r.Signature)
	if err != nil {
		return fmt.Errorf("%w: receipt %s: %v", ErrSignature, r.ID, err)
	}
	msg, err := Canonical(r, "signature")
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("%w: receipt %s", ErrSignature, r.ID)
	}
	return nil
}

// VerifyChain checks every receipt of a trail (in Seq order, starting at
// Seq 1 or after prev when the list continues an earlier page) and that
// each one's PrevHash is the hash of the one before.
func VerifyChain(pub ed25519.PublicKey, prev *core.DeletionReceipt, trail []*core.DeletionReceipt) error {
	for _, r := range trail {
		if err := Verify(pub, r); err != nil {
			return err
		}
		wantSeq, wantPrev := int64(1), Genesis
		if prev != nil {
			wantSeq, wantPrev = prev.Seq+1, prev.Hash
		}
		if r.Seq != wantSeq || r.PrevHash != wantPrev {
			return fmt.Errorf("%w at receipt %s: seq %d after %d", ErrChain, r.ID, r.Seq, wantSeq-1)
		}
		prev = r
	}
	return nil
}
