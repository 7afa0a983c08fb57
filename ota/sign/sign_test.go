package sign

import (
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	root    *RootKey
	signing *SigningKey
}

func newFixture(t *testing.T, serial uint64, from, until time.Time) fixture {
	t.Helper()
	root, err := GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	return fixture{root: root, signing: certified(t, root, serial, from, until)}
}

func certified(t *testing.T, root *RootKey, serial uint64, from, until time.Time) *SigningKey {
	t.Helper()
	sk, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	sk.Cert, err = root.Certify(sk.Public(), serial, from, until)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func clockAt(tm time.Time) func() time.Time { return func() time.Time { return tm } }

func TestVerify(t *testing.T) {
	f := newFixture(t, 1, t0, t0.Add(90*24*time.Hour))
	other := newFixture(t, 1, t0, t0.Add(90*24*time.Hour))
	body := []byte(`{"kind":"firmware"}`)
	good := f.signing.Sign(PurposeManifest, body)
	now := t0.Add(24 * time.Hour)

	tests := []struct {
		name  string
		roots []*RootKey
		now   time.Time
		cert  *Envelope
		body  []byte
		sig   *Signature
		want  error
	}{
		{"valid", []*RootKey{f.root}, now, f.signing.Cert, body, &good, nil},
		{"valid with two roots", []*RootKey{other.root, f.root}, now, f.signing.Cert, body, &good, nil},
		{"no signature", []*RootKey{f.root}, now, f.signing.Cert, body, nil, ErrUnsigned},
		{"empty signature", []*RootKey{f.root}, now, f.signing.Cert, body, &Signature{KeyID: good.KeyID}, ErrUnsigned},
		{"no certificate", []*RootKey{f.root}, now, nil, body, &good, ErrUnsigned},
		{"untrusted root", []*RootKey{other.root}, now, f.signing.Cert, body, &good, ErrUntrustedKey},
		{"body altered", []*RootKey{f.root}, now, f.signing.Cert, []byte(`{"kind":"models"}`), &good, ErrBadSignature},
		{"signed by another signing key", []*RootKey{f.root}, now, f.signing.Cert, body, ptr(other.signing.Sign(PurposeManifest, body)), ErrBadSignature},
		{"other key under this key id", []*RootKey{f.root}, now, f.signing.Cert, body, &Signature{KeyID: good.KeyID, Signature: other.signing.Sign(PurposeManifest, body).Signature}, ErrBadSignature},
		{"wrong purpose", []*RootKey{f.root}, now, f.signing.Cert, body, ptr(f.signing.Sign(PurposeRevocations, body)), ErrBadSignature},
		{"not yet valid", []*RootKey{f.root}, t0.Add(-time.Second), f.signing.Cert, body, &good, ErrKeyExpired},
		{"expired", []*RootKey{f.root}, t0.Add(90 * 24 * time.Hour), f.signing.Cert, body, &good, ErrKeyExpired},
		{"certificate altered", []*RootKey{f.root}, now, alterCert(f.signing.Cert), body, &good, ErrUntrustedKey},
		{"certificate signature used for revocations", []*RootKey{f.root}, now, &Envelope{Body: f.signing.Cert.Body, KeyID: f.root.ID(), Signature: mustRev(t, f.root).Signature}, body, &good, ErrUntrustedKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := NewTrust(toPub(tt.roots), clockAt(tt.now))
			if err != nil {
				t.Fatal(err)
			}
			chk, err := tr.Verify(tt.cert, PurposeManifest, tt.body, tt.sig)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify err = %v, want %v", err, tt.want)
			}
			if err == nil && (chk.Root != f.root.ID() || chk.Key.KeyID != f.signing.ID() || chk.Key.Serial != 1) {
				t.Errorf("check = %+v", chk)
			}
			if err != nil && err.Error() == tt.want.Error() {
				t.Errorf("error %q carries no detail", err)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func toPub(rs []*RootKey) (out []ed25519.PublicKey) {
	for _, r := range rs {
		out = append(out, r.Public())
	}
	return out
}

func alterCert(e *Envelope) *Envelope {
	b := append([]byte(nil), e.Body...)
	// Move the expiry: same length, different meaning.
	for i := len(b) - 1; i > 0; i-- {
		if b[i] >= '0' && b[i] <= '8' {
			b[i]++
			break
		}
	}
	return &Envelope{Body: b, KeyID: e.KeyID, Signature: e.Signature}
}

func mustRev(t *testing.T, r *RootKey) *Envelope {
	t.Helper()
	e, err := r.SignRevocations(RevocationList{Serial: 1, Issued: t0})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestRotation walks the procedure of docs/ota.md: a new signing key is
// certified while the old one is still valid, releases move to it, the old
// one is revoked, and later a second root is introduced by a firmware
// release before the first is retired.
func TestRotation(t *testing.T) {
	root1, _ := GenerateRootKey()
	year := 365 * 24 * time.Hour
	k1 := certified(t, root1, 1, t0, t0.Add(year))
	k2 := certified(t, root1, 2, t0.Add(300*24*time.Hour), t0.Add(2*year))
	body := []byte("manifest")
	s1, s2 := k1.Sign(PurposeManifest, body), k2.Sign(PurposeManifest, body)

	now := t0.Add(320 * 24 * time.Hour) // both keys valid
	tr, _ := NewTrust(toPub([]*RootKey{root1}), func() time.Time { return now })
	for _, c := range []struct {
		k *SigningKey
		s Signature
	}{{k1, s1}, {k2, s2}} {
		if _, err := tr.Verify(c.k.Cert, PurposeManifest, body, &c.s); err != nil {
			t.Fatalf("overlap: key serial %d refused: %v", 1, err)
		}
	}

	// Revoke key 1 (e.g. its host was decommissioned or compromised).
	rev, err := root1.SignRevocations(RevocationList{Serial: 1, Issued: now, Revoked: []RevokedKey{{KeyID: k1.ID(), Reason: "rotated"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SetRevocations(rev); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Verify(k1.Cert, PurposeManifest, body, &s1); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("revoked key: err = %v, want ErrKeyRevoked", err)
	}
	if _, err := tr.Verify(k2.Cert, PurposeManifest, body, &s2); err != nil {
		t.Fatalf("new key after revocation: %v", err)
	}
	// An older (empty) list cannot un-revoke the key.
	older, _ := root1.SignRevocations(RevocationList{Serial: 0 + 1, Issued: t0})
	if _, err := tr.SetRevocations(older); !errors.Is(err, ErrStaleRevocations) {
		t.Fatalf("same serial other content: err = %v, want ErrStaleRevocations", err)
	}
	if _, err := tr.SetRevocations(rev); err != nil {
		t.Fatalf("same list again: %v", err)
	}
	newer, _ := root1.SignRevocations(RevocationList{Serial: 2, Issued: now, Revoked: []RevokedKey{{KeyID: k1.ID(), Reason: "rotated"}}})
	if _, err := tr.SetRevocations(newer); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.SetRevocations(rev); !errors.Is(err, ErrStaleRevocations) {
		t.Fatalf("older serial: err = %v, want ErrStaleRevocations", err)
	}

	// Root rotation: firmware N+1 trusts root1 and root2; keys certified by
	// root2 work there and not on firmware N, which trusts root1 only.
	root2, _ := GenerateRootKey()
	k3 := certified(t, root2, 3, t0, t0.Add(2*year))
	s3 := k3.Sign(PurposeManifest, body)
	both, _ := NewTrust(toPub([]*RootKey{root1, root2}), func() time.Time { return now })
	if _, err := both.Verify(k3.Cert, PurposeManifest, body, &s3); err != nil {
		t.Fatalf("root2 key on firmware trusting both: %v", err)
	}
	if _, err := tr.Verify(k3.Cert, PurposeManifest, body, &s3); !errors.Is(err, ErrUntrustedKey) {
		t.Fatalf("root2 key on firmware trusting root1 only: err = %v, want ErrUntrustedKey", err)
	}
	// A revocation list signed by an untrusted root is refused.
	rogue, _ := GenerateRootKey()
	bad, _ := rogue.SignRevocations(RevocationList{Serial: 99, Issued: now})
	if _, err := tr.SetRevocations(bad); !errors.Is(err, ErrUntrustedKey) {
		t.Fatalf("rogue list: err = %v, want ErrUntrustedKey", err)
	}
	// A certificate cannot pass as a revocation list (purpose separation).
	if _, err := tr.SetRevocations(k2.Cert); !errors.Is(err, ErrUntrustedKey) {
		t.Fatalf("certificate as list: err = %v, want ErrUntrustedKey", err)
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	root, _ := GenerateRootKey()
	sk, _ := GenerateSigningKey()
	tests := []struct {
		name  string
		pem   []byte
		parse func([]byte) (string, error)
		id    string
	}{
		{"root", root.MarshalPEM(), func(b []byte) (string, error) {
			k, err := ParseRootKey(b)
			if err != nil {
				return "", err
			}
			return k.ID(), nil
		}, root.ID()},
		{"signing", sk.MarshalPEM(), func(b []byte) (string, error) {
			k, err := ParseSigningKey(b)
			if err != nil {
				return "", err
			}
			return k.ID(), nil
		}, sk.ID()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".key")
			if err := WritePrivateFile(p, tt.pem); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(p)
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want 0600", st.Mode().Perm())
			}
			b, err := ReadPrivateFile(p)
			if err != nil {
				t.Fatal(err)
			}
			id, err := tt.parse(b)
			if err != nil || id != tt.id {
				t.Fatalf("parse: id %q err %v, want %q", id, err, tt.id)
			}
			os.Chmod(p, 0o644)
			if _, err := ReadPrivateFile(p); err == nil {
				t.Error("ReadPrivateFile accepted a 0644 key")
			}
		})
	}
	// A signing key is not a root key and vice versa.
	if _, err := ParseRootKey(sk.MarshalPEM()); !errors.Is(err, ErrMalformed) {
		t.Errorf("signing PEM as root: %v", err)
	}
	if _, err := ParseSigningKey(root.MarshalPEM()); !errors.Is(err, ErrMalformed) {
		t.Errorf("root PEM as signing: %v", err)
	}
	pubs, err := ParseRootPublic(MarshalRootPublic(root.Public(), sk.Public()))
	if err != nil || len(pubs) != 2 || KeyID(pubs[0]) != root.ID() {
		t.Fatalf("ParseRootPublic: %v %d", err, len(pubs))
	}
}

func TestParseEnvelopeStrict(t *testing.T) {
	root, _ := GenerateRootKey()
	env := mustRev(t, root)
	good, _ := MarshalEnvelope(env)
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"good", string(good), nil},
		{"unknown field", `{"body":"eA==","key_id":"a","signature":"eA==","extra":1}`, ErrMalformed},
		{"trailing data", string(good) + `{}`, ErrMalformed},
		{"no signature", `{"body":"eA==","key_id":"a"}`, ErrUnsigned},
		{"no key id", `{"body":"eA==","signature":"eA=="}`, ErrMalformed},
		{"not json", `nope`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEnvelope([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
