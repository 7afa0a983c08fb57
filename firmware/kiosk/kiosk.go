package kiosk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/models/imgproc"
	"livegate.dev/proto"
)

// State is the kiosk's state.
type State string

// States, in the order a session walks through them.
const (
	StateIdle         State = "idle"
	StatePresence     State = "presence"
	StateGuiding      State = "guiding"
	StateChallenges   State = "challenges"
	StateAnalysing    State = "analysing"
	StateVerdict      State = "verdict"
	StatePulse        State = "pulse"
	StateCoolDown     State = "cool_down"
	StateOutOfService State = "out_of_service"
	StateTest         State = "technician_test"
)

// Sentinel errors.
var (
	// ErrBadFrame: an Analyzer skipped a frame it could not use.
	ErrBadFrame = errors.New("kiosk: bad frame")
	// ErrPanic: a session panicked; the relay was de-energised.
	ErrPanic = errors.New("kiosk: session panicked")
	// ErrBusy: a technician test was asked while a session runs.
	ErrBusy = errors.New("kiosk: busy (not idle)")
	// ErrNoFace: nobody faced the camera within the guide timeout; nothing
	// was recorded.
	ErrNoFace = errors.New("kiosk: no face within the guide timeout")
	// ErrUnknownLight: a technician test named a light the board lacks.
	ErrUnknownLight = errors.New("kiosk: unknown light")
)

// Hardware is what the kiosk drives. Camera, Relay and at least one light
// are required.
type Hardware struct {
	Camera drivers.FrameSource
	Relay  drivers.Relay
	// Lights by name: "white", "red", "green", "blue", "ir". With red,
	// green and blue the challenge shows colours; with white only, its
	// intensity.
	Lights map[string]drivers.Light
	// Presence starts sessions. Optional: without it a session starts
	// whenever the camera sees a face (guiding ends with ErrNoFace
	// otherwise).
	Presence drivers.Presence
	// Status is on while ready. Optional.
	Status drivers.Light
	// Buzzer beeps on a verdict. Optional.
	Buzzer drivers.Buzzer
}

// Options configures a Kiosk. Every field is optional.
type Options struct {
	// DeviceID prefixes session ids. Default: "kiosk".
	DeviceID string
	// FirmwareVersion is recorded with each session. Default: "dev".
	FirmwareVersion string
	// Clock for every wait. Default: drivers.RealClock.
	Clock drivers.Clock
	// Logger. Default: slog.Default().
	Logger *slog.Logger
	// RelayPulse on a pass. Default: 1.5 s.
	RelayPulse time.Duration
	// CoolDown after a verdict. Default: 3 s.
	CoolDown time.Duration
	// MaxDuration bounds one session's frames. Default: 20 s.
	MaxDuration time.Duration
	// GuideTimeout bounds the wait for a first face. Default: 10 s.
	GuideTimeout time.Duration
	// AuditFrames kept per session, 0–4. Default: 4 (use NoAudit for 0).
	AuditFrames int
	// NoAudit keeps no audit frame.
	NoAudit bool
	// Recordings keeps a replayable recording of each committed session
	// whose Analyzer is a Recorder (RecordingDir keeps the last few).
	// Default: none.
	Recordings SessionRecorder
	// Rand draws session ids. Default: crypto/rand.
	Rand io.Reader
	// OnState is called on every state change (for logs and run-once).
	OnState func(State, time.Time)
}

