package install

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/internal/atomicfile"
	"livegate.dev/ota/internal/failpoint"
	"livegate.dev/ota/sign"
)

// U-Boot environment variables of the UBoot layout: U-Boot's own bootcount
// convention (the one Mender uses: upgrade_available, bootcount, bootlimit)
// plus the slot to boot. The boot script in docs/ota.md reads and updates
// them at every power-on.
const (
	// UBootVarSlot is the slot the bootloader boots: "a" or "b".
	UBootVarSlot = "livegate_slot"
	// UBootVarUpgrade is "1" while the slot is on trial: only then the
	// bootloader counts boots and may fall back.
	UBootVarUpgrade = "upgrade_available"
	// UBootVarBootCount counts trial boots; the bootloader adds one before
	// it boots a slot on trial.
	UBootVarBootCount = "bootcount"
	// UBootVarBootLimit is how many trial boots a slot gets; when
	// bootcount exceeds it, the bootloader boots the other slot instead
	// and clears upgrade_available.
	UBootVarBootLimit = "bootlimit"
	// UBootVarSeq numbers the layout's writes; it ties the bootloader
	// variables to the state file entry written with them.
	UBootVarSeq = "livegate_seq"
)

// MaxUBootBootLimit bounds BootLimit: U-Boot's setexpr computes in hex, so
// bootcount stays a single digit (≤ 9), identical in hex and decimal.
const MaxUBootBootLimit = 8

// Errors of the UBoot layout.
var (
	// ErrImageTooLarge: the payload does not fit the slot's partition.
	// Nothing was written.
	ErrImageTooLarge = errors.New("image larger than the slot's partition")
	// ErrSlotRunning: the slot to write holds the running rootfs (after a
	// rollback in userspace, before the reboot). Nothing was written.
	ErrSlotRunning = errors.New("slot holds the running system; reboot first")
)

// UBootSlot is one slot of a UBoot layout.
type UBootSlot struct {
	// Device is the slot's rootfs partition (e.g. /dev/mmcblk0p2; a plain
	// file of the partition's size in tests). Required.
	Device string
	// Path is where the running system finds the slot's content
	// (Running.Path). Optional. Default: Device.
	Path string
}

// UBootConfig configures a UBoot layout.
type UBootConfig struct {
	// A and B are the two rootfs partitions. Required.
	A, B UBootSlot
	// StateDir holds the state file and the slots' manifests, on a
	// persistent partition that no install overwrites (e.g.
	// /data/livegate/ota/uboot). Required.
	StateDir string
	// PrintEnv and SetEnv are libubootenv's tools. Optional. Default:
	// "fw_printenv" and "fw_setenv" from PATH.
	PrintEnv, SetEnv string
	// EnvConfig is passed as "-c EnvConfig" (fw_env.config naming the two
	// copies of the redundant environment). Optional. Default: the tools'
	// own default (/etc/fw_env.config).
	EnvConfig string
	// BootLimit is how many boots a slot on trial gets from the
	// bootloader. Set install.Config.MaxAttempts to the same value.
	// Optional. Default: 3. At most MaxUBootBootLimit.
	BootLimit int
	// ToolTimeout bounds one run of fw_printenv or fw_setenv. Optional.
	// Default: 30 seconds.
	ToolTimeout time.Duration
	// Cmdline is the kernel command line file; WriteSlot refuses to write
	// the slot it names with livegate.slot= (the running rootfs).
	// Optional. Default: /proc/cmdline.
	Cmdline string
}

// UBoot is the Layout of a board booted by U-Boot: two rootfs partitions,
// the bootloader's part of the boot environment in U-Boot variables
// (libubootenv's fw_printenv/fw_setenv on a redundant environment), and the
// rest of Env in a state file on a persistent partition:
//
//	U-Boot env   livegate_slot, upgrade_available, bootcount, bootlimit, livegate_seq
//	StateDir/uboot-state.json        {"seq": n, "current": Env, "previous": Env}
//	StateDir/slot-{a,b}.manifest.json the manifest each partition was written from
//
// A write of Env is two writes: the state file (atomic: temp, fsync,
// rename) with the new Env as "current" and the effective one as
// "previous", then one fw_setenv run that sets every variable at once
// (atomic: libubootenv writes the inactive copy of the redundant
// environment with a higher flag byte). The fw_setenv run is the commit
// point: ReadEnv takes the state entry whose seq matches livegate_seq, so a
// cut between the two writes reads as if the write never happened.
//
// ReadEnv also reports what the bootloader did on its own since the last
// write: boots it counted that never reached userspace raise Attempts to
// bootcount−1, and a fall back after a crash loop (livegate_slot no longer
// the slot on trial, upgrade_available cleared) reads as a rollback of that
// slot with its reason, which the next write makes permanent.
type UBoot struct {
	cfg UBootConfig
}

