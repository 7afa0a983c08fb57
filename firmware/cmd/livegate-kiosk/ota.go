package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/firmware/update"
	"livegate.dev/models/imgproc"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
	"livegate.dev/proto"
)

// exitRestart is the exit status of a kiosk that restarts into a new slot
// (ota.restart: exit): systemd's Restart=always starts it again.
const exitRestart = 3

// errRestart: the daemon stopped so that its supervisor starts it again
// (into a new slot, or back into the old one after a rollback).
var errRestart = errors.New("restart requested by the update agent")

// otaParts are the kiosk's A/B installers and what their health checks
// need, filled in as the daemon brings its parts up.
type otaParts struct {
	cfg    config.OTA
	fw     *install.Device
	models *install.Device // nil: models come from models.dir
	client *http.Client
	log    *slog.Logger

	// For the firmware health check.
	camera  drivers.FrameSource
	locator kioskLocator
	sync    *fsync.Client
	// unhealthy: this firmware version fails its health check (sim).
	unhealthy string
	// For the models health check: loads the engine from a slot.
	loadModels func(dir string) (kioskLocator, func(), error)
	// packSelfTest runs the known-answer self-test of the models pack in
	// dir (modelpack.CheckDir); ran is false when dir holds no self-test
	// vector (models.dir pointing at a plain model cache).
	packSelfTest func(ctx context.Context, dir string) (ran bool, err error)
	// modelsLayout and modelsDir locate the active models for the firmware
	// health check: the active models slot, else models.dir.
	modelsLayout *install.Sim
	modelsDir    string
	// cmdline is the kernel command line that names the booted rootfs
	// (livegate.slot=); set with the U-Boot layout only.
	cmdline string
}

// procCmdline is the running kernel's command line.
const procCmdline = "/proc/cmdline"

// openOTA opens the installers of c.OTA (nil when ota.dir is empty).
func openOTA(c config.Config, board string, log *slog.Logger) (*otaParts, error) {
	return openOTAAt(c, board, log, procCmdline)
}

// openOTAAt is openOTA with the kernel command line read from cmdline.
func openOTAAt(c config.Config, board string, log *slog.Logger, cmdline string) (*otaParts, error) {
	o := c.OTA
	if o.Dir == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(o.RootsFile)
	if err != nil {
		return nil, fmt.Errorf("ota.roots_file: %w", err)
	}
	roots, err := sign.ParseRootPublic(pem)
	if err != nil {
		return nil, fmt.Errorf("ota.roots_file %s: %w", o.RootsFile, err)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("ota.dir: %w", err)
	}
	p := &otaParts{cfg: o, log: log, modelsDir: c.Models.Dir}
	p.packSelfTest = func(ctx context.Context, dir string) (bool, error) { return packSelfTest(ctx, c, dir) }
	if p.client, err = otaClient(o.CAFile); err != nil {
		return nil, err
	}
	rev := o.RevocationFile
	if rev == "" {
		rev = filepath.Join(o.Dir, "revocations.json")
	}
	open := func(kind artifact.Kind, root string, health install.HealthCheck) (*install.Device, error) {
		var layout install.Layout
		switch {
		case kind == artifact.KindFirmware && o.Layout == config.LayoutUBoot:
			// Rootfs partitions and U-Boot variables (docs/ota.md, "Real
			// boards: U-Boot layout"); root holds the state file.
			l, err := install.NewUBoot(install.UBootConfig{
				A: install.UBootSlot{Device: o.Partitions.A}, B: install.UBootSlot{Device: o.Partitions.B},
				StateDir: root, PrintEnv: o.FwPrintenv, SetEnv: o.FwSetenv, EnvConfig: o.FwEnvConfig,
				BootLimit: o.MaxAttempts, Cmdline: cmdline,
			})
			if err != nil {
				return nil, err
			}
			layout, p.cmdline = l, cmdline
		case kind == artifact.KindModels:
			// Models packs are unpacked into the slot, where the engine
			// loads them (see docs/ota.md, "Models packs"); they are
			// directories on every board, so always the sim layout.
			l, err := install.NewSim(root, install.UnpackTrees(artifact.KindModels))
			if err != nil {
				return nil, err
			}
			layout, p.modelsLayout = l, l
		default:
			l, err := install.NewSim(root)
			if err != nil {
				return nil, err
			}
			layout = l
		}
		tr, err := sign.NewTrust(roots, time.Now)
		if err != nil {
			return nil, err
		}
		return install.New(install.Config{Layout: layout, Trust: tr, Kind: kind, Board: board, Arch: runtime.GOARCH,
			Health: health, Watchdog: o.Watchdog, MaxAttempts: o.MaxAttempts, RevocationFile: rev, Logger: log})
	}
	if p.fw, err = open(artifact.KindFirmware, o.FirmwareSlots, p.firmwareHealth); err != nil {
		return nil, fmt.Errorf("ota.firmware_slots: %w", err)
	}
	if o.ModelsSlots != "" {
		if p.models, err = open(artifact.KindModels, o.ModelsSlots, p.modelsHealth); err != nil {
			return nil, fmt.Errorf("ota.models_slots: %w", err)
		}
	}
	return p, nil
}