func (o *Options) defaults() {
	if o.DeviceID == "" {
		o.DeviceID = "kiosk"
	}
	if o.FirmwareVersion == "" {
		o.FirmwareVersion = "dev"
	}
	if o.Clock == nil {
		o.Clock = drivers.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RelayPulse <= 0 {
		o.RelayPulse = 1500 * time.Millisecond
	}
	if o.CoolDown < 0 {
		o.CoolDown = 0
	} else if o.CoolDown == 0 {
		o.CoolDown = 3 * time.Second
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 20 * time.Second
	}
	if o.GuideTimeout <= 0 {
		o.GuideTimeout = 10 * time.Second
	}
	if o.NoAudit {
		o.AuditFrames = 0
	} else if o.AuditFrames <= 0 || o.AuditFrames > 4 {
		o.AuditFrames = 4
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
}

// Summary is one decided session as the status page lists it (no image,
// no biometric data).
type Summary struct {
	SessionID  string    `json:"session_id"`
	Verdict    string    `json:"verdict"`
	Confidence float64   `json:"confidence"`
	Reasons    []string  `json:"reasons"`
	DecidedAt  time.Time `json:"decided_at"`
	// CommittedAt is when the result was durable in the store (the
	// outbox append and its fsync returned): from then on it is the sync
	// part's to send.
	CommittedAt time.Time `json:"committed_at"`
	Pulsed      bool      `json:"pulsed"`
	// PulsedAt is when the relay was energised (a pass only), from the
	// relay driver's pulse report.
	PulsedAt *time.Time `json:"pulsed_at,omitempty"`
}

// Status is the kiosk's state for the technician view and health.
type Status struct {
	State       State     `json:"state"`
	Since       time.Time `json:"since"`
	Sessions    int       `json:"sessions"`
	Passes      int       `json:"passes"`
	LastError   string    `json:"last_error,omitempty"`
	LastFrameAt time.Time `json:"last_frame_at"`
	Recent      []Summary `json:"recent"`
}

// Kiosk runs walk-up sessions. Its methods are safe for concurrent use;
// one session runs at a time.
type Kiosk struct {
	hw    Hardware
	eng   Engine
	store Store
	loc   FaceLocator
	o     Options
	log   *slog.Logger

	session sync.Mutex // held while a session or a test runs

	mu       sync.Mutex
	st       Status
	preview  *imgproc.RGB // last frame
	assigned chan string
	// assignedIDs: the assigned session ids queued (the last
	// maxAssignedIDs, in assignedOrder), so that a repeat is not run twice.
	assignedIDs   map[string]bool
	assignedOrder []string
}

// New checks hw and returns a Kiosk. loc may be nil (audit boxes are then
// zero).
func New(hw Hardware, eng Engine, store Store, loc FaceLocator, opts Options) (*Kiosk, error) {
	switch {
	case hw.Camera == nil:
		return nil, errors.New("kiosk: no camera")
	case hw.Relay == nil:
		return nil, errors.New("kiosk: no relay")
	case len(hw.Lights) == 0:
		return nil, errors.New("kiosk: no illumination light")
	case eng == nil || store == nil:
		return nil, errors.New("kiosk: engine and store are required")
	}
	opts.defaults()
	k := &Kiosk{hw: hw, eng: eng, store: store, loc: loc, o: opts, log: opts.Logger, assigned: make(chan string, 4)}
	k.st.State, k.st.Since = StateIdle, opts.Clock.Now()
	return k, nil
}

func (k *Kiosk) setState(s State) {
	now := k.o.Clock.Now()
	k.mu.Lock()
	k.st.State, k.st.Since = s, now
	k.mu.Unlock()
	if k.o.OnState != nil {
		k.o.OnState(s, now)
	}
	k.log.Debug("kiosk state", "state", string(s))
}

// Status returns a snapshot of the kiosk's state.
func (k *Kiosk) Status() Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.st
	s.Recent = append([]Summary(nil), k.st.Recent...)
	return s
}

// Preview returns the last captured frame as a JPEG (nil before the first
// frame).
func (k *Kiosk) Preview() []byte {
	k.mu.Lock()
	if k.preview == nil {
		k.mu.Unlock()
		return nil
	}
	img := k.preview.ToImage() // a copy: the loop reuses the preview buffer
	k.mu.Unlock()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 75}); err != nil {
		return nil
	}
	return b.Bytes()
}

// Assign queues a cloud-assigned session (flow 3): the next session runs
// under id. It returns false when the queue is full. An id assigned
// before is not queued again (the cloud repeats an assignment until the
// kiosk answers): one this process queued, ran or is running (the last
// maxAssignedIDs), or whose result is in the store (a store with
// Decided(id) bool, such as OutboxStore: the session ran before a
// restart and the cloud has not acknowledged its result yet). Such a
// repeat returns true.
func (k *Kiosk) Assign(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.assignedIDs[id] {
		k.log.Info("assigned session already queued or run", "session_id", id)
		return true
	}
	if d, ok := k.store.(interface{ Decided(string) bool }); ok && d.Decided(id) {
		k.log.Info("assigned session already decided", "session_id", id)
		k.rememberAssigned(id)
		return true
	}
	select {
	case k.assigned <- id:
		k.rememberAssigned(id)
		return true
	default:
		return false
	}
}

