// Package updatetest builds what a test of the update path needs outside
// the ota module: OTA keys, signed artifacts for the sim board, sim A/B
// devices, update args and health checks that fail on demand. A fleet
// simulation (cloud/internal/fleet/e2e) uses it with firmware/update and
// firmware/sync to run sim kiosks.
package updatetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	gosync "sync"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
	"livegate.dev/proto"
)

// Keys is an OTA root key and a signing key it certified, valid from a
// month before creation to a year after.
type Keys struct {
	Root    *sign.RootKey
	Signing *sign.SigningKey
}

// NewKeys generates Keys.
func NewKeys() (Keys, error) {
	root, err := sign.GenerateRootKey()
	if err != nil {
		return Keys{}, err
	}
	sk, err := sign.GenerateSigningKey()
	if err != nil {
		return Keys{}, err
	}
	now := time.Now()
	if sk.Cert, err = root.Certify(sk.Public(), 1, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)); err != nil {
		return Keys{}, err
	}
	return Keys{Root: root, Signing: sk}, nil
}

// Roots returns the root public key, as a device trusts it.
func (k Keys) Roots() []ed25519.PublicKey { return []ed25519.PublicKey{k.Root.Public()} }

// RootsPEM returns the root public key file (ota.roots_file).
func (k Keys) RootsPEM() []byte { return sign.MarshalRootPublic(k.Root.Public()) }

// Payload returns n deterministic bytes that differ per kind and version.
func Payload(kind artifact.Kind, version string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s %s block %d\n", kind, version, i)
	}
	return b.Bytes()[:n]
}

// Artifact returns a signed artifact of kind and version for board "sim"
// and this machine's architecture, with a payload of n bytes.
func (k Keys) Artifact(kind artifact.Kind, version string, n int) ([]byte, error) {
	p := Payload(kind, version, n)
	sum := sha256.Sum256(p)
	m := &artifact.Manifest{Format: artifact.ManifestFormat, Kind: kind, Version: version,
		Boards: []string{"sim"}, Archs: []string{runtime.GOARCH}, MinVersion: "0.0.0",
		PayloadSize: int64(len(p)), PayloadSHA256: hex.EncodeToString(sum[:]),
		Notes: "release " + version, Created: time.Now().Add(-time.Hour)}
	var b bytes.Buffer
	if err := artifact.Write(&b, m, bytes.NewReader(p), k.Signing, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Args returns the update command's args for the artifact file art served
// at url.
func Args(kind artifact.Kind, version, url string, art []byte, rollout string) proto.UpdateArgs {
	sum := sha256.Sum256(art)
	return proto.UpdateArgs{Kind: string(kind), Version: version, URL: url, Size: int64(len(art)),
		SHA256: hex.EncodeToString(sum[:]), Rollout: rollout}
}

// ErrUnhealthy is the health check failure of Health.
var ErrUnhealthy = errors.New("updatetest: version set unhealthy")

// Health is a health check whose verdict per version the test sets.
type Health struct {
	mu   gosync.Mutex
	fail map[string]bool
}

// Fail makes the health check of version fail (true) or pass (false).
func (h *Health) Fail(version string, fail bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail == nil {
		h.fail = map[string]bool{}
	}
	h.fail[version] = fail
}

// Check is the install.HealthCheck.
func (h *Health) Check(_ context.Context, run install.Running) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail[run.Version] {
		return fmt.Errorf("%w: %s", ErrUnhealthy, run.Version)
	}
	return nil
}

// NewDevice opens (creating it) the sim A/B layout of kind under root:
// board "sim", this machine's architecture, trusting roots, with health
// as its health check (nil: always healthy).
func NewDevice(root string, kind artifact.Kind, roots []ed25519.PublicKey, health install.HealthCheck) (*install.Device, error) {
	layout, err := install.NewSim(root)
	if err != nil {
		return nil, err
	}
	tr, err := sign.NewTrust(roots, time.Now)
	if err != nil {
		return nil, err
	}
	if health == nil {
		health = func(context.Context, install.Running) error { return nil }
	}
	return install.New(install.Config{Layout: layout, Trust: tr, Kind: kind, Board: "sim", Arch: runtime.GOARCH,
		Health: health, Watchdog: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// Provision puts the factory image art into a new device's slot A.
func Provision(ctx context.Context, d *install.Device, art []byte) error {
	_, err := d.Provision(ctx, bytes.NewReader(art))
	return err
}
