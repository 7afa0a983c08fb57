package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/internal/atomicfile"
	"livegate.dev/ota/sign"
)

// Slot names one of the two slots.
type Slot string

// The two slots.
const (
	SlotA Slot = "a"
	SlotB Slot = "b"
)

// Other returns the other slot.
func (s Slot) Other() Slot {
	if s == SlotA {
		return SlotB
	}
	return SlotA
}

func (s Slot) valid() bool { return s == SlotA || s == SlotB }

// State is what the boot environment says about a slot.
type State string

// Slot states.
const (
	StateEmpty   State = "empty"   // nothing installed
	StateWriting State = "writing" // being written; never bootable
	StateTrial   State = "trial"   // installed, booting on probation
	StateGood    State = "good"    // passed its health check
	StateBad     State = "bad"     // failed; never booted again
)

// SlotInfo is one slot's entry in the boot environment.
type SlotInfo struct {
	Version string `json:"version,omitempty"`
	State   State  `json:"state"`
}

// Rollback records the last automatic rollback, for the device's report.
type Rollback struct {
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// EnvFormat is the boot environment format.
const EnvFormat = 1

// Env is the boot environment: the only state the bootloader reads.
type Env struct {
	Format     int               `json:"format"`
	Generation uint64            `json:"generation"` // bumped on every write
	Active     Slot              `json:"active"`
	Fallback   Slot              `json:"fallback,omitempty"`
	Trial      bool              `json:"trial"`
	Attempts   int               `json:"attempts"`
	Slots      map[Slot]SlotInfo `json:"slots"`
	Rollback   *Rollback         `json:"last_rollback,omitempty"`
}

func (e *Env) validate() error {
	if e.Format != EnvFormat || !e.Active.valid() || len(e.Slots) != 2 {
		return fmt.Errorf("%w: format %d, active %q, %d slots", ErrCorruptEnv, e.Format, e.Active, len(e.Slots))
	}
	if e.Fallback != "" && !e.Fallback.valid() {
		return fmt.Errorf("%w: fallback %q", ErrCorruptEnv, e.Fallback)
	}
	for _, s := range []Slot{SlotA, SlotB} {
		if _, ok := e.Slots[s]; !ok {
			return fmt.Errorf("%w: no entry for slot %s", ErrCorruptEnv, s)
		}
	}
	return nil
}

func (e Env) clone() Env {
	c := e
	c.Slots = map[Slot]SlotInfo{SlotA: e.Slots[SlotA], SlotB: e.Slots[SlotB]}
	if e.Rollback != nil {
		r := *e.Rollback
		c.Rollback = &r
	}
	return c
}

// Errors of the install package.
var (
	// ErrNotProvisioned: the layout has no boot environment yet.
	ErrNotProvisioned = errors.New("device not provisioned")
	// ErrCorruptEnv: the boot environment cannot be read.
	ErrCorruptEnv = errors.New("boot environment corrupt")
	// ErrSlotInvalid: a slot does not hold a complete image.
	ErrSlotInvalid = errors.New("slot does not hold a complete image")
	// ErrTrialPending: an install waits for its health check; confirm first.
	ErrTrialPending = errors.New("previous install still on trial")
	// ErrNoBootableSlot: neither slot can be booted. The guarantees of
	// this package exist so that this never happens after provisioning.
	ErrNoBootableSlot = errors.New("no bootable slot")
)

// Layout is where a device keeps its two slots and its boot environment.
//
// Real boards: WriteSlot writes the image to the inactive rootfs partition
// and fsyncs the block device; ReadEnv/WriteEnv use the bootloader's
// redundant environment (fw_printenv/fw_setenv), whose two copies and
// generation counter make each write atomic; VerifySlot is the check the
// boot chain does (dm-verity root hash, or a hash of the partition).
type Layout interface {
	// ReadEnv returns the boot environment, ErrNotProvisioned if none.
	ReadEnv() (Env, error)
	// WriteEnv replaces the boot environment atomically and durably.
	WriteEnv(Env) error
	// WriteSlot writes the image read from r into slot, durably. It
	// returns an error, leaving the slot unusable but the rest untouched,
	// if r fails (a verification failure surfaces as r's error).
	WriteSlot(ctx context.Context, slot Slot, m *artifact.Manifest, r io.Reader) error
	// VerifySlot checks that slot holds the complete image m describes
	// and returns m.
	VerifySlot(slot Slot) (*artifact.Manifest, error)
	// SlotPath is where the running system finds the slot's content (a
	// mount point on real boards, a directory on sim).
	SlotPath(slot Slot) string
}

// Sim is the Layout of the sim board:
//
//	ROOT/bootenv.json         the boot pointer (Env), replaced atomically
//	ROOT/slots/{a,b}/image    the slot's image
//	ROOT/slots/{a,b}/manifest.json  the manifest the image was installed from
//	ROOT/slots/{a,b}/*        with UnpackTrees: the files of a tree payload
//
// The image is kept after a tree payload is unpacked: it is the signed
// bytes the unpacked files are checked against at every VerifySlot.
type Sim struct {
	root   string
	unpack map[artifact.Kind]bool
}

var _ Layout = (*Sim)(nil)

// SimOption configures a Sim.
type SimOption func(*Sim)

// UnpackTrees makes the layout unpack the payloads of these kinds (models
// packs: artifact.KindModels) as tree payloads (see TreeIndex) into the
// slot directory once they verified, and check the unpacked files against
// the pack's index in VerifySlot. Without it every payload is one opaque
// image file.
func UnpackTrees(kinds ...artifact.Kind) SimOption {
	return func(l *Sim) {
		for _, k := range kinds {
			l.unpack[k] = true
		}
	}
}

// NewSim returns a sim layout rooted at root, creating its directories.
func NewSim(root string, opts ...SimOption) (*Sim, error) {
	for _, s := range []Slot{SlotA, SlotB} {
		if err := os.MkdirAll(filepath.Join(root, "slots", string(s)), 0o755); err != nil {
			return nil, fmt.Errorf("install: sim layout %s: %w", root, err)
		}
	}
	l := &Sim{root: root, unpack: map[artifact.Kind]bool{}}
	for _, o := range opts {
		o(l)
	}
	return l, nil
}

func (l *Sim) envPath() string { return filepath.Join(l.root, "bootenv.json") }

// SlotPath returns the slot's directory.
func (l *Sim) SlotPath(s Slot) string { return filepath.Join(l.root, "slots", string(s)) }

// ReadEnv reads bootenv.json strictly.
func (l *Sim) ReadEnv() (Env, error) {
	b, err := os.ReadFile(l.envPath())
	if errors.Is(err, os.ErrNotExist) {
		return Env{}, fmt.Errorf("install: %w: no %s", ErrNotProvisioned, l.envPath())
	}
	if err != nil {
		return Env{}, fmt.Errorf("install: read boot env: %w", err)
	}
	var e Env
	if err := sign.DecodeStrict(b, &e); err != nil {
		return Env{}, fmt.Errorf("install: %w: %v", ErrCorruptEnv, err)
	}
	if err := e.validate(); err != nil {
		return Env{}, fmt.Errorf("install: %w", err)
	}
	return e, nil
}

// WriteEnv replaces bootenv.json atomically (temp, fsync, rename, fsync dir).
func (l *Sim) WriteEnv(e Env) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("install: write boot env: %w", err)
	}
	b, err := jsonIndent(e)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(l.envPath(), b, 0o644); err != nil {
		return fmt.Errorf("install: write boot env: %w", err)
	}
	return nil
}