// maxAssignedIDs bounds the assigned session ids a kiosk remembers.
const maxAssignedIDs = 256

// rememberAssigned keeps id among the assigned session ids. k.mu is held.
func (k *Kiosk) rememberAssigned(id string) {
	if k.assignedIDs == nil {
		k.assignedIDs = map[string]bool{}
	}
	k.assignedIDs[id] = true
	k.assignedOrder = append(k.assignedOrder, id)
	if len(k.assignedOrder) > maxAssignedIDs {
		delete(k.assignedIDs, k.assignedOrder[0])
		k.assignedOrder = k.assignedOrder[1:]
	}
}

// Run runs sessions until ctx is done: each starts on a presence event (or
// an assignment, or — without a presence sensor — at once, ending quietly
// when no face shows). A panic in a session de-energises the relay and
// returns ErrPanic; a cancelled ctx returns nil after the relay is off.
func (k *Kiosk) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	presence := make(chan drivers.PresenceEvent)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if k.hw.Presence != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ev, err := k.hw.Presence.Next(ctx)
				if err != nil {
					if ctx.Err() == nil {
						k.log.Error("presence sensor", "err", err)
					}
					return
				}
				select {
				case presence <- ev:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	k.lightsOff()
	for {
		if k.full() {
			// Out of service (gate shut, no session) until the sync's
			// acks free room in the store.
			if r, ok := k.store.(interface{ Room() bool }); ok && r.Room() {
				k.clearFull()
				continue
			}
			k.setStateOnce(StateOutOfService)
			k.setStatusLED(false)
			if err := drivers.Sleep(ctx, k.o.Clock, time.Second); err != nil {
				return k.shutdown()
			}
			continue
		}
		k.setState(StateIdle)
		k.setStatusLED(true)
		id, assigned := "", false
		if k.hw.Presence != nil {
			select {
			case <-ctx.Done():
				return k.shutdown()
			case ev := <-presence:
				if !ev.Present {
					continue
				}
			case id = <-k.assigned:
				assigned = true
			}
		} else {
			select {
			case <-ctx.Done():
				return k.shutdown()
			case id = <-k.assigned:
				assigned = true
			default:
			}
		}
		k.setState(StatePresence)
		_, err := k.safeSession(ctx, id, assigned)
		switch {
		case errors.Is(err, ErrPanic):
			return err
		case ctx.Err() != nil:
			return k.shutdown()
		case errors.Is(err, ErrNoFace):
		case err != nil:
			k.log.Error("session", "err", err)
		}
		if errors.Is(err, io.EOF) {
			// A finite camera (a recording) is exhausted.
			k.shutdown()
			return err
		}
	}
}

// shutdown leaves the relay off and the LEDs dark.
func (k *Kiosk) shutdown() error {
	k.setStatusLED(false)
	k.lightsOff()
	if err := k.hw.Relay.Close(); err != nil {
		return fmt.Errorf("kiosk: relay close: %w", err)
	}
	return nil
}

func (k *Kiosk) full() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.st.LastError == errFullText
}

const errFullText = "store full: out of service until the cloud acknowledges results"

