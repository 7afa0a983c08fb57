package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"livegate.dev/board"
	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/health"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/outbox"
	"livegate.dev/firmware/tech"
	"livegate.dev/firmware/update"
	"livegate.dev/ota/install"
)

// cmdRun is the daemon: board, store, engine, kiosk loop, technician view,
// systemd notification; SIGTERM/SIGINT stop it with the relay off and the
// store closed.
func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/livegate/kiosk.yaml", "config file (YAML)")
	simState := fs.String("sim-state", "", "sim board: directory keeping pin levels across restarts (tests)")
	simUnhealthy := fs.String("sim-unhealthy", "", "sim board: a firmware `version` whose OTA health check fails (tests, fleet simulations)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := config.Load(*path, os.Environ())
	if err != nil {
		return err
	}
	log := newLogger(stderr, c.LogLevel).With("device_id", c.DeviceID)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if *simUnhealthy != "" && c.Board.Board != "sim" {
		return usageError{errors.New("run: --sim-unhealthy is for the sim board only")}
	}
	return daemon(ctx, c, daemonOpts{simState: *simState, unhealthy: *simUnhealthy, log: log, getenv: os.Getenv})
}

type daemonOpts struct {
	simState string
	// unhealthy names a firmware version whose OTA health check fails
	// (sim only: tests and fleet simulations).
	unhealthy string
	log       *slog.Logger
	getenv    func(string) string
	// ready, when set, receives the technician view's address once
	// serving (tests).
	ready func(addr string)
}

