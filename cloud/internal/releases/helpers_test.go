package releases

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/sign"
	"livegate.dev/proto"
)

var t0 = time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)

// keys is a root and a signing key it certified.
type keys struct {
	root *sign.RootKey
	sk   *sign.SigningKey
}

func newKeys(t testing.TB) keys {
	t.Helper()
	root, err := sign.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sign.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if sk.Cert, err = root.Certify(sk.Public(), 1, t0.Add(-24*time.Hour), t0.AddDate(0, 3, 0)); err != nil {
		t.Fatal(err)
	}
	return keys{root, sk}
}

// build makes a signed artifact of version with payload.
func (k keys) build(t testing.TB, version string, payload []byte) []byte {
	t.Helper()
	size, sum, err := artifact.HashPayload(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	m := &artifact.Manifest{
		Format: artifact.ManifestFormat, Kind: artifact.KindFirmware, Version: version,
		Boards: []string{"sim", "rpi5"}, Archs: []string{"amd64", "arm64"}, MinVersion: "1.0.0",
		PayloadSize: size, PayloadSHA256: sum, Notes: "test release", Created: t0.Add(-time.Hour),
	}
	var b bytes.Buffer
	if err := artifact.Write(&b, m, bytes.NewReader(payload), k.sk, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// recorder is a Notifier that records commands and can fail chosen devices.
type recorder struct {
	mu   sync.Mutex
	sent []sent
	fail map[string]bool
}

type sent struct {
	device  string
	command string
	expires time.Time
	args    proto.UpdateArgs
}

func (r *recorder) SendUpdate(_ context.Context, deviceID, commandID string, expiresAt time.Time, args proto.UpdateArgs) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[deviceID] {
		return errors.New("device offline")
	}
	r.sent = append(r.sent, sent{deviceID, commandID, expiresAt, args})
	return nil
}

// commands lists the command ids sent to device, in order.
func (r *recorder) commands(device string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.sent {
		if s.device == device {
			out = append(out, s.command)
		}
	}
	return out
}

func (r *recorder) devices() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.sent {
		out = append(out, s.device)
	}
	return out
}

// fleet is a Devices with a fixed list.
type fleet []Device

func (f fleet) List(context.Context) ([]Device, error) { return f, nil }

type env struct {
	svc   *Service
	clk   *clock.Fake
	keys  keys
	notes *recorder
	dir   string
}

func newEnv(t *testing.T, devs fleet) *env {
	t.Helper()
	dir := t.TempDir()
	repo, err := OpenBolt(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo.db.NoSync = true // tests only: thousands of small commits
	t.Cleanup(func() { repo.Close() })
	e := &env{clk: clock.NewFake(t0), keys: newKeys(t), notes: &recorder{fail: map[string]bool{}}, dir: dir}
	e.svc, err = New(Config{DataDir: dir, Repo: repo, Roots: []ed25519.PublicKey{e.keys.root.Public()},
		Notifier: e.notes, Devices: devs, Clock: e.clk, MaxArtifactSize: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func writeFile(path string, b []byte) error { return os.WriteFile(path, b, 0o600) }