// safeSession runs one session and turns a panic into ErrPanic after
// switching the relay off.
func (k *Kiosk) safeSession(ctx context.Context, id string, assigned bool) (rep *Report, err error) {
	defer func() {
		if r := recover(); r != nil {
			cerr := k.hw.Relay.Close()
			k.lightsOff()
			k.log.Error("session panicked; relay de-energised", "panic", fmt.Sprint(r), "relay_close_err", cerr)
			err = fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	return k.RunSession(ctx, id, assigned)
}

// Report is what one session did.
type Report struct {
	SessionID     string      `json:"session_id"`
	Assigned      bool        `json:"assigned"`
	Mode          string      `json:"mode"`
	Result        Result      `json:"result"`
	LightSequence []LightStep `json:"light_sequence"`
	// Emitted is every change of the challenge light the kiosk commanded,
	// with the session time it was set.
	Emitted []EmittedLight `json:"emitted"`
	// Committed is true once the result was durably stored.
	Committed bool `json:"committed"`
	// Pulse is set when the relay was pulsed (pass only).
	Pulse     *drivers.PulseReport `json:"pulse,omitempty"`
	StartedAt time.Time            `json:"started_at"`
	DecidedAt time.Time            `json:"decided_at"`
	// LastChallengeFrameAt is the capture time of the last frame fed.
	LastChallengeFrameAt time.Time `json:"last_challenge_frame_at"`
	AuditFrames          int       `json:"audit_frames"`
}

// EmittedLight is one challenge light the kiosk set.
type EmittedLight struct {
	At    time.Time `json:"at"`
	Light *Light    `json:"light"` // nil: challenge light off (white guide light)
}

// RunSession runs one session now, under id when non-empty (an assigned
// session) or a new id. It commits the result before any relay pulse and
// pulses only on pass. It returns ErrNoFace (nothing stored) when no face
// showed within the guide timeout, and io.EOF wrapped when a finite
// camera ended before any face.
func (k *Kiosk) RunSession(ctx context.Context, id string, assigned bool) (*Report, error) {
	k.session.Lock()
	defer k.session.Unlock()
	defer k.lightsOff()
	clk := k.o.Clock
	if id == "" {
		var b [12]byte
		if _, err := io.ReadFull(k.o.Rand, b[:]); err != nil {
			return nil, fmt.Errorf("kiosk: session id: %w", err)
		}
		id = k.o.DeviceID + "-" + hex.EncodeToString(b[:])
	}
	log := k.log.With("session_id", id)
	rep := &Report{SessionID: id, Assigned: assigned, Mode: k.eng.Mode(), StartedAt: clk.Now()}
	an := k.eng.NewAnalyzer()
	rep.LightSequence = an.LightSequence()
	rec := k.startRecording(log, id, an, rep.StartedAt)
	defer rec.discard(log) // unless kept below

	k.setState(StateGuiding)
	var cur *Light
	k.emit(rep, nil)
	audit := newAuditRing(256, 3)
	var (
		start, firstFace time.Time
		fed              int
		img              *imgproc.RGB
		endErr           error
		lastAt           time.Time
	)
	for {
		f, err := k.hw.Camera.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			endErr = fmt.Errorf("kiosk: camera: %w", err)
			break
		}
		if start.IsZero() {
			start = f.Time
		}
		img, err = toRGB(f, img)
		if err != nil {
			log.Warn("frame skipped", "err", err)
			continue
		}
		k.mu.Lock()
		if k.preview == nil || k.preview.W != img.W || k.preview.H != img.H {
			k.preview = imgproc.NewRGB(img.W, img.H)
		}
		copy(k.preview.Pix, img.Pix)
		k.st.LastFrameAt = f.Time
		k.mu.Unlock()
		g, err := an.Feed(ctx, Frame{Image: img, Timestamp: f.Time.Sub(start), Light: cur})
		if err != nil && !errors.Is(err, ErrBadFrame) {
			return rep, fmt.Errorf("kiosk: analyse: %w", err)
		}
		if err == nil {
			audit.offer(fed, img)
			fed++
			lastAt = f.Time
		}
		if g.FaceFound && firstFace.IsZero() {
			firstFace = f.Time
		}
		if firstFace.IsZero() && f.Time.Sub(start) >= k.o.GuideTimeout {
			log.Info("no face within the guide timeout")
			return rep, ErrNoFace
		}
		if g.Light != nil || g.Challenge != "" {
			k.setStateOnce(StateChallenges)
		}
		if !sameLight(g.Light, cur) {
			cur = copyLight(g.Light)
			k.emit(rep, cur)
		}
		if g.Done || f.Time.Sub(start) >= k.o.MaxDuration {
			break
		}
	}
	if firstFace.IsZero() {
		if endErr != nil {
			return rep, fmt.Errorf("%w (%w)", ErrNoFace, endErr)
		}
		return rep, ErrNoFace
	}
	rep.LastChallengeFrameAt = lastAt
	k.lightsOff()
	k.setState(StateAnalysing)
	res := an.Result()
	rep.Result = res
	rep.DecidedAt = clk.Now()
	k.setState(StateVerdict)

	msg := &proto.SessionResult{
		SessionID: id, Assigned: assigned, Mode: rep.Mode, Verdict: res.Verdict,
		Confidence: clamp01(res.Confidence), Reasons: res.Reasons,
		StartedAt: rep.StartedAt.UTC(), DecidedAt: rep.DecidedAt.UTC(),
		FirmwareVersion: k.o.FirmwareVersion, ModelsVersion: k.eng.ModelsVersion(),
	}
	if msg.Reasons == nil {
		msg.Reasons = []string{}
	}
	for _, l := range res.Layers {
		msg.Layers = append(msg.Layers, proto.Layer{Name: l.Name, Score: l.Score, Passed: l.Passed})
	}
	msg.AuditFrames = audit.pick(res.Audit, k.o.AuditFrames, k.loc, rep.StartedAt, start)
	rep.AuditFrames = len(msg.AuditFrames)
	if err := k.store.Commit(ctx, msg); err != nil {
		// Not stored: the gate stays shut whatever the verdict.
		k.recordError(err)
		log.Error("session not stored; gate stays shut", "verdict", res.Verdict, "err", err)
		return rep, fmt.Errorf("kiosk: commit %s: %w", id, err)
	}
	rep.Committed = true
	committedAt := clk.Now()
	k.clearFull()
	pulsed := false
	var pulsedAt *time.Time
	if res.Verdict == "pass" {
		k.setState(StatePulse)
		pr, err := k.hw.Relay.Pulse(ctx, k.o.RelayPulse)
		rep.Pulse = &pr
		pulsed = true
		if !pr.Start.IsZero() {
			pulsedAt = &pr.Start
		}
		if err != nil {
			log.Error("relay pulse", "err", err)
		}
		k.beep(ctx, 120*time.Millisecond)
	} else {
		k.beep(ctx, 400*time.Millisecond)
	}
	// After the gate: keeping a recording syncs megabytes to disk.
	rec.keep(log)
	log.Info("session decided", "verdict", res.Verdict, "confidence", res.Confidence, "reasons", res.Reasons, "pulsed", pulsed)
	k.remember(Summary{SessionID: id, Verdict: res.Verdict, Confidence: res.Confidence, Reasons: res.Reasons, DecidedAt: rep.DecidedAt,
		CommittedAt: committedAt, Pulsed: pulsed, PulsedAt: pulsedAt})
	k.setState(StateCoolDown)
	if err := drivers.Sleep(ctx, clk, k.o.CoolDown); err != nil {
		return rep, err
	}
	return rep, nil
}

func (k *Kiosk) setStateOnce(s State) {
	k.mu.Lock()
	same := k.st.State == s
	k.mu.Unlock()
	if !same {
		k.setState(s)
	}
}

func (k *Kiosk) remember(s Summary) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.st.Sessions++
	if s.Verdict == "pass" {
		k.st.Passes++
	}
	k.st.Recent = append([]Summary{s}, k.st.Recent...)
	if len(k.st.Recent) > 20 {
		k.st.Recent = k.st.Recent[:20]
	}
}

