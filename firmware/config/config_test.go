package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     []string
		wantKey string // "" means valid
		check   func(t *testing.T, c Config)
	}{
		{name: "minimal", yaml: "device_id: k1\nboard: {board: sim}\n", check: func(t *testing.T, c Config) {
			if c.RelayPulse != 1500*time.Millisecond || c.Session.Mode != "passive" || *c.Session.AuditFrames != 4 {
				t.Errorf("defaults not applied: %+v", c)
			}
		}},
		{name: "durations and overrides", yaml: "device_id: k1\nboard: {board: sim, relay_max_on: 2s}\nrelay_pulse: 800ms\ncool_down: 1s\n", check: func(t *testing.T, c Config) {
			p, err := c.Profile()
			if err != nil || p.Relay.MaxOn != 2*time.Second || c.RelayPulse != 800*time.Millisecond {
				t.Errorf("got %v %v %v", p.Relay.MaxOn, c.RelayPulse, err)
			}
		}},
		{name: "env override", yaml: "device_id: k1\nboard: {board: sim}\n", env: []string{"LIVEGATE_KIOSK_RELAY_PULSE=2s", "LIVEGATE_KIOSK_STORE_PATH=/tmp/x.db", "LIVEGATE_KIOSK_BOARD_CAMERA_WIDTH=320", "PATH=/bin"}, check: func(t *testing.T, c Config) {
			if c.RelayPulse != 2*time.Second || c.Store.Path != "/tmp/x.db" || *c.Board.CameraWidth != 320 {
				t.Errorf("env not applied: %v %q %v", c.RelayPulse, c.Store.Path, c.Board.CameraWidth)
			}
		}},
		{name: "unknown env", yaml: "device_id: k1\nboard: {board: sim}\n", env: []string{"LIVEGATE_KIOSK_RELAY_PULS=2s"}, wantKey: "LIVEGATE_KIOSK_RELAY_PULS"},
		{name: "bad env value", yaml: "device_id: k1\nboard: {board: sim}\n", env: []string{"LIVEGATE_KIOSK_COOL_DOWN=soon"}, wantKey: "cool_down"},
		{name: "unknown key", yaml: "device_id: k1\nboard: {board: sim}\nrelay_puls: 1s\n", wantKey: "relay_puls"},
		{name: "missing board", yaml: "device_id: k1\n", wantKey: "board.board"},
		{name: "unknown board", yaml: "device_id: k1\nboard: {board: rpi9}\n", wantKey: "board"},
		{name: "board field", yaml: "device_id: k1\nboard: {board: sim, relay_max_on: 1m}\n", wantKey: "relay.max_on"},
		{name: "threshold", yaml: "device_id: k1\nboard: {board: sim}\nsession: {pass_threshold: 1.5}\n", wantKey: "session.pass_threshold"},
		{name: "mode", yaml: "device_id: k1\nboard: {board: sim}\nsession: {mode: lazy}\n", wantKey: "session.mode"},
		{name: "audit frames", yaml: "device_id: k1\nboard: {board: sim}\nsession: {audit_frames: 9}\n", wantKey: "session.audit_frames"},
		{name: "relay pulse", yaml: "device_id: k1\nboard: {board: sim}\nrelay_pulse: 0s\n", wantKey: "relay_pulse"},
		{name: "broker scheme", yaml: "device_id: k1\nboard: {board: sim}\ncloud: {broker: example:1883}\n", wantKey: "cloud.broker"},
		{name: "hash", yaml: "device_id: k1\nboard: {board: sim}\ntechnician: {user: tech, password_hash: plain}\n", wantKey: "technician.password_hash"},
		{name: "device id", yaml: "device_id: a/b\nboard: {board: sim}\n", wantKey: "device_id"},
		{name: "ota", yaml: "device_id: k1\nboard: {board: sim}\nota: {dir: /v/ota, firmware_slots: /v/fw, roots_file: /e/roots.pem}\n", check: func(t *testing.T, c Config) {
			if c.OTA.Watchdog != 5*time.Minute || c.OTA.CloudTimeout != 2*time.Minute || c.OTA.MaxAttempts != 3 || c.OTA.Restart != "" {
				t.Errorf("ota defaults not applied: %+v", c.OTA)
			}
		}},
		{name: "ota without slots", yaml: "device_id: k1\nboard: {board: sim}\nota: {dir: /v/ota, roots_file: /e/roots.pem}\n", wantKey: "ota.firmware_slots"},
		{name: "ota without roots", yaml: "device_id: k1\nboard: {board: sim}\nota: {dir: /v/ota, firmware_slots: /v/fw}\n", wantKey: "ota.roots_file"},
		{name: "ota restart", yaml: "device_id: k1\nboard: {board: sim}\nota: {restart: kexec}\n", wantKey: "ota.restart"},
		{name: "ota uboot", yaml: "device_id: k1\nboard: {board: rpi4}\nota: {dir: /v/ota, firmware_slots: /data/ota/uboot, roots_file: /e/roots.pem, layout: uboot, partitions: {a: /dev/mmcblk0p2, b: /dev/mmcblk0p3}, fw_env_config: /etc/fw_env.config}\n", check: func(t *testing.T, c Config) {
			if c.OTA.Layout != LayoutUBoot || c.OTA.Partitions != (Partitions{A: "/dev/mmcblk0p2", B: "/dev/mmcblk0p3"}) || c.OTA.FwEnvConfig != "/etc/fw_env.config" {
				t.Errorf("ota uboot keys not read: %+v", c.OTA)
			}
		}},
		{name: "ota uboot from env", yaml: "device_id: k1\nboard: {board: rpi4}\n", env: []string{"LIVEGATE_KIOSK_OTA_LAYOUT=uboot", "LIVEGATE_KIOSK_OTA_PARTITIONS_A=/dev/sda2", "LIVEGATE_KIOSK_OTA_FW_SETENV=/usr/sbin/fw_setenv"}, check: func(t *testing.T, c Config) {
			if c.OTA.Layout != LayoutUBoot || c.OTA.Partitions.A != "/dev/sda2" || c.OTA.FwSetenv != "/usr/sbin/fw_setenv" {
				t.Errorf("ota uboot env not applied: %+v", c.OTA)
			}
		}},
		{name: "ota factory images", yaml: "device_id: k1\nboard: {board: sim}\nota: {dir: /v/ota, firmware_slots: /v/fw, models_slots: /v/models, roots_file: /e/roots.pem, factory_firmware: /e/fw-1.0.0.lgota, factory_models: /e/models-1.0.0.lgota}\n", check: func(t *testing.T, c Config) {
			if c.OTA.FactoryFirmware != "/e/fw-1.0.0.lgota" || c.OTA.FactoryModels != "/e/models-1.0.0.lgota" {
				t.Errorf("factory keys not read: %+v", c.OTA)
			}
		}},
		{name: "ota factory models without models slots", yaml: "device_id: k1\nboard: {board: sim}\nota: {factory_models: /e/m.lgota}\n", wantKey: "ota.factory_models"},
		{name: "ota factory firmware with uboot", yaml: "device_id: k1\nboard: {board: rpi4}\nota: {layout: uboot, factory_firmware: /e/fw.lgota}\n", wantKey: "ota.factory_firmware"},
		{name: "ota layout", yaml: "device_id: k1\nboard: {board: sim}\nota: {layout: grub}\n", wantKey: "ota.layout"},
		{name: "ota uboot without partition a", yaml: "device_id: k1\nboard: {board: rpi4}\nota: {dir: /v/ota, firmware_slots: /v/fw, roots_file: /e/roots.pem, layout: uboot, partitions: {b: /dev/mmcblk0p3}}\n", wantKey: "ota.partitions.a"},
		{name: "ota uboot without partition b", yaml: "device_id: k1\nboard: {board: rpi4}\nota: {dir: /v/ota, firmware_slots: /v/fw, roots_file: /e/roots.pem, layout: uboot, partitions: {a: /dev/mmcblk0p2}}\n", wantKey: "ota.partitions.b"},
		{name: "ota uboot same partition", yaml: "device_id: k1\nboard: {board: rpi4}\nota: {layout: uboot, partitions: {a: /dev/mmcblk0p2, b: /dev/mmcblk0p2}}\n", wantKey: "ota.partitions.b"},
		{name: "ota uboot max attempts", yaml: "device_id: k1\nboard: {board: rpi4}\nota: {layout: uboot, max_attempts: 9}\n", wantKey: "ota.max_attempts"},
		{name: "ota uboot restart exit", yaml: "device_id: k1\nboard: {board: rpi4}\nota: {layout: uboot, restart: exit}\n", wantKey: "ota.restart"},
		{name: "ota uboot on sim resolves to exit", yaml: "device_id: k1\nboard: {board: sim}\nota: {layout: uboot}\n", wantKey: "ota.restart"},
		{name: "ota uboot on sim with reboot", yaml: "device_id: k1\nboard: {board: sim}\nota: {layout: uboot, restart: reboot}\n", check: func(t *testing.T, c Config) {}},
		{name: "ota partitions on sim layout", yaml: "device_id: k1\nboard: {board: sim}\nota: {partitions: {a: /dev/mmcblk0p2}}\n", wantKey: "ota.partitions.a"},
		{name: "ota fw_env_config on sim layout", yaml: "device_id: k1\nboard: {board: sim}\nota: {layout: sim, fw_env_config: /etc/fw_env.config}\n", wantKey: "ota.fw_env_config"},
		{name: "ota fw_printenv on sim layout", yaml: "device_id: k1\nboard: {board: sim}\nota: {fw_printenv: /usr/bin/fw_printenv}\n", wantKey: "ota.fw_printenv"},
		{name: "recordings off by default", yaml: "device_id: k1\nboard: {board: sim}\n", check: func(t *testing.T, c Config) {
			if c.Recordings != (Recordings{Keep: 5, MaxBytes: 256 << 20}) {
				t.Errorf("recordings defaults %+v", c.Recordings)
			}
		}},
		{name: "recordings", yaml: "device_id: k1\nboard: {board: sim}\nrecordings: {dir: /var/lib/livegate/recordings, keep: 3}\n", env: []string{"LIVEGATE_KIOSK_RECORDINGS_MAX_BYTES=67108864"}, check: func(t *testing.T, c Config) {
			if c.Recordings != (Recordings{Dir: "/var/lib/livegate/recordings", Keep: 3, MaxBytes: 64 << 20}) {
				t.Errorf("recordings %+v", c.Recordings)
			}
		}},
		{name: "recordings keep", yaml: "device_id: k1\nboard: {board: sim}\nrecordings: {dir: /r, keep: 0}\n", wantKey: "recordings.keep"},
		{name: "recordings max bytes", yaml: "device_id: k1\nboard: {board: sim}\nrecordings: {max_bytes: 1000}\n", wantKey: "recordings.max_bytes"},
		{name: "recordings in the outbox dir", yaml: "device_id: k1\nboard: {board: sim}\nrecordings: {dir: /var/lib/livegate/}\n", wantKey: "recordings.dir"},
		{name: "ota cloud timeout", yaml: "device_id: k1\nboard: {board: sim}\nota: {watchdog: 1m, cloud_timeout: 2m}\n", wantKey: "ota.cloud_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), tt.env)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, c)
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tt.wantKey)
			}
			if !strings.Contains(err.Error(), tt.wantKey) {
				t.Errorf("error %q does not name %s", err, tt.wantKey)
			}
		})
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPasswordCost("correct horse", MinIterations)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := HashPasswordCost("correct horse", 100); err == nil {
		t.Error("100 iterations accepted")
	}
	if strings.Contains(h, "correct") {
		t.Fatal("hash contains the password")
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "correct hors") || CheckPassword("junk", "x") {
		t.Error("CheckPassword wrong")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("short password accepted")
	}
	if _, err := Parse([]byte("device_id: k\nboard: {board: sim}\ntechnician: {user: t, password_hash: \""+h+"\"}\n"), nil); err != nil {
		t.Errorf("valid hash refused: %v", err)
	}
}