// WriteSlot removes the slot's manifest (so the slot no longer claims any
// image), writes the image (temp, fsync, rename, fsync dir), then writes
// the manifest the same way. With UnpackTrees for m.Kind, the image (which
// exists only once it verified) is checked as a tree payload and unpacked
// into the slot directory before the manifest is written; a payload that is
// not a valid tree is removed and nothing is unpacked from it.
func (l *Sim) WriteSlot(ctx context.Context, s Slot, m *artifact.Manifest, r io.Reader) error {
	dir := l.SlotPath(s)
	if err := os.Remove(filepath.Join(dir, "manifest.json")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("install: clear slot %s: %w", s, err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return err
	}
	err := atomicfile.WriteFrom(filepath.Join(dir, "image"), 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, ctxReader{ctx, r})
		return err
	})
	if err != nil {
		return fmt.Errorf("install: write slot %s: %w", s, err)
	}
	if l.unpack[m.Kind] {
		if err := unpackTree(ctx, filepath.Join(dir, "image"), dir); err != nil {
			// The slot claims nothing (no manifest); leave no unpacked
			// file from a refused payload either.
			_ = clearTree(dir)
			_ = os.Remove(filepath.Join(dir, "image"))
			_ = atomicfile.SyncDir(dir)
			return fmt.Errorf("install: write slot %s: unpack %s payload: %w", s, m.Kind, err)
		}
	}
	mb, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("install: write slot %s: %w", s, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "manifest.json"), mb, 0o644); err != nil {
		return fmt.Errorf("install: write slot %s: %w", s, err)
	}
	return nil
}

// VerifySlot re-hashes the slot's image against its manifest and, for a
// kind unpacked with UnpackTrees, the unpacked files against the index in
// the image.
func (l *Sim) VerifySlot(s Slot) (*artifact.Manifest, error) {
	dir := l.SlotPath(s)
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	m, err := artifact.ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	f, err := os.Open(filepath.Join(dir, "image"))
	if err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	defer f.Close()
	n, sum, err := artifact.HashPayload(f)
	if err != nil {
		return nil, fmt.Errorf("install: slot %s: %w: %v", s, ErrSlotInvalid, err)
	}
	if n != m.PayloadSize || sum != m.PayloadSHA256 {
		return nil, fmt.Errorf("install: slot %s: %w: image is %d bytes sha256 %s, manifest says %d bytes %s", s, ErrSlotInvalid, n, sum, m.PayloadSize, m.PayloadSHA256)
	}
	if l.unpack[m.Kind] {
		if err := verifyTree(filepath.Join(dir, "image"), dir); err != nil {
			return nil, fmt.Errorf("install: slot %s: %w: unpacked files: %v", s, ErrSlotInvalid, err)
		}
	}
	return m, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