// FullError is implemented by store errors that mean "full".
type fullError interface{ Full() bool }

func (k *Kiosk) recordError(err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var fe fullError
	if errors.As(err, &fe) && fe.Full() {
		k.st.LastError = errFullText
		return
	}
	k.st.LastError = err.Error()
}

func (k *Kiosk) clearFull() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.st.LastError = ""
}

// ClearOutOfService lets sessions start again (the sync calls it after acks
// freed space).
func (k *Kiosk) ClearOutOfService() { k.clearFull() }

func (k *Kiosk) emit(rep *Report, l *Light) {
	rep.Emitted = append(rep.Emitted, EmittedLight{At: k.o.Clock.Now(), Light: copyLight(l)})
	if err := k.applyLight(l); err != nil {
		k.log.Error("illumination", "err", err)
	}
}

// applyLight drives the LEDs: a challenge colour on red/green/blue (white
// off), or on white alone by intensity when the board has no colour
// channels; nil is the white guide light.
func (k *Kiosk) applyLight(l *Light) error {
	L := k.hw.Lights
	set := func(name string, v float64) error {
		if x := L[name]; x != nil {
			return x.SetBrightness(clamp01(v))
		}
		return nil
	}
	colour := L["red"] != nil && L["green"] != nil && L["blue"] != nil
	var errs []error
	switch {
	case l == nil:
		errs = append(errs, set("white", 1), set("red", 0), set("green", 0), set("blue", 0))
	case colour:
		errs = append(errs, set("white", 0), set("red", l.R*l.Intensity), set("green", l.G*l.Intensity), set("blue", l.B*l.Intensity))
	default:
		errs = append(errs, set("white", l.Intensity*(l.R+l.G+l.B)/3))
	}
	return errors.Join(errs...)
}

