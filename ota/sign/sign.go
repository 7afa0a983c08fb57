package sign

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"livegate.dev/ota/internal/atomicfile"
)

// Purposes bound into every signature (domain separation).
const (
	PurposeSigningKey  = "signing-key"
	PurposeRevocations = "revocations"
	PurposeManifest    = "manifest"
)

// PEM block types of key files.
const (
	pemRootPrivate    = "LIVEGATE OTA ROOT PRIVATE KEY"
	pemRootPublic     = "LIVEGATE OTA ROOT PUBLIC KEY"
	pemSigningPrivate = "LIVEGATE OTA SIGNING PRIVATE KEY"
)

// Format is the version of the JSON bodies this package writes and accepts.
const Format = 1

// Errors a verification returns, each wrapped with the detail of what failed.
var (
	// ErrUnsigned: there is no signature, or no signing-key certificate.
	ErrUnsigned = errors.New("unsigned")
	// ErrUntrustedKey: the signing key is not certified by a trusted root
	// (wrongly signed, or its certificate was altered).
	ErrUntrustedKey = errors.New("signing key not certified by a trusted root")
	// ErrBadSignature: the signature does not verify under the named key
	// (the signed bytes were altered, or another key signed them).
	ErrBadSignature = errors.New("signature does not verify")
	// ErrKeyExpired: the signing key is outside its validity window.
	ErrKeyExpired = errors.New("signing key expired or not yet valid")
	// ErrKeyRevoked: the signing key is on the revocation list.
	ErrKeyRevoked = errors.New("signing key revoked")
	// ErrMalformed: a key, certificate or list could not be decoded strictly.
	ErrMalformed = errors.New("malformed")
	// ErrStaleRevocations: a revocation list older than the one held.
	ErrStaleRevocations = errors.New("revocation list older than the one held")
)

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

func message(purpose string, body []byte) []byte {
	m := make([]byte, 0, len("livegate-ota/v1 ")+len(purpose)+1+len(body))
	m = append(m, "livegate-ota/v1 "...)
	m = append(m, purpose...)
	m = append(m, 0)
	return append(m, body...)
}

// Envelope is a JSON body together with one signature over it.
type Envelope struct {
	Body      []byte `json:"body"`
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// Signature is a detached signature: which key, and the signature bytes.
type Signature struct {
	KeyID     string `json:"key_id"`
	Signature []byte `json:"signature"`
}

// DecodeStrict decodes exactly one JSON value from data into v, refusing
// unknown fields and trailing data.
func DecodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after JSON value", ErrMalformed)
	}
	return nil
}

// ---- root keys ----

// RootKey is an offline root private key. It signs signing-key
// certificates and revocation lists, nothing else.
type RootKey struct{ k ed25519.PrivateKey }

// GenerateRootKey makes a new root key.
func GenerateRootKey() (*RootKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sign: generate root key: %w", err)
	}
	return &RootKey{k: priv}, nil
}

// Public returns the public half, the value baked into firmware.
func (r *RootKey) Public() ed25519.PublicKey { return r.k.Public().(ed25519.PublicKey) }

// ID returns the key id of the public half.
func (r *RootKey) ID() string { return KeyID(r.Public()) }

// MarshalPEM encodes the private key as PEM.
func (r *RootKey) MarshalPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemRootPrivate, Bytes: r.k.Seed()})
}

// ParseRootKey decodes a PEM root private key.
func ParseRootKey(data []byte) (*RootKey, error) {
	k, err := parsePrivate(data, pemRootPrivate)
	if err != nil {
		return nil, fmt.Errorf("sign: parse root key: %w", err)
	}
	return &RootKey{k: k}, nil
}

// MarshalRootPublic encodes root public keys as a PEM bundle.
func MarshalRootPublic(keys ...ed25519.PublicKey) []byte {
	var b bytes.Buffer
	for _, k := range keys {
		pem.Encode(&b, &pem.Block{Type: pemRootPublic, Headers: map[string]string{"Key-Id": KeyID(k)}, Bytes: k})
	}
	return b.Bytes()
}

// ParseRootPublic decodes a PEM bundle of one or more root public keys.
func ParseRootPublic(data []byte) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, fmt.Errorf("sign: parse root public keys: %w: not PEM", ErrMalformed)
		}
		if b.Type != pemRootPublic {
			return nil, fmt.Errorf("sign: parse root public keys: %w: PEM type %q, want %q", ErrMalformed, b.Type, pemRootPublic)
		}
		if len(b.Bytes) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("sign: parse root public keys: %w: key is %d bytes, want %d", ErrMalformed, len(b.Bytes), ed25519.PublicKeySize)
		}
		keys = append(keys, ed25519.PublicKey(b.Bytes))
		rest = bytes.TrimSpace(rest)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("sign: parse root public keys: %w: no key found", ErrMalformed)
	}
	return keys, nil
}

// CertBody is what a root key certifies about a signing key.
type CertBody struct {
	Format    int               `json:"format"`
	KeyID     string            `json:"key_id"`
	PublicKey ed25519.PublicKey `json:"public_key"`
	Serial    uint64            `json:"serial"`
	NotBefore time.Time         `json:"not_before"`
	NotAfter  time.Time         `json:"not_after"`
}

