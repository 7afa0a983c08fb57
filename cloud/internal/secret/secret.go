// Package secret seals secrets that livegate-cloud must be able to read back
// (webhook signing secrets) with AES-256-GCM under a master key, so that the
// store never holds them in the clear. Secrets that only need checking (API
// keys, tokens) are hashed instead (core.HashSecret).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the master key length in bytes.
const KeySize = 32

// ErrOpen is returned when a sealed value cannot be opened (wrong master key
// or tampered data).
var ErrOpen = errors.New("secret: cannot open sealed value (wrong master key or corrupted data)")

// Sealer encrypts and decrypts with one master key.
type Sealer struct{ aead cipher.AEAD }

// New returns a Sealer for a 32-byte master key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: master key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext; the result is nonce || ciphertext || tag.
func (s *Sealer) Seal(plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: crypto/rand failed: " + err.Error())
	}
	return s.aead.Seal(nonce, nonce, plaintext, nil)
}

// Open decrypts a value made by Seal.
func (s *Sealer) Open(sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// LoadOrCreateKey returns the master key: from the hex string env if it is
// non-empty, else from the file at path, creating it (mode 0600, written
// atomically) with a fresh random key when it does not exist.
func LoadOrCreateKey(env, path string) ([]byte, error) {
	if env = strings.TrimSpace(env); env != "" {
		k, err := hex.DecodeString(env)
		if err != nil || len(k) != KeySize {
			return nil, fmt.Errorf("secret: LIVEGATE_MASTER_KEY must be %d bytes in hex (%d hex digits)", KeySize, 2*KeySize)
		}
		return k, nil
	}
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != KeySize {
			return nil, fmt.Errorf("secret: master key file %s is not %d hex digits", path, 2*KeySize)
		}
		return k, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("secret: reading master key: %w", err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secret: creating key dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master.key-*")
	if err != nil {
		return nil, fmt.Errorf("secret: creating master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(hex.EncodeToString(k) + "\n")
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err == nil {
			if d, derr := os.Open(filepath.Dir(path)); derr == nil {
				err = d.Sync()
				d.Close()
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("secret: writing master key %s: %w", path, err)
	}
	return k, nil
}