var _ Layout = (*UBoot)(nil)

// NewUBoot returns a U-Boot layout, creating StateDir.
func NewUBoot(cfg UBootConfig) (*UBoot, error) {
	if cfg.A.Device == "" || cfg.B.Device == "" || cfg.StateDir == "" {
		return nil, errors.New("install: uboot layout needs A.Device, B.Device and StateDir")
	}
	if cfg.A.Device == cfg.B.Device {
		return nil, fmt.Errorf("install: uboot layout: both slots on %s", cfg.A.Device)
	}
	if cfg.A.Path == "" {
		cfg.A.Path = cfg.A.Device
	}
	if cfg.B.Path == "" {
		cfg.B.Path = cfg.B.Device
	}
	if cfg.PrintEnv == "" {
		cfg.PrintEnv = "fw_printenv"
	}
	if cfg.SetEnv == "" {
		cfg.SetEnv = "fw_setenv"
	}
	if cfg.BootLimit == 0 {
		cfg.BootLimit = 3
	}
	if cfg.BootLimit < 1 || cfg.BootLimit > MaxUBootBootLimit {
		return nil, fmt.Errorf("install: uboot layout: BootLimit %d (1…%d)", cfg.BootLimit, MaxUBootBootLimit)
	}
	if cfg.ToolTimeout <= 0 {
		cfg.ToolTimeout = 30 * time.Second
	}
	if cfg.Cmdline == "" {
		cfg.Cmdline = "/proc/cmdline"
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("install: uboot layout: %w", err)
	}
	return &UBoot{cfg: cfg}, nil
}

// BootLimit is the number of trial boots the bootloader gives a slot.
func (l *UBoot) BootLimit() int { return l.cfg.BootLimit }

func (l *UBoot) slot(s Slot) UBootSlot {
	if s == SlotB {
		return l.cfg.B
	}
	return l.cfg.A
}

// SlotPath returns the slot's configured Path.
func (l *UBoot) SlotPath(s Slot) string { return l.slot(s).Path }

func (l *UBoot) statePath() string { return filepath.Join(l.cfg.StateDir, "uboot-state.json") }

func (l *UBoot) manifestPath(s Slot) string {
	return filepath.Join(l.cfg.StateDir, "slot-"+string(s)+".manifest.json")
}

// ubootState is the state file.
type ubootState struct {
	Format   int    `json:"format"`
	Seq      uint64 `json:"seq"`
	Current  Env    `json:"current"`
	Previous *Env   `json:"previous,omitempty"`
}

func (l *UBoot) readState() (*ubootState, error) {
	b, err := os.ReadFile(l.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("install: read uboot state: %w", err)
	}
	var st ubootState
	if err := sign.DecodeStrict(b, &st); err != nil || st.Format != EnvFormat {
		return nil, fmt.Errorf("install: %w: %s: format %d %v", ErrCorruptEnv, l.statePath(), st.Format, err)
	}
	return &st, nil
}

func (l *UBoot) toolArgs(args ...string) []string {
	if l.cfg.EnvConfig != "" {
		return append([]string{"-c", l.cfg.EnvConfig}, args...)
	}
	return args
}