func (k *Kiosk) lightsOff() {
	for name, l := range k.hw.Lights {
		if err := drivers.Off(l); err != nil {
			k.log.Error("light off", "light", name, "err", err)
		}
	}
}

func (k *Kiosk) setStatusLED(on bool) {
	if k.hw.Status == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	if err := k.hw.Status.SetBrightness(v); err != nil {
		k.log.Error("status led", "err", err)
	}
}

func (k *Kiosk) beep(ctx context.Context, d time.Duration) {
	if k.hw.Buzzer == nil {
		return
	}
	if err := k.hw.Buzzer.Beep(ctx, d); err != nil && ctx.Err() == nil {
		k.log.Error("buzzer", "err", err)
	}
}

// TestRelay pulses the relay for d on a technician's request; only while
// idle (ErrBusy otherwise).
func (k *Kiosk) TestRelay(ctx context.Context, d time.Duration) (drivers.PulseReport, error) {
	if !k.session.TryLock() {
		return drivers.PulseReport{}, ErrBusy
	}
	defer k.session.Unlock()
	prev := k.Status().State
	k.setState(StateTest)
	defer k.setState(prev)
	k.log.Info("technician relay test", "duration", d)
	return k.hw.Relay.Pulse(ctx, d)
}

// TestLight drives light name at brightness for d, then off; only while
// idle.
func (k *Kiosk) TestLight(ctx context.Context, name string, brightness float64, d time.Duration) error {
	l := k.hw.Lights[name]
	if name == "status" {
		l = k.hw.Status
	}
	if l == nil {
		return fmt.Errorf("%w %q", ErrUnknownLight, name)
	}
	if !k.session.TryLock() {
		return ErrBusy
	}
	defer k.session.Unlock()
	prev := k.Status().State
	k.setState(StateTest)
	defer k.setState(prev)
	k.log.Info("technician light test", "light", name, "brightness", brightness, "duration", d)
	if err := l.SetBrightness(brightness); err != nil {
		return err
	}
	err := drivers.Sleep(ctx, k.o.Clock, d)
	if oerr := drivers.Off(l); oerr != nil {
		return oerr
	}
	return err
}

// LightNames lists the lights a technician can test.
func (k *Kiosk) LightNames() []string {
	var n []string
	for _, name := range []string{"white", "red", "green", "blue", "ir"} {
		if k.hw.Lights[name] != nil {
			n = append(n, name)
		}
	}
	for name := range k.hw.Lights {
		switch name {
		case "white", "red", "green", "blue", "ir":
		default:
			n = append(n, name)
		}
	}
	if k.hw.Status != nil {
		n = append(n, "status")
	}
	return n
}

func sameLight(a, b *Light) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func copyLight(l *Light) *Light {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// sessionRecording is one session's recording in progress (nil: none).
type sessionRecording struct {
	sink RecordingSink
	r    Recorder
}

// startRecording starts recording the session when a SessionRecorder is
// configured and the Analyzer can record; a failure only costs the
// recording.
func (k *Kiosk) startRecording(log *slog.Logger, id string, an Analyzer, started time.Time) *sessionRecording {
	r, ok := an.(Recorder)
	if k.o.Recordings == nil || !ok {
		return nil
	}
	sink, err := k.o.Recordings.Begin(id)
	if err != nil {
		log.Warn("recording not started", "err", err)
		return nil
	}
	if err := r.Record(sink, RecordingInfo{SessionID: id, FirmwareVersion: k.o.FirmwareVersion, Started: started}); err != nil {
		log.Warn("recording not started", "err", err)
		_ = sink.Discard()
		return nil
	}
	return &sessionRecording{sink: sink, r: r}
}

// keep stores a whole recording (one whose writes all succeeded and that
// ends with the verdict).
func (s *sessionRecording) keep(log *slog.Logger) {
	if s == nil {
		return
	}
	if err := s.r.RecordErr(); err != nil {
		log.Warn("recording not kept", "err", err)
		if derr := s.sink.Discard(); derr != nil {
			log.Warn("recording not removed", "err", derr)
		}
		return
	}
	if err := s.sink.Keep(); err != nil {
		log.Warn("recording not kept", "err", err)
	}
}

func (s *sessionRecording) discard(log *slog.Logger) {
	if s == nil {
		return
	}
	if err := s.sink.Discard(); err != nil {
		log.Warn("recording not removed", "err", err)
	}
}