// provisionFactory fills slots that hold nothing yet (the first start)
// with their factory image: ota.factory_firmware into slot A of the
// firmware slots (layout sim), ota.factory_models into slot A of the
// models slots. Each artifact is verified against ota.roots_file as
// `livegate-ota sim provision` does; slots already provisioned are left
// as they are, whatever the keys say.
func (p *otaParts) provisionFactory(ctx context.Context) error {
	type slots struct {
		key, file, root string
		kind            artifact.Kind
		dev             *install.Device
	}
	var todo []slots
	if p.cfg.Layout != config.LayoutUBoot {
		todo = append(todo, slots{"ota.factory_firmware", p.cfg.FactoryFirmware, p.cfg.FirmwareSlots, artifact.KindFirmware, p.fw})
	}
	if p.models != nil {
		todo = append(todo, slots{"ota.factory_models", p.cfg.FactoryModels, p.cfg.ModelsSlots, artifact.KindModels, p.models})
	}
	for _, s := range todo {
		_, err := s.dev.Env()
		if err == nil {
			continue
		}
		if !errors.Is(err, install.ErrNotProvisioned) {
			return fmt.Errorf("ota: slots %s: %w", s.root, err)
		}
		if s.file == "" {
			return fmt.Errorf("ota: slots %s hold nothing yet: set %s to the signed factory image (installed into slot A at this first start), "+
				"or provision them with `livegate-ota sim provision --root %s --roots %s --kind %s ARTIFACT`", s.root, s.key, s.root, p.cfg.RootsFile, s.kind)
		}
		f, err := os.Open(s.file)
		if err != nil {
			return fmt.Errorf("%s: %w", s.key, err)
		}
		m, err := s.dev.Provision(ctx, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s %s: %w", s.key, s.file, err)
		}
		p.log.Info("ota: empty slots provisioned with the factory image", "kind", string(m.Kind), "version", m.Version, "slot", "a", "root", s.root)
	}
	return nil
}

// bootFirmware boots the firmware slot (Device.Boot). With the U-Boot
// layout it then compares the slot to run with the rootfs the kernel
// booted (livegate.slot= on the kernel command line): they differ after a
// rollback decided in userspace (a failed health check before a restart
// that did not reboot, or a slot whose image no longer verifies) while the
// failed slot's rootfs still runs. Then the kiosk serves nothing from the
// wrong root filesystem: it calls reboot, after which the bootloader
// starts the slot to run, and returns errRestart.
func (p *otaParts) bootFirmware(ctx context.Context, reboot func(context.Context) error) (install.Running, error) {
	run, err := p.fw.Boot(ctx)
	if err != nil || p.cmdline == "" {
		return run, err
	}
	b, err := os.ReadFile(p.cmdline)
	if err != nil {
		p.log.Warn("ota: cannot tell which rootfs the kernel booted", "cmdline", p.cmdline, "err", err)
		return run, nil
	}
	booted, err := install.BootedSlot(string(b))
	if err != nil {
		p.log.Warn("ota: cannot tell which rootfs the kernel booted; the boot script of docs/ota.md sets "+install.BootedSlotArg+"=",
			"cmdline", p.cmdline, "err", err)
		return run, nil
	}
	if booted == run.Slot {
		return run, nil
	}
	p.log.Warn("ota: the kernel booted another slot than the one to run; rebooting",
		"booted_slot", string(booted), "slot", string(run.Slot), "version", run.Version)
	if err := reboot(ctx); err != nil {
		return install.Running{}, fmt.Errorf("ota: reboot from slot %s into slot %s: %w", booted, run.Slot, err)
	}
	return install.Running{}, errRestart
}

func otaClient(caFile string) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ota.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("ota.ca_file %s: no PEM certificate", caFile)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t}, nil
}

