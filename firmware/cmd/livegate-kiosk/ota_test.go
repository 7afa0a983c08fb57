package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/outbox"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/firmware/update"
	"livegate.dev/firmware/update/updatetest"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
	"livegate.dev/proto"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func otaConfig(t *testing.T) config.Config {
	t.Helper()
	root, err := sign.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, sign.MarshalRootPublic(root.Public()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.DeviceID, c.Board.Board = "k1", "sim"
	c.OTA.Dir, c.OTA.FirmwareSlots, c.OTA.RootsFile = filepath.Join(dir, "ota"), filepath.Join(dir, "fw"), roots
	return c
}

func TestOpenOTA(t *testing.T) {
	c := otaConfig(t)
	op, err := openOTA(c, "sim", quietLog())
	if err != nil || op == nil || op.fw == nil || op.models != nil {
		t.Fatalf("openOTA = %+v, %v", op, err)
	}
	if got := op.installers(); len(got) != 1 || got[artifact.KindFirmware] != op.fw {
		t.Fatalf("installers %v", got)
	}
	c.OTA.ModelsSlots = filepath.Join(t.TempDir(), "models")
	if op, err := openOTA(c, "sim", quietLog()); err != nil || op.models == nil || len(op.installers()) != 2 {
		t.Fatalf("with models slots: %+v, %v", op, err)
	}
	c.OTA.RootsFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := openOTA(c, "sim", quietLog()); err == nil || !strings.Contains(err.Error(), "ota.roots_file") {
		t.Fatalf("missing roots: %v", err)
	}
	c.OTA.Dir = ""
	if op, err := openOTA(c, "sim", quietLog()); op != nil || err != nil {
		t.Fatalf("without ota.dir: %+v, %v", op, err)
	}
	c = otaConfig(t)
	c.OTA.CAFile = c.OTA.RootsFile // not a certificate
	if _, err := openOTA(c, "sim", quietLog()); err == nil || !strings.Contains(err.Error(), "ota.ca_file") {
		t.Fatalf("bad ca_file: %v", err)
	}
}

func TestRestart(t *testing.T) {
	for _, tt := range []struct{ mode, board, want string }{
		{"", "sim", "exit"}, {"", "rpi5", "reboot"}, {"exit", "rpi5", "exit"}, {"reboot", "sim", "reboot"},
	} {
		if got := restartMode(tt.mode, tt.board); got != tt.want {
			t.Errorf("restartMode(%q, %q) = %s, want %s", tt.mode, tt.board, got, tt.want)
		}
	}
	var requested atomic.Bool
	stopped := false
	restart := restartFunc("exit", "sim", func() { stopped = true }, &requested, quietLog())
	if err := restart(context.Background()); err != nil || !stopped || !requested.Load() {
		t.Fatalf("exit restart: err %v, stopped %v, requested %v", err, stopped, requested.Load())
	}
	var stderr strings.Builder
	if code := exitCode(errRestart, &stderr); code != 3 {
		t.Fatalf("exit status %d", code)
	}
}

// stillCamera yields the same grey frame again and again.
type stillCamera struct{ drivers.FrameSource }

func (stillCamera) Next(context.Context) (drivers.Frame, error) {
	return drivers.Frame{Format: drivers.FormatRGB24, Width: 8, Height: 8, Data: make([]byte, 8*8*3)}, nil
}

// failingCamera never yields a frame.
type failingCamera struct{ drivers.FrameSource }

func (failingCamera) Next(context.Context) (drivers.Frame, error) {
	return drivers.Frame{}, errors.New("VIDIOC_DQBUF: no such device")
}

func TestFirmwareHealth(t *testing.T) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "o.db"), outbox.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	never, err := fsync.New(fsync.Config{DeviceID: "k1", BrokerURL: "tcp://127.0.0.1:1", Outbox: ob, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	run := install.Running{Version: "1.1.0"}
	tests := []struct {
		name  string
		parts otaParts
		want  string // "" passes
	}{
		{"camera yields a frame, no cloud configured", otaParts{camera: stillCamera{}}, ""},
		{"no camera", otaParts{}, "camera"},
		{"camera yields nothing", otaParts{camera: failingCamera{}}, "camera yields no frame"},
		{"cloud unreachable", otaParts{camera: stillCamera{}, sync: never, cfg: config.OTA{CloudTimeout: time.Millisecond}}, "cloud not reachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.parts.log = quietLog()
			err := tt.parts.firmwareHealth(t.Context(), run)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("health = %v, want %q", err, tt.want)
			}
		})
	}
	if err := (&otaParts{log: quietLog()}).modelsHealth(t.Context(), run); err == nil {
		t.Fatal("models health passed without an engine")
	}
}