func (l *UBoot) run(tool string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.ToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, l.toolArgs(args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", tool, strings.Join(cmd.Args[1:], " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// printEnv runs fw_printenv without names (every variable, one
// "name=value" a line: a missing variable is simply absent).
func (l *UBoot) printEnv() (map[string]string, error) {
	out, err := l.run(l.cfg.PrintEnv)
	if err != nil {
		return nil, fmt.Errorf("install: read u-boot env: %w", err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, value, ok := strings.Cut(line, "="); ok && name != "" {
			vars[name] = value
		}
	}
	return vars, nil
}

// setEnv sets every variable in one fw_setenv run (-s script, one
// "name=value" a line), which is one write of the redundant environment.
func (l *UBoot) setEnv(vars [][2]string) error {
	f, err := os.CreateTemp(l.cfg.StateDir, ".fw_setenv-*")
	if err != nil {
		return fmt.Errorf("install: write u-boot env: %w", err)
	}
	defer os.Remove(f.Name())
	for _, v := range vars {
		fmt.Fprintf(f, "%s=%s\n", v[0], v[1])
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("install: write u-boot env: %w", err)
	}
	if _, err := l.run(l.cfg.SetEnv, "-s", f.Name()); err != nil {
		return fmt.Errorf("install: write u-boot env: %w", err)
	}
	return nil
}

// effective returns the state entry the bootloader variables commit to.
func (l *UBoot) effective(st *ubootState, vars map[string]string) (Env, uint64, error) {
	seqStr, ok := vars[UBootVarSeq]
	switch {
	case st == nil && !ok:
		return Env{}, 0, fmt.Errorf("install: %w: no %s and no %s", ErrNotProvisioned, l.statePath(), UBootVarSeq)
	case st == nil:
		return Env{}, 0, fmt.Errorf("install: %w: %s=%s but no %s", ErrCorruptEnv, UBootVarSeq, seqStr, l.statePath())
	case !ok:
		return Env{}, 0, fmt.Errorf("install: %w: %s exists but u-boot has no %s", ErrCorruptEnv, l.statePath(), UBootVarSeq)
	}
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if err != nil {
		return Env{}, 0, fmt.Errorf("install: %w: %s=%q", ErrCorruptEnv, UBootVarSeq, seqStr)
	}
	switch {
	case seq == st.Seq:
		return st.Current.clone(), seq, nil
	case st.Previous != nil && seq+1 == st.Seq:
		return st.Previous.clone(), seq, nil
	}
	return Env{}, 0, fmt.Errorf("install: %w: %s=%d, state file has %d", ErrCorruptEnv, UBootVarSeq, seq, st.Seq)
}

// ReadEnv returns the Env the last completed write committed, with what
// the bootloader did since: boots it counted and a fall back it made.
func (l *UBoot) ReadEnv() (Env, error) {
	vars, err := l.printEnv()
	if err != nil {
		return Env{}, err
	}
	st, err := l.readState()
	if err != nil {
		return Env{}, err
	}
	e, _, err := l.effective(st, vars)
	if err != nil {
		return Env{}, err
	}
	if err := e.validate(); err != nil {
		return Env{}, fmt.Errorf("install: %w", err)
	}
	booted := Slot(vars[UBootVarSlot])
	count, _ := strconv.Atoi(vars[UBootVarBootCount])
	trial := vars[UBootVarUpgrade] == "1"
	switch {
	case e.Trial && booted == e.Active && trial:
		// The bootloader counts a trial boot before Linux runs; one that
		// never reached Device.Boot still counts.
		if count-1 > e.Attempts {
			e.Attempts = count - 1
		}
	case e.Trial && e.Fallback != "" && booted == e.Fallback && !trial && e.Slots[e.Fallback].State == StateGood:
		// The bootloader gave up on the trial slot (bootcount passed
		// bootlimit) and booted the fallback without Linux running: the
		// rollback Device.Boot would have made.
		failed := e.Active
		e.Rollback = &Rollback{Version: e.Slots[failed].Version,
			Reason: fmt.Sprintf("crash loop: the bootloader returned to slot %s after %d boots of slot %s without it being marked good", booted, count-1, failed)}
		e.Slots[failed] = SlotInfo{Version: e.Slots[failed].Version, State: StateBad}
		e.Active, e.Fallback, e.Trial, e.Attempts = booted, "", false, 0
	case booted != e.Active || trial != e.Trial:
		return Env{}, fmt.Errorf("install: %w: u-boot has %s=%q %s=%q, state file has slot %s trial %v",
			ErrCorruptEnv, UBootVarSlot, booted, UBootVarUpgrade, vars[UBootVarUpgrade], e.Active, e.Trial)
	}
	return e, nil
}

// WriteEnv writes the state file, then commits with one fw_setenv run.
func (l *UBoot) WriteEnv(e Env) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("install: write boot env: %w", err)
	}
	vars, err := l.printEnv()
	if err != nil {
		return err
	}
	st, err := l.readState()
	if err != nil && !errors.Is(err, ErrCorruptEnv) {
		return err
	}
	next := ubootState{Format: EnvFormat, Seq: 1, Current: e.clone()}
	if prev, seq, err := l.effective(st, vars); err == nil {
		next.Seq, next.Previous = seq+1, &prev
	} else if st != nil {
		// Unreadable pairing (corrupt): start a new sequence past both.
		old, _ := strconv.ParseUint(vars[UBootVarSeq], 10, 64)
		next.Seq = max(st.Seq, old) + 2
	}
	b, err := jsonIndent(next)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(l.statePath(), b, 0o644); err != nil {
		return fmt.Errorf("install: write boot env: %w", err)
	}
	failpoint.Hit("uboot:before-setenv")
	upgrade := "0"
	if e.Trial {
		upgrade = "1"
	}
	return l.setEnv([][2]string{
		{UBootVarSlot, string(e.Active)},
		{UBootVarUpgrade, upgrade},
		{UBootVarBootCount, strconv.Itoa(e.Attempts)},
		{UBootVarBootLimit, strconv.Itoa(l.cfg.BootLimit)},
		{UBootVarSeq, strconv.FormatUint(next.Seq, 10)},
	})
}

// partitionSize is the size of a block device or file (seek to its end).
func partitionSize(f *os.File) (int64, error) {
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return n, nil
}

const ubootChunk = 1 << 20

// WriteSlot refuses to write the slot the kernel booted (ErrSlotRunning),
// removes the slot's manifest (the slot claims no image any more), refuses an image larger than the partition before writing a byte,
// streams the image to the partition, fsyncs it, reads it back from the
// device (the block device's buffer cache dropped first) and checks its
// SHA-256 against m, then writes the manifest atomically. It never writes
// past the partition's end nor past m.PayloadSize.
func (l *UBoot) WriteSlot(ctx context.Context, s Slot, m *artifact.Manifest, r io.Reader) error {
	dev := l.slot(s).Device
	if b, err := os.ReadFile(l.cfg.Cmdline); err == nil {
		if booted, err := BootedSlot(string(b)); err == nil && booted == s {
			return fmt.Errorf("install: write slot %s: %w (%s says %s=%s)", s, ErrSlotRunning, l.cfg.Cmdline, BootedSlotArg, booted)
		}
	}
	if err := os.Remove(l.manifestPath(s)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("install: clear slot %s: %w", s, err)
	}
	if err := atomicfile.SyncDir(l.cfg.StateDir); err != nil {
		return err
	}
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("install: write slot %s: %w", s, err)
	}
	defer f.Close()
	size, err := partitionSize(f)
	if err != nil {
		return fmt.Errorf("install: write slot %s: size of %s: %w", s, dev, err)
	}
	if m.PayloadSize > size {
		return fmt.Errorf("install: write slot %s: %w: %d bytes, %s has %d", s, ErrImageTooLarge, m.PayloadSize, dev, size)
	}
	buf := make([]byte, ubootChunk)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("install: write slot %s: %w", s, err)
		}
		k, rerr := r.Read(buf)
		if k > 0 {
			if n+int64(k) > m.PayloadSize {
				return fmt.Errorf("install: write slot %s: payload longer than the manifest's %d bytes", s, m.PayloadSize)
			}
			if _, err := f.WriteAt(buf[:k], n); err != nil {
				return fmt.Errorf("install: write slot %s: %s: %w", s, dev, err)
			}
			n += int64(k)
			failpoint.Hit("uboot:partial-write")
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("install: write slot %s: %w", s, rerr)
		}
	}
	if n != m.PayloadSize {
		return fmt.Errorf("install: write slot %s: %d bytes written, manifest says %d", s, n, m.PayloadSize)
	}
	failpoint.Hit("uboot:before-fsync")
	if err := f.Sync(); err != nil {
		return fmt.Errorf("install: write slot %s: fsync %s: %w", s, dev, err)
	}
	dropCache(f)
	if err := checkImage(f, m); err != nil {
		return fmt.Errorf("install: write slot %s: read-back: %w", s, err)
	}
	mb, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("install: write slot %s: %w", s, err)
	}
	failpoint.Hit("uboot:before-manifest")
	if err := atomicfile.WriteFile(l.manifestPath(s), mb, 0o644); err != nil {
		return fmt.Errorf("install: write slot %s: %w", s, err)
	}
	return nil
}

