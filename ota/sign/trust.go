package sign

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"sync"
	"time"
)

// Trust verifies signatures against a fixed set of root public keys and the
// newest revocation list it was given. It is safe for concurrent use.
type Trust struct {
	roots map[string]ed25519.PublicKey
	now   func() time.Time

	mu      sync.Mutex
	revoked *RevocationList
	revEnv  *Envelope
}

// NewTrust returns a Trust for roots. now is the clock used for validity
// windows; nil means time.Now.
func NewTrust(roots []ed25519.PublicKey, now func() time.Time) (*Trust, error) {
	if len(roots) == 0 {
		return nil, fmt.Errorf("sign: trust: no root keys")
	}
	if now == nil {
		now = time.Now
	}
	t := &Trust{roots: make(map[string]ed25519.PublicKey, len(roots)), now: now}
	for _, r := range roots {
		if len(r) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("sign: trust: root key is %d bytes, want %d", len(r), ed25519.PublicKeySize)
		}
		t.roots[KeyID(r)] = r
	}
	return t, nil
}

// verifyRoot checks env's signature under a trusted root for purpose.
func (t *Trust) verifyRoot(purpose string, env *Envelope) error {
	if env == nil || len(env.Signature) == 0 {
		return fmt.Errorf("%s: %w: no root signature", purpose, ErrUnsigned)
	}
	root, ok := t.roots[env.KeyID]
	if !ok {
		return fmt.Errorf("%s: %w: signed by root %s, which is not trusted", purpose, ErrUntrustedKey, env.KeyID)
	}
	if !ed25519.Verify(root, message(purpose, env.Body), env.Signature) {
		return fmt.Errorf("%s: %w: root %s signature does not verify (altered or signed by another key)", purpose, ErrUntrustedKey, env.KeyID)
	}
	return nil
}

// SetRevocations verifies a root-signed revocation list and, if its serial
// is higher than the one held, makes it current. A list with the serial
// already held is accepted only if it is the same list; an older one is
// refused with ErrStaleRevocations. It returns the list now in force.
func (t *Trust) SetRevocations(env *Envelope) (*RevocationList, error) {
	if err := t.verifyRoot(PurposeRevocations, env); err != nil {
		return nil, fmt.Errorf("sign: revocation list: %w", err)
	}
	var l RevocationList
	if err := DecodeStrict(env.Body, &l); err != nil {
		return nil, fmt.Errorf("sign: revocation list: %w", err)
	}
	if l.Format != Format {
		return nil, fmt.Errorf("sign: revocation list: %w: format %d, want %d", ErrMalformed, l.Format, Format)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revoked != nil {
		switch {
		case l.Serial < t.revoked.Serial:
			return nil, fmt.Errorf("sign: revocation list: %w: serial %d < held %d", ErrStaleRevocations, l.Serial, t.revoked.Serial)
		case l.Serial == t.revoked.Serial:
			if !bytes.Equal(env.Body, t.revEnv.Body) {
				return nil, fmt.Errorf("sign: revocation list: %w: serial %d already held with other content", ErrStaleRevocations, l.Serial)
			}
			return t.revoked, nil
		}
	}
	t.revoked, t.revEnv = &l, env
	return &l, nil
}

// Revocations returns the revocation list in force and its envelope, or nils.
func (t *Trust) Revocations() (*RevocationList, *Envelope) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.revoked, t.revEnv
}

// Check is what Verify found out about the key that signed.
type Check struct {
	Root string   // id of the root that certified the signing key
	Key  CertBody // the signing key's certificate
}

// VerifyCert checks a signing-key certificate: a trusted root signed it,
// it decodes strictly, it is inside its validity window now, and it is not
// revoked.
func (t *Trust) VerifyCert(cert *Envelope) (*Check, error) {
	if err := t.verifyRoot(PurposeSigningKey, cert); err != nil {
		return nil, err
	}
	var c CertBody
	if err := DecodeStrict(cert.Body, &c); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if c.Format != Format {
		return nil, fmt.Errorf("signing key: %w: format %d, want %d", ErrMalformed, c.Format, Format)
	}
	if len(c.PublicKey) != ed25519.PublicKeySize || c.KeyID != KeyID(c.PublicKey) {
		return nil, fmt.Errorf("signing key: %w: key id %q does not match its public key", ErrMalformed, c.KeyID)
	}
	now := t.now()
	if now.Before(c.NotBefore) {
		return nil, fmt.Errorf("signing key %s (serial %d): %w: valid from %s, now %s", c.KeyID, c.Serial, ErrKeyExpired, c.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !now.Before(c.NotAfter) {
		return nil, fmt.Errorf("signing key %s (serial %d): %w: expired %s, now %s", c.KeyID, c.Serial, ErrKeyExpired, c.NotAfter.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if l, _ := t.Revocations(); l != nil {
		for _, r := range l.Revoked {
			if r.KeyID == c.KeyID {
				return nil, fmt.Errorf("signing key %s (serial %d): %w by list %d: %s", c.KeyID, c.Serial, ErrKeyRevoked, l.Serial, r.Reason)
			}
		}
	}
	return &Check{Root: cert.KeyID, Key: c}, nil
}

// Verify checks that sig over body for purpose was made by the signing key
// certified by cert, and that cert is trusted now (see VerifyCert).
func (t *Trust) Verify(cert *Envelope, purpose string, body []byte, sig *Signature) (*Check, error) {
	if cert == nil {
		return nil, fmt.Errorf("%s: %w: no signing-key certificate", purpose, ErrUnsigned)
	}
	if sig == nil || len(sig.Signature) == 0 {
		return nil, fmt.Errorf("%s: %w: no signature", purpose, ErrUnsigned)
	}
	chk, err := t.VerifyCert(cert)
	if err != nil {
		return nil, err
	}
	if sig.KeyID != chk.Key.KeyID {
		return nil, fmt.Errorf("%s: %w: signed by key %s, certificate is for key %s", purpose, ErrBadSignature, sig.KeyID, chk.Key.KeyID)
	}
	if !ed25519.Verify(chk.Key.PublicKey, message(purpose, body), sig.Signature) {
		return nil, fmt.Errorf("%s: %w under signing key %s (altered, or signed with another key)", purpose, ErrBadSignature, chk.Key.KeyID)
	}
	return chk, nil
}