// firmwareHealth is the health check of a new firmware version: the
// camera opens and yields a frame; the engine passes the known-answer
// self-test of the active models pack (or, with models from a plain model
// cache that has no self-test vector, runs face detection on the frame
// without panicking); and the cloud is reachable (the MQTT link connects
// within ota.cloud_timeout) when a broker is configured.
func (p *otaParts) firmwareHealth(ctx context.Context, run install.Running) error {
	if p.unhealthy != "" && run.Version == p.unhealthy {
		return fmt.Errorf("sim: version %s is set unhealthy (--sim-unhealthy)", run.Version)
	}
	if p.camera == nil {
		return errors.New("camera: not opened")
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	f, err := p.camera.Next(cctx)
	cancel()
	if err != nil {
		return fmt.Errorf("camera yields no frame: %w", err)
	}
	if p.locator != nil {
		img, err := f.Image()
		if err != nil {
			return fmt.Errorf("camera frame does not decode: %w", err)
		}
		if err := selfTest(p.locator, imgproc.FromImage(img, nil)); err != nil {
			return err
		}
		if p.packSelfTest != nil {
			dir := p.activeModelsDir()
			ran, err := p.packSelfTest(ctx, dir)
			if err != nil {
				return fmt.Errorf("models self-test with this firmware: %w", err)
			}
			if !ran {
				p.log.Warn("ota health check: the models have no self-test vector; checked face detection on a camera frame only", "models_dir", dir)
			}
		}
	}
	if p.sync != nil {
		sctx, cancel := context.WithTimeout(ctx, p.cfg.CloudTimeout)
		defer cancel()
		if err := p.sync.WaitConnected(sctx); err != nil {
			return fmt.Errorf("cloud not reachable within %s: %w", p.cfg.CloudTimeout, err)
		}
	}
	p.log.Info("ota health check passed", "version", run.Version)
	return nil
}

// activeModelsDir is where the engine loads its models from: the active
// models slot, or models.dir.
func (p *otaParts) activeModelsDir() string {
	if p.models != nil && p.modelsLayout != nil {
		if env, err := p.models.Env(); err == nil {
			return p.modelsLayout.SlotPath(env.Active)
		}
	}
	return p.modelsDir
}

// modelsHealth checks a new models pack: the kiosk's engine loads from the
// slot, and the pack passes its own known-answer self-test (detector box,
// landmarks and embedding on its reference image, within the pack's
// tolerances). A pack without a self-test vector fails.
func (p *otaParts) modelsHealth(ctx context.Context, run install.Running) error {
	if p.loadModels == nil || p.packSelfTest == nil {
		return errors.New("models: no engine in this build")
	}
	loc, closeAll, err := p.loadModels(run.Path)
	if err != nil {
		return fmt.Errorf("models %s do not load: %w", run.Version, err)
	}
	err = selfTest(loc, imgproc.NewRGB(320, 240))
	closeAll()
	if err != nil {
		return err
	}
	ran, err := p.packSelfTest(ctx, run.Path)
	if err != nil {
		return fmt.Errorf("models %s: %w", run.Version, err)
	}
	if !ran {
		return fmt.Errorf("models %s: the pack has no self-test vector (selftest.json)", run.Version)
	}
	p.log.Info("models self-test passed", "version", run.Version)
	return nil
}

// selfTest runs one detection; a panic in the runtime is a failure.
func selfTest(loc kioskLocator, img *imgproc.RGB) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("self-test inference panicked: %v", r)
		}
	}()
	loc.Locate(img)
	return nil
}

// restartFunc returns the agent's Restart: exit (the daemon stops
// gracefully and exits with exitRestart) or reboot.
func restartFunc(mode, board string, stop func(), requested *atomic.Bool, log *slog.Logger) func(context.Context) error {
	if restartMode(mode, board) == "reboot" {
		return func(ctx context.Context) error {
			log.Info("ota: rebooting into the new slot")
			return exec.CommandContext(ctx, "systemctl", "reboot").Run()
		}
	}
	return func(context.Context) error {
		log.Info("ota: exiting so the supervisor restarts the kiosk", "status", exitRestart)
		requested.Store(true)
		stop()
		return nil
	}
}

// restartMode resolves ota.restart: exit on sim, reboot elsewhere.
func restartMode(mode, board string) string {
	if mode != "" {
		return mode
	}
	if board == "sim" {
		return "exit"
	}
	return "reboot"
}

// The sync client answers for the agent.
var _ update.Responder = (*fsync.Client)(nil)

// router sends update commands to the OTA agent and the others to the
// kiosk loop.
type router struct {
	kiosk assignHandler
	agent atomic.Pointer[update.Agent]
}

func (r *router) HandleCommand(ctx context.Context, id string, cmd *proto.Command) proto.CommandResponse {
	if cmd.Kind != proto.CommandUpdate {
		return r.kiosk.HandleCommand(ctx, id, cmd)
	}
	a := r.agent.Load()
	if a == nil {
		return proto.CommandResponse{Of: id, Status: "refused", Error: "this kiosk takes no updates (no ota.dir) or is still starting"}
	}
	return a.HandleCommand(ctx, id, cmd)
}

func (p *otaParts) installers() map[artifact.Kind]*install.Device {
	m := map[artifact.Kind]*install.Device{artifact.KindFirmware: p.fw}
	if p.models != nil {
		m[artifact.KindModels] = p.models
	}
	return m
}

func (p *otaParts) fetcher(log *slog.Logger) *download.Fetcher {
	return &download.Fetcher{Client: p.client, Logger: log}
}

func activeVersion(d *install.Device) string {
	if d == nil {
		return ""
	}
	env, err := d.Env()
	if err != nil {
		return ""
	}
	return env.Slots[env.Active].Version
}
