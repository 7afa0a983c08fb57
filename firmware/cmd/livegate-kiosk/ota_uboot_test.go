package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"livegate.dev/firmware/config"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/install/ubootenvtest"
	"livegate.dev/ota/sign"
)

// The test binary is also the fake fw_printenv and fw_setenv.
func init() { ubootenvtest.MaybeRun() }

// ubootBoard is a U-Boot board in a directory: two partition files, a
// redundant U-Boot environment with the fake tools, the kernel command
// line, and a kiosk configuration with ota.layout: uboot.
type ubootBoard struct {
	t       *testing.T
	rig     *ubootenvtest.Rig
	cmdline string
	cfg     config.Config
	art     func(version string) []byte
}

func newUBootBoard(t *testing.T) *ubootBoard {
	t.Helper()
	dir := t.TempDir()
	erased := bytes.Repeat([]byte{0xff}, 64<<10)
	for _, p := range []string{"mmcblk0p2", "mmcblk0p3"} {
		if err := os.WriteFile(filepath.Join(dir, p), erased, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := &ubootBoard{t: t, cmdline: filepath.Join(dir, "cmdline"),
		rig: ubootenvtest.New(t, dir, map[string]string{"bootcmd": "run livegate_boot", "bootdelay": "2"})}
	roots := b.keys(dir)
	c := config.Default()
	c.DeviceID, c.Board.Board = "k1", "sim"
	c.OTA.Dir, c.OTA.FirmwareSlots, c.OTA.RootsFile = filepath.Join(dir, "ota"), filepath.Join(dir, "data", "ota", "uboot"), roots
	c.OTA.Layout, c.OTA.Restart = config.LayoutUBoot, "reboot"
	c.OTA.Partitions = config.Partitions{A: filepath.Join(dir, "mmcblk0p2"), B: filepath.Join(dir, "mmcblk0p3")}
	c.OTA.FwEnvConfig, c.OTA.FwPrintenv, c.OTA.FwSetenv = b.rig.Config, b.rig.PrintEnv, b.rig.SetEnv
	c.OTA.ModelsSlots = filepath.Join(dir, "data", "slots", "models")
	if err := c.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}
	b.cfg = c
	return b
}

// keys writes the trusted root and sets art, which signs firmware images.
func (b *ubootBoard) keys(dir string) (roots string) {
	t := b.t
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
	b.art = func(version string) []byte {
		p := bytes.Repeat([]byte("rootfs "+version+"\n"), 1000)
		sum := sha256.Sum256(p)
		m := &artifact.Manifest{Format: artifact.ManifestFormat, Kind: artifact.KindFirmware, Version: version,
			Boards: []string{"sim"}, Archs: []string{runtime.GOARCH}, MinVersion: "0.0.0",
			PayloadSize: int64(len(p)), PayloadSHA256: hex.EncodeToString(sum[:]), Created: now.Add(-time.Hour)}
		var buf bytes.Buffer
		if err := artifact.Write(&buf, m, bytes.NewReader(p), sk, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	return roots
}

// powerOn runs the boot script and writes the kernel command line of the
// slot it booted.
func (b *ubootBoard) powerOn() string {
	b.t.Helper()
	boot, err := ubootenvtest.PowerOn(b.rig.Env)
	if err != nil {
		b.t.Fatal(err)
	}
	b.setCmdline("console=ttyS0 root=/dev/mmcblk0p2 rootwait ro " + install.BootedSlotArg + "=" + boot.Slot)
	return boot.Slot
}

func (b *ubootBoard) setCmdline(s string) {
	b.t.Helper()
	if err := os.WriteFile(b.cmdline, []byte(s+"\n"), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// rebootRecorder stands in for the configured reboot.
type rebootRecorder struct {
	n   int
	err error
}

func (r *rebootRecorder) reboot(context.Context) error { r.n++; return r.err }

func TestOTAUBootStart(t *testing.T) {
	if testing.Short() {
		// The fake fw_printenv/fw_setenv are this test binary run under
		// those names; the arm64 run (-short, qemu-user without binfmt)
		// cannot exec it. The amd64 run covers the same code.
		t.Skip("re-executes the test binary as fw_printenv/fw_setenv, which qemu-user cannot exec")
	}
	ctx := t.Context()
	b := newUBootBoard(t)
	op, err := openOTAAt(b.cfg, "sim", quietLog(), b.cmdline)
	if err != nil {
		t.Fatal(err)
	}
	if op.cmdline != b.cmdline || op.models == nil || op.modelsLayout == nil {
		t.Fatalf("openOTA with layout uboot: cmdline %q, models %v (layout %v)", op.cmdline, op.models, op.modelsLayout)
	}
	// The factory writes 1.0.0 to partition A (no kernel runs from it yet).
	if _, err := op.fw.Provision(ctx, bytes.NewReader(b.art("1.0.0"))); err != nil {
		t.Fatal(err)
	}
	if p, _ := os.ReadFile(b.cfg.OTA.Partitions.A); !bytes.HasPrefix(p, []byte("rootfs 1.0.0\n")) {
		t.Fatalf("partition A holds %q…", p[:16])
	}
	if v := b.vars(); v[install.UBootVarSlot] != "a" || v["bootcmd"] != "run livegate_boot" {
		t.Fatalf("u-boot env after provisioning: %v", v)
	}

	expect := func(name string, rb *rebootRecorder, slot install.Slot, version string, reboots int) {
		t.Helper()
		run, err := op.bootFirmware(ctx, rb.reboot)
		if err != nil || run.Slot != slot || run.Version != version || rb.n != reboots {
			t.Fatalf("%s: bootFirmware = %+v, %v; %d reboots; want slot %s %s, %d reboots", name, run, err, rb.n, slot, version, reboots)
		}
	}

	rb := &rebootRecorder{}
	b.setCmdline("console=ttyS0 root=/dev/mmcblk0p2")
	expect("no "+install.BootedSlotArg+" on the command line", rb, install.SlotA, "1.0.0", 0)
	if got := b.powerOn(); got != "a" {
		t.Fatalf("booted %s", got)
	}
	expect("kernel and boot environment agree", rb, install.SlotA, "1.0.0", 0)

	// 1.1.0 goes to B on trial; the bootloader counts its first boot.
	if _, err := op.fw.Install(ctx, bytes.NewReader(b.art("1.1.0"))); err != nil {
		t.Fatal(err)
	}
	if got := b.powerOn(); got != "b" {
		t.Fatalf("booted %s", got)
	}
	expect("trial boot of B", rb, install.SlotB, "1.1.0", 0)
	run := install.Running{Slot: install.SlotB, Version: "1.1.0", Kind: artifact.KindFirmware, Path: b.cfg.OTA.Partitions.B}
	op.unhealthy = "1.1.0"
	if out, err := op.fw.Confirm(ctx, run); err != nil || out != install.OutcomeRolledBack {
		t.Fatalf("confirm = %s, %v", out, err)
	}

	// The kiosk starts again with B's rootfs still running (no reboot
	// yet): the boot environment says A. It must not serve from B.
	failing := &rebootRecorder{err: errors.New("systemctl: connection refused")}
	if run, err := op.bootFirmware(ctx, failing.reboot); err == nil || errors.Is(err, errRestart) || !strings.Contains(err.Error(), "reboot from slot b into slot a") || failing.n != 1 || run.Slot != "" {
		t.Fatalf("failed reboot: %+v, %v (%d reboots)", run, err, failing.n)
	}
	if run, err := op.bootFirmware(ctx, rb.reboot); !errors.Is(err, errRestart) || rb.n != 1 || run.Slot != "" {
		t.Fatalf("wrong rootfs: %+v, %v (%d reboots), want errRestart after one reboot", run, err, rb.n)
	}
	if v := b.vars(); v[install.UBootVarSlot] != "a" || v[install.UBootVarUpgrade] != "0" {
		t.Fatalf("u-boot env before the reboot: %v", v)
	}

	// After the reboot the bootloader starts A: nothing more to do.
	if got := b.powerOn(); got != "a" {
		t.Fatalf("booted %s after the rollback", got)
	}
	expect("after the reboot", rb, install.SlotA, "1.0.0", 1)
	env, err := op.fw.Env()
	if err != nil || env.Slots[install.SlotB].State != install.StateBad || env.Rollback == nil || env.Rollback.Version != "1.1.0" {
		t.Fatalf("env after the rollback: %+v, %v", env, err)
	}
}

func TestOTAUBootOpen(t *testing.T) {
	b := newUBootBoard(t)
	c := b.cfg
	c.OTA.Partitions.B = c.OTA.Partitions.A
	if _, err := openOTAAt(c, "sim", quietLog(), b.cmdline); err == nil || !strings.Contains(err.Error(), "ota.firmware_slots") {
		t.Fatalf("both slots on one partition: %v", err)
	}
	// The sim layout never reads the kernel command line.
	c = otaConfig(t)
	op, err := openOTAAt(c, "sim", quietLog(), b.cmdline)
	if err != nil || op.cmdline != "" {
		t.Fatalf("sim layout: cmdline %q, %v", op.cmdline, err)
	}
}

func (b *ubootBoard) vars() map[string]string {
	b.t.Helper()
	v, err := b.rig.Env.Load()
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}