func TestRouter(t *testing.T) {
	rt := &router{kiosk: assignHandler{k: newTestKiosk(t), log: quietLog()}}
	upd := &proto.Command{Kind: proto.CommandUpdate, ExpiresAt: time.Now().Add(time.Hour), Args: []byte(`{"kind":"firmware"}`)}
	if r := rt.HandleCommand(t.Context(), "c1", upd); r.Status != "refused" || !strings.Contains(r.Error, "no updates") {
		t.Fatalf("update without an agent: %+v", r)
	}
	c := otaConfig(t)
	op, err := openOTA(c, "sim", quietLog())
	if err != nil {
		t.Fatal(err)
	}
	a, err := update.New(update.Config{Installers: op.installers(), Dir: c.OTA.Dir, Responder: nopResponder{}, Logger: quietLog(),
		Restart: func(context.Context) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rt.agent.Store(a)
	// The agent answers (here: the args are incomplete).
	if r := rt.HandleCommand(t.Context(), "c2", upd); r.Status != "refused" || !strings.Contains(string(r.Result), update.RefusedMalformed) {
		t.Fatalf("update through the router: %+v %s", r, r.Result)
	}
	// Other kinds still reach the kiosk loop.
	assign := &proto.Command{Kind: proto.CommandAssignSession, Args: []byte(`{"session_id":"s1"}`)}
	if r := rt.HandleCommand(t.Context(), "c3", assign); r.Status != "accepted" {
		t.Fatalf("assign through the router: %+v", r)
	}
}

type nopResponder struct{}

func (nopResponder) Respond(context.Context, string, proto.CommandResponse) error { return nil }

// TestProvisionFactory: empty sim slots get the factory image at the first
// start, verified like any artifact; slots that hold a version keep it;
// without a factory image the error says which key to set.
func TestProvisionFactory(t *testing.T) {
	keys, err := updatetest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, kind artifact.Kind, version string) string {
		b, err := keys.Artifact(kind, version, 4096)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	factory, newer, models := write("fw-1.0.0.lgota", artifact.KindFirmware, "1.0.0"), write("fw-1.1.0.lgota", artifact.KindFirmware, "1.1.0"),
		write("models-1.0.0.lgota", artifact.KindModels, "1.0.0")
	c := otaConfig(t)
	if err := os.WriteFile(c.OTA.RootsFile, keys.RootsPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	provision := func(c config.Config) (*otaParts, error) {
		op, err := openOTA(c, "sim", quietLog())
		if err != nil {
			t.Fatal(err)
		}
		return op, op.provisionFactory(t.Context())
	}
	tests := []struct {
		name    string
		factory string
		want    string // error text; "" for success
	}{
		{"no factory image", "", "set ota.factory_firmware to the signed factory image"},
		{"missing file", filepath.Join(dir, "nope.lgota"), "ota.factory_firmware: open"},
		{"a models pack offered as firmware", models, "wrong kind"},
		{"factory image", factory, ""},
		{"already provisioned: a newer image is not installed", newer, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := c
			c.OTA.FactoryFirmware = tt.factory
			op, err := provision(c)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("provisionFactory = %v, want %q", err, tt.want)
				}
				if _, err := op.fw.Env(); !errors.Is(err, install.ErrNotProvisioned) {
					t.Fatalf("slots after a refusal: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			run, err := op.fw.Boot(t.Context())
			if err != nil || run.Version != "1.0.0" || run.Slot != install.SlotA {
				t.Fatalf("boot after provisioning: %+v, %v", run, err)
			}
		})
	}

	// Models slots: without their factory image the error names its key.
	c.OTA.FactoryFirmware, c.OTA.ModelsSlots = factory, filepath.Join(t.TempDir(), "models")
	if _, err := provision(c); err == nil || !strings.Contains(err.Error(), "set ota.factory_models") || !strings.Contains(err.Error(), "--kind models") {
		t.Fatalf("empty models slots: %v", err)
	}
}