// checkImage hashes the first m.PayloadSize bytes of f.
func checkImage(f *os.File, m *artifact.Manifest) error {
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(f, 0, m.PayloadSize))
	if err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != m.PayloadSize || sum != m.PayloadSHA256 {
		return fmt.Errorf("partition holds %d bytes sha256 %s, manifest says %d bytes %s", n, sum, m.PayloadSize, m.PayloadSHA256)
	}
	return nil
}

// VerifySlot hashes the first PayloadSize bytes of the partition against
// the manifest it was written from. It reads the whole image: on a large
// rootfs that is seconds of I/O at every boot (see docs/ota.md).
func (l *UBoot) VerifySlot(s Slot) (*artifact.Manifest, error) {
	b, err := os.ReadFile(l.manifestPath(s))
	if err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	m, err := artifact.ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	f, err := os.Open(l.slot(s).Device)
	if err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	defer f.Close()
	if err := checkImage(f, m); err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	return m, nil
}

// BootedSlotArg is the kernel argument the boot script sets to the slot it
// booted ("livegate.slot=a").
const BootedSlotArg = "livegate.slot"

// BootedSlot returns the slot whose rootfs the running kernel booted, from
// the kernel command line (/proc/cmdline). After Device.Start on a U-Boot
// board, a Running.Slot that differs from it means Confirm rolled back
// while the failed slot still runs: reboot, and the bootloader starts the
// fallback.
func BootedSlot(cmdline string) (Slot, error) {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, BootedSlotArg+"="); ok {
			if s := Slot(v); s.valid() {
				return s, nil
			}
			return "", fmt.Errorf("install: kernel argument %s=%q", BootedSlotArg, v)
		}
	}
	return "", fmt.Errorf("install: no %s= on the kernel command line", BootedSlotArg)
}
