package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"livegate.dev/board"
	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/outbox"
)

// onceOutput is what run-once prints.
type onceOutput struct {
	SessionID     string               `json:"session_id"`
	Board         string               `json:"board"`
	Camera        string               `json:"camera"`
	Source        string               `json:"source"`
	Mode          string               `json:"mode"`
	Verdict       string               `json:"verdict"`
	Confidence    float64              `json:"confidence"`
	Reasons       []string             `json:"reasons"`
	Layers        []kiosk.Layer        `json:"layers"`
	Frames        int                  `json:"frames"`
	FaceFrames    int                  `json:"face_frames"`
	LightSequence []kiosk.LightStep    `json:"light_sequence"`
	Emitted       []kiosk.EmittedLight `json:"emitted"`
	States        []stateAt            `json:"states"`
	// Actions is every LED, relay, status LED and buzzer change seen on the
	// board's (fake) pins, with its time.
	Actions     []action     `json:"actions"`
	RelayPulses []pulse      `json:"relay_pulses"`
	Committed   bool         `json:"committed"`
	AuditFrames int          `json:"audit_frames"`
	Store       string       `json:"store"`
	StartedAt   time.Time    `json:"started_at"`
	DecidedAt   time.Time    `json:"decided_at"`
	Pulse       *pulseReport `json:"pulse,omitempty"`
	// Recording is the session's replayable recording (--recordings).
	Recording string `json:"recording,omitempty"`
	Error     string `json:"error,omitempty"`
}

type stateAt struct {
	State kiosk.State `json:"state"`
	At    time.Time   `json:"at"`
	MS    int64       `json:"ms"` // from the session's start
}

type action struct {
	At     time.Time `json:"at"`
	MS     int64     `json:"ms"`
	Device string    `json:"device"`
	Kind   string    `json:"kind"`
	Value  float64   `json:"value"`
}

type pulse struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	MS    int64     `json:"ms"`
}

type pulseReport struct {
	RequestedMS int64 `json:"requested_ms"`
	AppliedMS   int64 `json:"applied_ms"`
	Clipped     bool  `json:"clipped"`
	// LatencyMS is from the last frame fed to the relay energising.
	LatencyMS float64 `json:"latency_ms"`
}

