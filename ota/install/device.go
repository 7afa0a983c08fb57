package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/internal/atomicfile"
	"livegate.dev/ota/internal/failpoint"
	"livegate.dev/ota/sign"
)

// Clock is the time source of the watchdog.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Running describes the slot a device runs.
type Running struct {
	Slot    Slot
	Version string
	Kind    artifact.Kind
	Path    string // where the slot's content is (Layout.SlotPath)
}

// HealthCheck decides whether a freshly booted version works: for firmware,
// the camera opens, the models load and pass a self-test inference, and the
// cloud is reachable; for a models pack, the engine loads the pack from
// running.Path and passes its self-test. It must return when ctx is done.
type HealthCheck func(ctx context.Context, running Running) error

// Config configures a Device.
type Config struct {
	// Layout holds the slots and the boot environment. Required.
	Layout Layout
	// Trust verifies artifacts. Required.
	Trust *sign.Trust
	// Kind, Board and Arch describe what this device takes. Required.
	Kind  artifact.Kind
	Board string
	Arch  string
	// Health is the health check a new version must pass. Required.
	Health HealthCheck
	// Watchdog bounds the health check. Optional. Default: 5 minutes.
	Watchdog time.Duration
	// MaxAttempts is how many boots a version on trial gets before the
	// bootloader gives up on it. Optional. Default: 3.
	MaxAttempts int
	// RevocationFile stores the newest revocation list seen, so a list
	// carried by one artifact keeps protecting later installs. Optional.
	RevocationFile string
	// Clock drives the watchdog. Optional. Default: the system clock.
	Clock Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

func configDefault(c Config) (Config, error) {
	if c.Layout == nil || c.Trust == nil || c.Health == nil || c.Kind == "" || c.Board == "" || c.Arch == "" {
		return c, errors.New("install: config needs Layout, Trust, Health, Kind, Board and Arch")
	}
	if c.Watchdog <= 0 {
		c.Watchdog = 5 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Device installs artifacts on one Layout and runs its boot logic.
// A Device is used by one goroutine at a time.
type Device struct {
	cfg Config
	log *slog.Logger
}

// New returns a Device, loading the stored revocation list into cfg.Trust.
func New(cfg Config) (*Device, error) {
	cfg, err := configDefault(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.RevocationFile != "" {
		b, err := os.ReadFile(cfg.RevocationFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("install: read revocations: %w", err)
		default:
			env, err := sign.ParseEnvelope(b)
			if err != nil {
				return nil, fmt.Errorf("install: stored revocations %s: %w", cfg.RevocationFile, err)
			}
			if _, err := cfg.Trust.SetRevocations(env); err != nil && !errors.Is(err, sign.ErrStaleRevocations) {
				return nil, fmt.Errorf("install: stored revocations %s: %w", cfg.RevocationFile, err)
			}
		}
	}
	return &Device{cfg: cfg, log: cfg.Logger.With("kind", string(cfg.Kind))}, nil
}

// Env returns the boot environment.
func (d *Device) Env() (Env, error) { return d.cfg.Layout.ReadEnv() }

// Provision puts a first image into slot A of an empty layout and marks it
// good: the factory step. It verifies the artifact like Install does, as an
// upgrade from 0.0.0.
func (d *Device) Provision(ctx context.Context, art io.Reader) (*artifact.Manifest, error) {
	if _, err := d.cfg.Layout.ReadEnv(); err == nil {
		return nil, errors.New("install: provision: device already provisioned")
	} else if !errors.Is(err, ErrNotProvisioned) {
		return nil, fmt.Errorf("install: provision: %w", err)
	}
	r, err := d.open(art, artifact.Version{})
	if err != nil {
		return nil, fmt.Errorf("install: provision: %w", err)
	}
	if err := d.cfg.Layout.WriteSlot(ctx, SlotA, r.Manifest, r); err != nil {
		return nil, fmt.Errorf("install: provision: %w", err)
	}
	env := Env{Format: EnvFormat, Active: SlotA, Slots: map[Slot]SlotInfo{
		SlotA: {Version: r.Manifest.Version, State: StateGood},
		SlotB: {State: StateEmpty},
	}}
	if err := d.writeEnv(&env); err != nil {
		return nil, fmt.Errorf("install: provision: %w", err)
	}
	return r.Manifest, nil
}

func (d *Device) open(art io.Reader, current artifact.Version) (*artifact.Reader, error) {
	r, err := artifact.Open(art, d.cfg.Trust, artifact.Target{Kind: d.cfg.Kind, Board: d.cfg.Board, Arch: d.cfg.Arch, Current: current})
	if err != nil {
		return nil, err
	}
	if r.Revocations != nil && d.cfg.RevocationFile != "" {
		b, err := sign.MarshalEnvelope(r.Revocations)
		if err == nil {
			err = atomicfile.WriteFile(d.cfg.RevocationFile, b, 0o644)
		}
		if err != nil {
			return nil, fmt.Errorf("store revocations: %w", err)
		}
	}
	return r, nil
}

func (d *Device) writeEnv(e *Env) error {
	e.Generation++
	return d.cfg.Layout.WriteEnv(*e)
}

// Install verifies art against this device and the running version, writes
// it to the inactive slot and switches the boot environment to try it on
// the next boot. Every refusal (signature, key, kind, board, arch,
// version) happens before the slot is touched; a payload that fails its
// hash leaves the slot marked "writing", never bootable, and the active
// slot as it was. After Install the device reboots; on sim, call Start.
func (d *Device) Install(ctx context.Context, art io.Reader) (*artifact.Manifest, error) {
	env, err := d.cfg.Layout.ReadEnv()
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	if env.Trial {
		return nil, fmt.Errorf("install: %w: slot %s (%s)", ErrTrialPending, env.Active, env.Slots[env.Active].Version)
	}
	cur, err := artifact.ParseVersion(env.Slots[env.Active].Version)
	if err != nil {
		return nil, fmt.Errorf("install: running version: %w", err)
	}
	r, err := d.open(art, cur)
	if err != nil {
		d.log.Warn("ota artifact refused", "reason", artifact.Reason(err), "err", err)
		return nil, fmt.Errorf("install: %w", err)
	}
	target := env.Active.Other()
	log := d.log.With("version", r.Manifest.Version, "slot", string(target))

	// 1. The inactive slot stops being bootable before it is overwritten.
	if env.Fallback == target {
		env.Fallback = ""
	}
	env.Slots[target] = SlotInfo{Version: r.Manifest.Version, State: StateWriting}
	if err := d.writeEnv(&env); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	// 2. Write the image; the reader verifies size and SHA-256 as it goes
	// and fails the write, before the image is renamed into place, if not.
	log.Info("ota writing inactive slot", "bytes", r.Manifest.PayloadSize)
	if err := d.cfg.Layout.WriteSlot(ctx, target, r.Manifest, r); err != nil {
		log.Warn("ota write failed", "reason", artifact.Reason(err), "err", err)
		return nil, fmt.Errorf("install: %w", err)
	}
	failpoint.Hit("install:before-switch")
	// 3. Switch: the new slot boots next, on trial, with the old as fallback.
	env.Fallback = env.Active
	env.Active = target
	env.Trial = true
	env.Attempts = 0
	env.Slots[target] = SlotInfo{Version: r.Manifest.Version, State: StateTrial}
	if err := d.writeEnv(&env); err != nil {
		return nil, fmt.Errorf("install: switch: %w", err)
	}
	log.Info("ota switched boot slot", "fallback", string(env.Fallback))
	failpoint.Hit("install:after-switch")
	return r.Manifest, nil
}

// Boot is the bootloader's decision at power-on. A slot on trial gets
// MaxAttempts boots; past that (a crash loop, or a device killed during
// every health check) the fallback becomes active again. A slot whose image
// does not verify is not booted. It returns the slot to run.
func (d *Device) Boot(ctx context.Context) (Running, error) {
	env, err := d.cfg.Layout.ReadEnv()
	if err != nil {
		return Running{}, fmt.Errorf("install: boot: %w", err)
	}
	for range 2 {
		if env.Trial {
			if env.Attempts >= d.cfg.MaxAttempts {
				if err := d.rollback(&env, fmt.Sprintf("crash loop: %d boots without being marked good", env.Attempts)); err != nil {
					return Running{}, err
				}
				continue
			}
			env.Attempts++
			if err := d.writeEnv(&env); err != nil {
				return Running{}, fmt.Errorf("install: boot: count attempt: %w", err)
			}
			failpoint.Hit("boot:after-count")
		}
		m, verr := d.cfg.Layout.VerifySlot(env.Active)
		if verr == nil && m.Version == env.Slots[env.Active].Version {
			return Running{Slot: env.Active, Version: m.Version, Kind: d.cfg.Kind, Path: d.cfg.Layout.SlotPath(env.Active)}, nil
		}
		if verr == nil {
			verr = fmt.Errorf("slot holds %s, boot environment says %s", m.Version, env.Slots[env.Active].Version)
		}
		d.log.Error("ota slot does not verify", "slot", string(env.Active), "err", verr)
		if err := d.rollback(&env, "image does not verify: "+verr.Error()); err != nil {
			return Running{}, err
		}
	}
	return Running{}, fmt.Errorf("install: boot: %w", ErrNoBootableSlot)
}

// rollback marks the active slot bad and makes the other slot active if it
// is good (the fallback of a trial, or a good slot when the active one's
// image went bad).
func (d *Device) rollback(env *Env, reason string) error {
	failed := env.Active
	to := env.Fallback
	if to == "" && env.Slots[failed.Other()].State == StateGood {
		to = failed.Other()
	}
	if to == "" || env.Slots[to].State != StateGood {
		return fmt.Errorf("install: roll back from slot %s (%s): %w", failed, reason, ErrNoBootableSlot)
	}
	d.log.Warn("ota rolling back", "from_slot", string(failed), "version", env.Slots[failed].Version, "to_slot", string(to), "reason", reason)
	env.Rollback = &Rollback{Version: env.Slots[failed].Version, Reason: reason}
	env.Slots[failed] = SlotInfo{Version: env.Slots[failed].Version, State: StateBad}
	env.Active, env.Fallback, env.Trial, env.Attempts = to, "", false, 0
	failpoint.Hit("rollback:before-write")
	if err := d.writeEnv(env); err != nil {
		return fmt.Errorf("install: roll back: %w", err)
	}
	return nil
}

// Outcome is what Confirm did.
type Outcome string

// Outcomes of Confirm.
const (
	OutcomeAlreadyGood Outcome = "already-good" // nothing on trial
	OutcomeCommitted   Outcome = "committed"    // health check passed
	OutcomeRolledBack  Outcome = "rolled-back"  // failed or timed out
)

// Confirm runs on the booted system. If the active slot is on trial it
// runs the health check under the watchdog: a pass marks the slot good; a
// failure or a watchdog timeout rolls back to the fallback, which runs
// after the next boot. If ctx ends first nothing is decided: the next boot
// counts another attempt.
func (d *Device) Confirm(ctx context.Context, running Running) (Outcome, error) {
	env, err := d.cfg.Layout.ReadEnv()
	if err != nil {
		return "", fmt.Errorf("install: confirm: %w", err)
	}
	if !env.Trial {
		return OutcomeAlreadyGood, nil
	}
	if running.Slot != env.Active {
		return "", fmt.Errorf("install: confirm: running slot %s, boot environment has %s on trial", running.Slot, env.Active)
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		failpoint.Hit("health:during")
		done <- d.cfg.Health(hctx, running)
	}()
	timeout := d.cfg.Clock.After(d.cfg.Watchdog)
	var reason string
	select {
	case err := <-done:
		if err == nil {
			failpoint.Hit("confirm:before-commit")
			env.Slots[env.Active] = SlotInfo{Version: env.Slots[env.Active].Version, State: StateGood}
			env.Trial, env.Attempts = false, 0
			if err := d.writeEnv(&env); err != nil {
				return "", fmt.Errorf("install: commit: %w", err)
			}
			d.log.Info("ota committed", "slot", string(env.Active), "version", running.Version)
			return OutcomeCommitted, nil
		}
		reason = "health check failed: " + err.Error()
	case <-timeout:
		cancel()
		<-done
		reason = fmt.Sprintf("watchdog: no health verdict within %s", d.cfg.Watchdog)
	case <-ctx.Done():
		cancel()
		<-done
		return "", fmt.Errorf("install: confirm: %w", ctx.Err())
	}
	if err := d.rollback(&env, reason); err != nil {
		return "", err
	}
	return OutcomeRolledBack, nil
}

// Start is what a device does at power-on: Boot, then Confirm, and after a
// rollback boot again into the fallback. It returns the slot that runs,
// always one marked good, or ErrNoBootableSlot.
func (d *Device) Start(ctx context.Context) (Running, error) {
	for range 3 {
		r, err := d.Boot(ctx)
		if err != nil {
			return Running{}, err
		}
		out, err := d.Confirm(ctx, r)
		if err != nil {
			return Running{}, err
		}
		if out != OutcomeRolledBack {
			return r, nil
		}
	}
	return Running{}, fmt.Errorf("install: start: %w", ErrNoBootableSlot)
}

func jsonIndent(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("install: encode: %w", err)
	}
	return append(b, '\n'), nil
}
