package install_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/install/layouttest"
	"livegate.dev/ota/install/ubootenvtest"
	"livegate.dev/ota/internal/failpoint"
	"livegate.dev/ota/internal/otatest"
	"livegate.dev/ota/sign"
)

// The test binary is also the fake fw_printenv/fw_setenv, and the update
// agent of the U-Boot power-cut test.
const ubootChildEnv = "LIVEGATE_OTA_UBOOT_CHILD"

func init() {
	ubootenvtest.MaybeRun()
	if dir := os.Getenv(ubootChildEnv); dir != "" {
		if err := ubootChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "uboot child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
}

// board is a U-Boot board in a directory: two partition files, a redundant
// U-Boot environment with the fake tools, and a state directory standing
// for the persistent data partition.
type board struct {
	t      testing.TB
	dir    string
	env    *ubootenvtest.Env
	layout *install.UBoot
}

const partSize = 3 << 20

// newBoard makes the board's files in dir; openBoard opens an existing one.
func newBoard(t testing.TB, dir string, size int64) *board {
	t.Helper()
	return newBoardTools(t, dir, size, "", "")
}

// newBoardTools is newBoard with the given fw_printenv and fw_setenv (the
// real libubootenv tools) instead of the fakes, if not empty.
func newBoardTools(t testing.TB, dir string, size int64, printenv, setenv string) *board {
	t.Helper()
	erased := bytes.Repeat([]byte{0xff}, int(size))
	for _, p := range []string{"mmcblk0p2", "mmcblk0p3"} {
		if err := os.WriteFile(filepath.Join(dir, p), erased, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := ubootenvtest.New(t, dir, map[string]string{"bootcmd": "run livegate_boot", "bootdelay": "2"})
	for link, tool := range map[string]string{r.PrintEnv: printenv, r.SetEnv: setenv} {
		if tool == "" {
			continue
		}
		if err := os.Remove(link); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(tool, link); err != nil {
			t.Fatal(err)
		}
	}
	return openBoard(t, dir)
}

func openBoard(t testing.TB, dir string) *board {
	l, err := install.NewUBoot(install.UBootConfig{
		A:         install.UBootSlot{Device: filepath.Join(dir, "mmcblk0p2")},
		B:         install.UBootSlot{Device: filepath.Join(dir, "mmcblk0p3")},
		StateDir:  filepath.Join(dir, "data", "ota"),
		PrintEnv:  filepath.Join(dir, ubootenvtest.PrintEnvName),
		SetEnv:    filepath.Join(dir, ubootenvtest.SetEnvName),
		EnvConfig: filepath.Join(dir, "fw_env.config"),
		Cmdline:   filepath.Join(dir, "cmdline"),
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := ubootenvtest.ReadConfig(filepath.Join(dir, "fw_env.config"))
	if err != nil {
		t.Fatal(err)
	}
	return &board{t: t, dir: dir, env: env, layout: l}
}

func (b *board) device(trust *sign.Trust, health install.HealthCheck) *install.Device {
	b.t.Helper()
	d, err := install.New(install.Config{
		Layout: b.layout, Trust: trust, Kind: artifact.KindFirmware, Board: "sim", Arch: "amd64",
		Health: health, Watchdog: time.Hour, MaxAttempts: b.layout.BootLimit(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return d
}

func (b *board) powerOn() ubootenvtest.Boot {
	b.t.Helper()
	boot, err := ubootenvtest.PowerOn(b.env)
	if err != nil {
		b.t.Fatal(err)
	}
	return boot
}

func (b *board) vars() map[string]string {
	b.t.Helper()
	v, err := b.env.Load()
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b *board) readEnv() install.Env {
	b.t.Helper()
	e, err := b.layout.ReadEnv()
	if err != nil {
		b.t.Fatal(err)
	}
	return e
}

func (b *board) partSum(s install.Slot) [32]byte {
	b.t.Helper()
	p, err := os.ReadFile(b.layout.SlotPath(s))
	if err != nil {
		b.t.Fatal(err)
	}
	return sha256.Sum256(p)
}

func healthy(context.Context, install.Running) error { return nil }

const ubootImage = 5 << 19 // 2.5 MiB: several 1 MiB chunks

func ubootArt(t testing.TB, keys otatest.Keys, version string, n int) []byte {
	// otatest.Payload's 4 KiB head repeated: as version-specific, and
	// cheap under the race detector at megabytes.
	head := otatest.Payload(version, 4096)
	p := bytes.Repeat(head, n/len(head)+1)[:n]
	return keys.Artifact(t, otatest.Manifest(artifact.KindFirmware, version, p), p)
}

// provisioned returns a board with 1.0.0 good in slot A and 1.1.0 on trial
// in slot B (not yet booted).
func provisioned(t *testing.T, health install.HealthCheck) (*board, *install.Device) {
	return provisionedOn(t, newBoard(t, t.TempDir(), partSize), health)
}

func provisionedOn(t *testing.T, b *board, health install.HealthCheck) (*board, *install.Device) {
	keys := otatest.NewKeys(t)
	dev := b.device(keys.Trust(t), health)
	ctx := context.Background()
	if _, err := dev.Provision(ctx, bytes.NewReader(ubootArt(t, keys, "1.0.0", ubootImage))); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Install(ctx, bytes.NewReader(ubootArt(t, keys, "1.1.0", ubootImage))); err != nil {
		t.Fatal(err)
	}
	return b, dev
}

func TestUBootConformance(t *testing.T) {
	layouttest.Run(t, func(t *testing.T) install.Layout {
		return newBoard(t, t.TempDir(), 128<<10).layout
	})
}

func TestUBootVariablesMatchBootScript(t *testing.T) {
	for got, want := range map[string]string{
		install.UBootVarSlot: ubootenvtest.VarSlot, install.UBootVarUpgrade: ubootenvtest.VarUpgrade,
		install.UBootVarBootCount: ubootenvtest.VarBootCount, install.UBootVarBootLimit: ubootenvtest.VarBootLimit,
	} {
		if got != want {
			t.Errorf("layout variable %s, boot script variable %s", got, want)
		}
	}
}

// errIfRead fails the test if the layout reads the payload.
type errIfRead struct{ t *testing.T }

func (r errIfRead) Read([]byte) (int, error) {
	r.t.Error("payload read although the image cannot fit")
	return 0, io.ErrUnexpectedEOF
}

func TestUBootImageLargerThanPartition(t *testing.T) {
	b := newBoard(t, t.TempDir(), 64<<10)
	pattern := bytes.Repeat([]byte("old rootfs "), (64<<10)/11+1)[:64<<10]
	if err := os.WriteFile(b.layout.SlotPath(install.SlotB), pattern, 0o644); err != nil {
		t.Fatal(err)
	}
	m := otatest.Manifest(artifact.KindFirmware, "1.1.0", make([]byte, 64<<10+1))
	err := b.layout.WriteSlot(context.Background(), install.SlotB, m, errIfRead{t})
	if !errors.Is(err, install.ErrImageTooLarge) {
		t.Fatalf("WriteSlot of a too large image: %v, want ErrImageTooLarge", err)
	}
	got, _ := os.ReadFile(b.layout.SlotPath(install.SlotB))
	if !bytes.Equal(got, pattern) {
		t.Fatal("the partition changed")
	}

	// Through Device.Install: refused, slot A still runs, its partition untouched.
	keys := otatest.NewKeys(t)
	dev := b.device(keys.Trust(t), healthy)
	if _, err := dev.Provision(context.Background(), bytes.NewReader(ubootArt(t, keys, "1.0.0", 60<<10))); err != nil {
		t.Fatal(err)
	}
	before := b.partSum(install.SlotA)
	if _, err := dev.Install(context.Background(), bytes.NewReader(ubootArt(t, keys, "1.1.0", 64<<10+1))); !errors.Is(err, install.ErrImageTooLarge) {
		t.Fatalf("Install of a too large image: %v", err)
	}
	if b.partSum(install.SlotA) != before {
		t.Fatal("slot A's partition changed")
	}
	boot := b.powerOn()
	run, err := dev.Start(context.Background())
	if err != nil || boot.Slot != "a" || run.Slot != install.SlotA || run.Version != "1.0.0" {
		t.Fatalf("after the refusal: bootloader %+v, device %+v, %v", boot, run, err)
	}
}

func TestUBootOtherVariablesKept(t *testing.T) {
	b, _ := provisioned(t, healthy)
	v := b.vars()
	if v["bootcmd"] != "run livegate_boot" || v["bootdelay"] != "2" {
		t.Fatalf("the board's own variables changed: %v", v)
	}
	if v["livegate_slot"] != "b" || v["upgrade_available"] != "1" || v["bootcount"] != "0" || v["bootlimit"] != "3" {
		t.Fatalf("after install: %v", v)
	}
}

// TestUBootHealthy: the first trial boot passes its check; from then on the
// bootloader counts nothing.
func TestUBootHealthy(t *testing.T) {
	b, dev := provisioned(t, healthy)
	boot := b.powerOn()
	if boot.Slot != "b" || !boot.Counted || boot.Count != 1 {
		t.Fatalf("first boot after install: %+v", boot)
	}
	run, err := dev.Start(context.Background())
	if err != nil || run.Slot != install.SlotB || run.Version != "1.1.0" {
		t.Fatalf("Start = %+v, %v", run, err)
	}
	if v := b.vars(); v["upgrade_available"] != "0" || v["bootcount"] != "0" || v["livegate_slot"] != "b" {
		t.Fatalf("after commit: %v", v)
	}
	for range 5 {
		if boot := b.powerOn(); boot.Slot != "b" || boot.Counted {
			t.Fatalf("boot of a committed slot: %+v", boot)
		}
		if run, err := dev.Start(context.Background()); err != nil || run.Version != "1.1.0" {
			t.Fatalf("Start = %+v, %v", run, err)
		}
	}
}

// TestUBootHealthFails: Confirm rolls back in userspace; the reboot that
// follows starts slot A from the bootloader.
func TestUBootHealthFails(t *testing.T) {
	b, dev := provisioned(t, func(_ context.Context, run install.Running) error {
		if run.Version == "1.1.0" {
			return errors.New("camera does not open")
		}
		return nil
	})
	if boot := b.powerOn(); boot.Slot != "b" {
		t.Fatalf("first boot: %+v", boot)
	}
	run, err := dev.Start(context.Background())
	if err != nil || run.Slot != install.SlotA {
		t.Fatalf("Start = %+v, %v", run, err)
	}
	if v := b.vars(); v["livegate_slot"] != "a" || v["upgrade_available"] != "0" {
		t.Fatalf("after the rollback: %v", v)
	}
	// Slot B's rootfs is still running: the device reboots into A.
	if boot := b.powerOn(); boot.Slot != "a" || boot.Counted {
		t.Fatalf("boot after the rollback: %+v", boot)
	}
	e := b.readEnv()
	if e.Active != install.SlotA || e.Slots[install.SlotB].State != install.StateBad || e.Rollback == nil ||
		!strings.Contains(e.Rollback.Reason, "camera does not open") {
		t.Fatalf("env = %+v", e)
	}
}

// TestUBootCrashLoop: the new version never gets to its verdict. The
// bootloader counts each trial boot, and at the fourth power-on boots slot
// A without Linux having run; Device.Start on A then reads that as the
// rollback and runs 1.0.0. In each row, reachesUserspace[i] says whether
// trial boot i got as far as Device.Boot (a kernel panic does not).
func TestUBootCrashLoop(t *testing.T) {
	tests := []struct {
		name             string
		reachesUserspace []bool
	}{
		{"killed during every health check", []bool{true, true, true}},
		{"kernel panics every time", []bool{false, false, false}},
		{"one health check, then kernel panics", []bool{true, false, false}},
		{"kernel panic, then health checks", []bool{false, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testCrashLoop(t, newBoard(t, t.TempDir(), partSize), tt.reachesUserspace)
		})
	}
}

func testCrashLoop(t *testing.T, b *board, reachesUserspace []bool) {
	b, dev := provisionedOn(t, b, func(ctx context.Context, _ install.Running) error {
		return errors.New("not reached")
	})
	for i, up := range reachesUserspace {
		boot := b.powerOn()
		if boot.Slot != "b" || !boot.Counted || boot.FellBack || boot.Count != i+1 {
			t.Fatalf("trial boot %d: %+v", i+1, boot)
		}
		if !up {
			continue
		}
		// Linux runs B: Device.Boot must agree with the bootloader
		// and neither roll back nor count a second time.
		run, err := dev.Boot(context.Background())
		if err != nil || run.Slot != install.SlotB {
			t.Fatalf("Device.Boot on trial boot %d = %+v, %v", i+1, run, err)
		}
		if e := b.readEnv(); e.Attempts != i+1 || !e.Trial {
			t.Fatalf("after trial boot %d: env attempts %d trial %v", i+1, e.Attempts, e.Trial)
		}
		if v := b.vars(); v["bootcount"] != fmt.Sprint(i+1) {
			t.Fatalf("after trial boot %d: bootcount %s", i+1, v["bootcount"])
		}
		// ... and it dies before Confirm.
	}
	boot := b.powerOn()
	if boot.Slot != "a" || !boot.FellBack {
		t.Fatalf("fourth power-on: %+v, want the bootloader to fall back to a", boot)
	}
	run, err := dev.Start(context.Background())
	if err != nil || run.Slot != install.SlotA || run.Version != "1.0.0" {
		t.Fatalf("Start after the fall back = %+v, %v", run, err)
	}
	e := b.readEnv()
	if e.Trial || e.Active != install.SlotA || e.Slots[install.SlotB].State != install.StateBad ||
		e.Rollback == nil || e.Rollback.Version != "1.1.0" || !strings.Contains(e.Rollback.Reason, "crash loop") {
		t.Fatalf("env after the fall back = %+v (rollback %+v)", e, e.Rollback)
	}
	for range 3 {
		if boot := b.powerOn(); boot.Slot != "a" || boot.Counted {
			t.Fatalf("later boot: %+v", boot)
		}
		if run, err := dev.Start(context.Background()); err != nil || run.Version != "1.0.0" {
			t.Fatalf("later Start = %+v, %v", run, err)
		}
	}
	// The rollback is recorded; a newer release installs again.
	if e := b.readEnv(); e.Rollback == nil || e.Slots[install.SlotB].State != install.StateBad {
		t.Fatalf("env later = %+v", e)
	}
}

// TestUBootRealLibubootenv runs the conformance suite and a crash loop
// with libubootenv's own fw_printenv and fw_setenv (Debian package
// libubootenv-tool) on the file-backed redundant environment, when they are
// installed.
func TestUBootRealLibubootenv(t *testing.T) {
	printenv, err1 := exec.LookPath("fw_printenv")
	setenv, err2 := exec.LookPath("fw_setenv")
	if err1 != nil || err2 != nil {
		t.Skip("libubootenv's fw_printenv/fw_setenv not installed (apt-get install libubootenv-tool)")
	}
	t.Run("conformance", func(t *testing.T) {
		layouttest.Run(t, func(t *testing.T) install.Layout {
			return newBoardTools(t, t.TempDir(), 128<<10, printenv, setenv).layout
		})
	})
	t.Run("crash loop", func(t *testing.T) {
		testCrashLoop(t, newBoardTools(t, t.TempDir(), partSize, printenv, setenv), []bool{true, false, true})
	})
}

// ubootChild is the update agent of TestUBootPowerCut: it installs the
// artifact DIR/release.lgota on the board in DIR.
func ubootChild(dir string) error {
	roots, err := os.ReadFile(filepath.Join(dir, "roots.pem"))
	if err != nil {
		return err
	}
	pubs, err := sign.ParseRootPublic(roots)
	if err != nil {
		return err
	}
	tr, err := sign.NewTrust(pubs, otatest.Now)
	if err != nil {
		return err
	}
	b := openBoard(&childTB{}, dir)
	dev := b.device(tr, healthy)
	f, err := os.Open(filepath.Join(dir, "release.lgota"))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = dev.Install(context.Background(), f)
	return err
}

// childTB lets the board helpers run outside a test: Fatal panics.
type childTB struct{ testing.TB }

func (childTB) Helper()                           {}
func (childTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (childTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// TestUBootPowerCut kills the agent (SIGKILL) at each step of an install on
// a U-Boot board — the torn write of the inactive partition among them —
// and powers the board on: the bootloader and Device.Start must bring up a
// good version whose partition verifies, and slot A's partition must be
// untouched whatever happened to B. Then the install is run again and
// completes.
func TestUBootPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	tests := []struct {
		point, what string
		want        string
	}{
		{"uboot:before-setenv#1", "marking slot B as being written: state file written, u-boot not", "1.0.0"},
		{"uboot:partial-write#1", "torn write: first MiB of the image on the partition", "1.0.0"},
		{"uboot:before-fsync", "image written, not fsynced", "1.0.0"},
		{"uboot:before-manifest", "image verified, slot manifest not written", "1.0.0"},
		{"install:before-switch", "slot written, boot variables not switched", "1.0.0"},
		{"uboot:before-setenv#2", "switch: state file says trial on B, u-boot still boots A", "1.0.0"},
		{"install:after-switch", "after the switch", "1.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			t.Parallel()
			keys := otatest.NewKeys(t)
			dir := t.TempDir()
			b := newBoard(t, dir, partSize)
			dev := b.device(keys.Trust(t), healthy)
			ctx := context.Background()
			if _, err := dev.Provision(ctx, bytes.NewReader(ubootArt(t, keys, "1.0.0", ubootImage))); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "roots.pem"), sign.MarshalRootPublic(keys.Root.Public()), 0o644); err != nil {
				t.Fatal(err)
			}
			art := ubootArt(t, keys, "1.1.0", ubootImage)
			if err := os.WriteFile(filepath.Join(dir, "release.lgota"), art, 0o644); err != nil {
				t.Fatal(err)
			}
			sumA := b.partSum(install.SlotA)

			sumB := b.partSum(install.SlotB)
			killAt(t, dir, tt.point)
			if tt.point == "uboot:partial-write#1" {
				// A torn write really happened: B holds part of the image
				// and claims nothing.
				if b.partSum(install.SlotB) == sumB {
					t.Fatal("slot B's partition did not change")
				}
				if _, err := b.layout.VerifySlot(install.SlotB); !errors.Is(err, install.ErrSlotInvalid) {
					t.Fatalf("slot B after a torn write: %v", err)
				}
			}

			if b.partSum(install.SlotA) != sumA {
				t.Fatalf("cut %s: slot A's partition changed", tt.what)
			}
			boot := b.powerOn()
			run, err := dev.Start(ctx)
			if err != nil {
				t.Fatalf("cut %s: the board does not come back: %v", tt.what, err)
			}
			if run.Version != tt.want || string(run.Slot) != boot.Slot {
				t.Fatalf("cut %s: bootloader started %s, device runs %+v, want %s", tt.what, boot.Slot, run, tt.want)
			}
			if _, err := b.layout.VerifySlot(run.Slot); err != nil {
				t.Fatal(err)
			}
			if e := b.readEnv(); e.Trial || e.Slots[run.Slot].State != install.StateGood {
				t.Fatalf("env = %+v", e)
			}
			if tt.want == "1.1.0" {
				return
			}
			// The agent runs again and finishes the update.
			if _, err := dev.Install(ctx, bytes.NewReader(art)); err != nil {
				t.Fatal(err)
			}
			if boot := b.powerOn(); boot.Slot != "b" {
				t.Fatalf("after the retried install the bootloader starts %+v", boot)
			}
			if run, err := dev.Start(ctx); err != nil || run.Version != "1.1.0" {
				t.Fatalf("after the retried install: %+v, %v", run, err)
			}
			// ubootenvtest.ReadConfig and a full re-open agree with the layout in use.
			if e := openBoard(t, dir).readEnv(); e.Active != install.SlotB || e.Trial {
				t.Fatalf("reopened env = %+v", e)
			}
		})
	}
}

// killAt runs the agent until it reaches the failpoint, then SIGKILLs it.
func killAt(t *testing.T, dir, point string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), ubootChildEnv+"="+dir, failpoint.Env+"="+point)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stderr)
	reached := false
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), failpoint.Marker) {
			reached = true
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	if !reached {
		t.Fatalf("agent never reached %s: %v\n%s", point, err, out.String())
	}
}

func TestBootedSlot(t *testing.T) {
	tests := []struct {
		cmdline string
		want    install.Slot
		ok      bool
	}{
		{"console=ttyS0 root=/dev/mmcblk0p3 rootwait ro livegate.slot=b\n", install.SlotB, true},
		{"livegate.slot=a quiet", install.SlotA, true},
		{"root=/dev/mmcblk0p2", "", false},
		{"livegate.slot=c", "", false},
	}
	for _, tt := range tests {
		got, err := install.BootedSlot(tt.cmdline)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("BootedSlot(%q) = %q, %v", tt.cmdline, got, err)
		}
	}
}

// After Confirm rolled back in userspace, B's rootfs runs until the reboot:
// an install now would target B, and is refused before anything changes.
func TestUBootRefusesTheRunningSlot(t *testing.T) {
	keys := otatest.NewKeys(t)
	b := newBoard(t, t.TempDir(), partSize)
	dev := b.device(keys.Trust(t), func(_ context.Context, run install.Running) error {
		if run.Version == "1.1.0" {
			return errors.New("models self-test failed")
		}
		return nil
	})
	ctx := context.Background()
	if _, err := dev.Provision(ctx, bytes.NewReader(ubootArt(t, keys, "1.0.0", 100_000))); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Install(ctx, bytes.NewReader(ubootArt(t, keys, "1.1.0", 100_000))); err != nil {
		t.Fatal(err)
	}
	boot := b.powerOn()
	cmdline := filepath.Join(b.dir, "cmdline")
	if err := os.WriteFile(cmdline, []byte("root=/dev/mmcblk0p3 ro livegate.slot="+boot.Slot+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := dev.Start(ctx)
	if err != nil || run.Slot != install.SlotA {
		t.Fatalf("Start = %+v, %v", run, err)
	}
	if booted, _ := install.BootedSlot("livegate.slot=" + boot.Slot); booted == run.Slot {
		t.Fatal("the test expects the rolled-back slot to be still running")
	}
	sumB := b.partSum(install.SlotB)
	if _, err := dev.Install(ctx, bytes.NewReader(ubootArt(t, keys, "1.1.1", 100_000))); !errors.Is(err, install.ErrSlotRunning) {
		t.Fatalf("Install while B runs: %v, want ErrSlotRunning", err)
	}
	if b.partSum(install.SlotB) != sumB {
		t.Fatal("the running slot's partition changed")
	}
	// After the reboot into A the same install goes ahead.
	boot = b.powerOn()
	if err := os.WriteFile(cmdline, []byte("livegate.slot="+boot.Slot), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Install(ctx, bytes.NewReader(ubootArt(t, keys, "1.1.1", 100_000))); err != nil {
		t.Fatal(err)
	}
	if boot := b.powerOn(); boot.Slot != "b" {
		t.Fatalf("after the install: %+v", boot)
	}
	if run, err := dev.Start(ctx); err != nil || run.Version != "1.1.1" {
		t.Fatalf("Start = %+v, %v", run, err)
	}
}