func cmdRunOnce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run-once", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boardName := fs.String("board", "sim", "board profile (sim drives fakes)")
	cam := fs.String("camera", "", "recording to play as the camera (y4m, MJPEG, image folder, or a video through ffmpeg)")
	source := fs.String("source", "reflect", `on sim: "reflect" tints the face by the emitted LED light (a live face), "replay" plays the file as recorded (a replay attack)`)
	cfgPath := fs.String("config", "", "config file for thresholds and models (optional)")
	mode := fs.String("mode", "", "passive or active (default: the config's, passive)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	store := fs.String("store", "", "outbox file to commit to (default: a temporary one, removed)")
	seed := fs.Uint64("seed", 0, "seed for the light sequence (0: unpredictable)")
	realtime := fs.Bool("realtime", false, "play at the recording's pace on the wall clock (default: virtual time, as fast as possible)")
	recDir := fs.String("recordings", "", "keep a replayable recording of the session in this directory (default: the config's recordings.dir, none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cam == "" {
		return usageError{errors.New("run-once: --camera is required")}
	}
	if *source != "reflect" && *source != "replay" {
		return usageError{fmt.Errorf("run-once: --source %q is not reflect or replay", *source)}
	}
	c := config.Default()
	if *cfgPath != "" {
		var err error
		if c, err = config.Load(*cfgPath, os.Environ()); err != nil {
			return err
		}
	}
	if *mode != "" {
		c.Session.Mode = *mode
	}
	c.Board.Board = *boardName
	file := board.CameraFile
	c.Board.CameraSource, c.Board.CameraDevice = &file, cam
	if c.Board.CameraFPS == nil {
		// The recording's own rate (a profile's camera_fps would re-time it).
		own := 0.0
		c.Board.CameraFPS = &own
	}
	if c.DeviceID == "" {
		c.DeviceID = "run-once"
	}
	if err := c.Validate(); err != nil {
		return err
	}
	p, err := c.Profile()
	if err != nil {
		return err
	}
	log := newLogger(stderr, c.LogLevel)

	eng, loc, err := newEngine(c, p.InferenceThreads, *seed)
	if err != nil {
		return err
	}
	defer eng.Close()
	defer loc.Close()

	var clk drivers.Clock = drivers.RealClock{}
	if !*realtime {
		clk = kiosk.NewVirtualClock(time.Now())
	}
	b, err := board.Open(ctx, p, board.Opts{Clock: clk, Logger: log})
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.Require("relay", "camera"); err != nil {
		return err
	}

	camSrc := b.Camera
	if b.Sim != nil && *source == "reflect" {
		if camSrc, err = reflectCamera(b.Camera, b.Lights, loc); err != nil {
			return err
		}
	}
	storePath := *store
	if storePath == "" {
		dir, err := os.MkdirTemp("", "livegate-run-once-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		storePath = filepath.Join(dir, "outbox.db")
	}
	ob, err := outbox.Open(storePath, outbox.Options{MaxEntries: c.Store.MaxEntries, MaxBytes: c.Store.MaxBytes})
	if err != nil {
		return err
	}
	defer ob.Close()

	var states []stateAt
	if *recDir != "" {
		c.Recordings.Dir = *recDir
	}
	recs, err := recordingsOf(c)
	if err != nil {
		return err
	}
	k, err := kiosk.New(kiosk.Hardware{Camera: camSrc, Relay: b.Relay, Lights: b.Lights, Status: b.Status, Buzzer: b.Buzzer},
		eng, &kiosk.OutboxStore{Outbox: ob, Clock: clk}, loc, kiosk.Options{
			DeviceID: c.DeviceID, FirmwareVersion: version, Clock: clk, Logger: log,
			RelayPulse: c.RelayPulse, CoolDown: time.Millisecond, MaxDuration: c.Session.MaxDuration,
			GuideTimeout: c.Session.GuideTimeout, AuditFrames: *c.Session.AuditFrames, NoAudit: *c.Session.AuditFrames == 0,
			Recordings: recs,
			OnState:    func(s kiosk.State, at time.Time) { states = append(states, stateAt{State: s, At: at}) },
		})
	if err != nil {
		return err
	}
	rep, runErr := k.RunSession(ctx, "", false)
	out := onceOutput{Board: p.Name, Camera: *cam, Source: *source, Store: *store, Reasons: []string{}}
	if b.Sim == nil {
		out.Source = "camera"
	}
	if rep != nil {
		out.SessionID, out.Mode = rep.SessionID, rep.Mode
		out.Verdict, out.Confidence, out.Layers = rep.Result.Verdict, rep.Result.Confidence, rep.Result.Layers
		if rep.Result.Reasons != nil {
			out.Reasons = rep.Result.Reasons
		}
		out.Frames, out.FaceFrames = rep.Result.Frames, rep.Result.FaceFrames
		out.LightSequence, out.Emitted, out.Committed = rep.LightSequence, rep.Emitted, rep.Committed
		out.AuditFrames, out.StartedAt, out.DecidedAt = rep.AuditFrames, rep.StartedAt, rep.DecidedAt
		if rep.Pulse != nil {
			out.Pulse = &pulseReport{RequestedMS: rep.Pulse.Requested.Milliseconds(), AppliedMS: rep.Pulse.Applied.Milliseconds(),
				Clipped: rep.Pulse.Clipped, LatencyMS: float64(rep.Pulse.Start.Sub(rep.LastChallengeFrameAt).Microseconds()) / 1000}
		}
		for i := range states {
			states[i].MS = states[i].At.Sub(rep.StartedAt).Milliseconds()
		}
		if c.Recordings.Dir != "" {
			p := filepath.Join(c.Recordings.Dir, rep.SessionID+kiosk.RecordingExt)
			if _, err := os.Stat(p); err == nil {
				out.Recording = p
			}
		}
	}
	out.States = states
	if b.Sim != nil {
		for _, e := range b.Sim.Log.Events() {
			if e.Device == "distance" {
				continue
			}
			out.Actions = append(out.Actions, action{At: e.Time, MS: e.Time.Sub(out.StartedAt).Milliseconds(), Device: e.Device, Kind: e.Kind, Value: e.Value})
		}
		for _, pl := range b.Sim.RelayPulses() {
			out.RelayPulses = append(out.RelayPulses, pulse{Start: pl.Start, End: pl.End, MS: pl.End.Sub(pl.Start).Milliseconds()})
		}
	}
	if runErr != nil {
		out.Error = runErr.Error()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		printHuman(stdout, out)
	}
	if runErr != nil && !errors.Is(runErr, kiosk.ErrNoFace) {
		return runErr
	}
	return nil
}

func printHuman(w io.Writer, o onceOutput) {
	fmt.Fprintf(w, "session %s on %s (%s, %s): %s, confidence %.2f, reasons %v\n", o.SessionID, o.Board, o.Source, o.Mode, o.Verdict, o.Confidence, o.Reasons)
	for _, l := range o.Layers {
		fmt.Fprintf(w, "  layer %-18s %.2f passed=%v  %s\n", l.Name, l.Score, l.Passed, l.Detail)
	}
	fmt.Fprintf(w, "frames %d (with a face %d), committed %v, audit frames %d\n", o.Frames, o.FaceFrames, o.Committed, o.AuditFrames)
	for _, s := range o.States {
		fmt.Fprintf(w, "  %7d ms state %s\n", s.MS, s.State)
	}
	for _, a := range o.Actions {
		fmt.Fprintf(w, "  %7d ms %-12s %s=%g\n", a.MS, a.Device, a.Kind, a.Value)
	}
	if len(o.RelayPulses) == 0 {
		fmt.Fprintln(w, "relay: never energised")
	}
	for _, p := range o.RelayPulses {
		fmt.Fprintf(w, "relay: energised %d ms\n", p.MS)
	}
	if o.Recording != "" {
		fmt.Fprintf(w, "recording: %s (livegate-face replay %s)\n", o.Recording, o.Recording)
	}
	if o.Error != "" {
		fmt.Fprintln(w, "error:", o.Error)
	}
}
