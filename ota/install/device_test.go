package install

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/internal/fakeclock"
	"livegate.dev/ota/internal/otatest"
	"livegate.dev/ota/sign"
)

type rig struct {
	t      *testing.T
	root   string
	keys   otatest.Keys
	layout *Sim
	dev    *Device
	health func(ctx context.Context, r Running) error
	clock  *fakeclock.Clock
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, root: t.TempDir(), keys: otatest.NewKeys(t), clock: fakeclock.New(otatest.Epoch)}
	r.health = func(context.Context, Running) error { return nil }
	var err error
	if r.layout, err = NewSim(r.root); err != nil {
		t.Fatal(err)
	}
	r.dev = r.device(r.keys.Trust(t))
	if _, err := r.dev.Provision(context.Background(), bytes.NewReader(r.art("1.0.0"))); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) device(tr *sign.Trust) *Device {
	r.t.Helper()
	d, err := New(Config{
		Layout: r.layout, Trust: tr, Kind: artifact.KindFirmware, Board: "sim", Arch: "amd64",
		Health:         func(ctx context.Context, run Running) error { return r.health(ctx, run) },
		Watchdog:       time.Minute,
		RevocationFile: filepath.Join(r.root, "revocations.json"),
		Clock:          r.clock, Logger: quiet(),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

func (r *rig) art(version string) []byte {
	p := otatest.Payload(version, 10_000)
	return r.keys.Artifact(r.t, otatest.Manifest(artifact.KindFirmware, version, p), p)
}

func (r *rig) env() Env {
	r.t.Helper()
	e, err := r.layout.ReadEnv()
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

// assertRunning checks the device runs version from a good, verified slot
// whose image is that version's payload.
func (r *rig) assertRunning(run Running, version string) {
	r.t.Helper()
	e := r.env()
	if run.Version != version || e.Active != run.Slot || e.Trial || e.Slots[run.Slot].State != StateGood {
		r.t.Fatalf("running %+v, env %+v; want %s good", run, e, version)
	}
	img, err := os.ReadFile(filepath.Join(r.layout.SlotPath(run.Slot), "image"))
	if err != nil {
		r.t.Fatal(err)
	}
	if !bytes.Equal(img, otatest.Payload(version, 10_000)) {
		r.t.Fatalf("slot %s image is not %s", run.Slot, version)
	}
}

func TestInstallCommit(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	m, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.1.0")))
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "1.1.0" {
		t.Errorf("installed %s", m.Version)
	}
	e := r.env()
	if e.Active != SlotB || !e.Trial || e.Fallback != SlotA || e.Slots[SlotB].State != StateTrial {
		t.Fatalf("after install env = %+v", e)
	}
	var checked Running
	r.health = func(_ context.Context, run Running) error { checked = run; return nil }
	run, err := r.dev.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.assertRunning(run, "1.1.0")
	if checked.Version != "1.1.0" || checked.Path != r.layout.SlotPath(SlotB) {
		t.Errorf("health check saw %+v", checked)
	}
	// The next update goes to slot A, the old one.
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.2.0"))); err != nil {
		t.Fatal(err)
	}
	if e := r.env(); e.Active != SlotA || e.Fallback != SlotB {
		t.Fatalf("second install env = %+v", e)
	}
	run, err = r.dev.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.assertRunning(run, "1.2.0")
}

func TestHealthCheckFailureRollsBack(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.1.0"))); err != nil {
		t.Fatal(err)
	}
	calls := 0
	r.health = func(_ context.Context, run Running) error {
		calls++
		if run.Version == "1.1.0" {
			return errors.New("camera did not open")
		}
		return nil
	}
	run, err := r.dev.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.assertRunning(run, "1.0.0")
	e := r.env()
	if e.Slots[SlotB].State != StateBad || e.Rollback == nil || e.Rollback.Version != "1.1.0" {
		t.Fatalf("env = %+v", e)
	}
	if calls != 1 {
		t.Errorf("health ran %d times, want once (the old slot is already good)", calls)
	}
	// The failed version may be fixed and shipped again as a newer one.
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.1.1"))); err != nil {
		t.Fatal(err)
	}
}

func TestWatchdogRollsBack(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.1.0"))); err != nil {
		t.Fatal(err)
	}
	cancelled := make(chan struct{})
	r.health = func(hctx context.Context, run Running) error {
		if run.Version != "1.1.0" {
			return nil
		}
		<-hctx.Done() // hangs until the watchdog gives up
		close(cancelled)
		return hctx.Err()
	}
	go func() {
		<-r.clock.Waiting()
		r.clock.Advance(time.Minute)
	}()
	run, err := r.dev.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-cancelled
	r.assertRunning(run, "1.0.0")
	if e := r.env(); e.Rollback == nil || e.Slots[SlotB].State != StateBad {
		t.Fatalf("env = %+v", e)
	}
}