// Certify signs a signing key's public half, serial and validity window.
func (r *RootKey) Certify(pub ed25519.PublicKey, serial uint64, notBefore, notAfter time.Time) (*Envelope, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("sign: certify: public key is %d bytes", len(pub))
	}
	if !notAfter.After(notBefore) {
		return nil, fmt.Errorf("sign: certify: not_after %s is not after not_before %s", notAfter, notBefore)
	}
	if serial == 0 {
		return nil, errors.New("sign: certify: serial must be positive")
	}
	body, err := json.Marshal(CertBody{
		Format: Format, KeyID: KeyID(pub), PublicKey: pub, Serial: serial,
		NotBefore: notBefore.UTC().Truncate(time.Second), NotAfter: notAfter.UTC().Truncate(time.Second),
	})
	if err != nil {
		return nil, fmt.Errorf("sign: certify: %w", err)
	}
	return r.seal(PurposeSigningKey, body), nil
}

func (r *RootKey) seal(purpose string, body []byte) *Envelope {
	return &Envelope{Body: body, KeyID: r.ID(), Signature: ed25519.Sign(r.k, message(purpose, body))}
}

// RevokedKey is one entry of a revocation list.
type RevokedKey struct {
	KeyID  string `json:"key_id"`
	Reason string `json:"reason"`
}

// RevocationList names signing keys that must no longer be trusted. A
// device keeps the list with the highest serial it has seen.
type RevocationList struct {
	Format  int          `json:"format"`
	Serial  uint64       `json:"serial"`
	Issued  time.Time    `json:"issued"`
	Revoked []RevokedKey `json:"revoked"`
}

// SignRevocations signs a revocation list.
func (r *RootKey) SignRevocations(l RevocationList) (*Envelope, error) {
	if l.Serial == 0 {
		return nil, errors.New("sign: revocations: serial must be positive")
	}
	l.Format = Format
	if l.Revoked == nil {
		l.Revoked = []RevokedKey{}
	}
	body, err := json.Marshal(l)
	if err != nil {
		return nil, fmt.Errorf("sign: revocations: %w", err)
	}
	return r.seal(PurposeRevocations, body), nil
}

// ---- signing keys ----

// SigningKey is an online signing key with the certificate its root issued.
type SigningKey struct {
	k    ed25519.PrivateKey
	Cert *Envelope
}

// GenerateSigningKey makes a new signing key pair without a certificate;
// a root key certifies its Public half.
func GenerateSigningKey() (*SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sign: generate signing key: %w", err)
	}
	return &SigningKey{k: priv}, nil
}

// Public returns the public half.
func (s *SigningKey) Public() ed25519.PublicKey { return s.k.Public().(ed25519.PublicKey) }

// ID returns the key id of the public half.
func (s *SigningKey) ID() string { return KeyID(s.Public()) }

// MarshalPEM encodes the private key as PEM.
func (s *SigningKey) MarshalPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemSigningPrivate, Bytes: s.k.Seed()})
}

// ParseSigningKey decodes a PEM signing private key.
func ParseSigningKey(data []byte) (*SigningKey, error) {
	k, err := parsePrivate(data, pemSigningPrivate)
	if err != nil {
		return nil, fmt.Errorf("sign: parse signing key: %w", err)
	}
	return &SigningKey{k: k}, nil
}

// Sign signs body for purpose.
func (s *SigningKey) Sign(purpose string, body []byte) Signature {
	return Signature{KeyID: s.ID(), Signature: ed25519.Sign(s.k, message(purpose, body))}
}

func parsePrivate(data []byte, typ string) (ed25519.PrivateKey, error) {
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%w: not PEM", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%w: trailing data after PEM block", ErrMalformed)
	}
	if b.Type != typ {
		return nil, fmt.Errorf("%w: PEM type %q, want %q", ErrMalformed, b.Type, typ)
	}
	if len(b.Bytes) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: seed is %d bytes, want %d", ErrMalformed, len(b.Bytes), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(b.Bytes), nil
}

// ---- files ----

// WritePrivateFile writes a private key file: mode 0600, atomically.
func WritePrivateFile(path string, pemData []byte) error {
	return atomicfile.WriteFile(path, pemData, 0o600)
}

// WritePublicFile writes a public file (public keys, certificates, lists)
// atomically with mode 0644.
func WritePublicFile(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}

// ReadPrivateFile reads a private key file and refuses one that group or
// others can read or write.
func ReadPrivateFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sign: read key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sign: read key %s: mode %v is too open, want 0600", path, st.Mode().Perm())
	}
	return os.ReadFile(path)
}

// MarshalEnvelope encodes an envelope as indented JSON.
func MarshalEnvelope(e *Envelope) ([]byte, error) {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("sign: marshal envelope: %w", err)
	}
	return append(b, '\n'), nil
}

// ParseEnvelope decodes an envelope strictly.
func ParseEnvelope(data []byte) (*Envelope, error) {
	var e Envelope
	if err := DecodeStrict(data, &e); err != nil {
		return nil, fmt.Errorf("sign: parse envelope: %w", err)
	}
	if len(e.Body) == 0 || e.KeyID == "" {
		return nil, fmt.Errorf("sign: parse envelope: %w: body and key_id are required", ErrMalformed)
	}
	if len(e.Signature) == 0 {
		return nil, fmt.Errorf("sign: parse envelope: %w: no signature", ErrUnsigned)
	}
	return &e, nil
}
