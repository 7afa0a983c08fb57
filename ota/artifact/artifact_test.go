package artifact

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"livegate.dev/ota/sign"
)

var (
	t0  = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now = t0.Add(48 * time.Hour)
)

type keys struct {
	root    *sign.RootKey
	signing *sign.SigningKey
}

func newKeys(t testing.TB) keys {
	t.Helper()
	root, err := sign.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	return keys{root: root, signing: certify(t, root, 1, t0, t0.Add(90*24*time.Hour))}
}

func certify(t testing.TB, root *sign.RootKey, serial uint64, from, until time.Time) *sign.SigningKey {
	t.Helper()
	sk, err := sign.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if sk.Cert, err = root.Certify(sk.Public(), serial, from, until); err != nil {
		t.Fatal(err)
	}
	return sk
}

func (k keys) trust(t testing.TB) *sign.Trust {
	t.Helper()
	tr, err := sign.NewTrust([]ed25519.PublicKey{k.root.Public()}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var payload = bytes.Repeat([]byte("livegate rootfs image "), 150) // 3300 bytes

func manifestFor(p []byte) *Manifest {
	sum := sha256.Sum256(p)
	return &Manifest{
		Format: ManifestFormat, Kind: KindFirmware, Version: "1.2.0",
		Boards: []string{"sim", "rpi5"}, Archs: []string{"amd64", "arm64"},
		MinVersion: "1.0.0", PayloadSize: int64(len(p)), PayloadSHA256: hex.EncodeToString(sum[:]),
		Notes: "fixes", Created: t0.Add(time.Hour),
	}
}

var device = Target{Kind: KindFirmware, Board: "sim", Arch: "amd64", Current: MustVersion("1.1.0")}

func build(t testing.TB, m *Manifest, p []byte, sk *sign.SigningKey, rev *sign.Envelope) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, m, bytes.NewReader(p), sk, rev); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// openAll opens and reads the whole payload, returning it and the first
// error; a refusal in Open yields no payload bytes.
func openAll(data []byte, tr *sign.Trust, target Target) ([]byte, error) {
	r, err := Open(bytes.NewReader(data), tr, target)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	k := newKeys(t)
	data := build(t, manifestFor(payload), payload, k.signing, nil)
	r, err := Open(bytes.NewReader(data), k.trust(t), device)
	if err != nil {
		t.Fatal(err)
	}
	if r.Manifest.Version != "1.2.0" || r.Check.Key.KeyID != k.signing.ID() || r.Check.Root != k.root.ID() {
		t.Errorf("reader = %+v %+v", r.Manifest, r.Check)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Error("payload differs")
	}
	// Standard tar tools see the documented entries in order.
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if want := []string{EntryManifest, EntrySignature, EntrySigningKey, EntryPayload}; !reflect.DeepEqual(names, want) {
		t.Errorf("entries = %v, want %v", names, want)
	}
}

// TestRefusals covers each refusal reason with a clear, specific error.
func TestRefusals(t *testing.T) {
	k := newKeys(t)
	rogue := newKeys(t)
	good := manifestFor(payload)
	with := func(f func(m *Manifest)) *Manifest { m := *good; f(&m); return &m }
	expired := certify(t, k.root, 2, t0.Add(-48*time.Hour), t0.Add(24*time.Hour))
	notYet := certify(t, k.root, 3, now.Add(time.Hour), now.Add(48*time.Hour))
	revokedKey := certify(t, k.root, 4, t0, t0.Add(90*24*time.Hour))
	rev, err := k.root.SignRevocations(sign.RevocationList{Serial: 1, Issued: now, Revoked: []sign.RevokedKey{{KeyID: revokedKey.ID(), Reason: "compromised"}}})
	if err != nil {
		t.Fatal(err)
	}
	rogueRev, _ := rogue.root.SignRevocations(sign.RevocationList{Serial: 1, Issued: now})
	tampered := append([]byte(nil), payload...)
	tampered[100] ^= 1
	oldCreated := with(func(m *Manifest) { m.Created = t0.Add(-time.Hour) })

	tests := []struct {
		name   string
		data   []byte
		target Target
		want   error
		code   string
	}{
		{"good", build(t, good, payload, k.signing, nil), device, nil, ""},
		{"unsigned", stripEntries(t, build(t, good, payload, k.signing, nil), EntrySignature, EntrySigningKey), device, ErrUnsigned, "unsigned"},
		{"no signature", stripEntries(t, build(t, good, payload, k.signing, nil), EntrySignature), device, ErrUnsigned, "unsigned"},
		{"no certificate", stripEntries(t, build(t, good, payload, k.signing, nil), EntrySigningKey), device, ErrUnsigned, "unsigned"},
		{"signed by untrusted hierarchy", build(t, good, payload, rogue.signing, nil), device, ErrUntrustedKey, "untrusted-key"},
		{"signature from another trusted-looking key", swapSignature(t, build(t, good, payload, k.signing, nil), rogue.signing), device, ErrBadSignature, "bad-signature"},
		{"tampered manifest", replaceEntry(t, build(t, good, payload, k.signing, nil), EntryManifest, bytes.Replace(mustMarshal(t, good), []byte("1.2.0"), []byte("9.2.0"), 1)), device, ErrBadSignature, "bad-signature"},
		{"tampered payload", replaceEntry(t, build(t, good, payload, k.signing, nil), EntryPayload, tampered), device, ErrPayloadMismatch, "payload-mismatch"},
		{"payload shortened in place", replaceEntry(t, build(t, good, payload, k.signing, nil), EntryPayload, payload[:len(payload)-1]), device, ErrPayloadMismatch, "payload-mismatch"},
		{"truncated", build(t, good, payload, k.signing, nil)[:2000], device, ErrTruncated, "truncated"},
		{"downgrade", build(t, with(func(m *Manifest) { m.Version = "1.0.5" }), payload, k.signing, nil), device, ErrDowngrade, "downgrade"},
		{"same version", build(t, with(func(m *Manifest) { m.Version = "1.1.0" }), payload, k.signing, nil), device, ErrDowngrade, "downgrade"},
		{"pre-release of running version", build(t, with(func(m *Manifest) { m.Version = "1.1.0-rc.1" }), payload, k.signing, nil), device, ErrDowngrade, "downgrade"},
		{"below minimum", build(t, with(func(m *Manifest) { m.MinVersion = "1.1.1" }), payload, k.signing, nil), device, ErrBelowMinimum, "below-minimum"},
		{"wrong board", build(t, with(func(m *Manifest) { m.Boards = []string{"rpi4"} }), payload, k.signing, nil), device, ErrWrongBoard, "wrong-board"},
		{"wrong arch", build(t, with(func(m *Manifest) { m.Archs = []string{"arm"} }), payload, k.signing, nil), device, ErrWrongArch, "wrong-arch"},
		{"wrong kind", build(t, with(func(m *Manifest) { m.Kind = KindModels }), payload, k.signing, nil), device, ErrWrongKind, "wrong-kind"},
		{"expired signing key", build(t, good, payload, expired, nil), device, ErrKeyExpired, "key-expired"},
		{"signing key not yet valid", build(t, good, payload, notYet, nil), device, ErrKeyExpired, "key-expired"},
		{"manifest created before key window", build(t, oldCreated, payload, k.signing, nil), device, ErrKeyExpired, "key-expired"},
		{"revoked signing key (list in artifact)", build(t, good, payload, revokedKey, rev), device, ErrKeyRevoked, "key-revoked"},
		{"revocation list from untrusted root", build(t, good, payload, k.signing, rogueRev), device, ErrUntrustedKey, "untrusted-key"},
		{"not an archive", []byte(strings.Repeat("x", 2048)), device, ErrMalformed, "malformed"},
		{"empty", nil, device, ErrTruncated, "truncated"},
		{"unknown entry", addEntry(t, build(t, good, payload, k.signing, nil), "evil.sh"), device, ErrMalformed, "malformed"},
		{"signed manifest with unknown field", resignedArtifact(t, k.signing, good, payload, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"format": 1,`), []byte(`"format": 1, "extra": true,`), 1)
		}), device, ErrMalformed, "malformed"},
		{"signed manifest with trailing data", resignedArtifact(t, k.signing, good, payload, func(b []byte) []byte {
			return append(b, []byte(`{}`)...)
		}), device, ErrMalformed, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := openAll(tt.data, k.trust(t), tt.target)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if c := Reason(err); c != tt.code {
				t.Errorf("Reason = %q, want %q", c, tt.code)
			}
			if err == nil && !bytes.Equal(got, payload) {
				t.Error("payload differs")
			}
			if err != nil && err.Error() == tt.want.Error() {
				t.Errorf("error %q names no detail", err)
			}
		})
	}
}

// TestRefusedBeforePayload checks that metadata refusals happen in Open,
// before any payload byte is handed out.
func TestRefusedBeforePayload(t *testing.T) {
	k := newKeys(t)
	m := manifestFor(payload)
	m.Boards = []string{"rpi4"}
	data := build(t, m, payload, k.signing, nil)
	r, err := Open(bytes.NewReader(data), k.trust(t), device)
	if !errors.Is(err, ErrWrongBoard) || r != nil {
		t.Fatalf("Open = %v, %v; want nil reader and ErrWrongBoard", r, err)
	}
}

// TestTamperEveryManifestField changes each manifest field in turn without
// re-signing; each must be refused as a bad signature. The table must name
// every field of Manifest, so a new field without a case fails here.
func TestTamperEveryManifestField(t *testing.T) {
	k := newKeys(t)
	good := manifestFor(payload)
	data := build(t, good, payload, k.signing, nil)
	cases := map[string]func(m *Manifest){
		"format":         func(m *Manifest) { m.Format = 2 },
		"kind":           func(m *Manifest) { m.Kind = KindModels },
		"version":        func(m *Manifest) { m.Version = "1.3.0" },
		"boards":         func(m *Manifest) { m.Boards = append(m.Boards, "rk3588") },
		"archs":          func(m *Manifest) { m.Archs = []string{"amd64"} },
		"min_version":    func(m *Manifest) { m.MinVersion = "0.1.0" },
		"payload_size":   func(m *Manifest) { m.PayloadSize-- },
		"payload_sha256": func(m *Manifest) { m.PayloadSHA256 = strings.Repeat("0", 64) },
		"notes":          func(m *Manifest) { m.Notes = "harmless" },
		"created":        func(m *Manifest) { m.Created = m.Created.Add(time.Second) },
	}
	rt := reflect.TypeOf(Manifest{})
	for i := 0; i < rt.NumField(); i++ {
		tag := strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]
		if _, ok := cases[tag]; !ok {
			t.Errorf("manifest field %q has no tamper case", tag)
		}
	}
	for field, tamper := range cases {
		t.Run(field, func(t *testing.T) {
			m := *good
			m.Boards = append([]string(nil), good.Boards...)
			m.Archs = append([]string(nil), good.Archs...)
			tamper(&m)
			raw, err := json.MarshalIndent(&m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			raw = append(raw, '\n')
			if bytes.Equal(raw, mustMarshal(t, good)) {
				t.Fatal("tamper changed nothing")
			}
			_, err = openAll(replaceEntry(t, data, EntryManifest, raw), k.trust(t), device)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestTruncatedAtEveryOffset cuts the artifact short of complete: at every
// byte of the headers and metadata; in the payload, padding and
// end-of-archive marker at every 37th byte plus every byte near the payload's
// ends, the 512-byte block boundaries and the end of the file. Every cut must
// be refused as truncated, none accepted.
func TestTruncatedAtEveryOffset(t *testing.T) {
	k := newKeys(t)
	data := build(t, manifestFor(payload), payload, k.signing, nil)
	tr := k.trust(t)
	payloadStart := bytes.Index(data, payload[:64])
	payloadEnd := payloadStart + len(payload)
	for n := 0; n < len(data); n++ {
		near := n <= payloadStart+8 || (n >= payloadEnd-8 && n <= payloadEnd+8) ||
			n%512 <= 1 || n%512 == 511 || len(data)-n <= 8
		if !near && n%37 != 0 {
			continue
		}
		_, err := openAll(data[:n], tr, device)
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d of %d: err = %v, want ErrTruncated", n, len(data), err)
		}
	}
}

func TestRevocationListCarried(t *testing.T) {
	k := newKeys(t)
	old := certify(t, k.root, 2, t0, t0.Add(90*24*time.Hour))
	rev, _ := k.root.SignRevocations(sign.RevocationList{Serial: 3, Issued: now, Revoked: []sign.RevokedKey{{KeyID: old.ID(), Reason: "rotated"}}})
	tr := k.trust(t)
	r, err := Open(bytes.NewReader(build(t, manifestFor(payload), payload, k.signing, rev)), tr, device)
	if err != nil {
		t.Fatal(err)
	}
	if r.Revocations == nil {
		t.Fatal("newer list not reported for storing")
	}
	// The same Trust now refuses the rotated-out key even in an artifact
	// without a list.
	if _, err := openAll(build(t, manifestFor(payload), payload, old, nil), tr, device); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("rotated key: err = %v, want ErrKeyRevoked", err)
	}
	// An older list in a later artifact is ignored, not an error.
	older, _ := k.root.SignRevocations(sign.RevocationList{Serial: 2, Issued: t0})
	r, err = Open(bytes.NewReader(build(t, manifestFor(payload), payload, k.signing, older)), tr, device)
	if err != nil || r.Revocations != nil {
		t.Fatalf("older list: reader revocations %v err %v", r, err)
	}
}

func TestInspect(t *testing.T) {
	k := newKeys(t)
	meta, err := Inspect(bytes.NewReader(build(t, manifestFor(payload), payload, k.signing, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Manifest.Version != "1.2.0" || meta.PayloadSize != int64(len(payload)) || meta.Signature.KeyID != k.signing.ID() {
		t.Errorf("meta = %+v", meta)
	}
}

// ---- helpers that rewrite archives the way an attacker would ----

type entry struct {
	name string
	data []byte
}

func entries(t testing.TB, data []byte) []entry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h.Name, b})
	}
}

func pack(t testing.TB, es []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: int64(len(e.data)), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	tw.Close()
	return b.Bytes()
}

func stripEntries(t testing.TB, data []byte, names ...string) []byte {
	var out []entry
	for _, e := range entries(t, data) {
		keep := true
		for _, n := range names {
			keep = keep && e.name != n
		}
		if keep {
			out = append(out, e)
		}
	}
	return pack(t, out)
}

func replaceEntry(t testing.TB, data []byte, name string, content []byte) []byte {
	es := entries(t, data)
	for i := range es {
		if es[i].name == name {
			es[i].data = content
		}
	}
	return pack(t, es)
}

func addEntry(t testing.TB, data []byte, name string) []byte {
	es := entries(t, data)
	es = append([]entry{{name, []byte("#!/bin/sh\n")}}, es...)
	return pack(t, es)
}

// swapSignature replaces the manifest signature with one by other but
// labels it with the certified key's id.
func swapSignature(t testing.TB, data []byte, other *sign.SigningKey) []byte {
	es := entries(t, data)
	var raw []byte
	for _, e := range es {
		if e.name == EntryManifest {
			raw = e.data
		}
	}
	var sig sign.Signature
	for _, e := range es {
		if e.name == EntrySignature {
			if err := json.Unmarshal(e.data, &sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	sig.Signature = other.Sign(sign.PurposeManifest, raw).Signature
	b, _ := json.Marshal(sig)
	return replaceEntry(t, data, EntrySignature, b)
}

func mustMarshal(t testing.TB, m *Manifest) []byte {
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// resignedArtifact rewrites the manifest bytes with edit and signs them
// properly, for manifests a trusted key signed by mistake.
func resignedArtifact(t testing.TB, sk *sign.SigningKey, m *Manifest, p []byte, edit func([]byte) []byte) []byte {
	data := build(t, m, p, sk, nil)
	raw := edit(mustMarshal(t, m))
	sig, _ := json.Marshal(sk.Sign(sign.PurposeManifest, raw))
	return replaceEntry(t, replaceEntry(t, data, EntryManifest, raw), EntrySignature, sig)
}

func TestOpenAnyTarget(t *testing.T) {
	k := newKeys(t)
	m := manifestFor(payload)
	m.Boards = []string{"rk3588"}
	m.Kind = KindModels
	data := build(t, m, payload, k.signing, nil)
	r, err := OpenAnyTarget(bytes.NewReader(data), k.trust(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err != nil {
		t.Fatal(err)
	}
	// Signatures and payload are still checked.
	if _, err := OpenAnyTarget(bytes.NewReader(data), newKeys(t).trust(t)); !errors.Is(err, ErrUntrustedKey) {
		t.Fatalf("untrusted: err = %v", err)
	}
}