func daemon(ctx context.Context, c config.Config, o daemonOpts) (err error) {
	log := o.log
	notifier, err := health.FromEnv(o.getenv)
	if err != nil {
		return err
	}
	p, err := c.Profile()
	if err != nil {
		return err
	}
	clk := drivers.RealClock{}
	b, err := board.Open(ctx, p, board.Opts{Clock: clk, Logger: log, SimStateDir: o.simState})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); cerr != nil {
			log.Error("board close", "err", cerr)
		}
	}()
	if err := b.Require("relay", "camera"); err != nil {
		return err
	}
	if len(b.Lights) == 0 {
		return errors.New("board: no illumination light opened (see the board report)")
	}
	if err := os.MkdirAll(filepath.Dir(c.Store.Path), 0o700); err != nil {
		return fmt.Errorf("store dir: %w", err)
	}
	ob, err := outbox.Open(c.Store.Path, outbox.Options{MaxEntries: c.Store.MaxEntries, MaxBytes: c.Store.MaxBytes})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := ob.Close(); cerr != nil {
			log.Error("store close", "err", cerr)
		}
	}()
	st := ob.Stats()
	log.Info("store open", "path", c.Store.Path, "entries", st.Entries, "bytes", st.Bytes)
	// OTA: the models slot is confirmed before the engine loads from it;
	// the firmware slot is booted here and confirmed below, once the
	// cloud link runs (its health check needs it).
	op, err := openOTA(c, p.Name, log)
	if err != nil {
		return err
	}
	fwVersion := version
	var frun install.Running
	if op != nil {
		if err := op.provisionFactory(ctx); err != nil {
			return err
		}
		op.unhealthy = o.unhealthy
		if op.models != nil {
			op.loadModels = func(dir string) (kioskLocator, func(), error) {
				mc := c
				mc.Models.Dir = dir
				e, l, err := newEngine(mc, p.InferenceThreads, 0)
				if err != nil {
					return nil, nil, err
				}
				return l, func() { l.Close(); e.Close() }, nil
			}
			mrun, err := op.models.Start(ctx)
			if err != nil {
				return fmt.Errorf("ota: models slots: %w", err)
			}
			c.Models.Dir = mrun.Path
			log.Info("models slot", "slot", string(mrun.Slot), "version", mrun.Version)
		}
		// Nothing runs yet: a reboot (U-Boot, wrong rootfs) needs no stop.
		reboot := restartFunc(c.OTA.Restart, p.Name, func() {}, new(atomic.Bool), log)
		if frun, err = op.bootFirmware(ctx, reboot); err != nil {
			if errors.Is(err, errRestart) {
				return err
			}
			return fmt.Errorf("ota: firmware slots: %w", err)
		}
		fwVersion = frun.Version
		log.Info("firmware slot", "slot", string(frun.Slot), "version", frun.Version)
	}
	eng, loc, err := newEngine(c, p.InferenceThreads, 0)
	if err != nil {
		return err
	}
	defer eng.Close()
	defer loc.Close()

	cam := b.Camera
	if b.Sim != nil && p.Camera.Source == board.CameraFile {
		if cam, err = reflectCamera(cam, b.Lights, loc); err != nil {
			return err
		}
	}
	recs, err := recordingsOf(c)
	if err != nil {
		return err
	}
	states := newStateSignal()
	k, err := kiosk.New(kiosk.Hardware{Camera: cam, Relay: b.Relay, Lights: b.Lights, Presence: b.Presence, Status: b.Status, Buzzer: b.Buzzer},
		eng, &kiosk.OutboxStore{Outbox: ob, Clock: clk}, loc, kiosk.Options{
			DeviceID: c.DeviceID, FirmwareVersion: fwVersion, Clock: clk, Logger: log,
			RelayPulse: c.RelayPulse, CoolDown: c.CoolDown, MaxDuration: c.Session.MaxDuration,
			GuideTimeout: c.Session.GuideTimeout, AuditFrames: *c.Session.AuditFrames, NoAudit: *c.Session.AuditFrames == 0,
			Recordings: recs, OnState: states.notify,
		})
	if err != nil {
		return err
	}
	// The sim board simulates walk-ups for the technician view (its fake
	// presence sensor); real boards have people.
	var walkUp func(context.Context) (kiosk.Summary, error)
	if b.Sim != nil && b.Presence != nil {
		w := &walkUpper{sim: b.Sim, k: k, states: states, clk: clk,
			idle: c.RelayPulse + c.CoolDown + 5*time.Second, start: 5 * time.Second,
			limit: c.Session.GuideTimeout + c.Session.MaxDuration + c.RelayPulse + c.CoolDown + 30*time.Second}
		walkUp = w.WalkUp
	}

	// The loop's liveness for health: Run is alive, and a session in
	// progress still gets frames.
	var loopDone atomic.Bool
	healthy := func() error {
		if loopDone.Load() {
			return errors.New("kiosk loop stopped")
		}
		s := k.Status()
		switch s.State {
		case kiosk.StateGuiding, kiosk.StateChallenges:
			if age := clk.Now().Sub(s.LastFrameAt); age > 5*time.Second {
				return fmt.Errorf("no camera frame for %s", age.Round(time.Second))
			}
		}
		return nil
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	// The cloud link runs before the health check of a new firmware
	// version (the cloud must be reachable) and before the technician
	// view serves.
	var restartRequested atomic.Bool
	rt := &router{kiosk: assignHandler{k: k, log: log}}
	versions := func() (string, string) {
		fw, mv := fwVersion, eng.ModelsVersion()
		if op != nil {
			if v := activeVersion(op.models); v != "" {
				mv = v
			}
		}
		return fw, mv
	}
	sc, err := newSync(c, ob, rt, versions, log)
	if err != nil {
		cancel()
		return err
	}
	if sc != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sc.Run(ctx); err != nil {
				log.Error("cloud sync stopped", "err", err)
			}
		}()
	} else {
		log.Warn("no cloud broker configured: results stay in the store")
	}
	if op != nil {
		op.camera, op.locator, op.sync = b.Camera, loc, sc
		out, err := op.fw.Confirm(ctx, frun)
		if err != nil {
			stopped := ctx.Err() != nil
			cancel() // the deferred wg.Wait needs the goroutines stopped
			if stopped {
				return nil
			}
			return fmt.Errorf("ota: confirm firmware %s: %w", frun.Version, err)
		}
		restart := restartFunc(c.OTA.Restart, p.Name, cancel, &restartRequested, log)
		if out == install.OutcomeRolledBack {
			// The old slot runs after a restart (a reboot on real boards).
			log.Warn("ota: new firmware failed its health check; restarting into the old slot", "version", frun.Version)
			err := restart(ctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ota: restart after rollback: %w", err)
			}
			return errRestart
		}
		if sc != nil {
			sc.Announce()
			agent, err := update.New(update.Config{Installers: op.installers(), Fetcher: op.fetcher(log), Dir: c.OTA.Dir,
				Responder: sc, Restart: restart, Logger: log})
			if err != nil {
				cancel()
				return err
			}
			defer agent.Close()
			rt.agent.Store(agent)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := agent.ReportPending(ctx); err != nil && ctx.Err() == nil {
					log.Error("ota: pending update result not reported", "err", err)
				}
			}()
		} else {
			log.Warn("ota: updates need the cloud link (cloud.broker); none taken")
		}
	}

	tv := tech.New(k, tech.Options{User: c.Technician.User, PasswordHash: c.Technician.PasswordHash, Check: config.CheckPassword,
		Health: healthy, Logger: log, WalkUp: walkUp})
	serve := func(addr string, h http.Handler, what string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s listen %s: %w", what, addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(what, "err", err)
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer scancel()
			srv.Shutdown(sctx)
		}()
		log.Info(what+" listening", "addr", ln.Addr().String())
		if o.ready != nil && what == "technician view" {
			o.ready(ln.Addr().String())
		}
		return nil
	}
	if l := c.Technician.Listen; l != "" && l != "off" {
		if err := serve(l, tv, "technician view"); err != nil {
			return err
		}
	}
	if l := c.Technician.HealthListen; l != "" {
		if err := serve(l, tv.HealthHandler(), "health"); err != nil {
			return err
		}
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		notifier.RunWatchdog(ctx, clk, log, healthy)
	}()
	if err := notifier.Ready(); err != nil {
		log.Error("sd_notify", "err", err)
	}
	log.Info("kiosk running", "board", p.Name, "mode", eng.Mode())
	runErr := k.Run(ctx)
	stopped := ctx.Err() != nil
	loopDone.Store(true)
	if err := notifier.Stopping(); err != nil {
		log.Error("sd_notify", "err", err)
	}
	cancel()
	if restartRequested.Load() {
		log.Info("kiosk stopped for a restart into the new slot: relay off, store closing")
		return errRestart
	}
	if stopped && (runErr == nil || errors.Is(runErr, context.Canceled)) {
		log.Info("kiosk stopped: relay off, store closing")
		return nil
	}
	return runErr
}

// recordingsOf opens the recordings directory of c (nil when
// recordings.dir is not set).
func recordingsOf(c config.Config) (kiosk.SessionRecorder, error) {
	r := c.Recordings
	if r.Dir == "" {
		return nil, nil
	}
	d, err := kiosk.OpenRecordingDir(r.Dir, r.Keep, r.MaxBytes)
	if err != nil {
		return nil, err
	}
	return d, nil
}