func TestCrashLoopRollsBack(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.1.0"))); err != nil {
		t.Fatal(err)
	}
	// The new version crashes before its health check every time: the
	// bootloader boots it MaxAttempts times, then falls back.
	for i := 1; i <= 3; i++ {
		run, err := r.dev.Boot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if run.Version != "1.1.0" || r.env().Attempts != i {
			t.Fatalf("boot %d ran %s with %d attempts", i, run.Version, r.env().Attempts)
		}
	}
	run, err := r.dev.Boot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.assertRunning(run, "1.0.0")
	if e := r.env(); e.Rollback == nil || e.Slots[SlotB].State != StateBad {
		t.Fatalf("env = %+v", e)
	}
}

func TestCorruptGoodSlotFallsBack(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.1.0"))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.dev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Bit rot in the running slot: the boot chain refuses it and the older
	// good slot runs.
	img := filepath.Join(r.layout.SlotPath(SlotB), "image")
	b, _ := os.ReadFile(img)
	b[10] ^= 0xff
	os.WriteFile(img, b, 0o644)
	run, err := r.dev.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.assertRunning(run, "1.0.0")
}

// TestRefusedInstallChangesNothing: an artifact refused on its metadata
// does not touch the boot environment or the inactive slot; one whose
// payload fails its hash leaves the inactive slot unbootable and the
// device running the old version.
func TestRefusedInstallChangesNothing(t *testing.T) {
	ctx := context.Background()
	tamper := func(a []byte) []byte {
		a = append([]byte(nil), a...)
		i := bytes.LastIndex(a, []byte("block"))
		a[i] = 'B'
		return a
	}
	tests := []struct {
		name       string
		art        func(r *rig) []byte
		want       error
		envChanged bool
	}{
		{"downgrade", func(r *rig) []byte { return r.art("0.9.0") }, artifact.ErrDowngrade, false},
		{"same version", func(r *rig) []byte { return r.art("1.0.0") }, artifact.ErrDowngrade, false},
		{"wrong board", func(r *rig) []byte {
			p := otatest.Payload("1.1.0", 10_000)
			m := otatest.Manifest(artifact.KindFirmware, "1.1.0", p)
			m.Boards = []string{"rpi5"}
			return r.keys.Artifact(r.t, m, p)
		}, artifact.ErrWrongBoard, false},
		{"models pack to firmware installer", func(r *rig) []byte {
			p := otatest.Payload("1.1.0", 10_000)
			return r.keys.Artifact(r.t, otatest.Manifest(artifact.KindModels, "1.1.0", p), p)
		}, artifact.ErrWrongKind, false},
		{"untrusted signer", func(r *rig) []byte {
			p := otatest.Payload("1.1.0", 10_000)
			return otatest.NewKeys(r.t).Artifact(r.t, otatest.Manifest(artifact.KindFirmware, "1.1.0", p), p)
		}, artifact.ErrUntrustedKey, false},
		{"truncated", func(r *rig) []byte { a := r.art("1.1.0"); return a[:len(a)-3000] }, artifact.ErrTruncated, true},
		{"tampered payload", func(r *rig) []byte { return tamper(r.art("1.1.0")) }, artifact.ErrPayloadMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			before, _ := os.ReadFile(filepath.Join(r.root, "bootenv.json"))
			_, err := r.dev.Install(ctx, bytes.NewReader(tt.art(r)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			after, _ := os.ReadFile(filepath.Join(r.root, "bootenv.json"))
			if changed := !bytes.Equal(before, after); changed != tt.envChanged {
				t.Errorf("boot env changed = %v, want %v", changed, tt.envChanged)
			}
			ents, _ := os.ReadDir(r.layout.SlotPath(SlotB))
			if len(ents) != 0 {
				t.Errorf("inactive slot holds %d entries after a refusal", len(ents))
			}
			e := r.env()
			if e.Active != SlotA || e.Trial || e.Slots[SlotB].State == StateTrial || e.Slots[SlotB].State == StateGood {
				t.Fatalf("env = %+v", e)
			}
			run, err := r.dev.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r.assertRunning(run, "1.0.0")
		})
	}
}

func TestInstallDuringTrialRefused(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.1.0"))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.dev.Install(ctx, bytes.NewReader(r.art("1.2.0"))); !errors.Is(err, ErrTrialPending) {
		t.Fatalf("err = %v, want ErrTrialPending", err)
	}
}

