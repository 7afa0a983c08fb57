// Package otatest builds keys and artifacts for tests of the ota module.
package otatest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/sign"
)

// Epoch is the fixed "now" of tests: keys are valid around it.
var Epoch = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Now returns Epoch; pass it as the clock of a sign.Trust.
func Now() time.Time { return Epoch }

// Keys is a root key and a signing key it certified.
type Keys struct {
	Root    *sign.RootKey
	Signing *sign.SigningKey
}

// NewKeys makes a root and a signing key valid from a month before Epoch
// to a year after it.
func NewKeys(t testing.TB) Keys {
	t.Helper()
	root, err := sign.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sign.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if sk.Cert, err = root.Certify(sk.Public(), 1, Epoch.AddDate(0, -1, 0), Epoch.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	return Keys{Root: root, Signing: sk}
}

// Trust returns a fresh Trust in the root, reading the clock Now.
func (k Keys) Trust(t testing.TB) *sign.Trust {
	t.Helper()
	tr, err := sign.NewTrust([]ed25519.PublicKey{k.Root.Public()}, Now)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// Payload returns n deterministic bytes that differ per version.
func Payload(version string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "image %s block %d\n", version, i)
	}
	return b.Bytes()[:n]
}

// Manifest returns a manifest for p of the given kind and version, for
// board "sim" and arch "amd64", minimum version 0.0.0.
func Manifest(kind artifact.Kind, version string, p []byte) *artifact.Manifest {
	sum := sha256.Sum256(p)
	return &artifact.Manifest{
		Format: artifact.ManifestFormat, Kind: kind, Version: version,
		Boards: []string{"sim"}, Archs: []string{"amd64"}, MinVersion: "0.0.0",
		PayloadSize: int64(len(p)), PayloadSHA256: hex.EncodeToString(sum[:]),
		Notes: "test release " + version, Created: Epoch.Add(-time.Hour),
	}
}

// Artifact writes a signed artifact of m and p.
func (k Keys) Artifact(t testing.TB, m *artifact.Manifest, p []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := artifact.Write(&b, m, bytes.NewReader(p), k.Signing, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
