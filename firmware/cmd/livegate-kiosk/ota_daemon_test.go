package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
)

// otaSlots provisions sim firmware slots with 1.0.0 and installs 1.1.0 on
// trial, as the agent leaves them before its restart.
func otaSlots(t *testing.T, dir string) (roots string) {
	t.Helper()
	root, err := sign.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sign.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if sk.Cert, err = root.Certify(sk.Public(), 1, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	roots = filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, sign.MarshalRootPublic(root.Public()), 0o644); err != nil {
		t.Fatal(err)
	}
	art := func(version string) []byte {
		p := bytes.Repeat([]byte("image "+version+"\n"), 1000)
		sum := sha256.Sum256(p)
		m := &artifact.Manifest{Format: artifact.ManifestFormat, Kind: artifact.KindFirmware, Version: version,
			Boards: []string{"sim"}, Archs: []string{runtime.GOARCH}, MinVersion: "0.0.0",
			PayloadSize: int64(len(p)), PayloadSHA256: hex.EncodeToString(sum[:]), Created: now.Add(-time.Hour)}
		var b bytes.Buffer
		if err := artifact.Write(&b, m, bytes.NewReader(p), sk, nil); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	dev := slotsDevice(t, dir, root.Public())
	if _, err := dev.Provision(t.Context(), bytes.NewReader(art("1.0.0"))); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Install(t.Context(), bytes.NewReader(art("1.1.0"))); err != nil {
		t.Fatal(err)
	}
	return roots
}

func slotsDevice(t *testing.T, dir string, roots ...ed25519.PublicKey) *install.Device {
	t.Helper()
	layout, err := install.NewSim(filepath.Join(dir, "fw"))
	if err != nil {
		t.Fatal(err)
	}
	if len(roots) == 0 {
		b, _ := os.ReadFile(filepath.Join(dir, "roots.pem"))
		if roots, err = sign.ParseRootPublic(b); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := sign.NewTrust(roots, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	d, err := install.New(install.Config{Layout: layout, Trust: tr, Kind: artifact.KindFirmware, Board: "sim", Arch: runtime.GOARCH,
		Health: func(context.Context, install.Running) error { return nil }, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// startKiosk runs the daemon as a child; once it logs "kiosk running" it
// is sent SIGTERM. It returns the exit status and the log.
func startKiosk(t *testing.T, cfg, state, unhealthy string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LIVEGATE_TEST_KIOSK_CHILD="+cfg, "LIVEGATE_TEST_KIOSK_SIMSTATE="+state, "LIVEGATE_TEST_KIOSK_UNHEALTHY="+unhealthy)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log = append(log, sc.Text())
		if strings.Contains(sc.Text(), "kiosk running") {
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, strings.Join(log, "\n")
	case errors.As(err, &ee):
		return ee.ExitCode(), strings.Join(log, "\n")
	}
	t.Fatal(err)
	return 0, ""
}

// TestOTAStart: the daemon confirms a new firmware version on trial with
// its health check before it serves; a failing check rolls back and the
// kiosk exits with status 3 so its supervisor starts it on the old slot.
func TestOTAStart(t *testing.T) {
	bonaFide, _ := needClips(t)
	for _, tt := range []struct {
		name      string
		unhealthy string
		runs      string
	}{
		{"healthy", "", "1.1.0"},
		{"unhealthy", "1.1.0", "1.0.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			roots := otaSlots(t, dir)
			cfg := filepath.Join(dir, "kiosk.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf(`device_id: otatest
board: {board: sim, camera_source: file, camera_fps: 0, camera_device: %q, pir_pin: "", tof_bus: ""}
store: {path: %q}
technician: {listen: "127.0.0.1:0"}
ota: {dir: %q, firmware_slots: %q, roots_file: %q}
`, bonaFide, filepath.Join(dir, "outbox.db"), filepath.Join(dir, "ota"), filepath.Join(dir, "fw"), roots)), 0o600)
			code, log := startKiosk(t, cfg, dir, tt.unhealthy)
			if tt.unhealthy != "" {
				if code != exitRestart || !strings.Contains(log, "restarting into the old slot") {
					t.Fatalf("exit %d, want %d after the rollback\n%s", code, exitRestart, log)
				}
				// The supervisor starts it again: the old slot runs.
				code, log = startKiosk(t, cfg, dir, tt.unhealthy)
			}
			if code != 0 || !strings.Contains(log, "kiosk running") || !strings.Contains(log, "version="+tt.runs) {
				t.Fatalf("exit %d, want a kiosk running %s\n%s", code, tt.runs, log)
			}
			env, err := slotsDevice(t, dir).Env()
			if err != nil {
				t.Fatal(err)
			}
			if env.Trial || env.Slots[env.Active].Version != tt.runs || env.Slots[env.Active].State != install.StateGood {
				t.Fatalf("boot env %+v, want %s good", env, tt.runs)
			}
			if tt.unhealthy != "" && (env.Rollback == nil || !strings.Contains(env.Rollback.Reason, "--sim-unhealthy")) {
				t.Fatalf("rollback %+v", env.Rollback)
			}
		})
	}
}