func TestRevocationListPersists(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	old := r.keys.Signing
	next, _ := sign.GenerateSigningKey()
	next.Cert, _ = r.keys.Root.Certify(next.Public(), 2, otatest.Epoch.AddDate(0, -1, 0), otatest.Epoch.AddDate(1, 0, 0))
	rev, _ := r.keys.Root.SignRevocations(sign.RevocationList{Serial: 1, Issued: otatest.Epoch, Revoked: []sign.RevokedKey{{KeyID: old.ID(), Reason: "rotated"}}})
	p := otatest.Payload("1.1.0", 10_000)
	var a bytes.Buffer
	if err := artifact.Write(&a, otatest.Manifest(artifact.KindFirmware, "1.1.0", p), bytes.NewReader(p), next, rev); err != nil {
		t.Fatal(err)
	}
	if _, err := r.dev.Install(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if _, err := r.dev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// A device restarted with a fresh Trust reloads the stored list and
	// refuses the revoked key.
	dev := r.device(r.keys.Trust(t))
	if _, err := dev.Install(ctx, bytes.NewReader(r.art("1.2.0"))); !errors.Is(err, sign.ErrKeyRevoked) {
		t.Fatalf("err = %v, want ErrKeyRevoked", err)
	}
}

func TestProvisionTwiceRefused(t *testing.T) {
	r := newRig(t)
	if _, err := r.dev.Provision(context.Background(), bytes.NewReader(r.art("2.0.0"))); err == nil {
		t.Fatal("second provision accepted")
	}
}

// TestModelsDevice: a model pack goes through its own Device and layout
// with the same guarantees, and the two installers refuse each other's
// artifacts.
func TestModelsDevice(t *testing.T) {
	ctx := context.Background()
	keys := otatest.NewKeys(t)
	root := t.TempDir()
	layout, err := NewSim(filepath.Join(root, "models"))
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	dev, err := New(Config{
		Layout: layout, Trust: keys.Trust(t), Kind: artifact.KindModels, Board: "sim", Arch: "amd64", Logger: quiet(),
		Health: func(_ context.Context, r Running) error {
			// The engine would load the pack from r.Path and run its self-test.
			b, err := os.ReadFile(filepath.Join(r.Path, "image"))
			if err != nil {
				return err
			}
			loaded = append(loaded, r.Version)
			if !bytes.HasPrefix(b, []byte("image "+r.Version)) {
				return errors.New("self-test inference failed")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pack := func(kind artifact.Kind, v string) *bytes.Reader {
		p := otatest.Payload(v, 5000)
		return bytes.NewReader(keys.Artifact(t, otatest.Manifest(kind, v, p), p))
	}
	if _, err := dev.Provision(ctx, pack(artifact.KindModels, "2026.11.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Install(ctx, pack(artifact.KindFirmware, "2026.12.0")); !errors.Is(err, artifact.ErrWrongKind) {
		t.Fatalf("firmware into models slots: %v", err)
	}
	if _, err := dev.Install(ctx, pack(artifact.KindModels, "2026.12.0")); err != nil {
		t.Fatal(err)
	}
	run, err := dev.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run.Version != "2026.12.0" || run.Kind != artifact.KindModels || len(loaded) != 1 {
		t.Fatalf("running %+v, health saw %v", run, loaded)
	}
}