func TestEnvNames(t *testing.T) {
	n := strings.Join(EnvNames(), " ")
	for _, want := range []string{"LIVEGATE_KIOSK_RELAY_PULSE", "LIVEGATE_KIOSK_SESSION_PASS_THRESHOLD", "LIVEGATE_KIOSK_TECHNICIAN_LISTEN", "LIVEGATE_KIOSK_BOARD_RELAY_PIN"} {
		if !strings.Contains(n, want) {
			t.Errorf("missing %s", want)
		}
	}
}

func TestExampleConfig(t *testing.T) {
	c, err := Load("../deploy/kiosk.example.yaml", nil)
	if err != nil {
		t.Fatalf("the shipped example does not load: %v", err)
	}
	if c.Board.Board != "rpi4" || c.Store.Path != "/var/lib/livegate/outbox.db" {
		t.Errorf("example parsed as %+v", c)
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "kiosk.yaml")
	if err := WriteFile(path, []byte("device_id: k1\nboard: {board: sim}\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("written file: %v, %v; want mode 0600", fi, err)
	}
	if c, err := Load(path, nil); err != nil || c.DeviceID != "k1" {
		t.Fatalf("load back: %+v, %v", c, err)
	}
	// An invalid config is refused and the file kept.
	if err := WriteFile(path, []byte("board: {board: pi3}\n")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid config written: %v", err)
	}
	if c, err := Load(path, nil); err != nil || c.DeviceID != "k1" {
		t.Fatalf("the old file changed: %+v, %v", c, err)
	}
}
