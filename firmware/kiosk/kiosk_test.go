package kiosk_test

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"math"
	"sync"
	"testing"
	"time"

	"livegate.dev/board"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/proto"
)

// scripted is an Analyzer that sees a face from frame faceFrom on, steps
// through seq (perFrame frames each) and then decides verdict.
type scripted struct {
	seq      []kiosk.LightStep
	faceFrom int
	perStep  int
	verdict  string
	panicAt  int // panic on this frame (0: never)

	n       int
	emitted []*kiosk.Light
}

func (s *scripted) Feed(ctx context.Context, f kiosk.Frame) (kiosk.Guidance, error) {
	s.n++
	if s.panicAt > 0 && s.n == s.panicAt {
		panic("scripted analyzer panic")
	}
	s.emitted = append(s.emitted, f.Light)
	if f.Image == nil || f.Image.W == 0 {
		return kiosk.Guidance{}, kiosk.ErrBadFrame
	}
	if s.faceFrom < 0 || s.n <= s.faceFrom {
		return kiosk.Guidance{Status: "no_face"}, nil
	}
	k := (s.n - s.faceFrom - 1) / s.perStep
	if k >= len(s.seq) {
		return kiosk.Guidance{Status: "done", FaceFound: true, Done: true}, nil
	}
	l := s.seq[k].Light
	return kiosk.Guidance{Status: "hold_still", FaceFound: true, Light: &l}, nil
}

func (s *scripted) LightSequence() []kiosk.LightStep { return s.seq }

func (s *scripted) Result() kiosk.Result {
	return kiosk.Result{Verdict: s.verdict, Confidence: 0.9, Reasons: []string{}, Layers: []kiosk.Layer{{Name: "light_response", Score: 0.9, Passed: true}}, Audit: []int{0, 5, 9}, Frames: s.n}
}

type engine struct {
	mu sync.Mutex
	a  []*scripted
	mk func() *scripted
}

func (e *engine) NewAnalyzer() kiosk.Analyzer {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.mk()
	e.a = append(e.a, a)
	return a
}
func (e *engine) Mode() string          { return "passive" }
func (e *engine) ModelsVersion() string { return "test" }

// store records commits and how many relay pulses had happened by then.
type store struct {
	mu          sync.Mutex
	sim         *board.Sim
	err         error
	commits     []*proto.SessionResult
	pulsesAtCom []int
}

func (s *store) Commit(ctx context.Context, r *proto.SessionResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if err := r.Validate(); err != nil {
		return err
	}
	s.commits = append(s.commits, r)
	s.pulsesAtCom = append(s.pulsesAtCom, len(s.sim.RelayPulses()))
	return nil
}

var seq = []kiosk.LightStep{
	{Light: kiosk.Light{R: 1, G: 0, B: 0, Intensity: 1}, Start: 0},
	{Light: kiosk.Light{R: 0, G: 0, B: 1, Intensity: 1}, Start: 400 * time.Millisecond},
	{Light: kiosk.Light{R: 0, G: 1, B: 0, Intensity: 0.5}, Start: 800 * time.Millisecond},
}

func openSim(t *testing.T) (*board.Board, *kiosk.VirtualClock) {
	t.Helper()
	clk := kiosk.NewVirtualClock(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC))
	p, err := board.Load(board.Config{Board: "sim", CameraWidth: ptr(160), CameraHeight: ptr(120)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := board.Open(context.Background(), p, board.Opts{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, clk
}

func ptr[T any](v T) *T { return &v }

func hw(b *board.Board) kiosk.Hardware {
	return kiosk.Hardware{Camera: b.Camera, Relay: b.Relay, Lights: b.Lights, Status: b.Status, Buzzer: b.Buzzer}
}

func TestSession(t *testing.T) {
	tests := []struct {
		name       string
		verdict    string
		storeErr   error
		faceFrom   int
		wantErr    error
		wantPulses int
		wantCommit bool
	}{
		{name: "pass pulses after commit", verdict: "pass", faceFrom: 2, wantPulses: 1, wantCommit: true},
		{name: "fail never pulses", verdict: "fail", faceFrom: 2, wantCommit: true},
		{name: "retry never pulses", verdict: "retry", faceFrom: 2, wantCommit: true},
		{name: "pass not stored never pulses", verdict: "pass", faceFrom: 2, storeErr: errors.New("disk gone"), wantErr: errors.New("")},
		{name: "no face records nothing", verdict: "pass", faceFrom: -1, wantErr: kiosk.ErrNoFace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, clk := openSim(t)
			eng := &engine{mk: func() *scripted {
				return &scripted{seq: seq, faceFrom: tt.faceFrom, perStep: 4, verdict: tt.verdict}
			}}
			st := &store{sim: b.Sim, err: tt.storeErr}
			var states []kiosk.State
			k, err := kiosk.New(hw(b), eng, st, nil, kiosk.Options{Clock: clk, DeviceID: "k1", GuideTimeout: time.Second, CoolDown: time.Second,
				OnState: func(s kiosk.State, _ time.Time) { states = append(states, s) }})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := k.RunSession(context.Background(), "", false)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("RunSession: %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("RunSession succeeded, want %v", tt.wantErr)
			case errors.Is(tt.wantErr, kiosk.ErrNoFace) && !errors.Is(err, kiosk.ErrNoFace):
				t.Fatalf("err = %v, want ErrNoFace", err)
			}
			if got := len(b.Sim.RelayPulses()); got != tt.wantPulses {
				t.Errorf("relay pulses = %d, want %d\n%s", got, tt.wantPulses, b.Sim.Log)
			}
			if (len(st.commits) == 1) != tt.wantCommit || rep.Committed != tt.wantCommit {
				t.Fatalf("commits = %d, report committed %v, want %v", len(st.commits), rep.Committed, tt.wantCommit)
			}
			if !tt.wantCommit {
				return
			}
			if st.pulsesAtCom[0] != 0 {
				t.Errorf("relay pulsed before the commit")
			}
			// The summary (technician view, walkup) dates the commit and the
			// relay's energising, in that order; only a pass has the latter.
			recent := k.Status().Recent
			if len(recent) != 1 {
				t.Fatalf("recent = %+v, want the one session", recent)
			}
			sum := recent[0]
			if sum.CommittedAt.IsZero() || sum.CommittedAt.Before(rep.DecidedAt) {
				t.Errorf("committed_at %v, decided_at %v: want the commit at or after the verdict", sum.CommittedAt, rep.DecidedAt)
			}
			switch pulses := b.Sim.RelayPulses(); {
			case tt.verdict != "pass" && sum.PulsedAt != nil:
				t.Errorf("pulsed_at %v on a %s", *sum.PulsedAt, tt.verdict)
			case tt.verdict == "pass" && (sum.PulsedAt == nil || len(pulses) != 1 || !sum.PulsedAt.Equal(pulses[0].Start) || !sum.Pulsed):
				t.Errorf("pulsed %v at %v, want the relay's energising %+v", sum.Pulsed, sum.PulsedAt, pulses)
			case sum.PulsedAt != nil && sum.PulsedAt.Before(sum.CommittedAt):
				t.Errorf("pulsed_at %v before committed_at %v", *sum.PulsedAt, sum.CommittedAt)
			}
			c := st.commits[0]
			if c.Verdict != tt.verdict || c.SessionID != rep.SessionID || len(c.AuditFrames) != 3 {
				t.Errorf("commit = %+v (%d audit frames)", c, len(c.AuditFrames))
			}
			for _, af := range c.AuditFrames {
				if _, err := jpeg.Decode(bytes.NewReader(af.JPEG)); err != nil {
					t.Errorf("audit frame is not a JPEG: %v", err)
				}
			}
			wantStates := []kiosk.State{kiosk.StateGuiding, kiosk.StateChallenges, kiosk.StateAnalysing, kiosk.StateVerdict}
			if tt.verdict == "pass" {
				wantStates = append(wantStates, kiosk.StatePulse)
			}
			wantStates = append(wantStates, kiosk.StateCoolDown)
			if len(states) != len(wantStates) {
				t.Fatalf("states = %v, want %v", states, wantStates)
			}
			for i := range states {
				if states[i] != wantStates[i] {
					t.Fatalf("states = %v, want %v", states, wantStates)
				}
			}
			checkLEDs(t, b, eng.a[0])
		})
	}
}

// checkLEDs: the colour LEDs on the fake pins followed exactly the
// sequence the analyzer chose, and each frame reported the light on.
func checkLEDs(t *testing.T, b *board.Board, a *scripted) {
	t.Helper()
	type rgb [3]float64
	var want []rgb
	for _, s := range a.seq {
		v := rgb{}
		for i, c := range []struct {
			name string
			x    float64
		}{{"red", s.R}, {"green", s.G}, {"blue", s.B}} {
			v[i] = math.Min(c.x*s.Intensity, b.Lights[c.name].MaxBrightness())
		}
		want = append(want, v)
	}
	// Replay the logged channel changes into a sequence of distinct
	// non-black colours.
	var got []rgb
	cur := rgb{}
	for _, e := range b.Sim.Log.Events("light red", "light green", "light blue") {
		i := map[string]int{"light red": 0, "light green": 1, "light blue": 2}[e.Device]
		cur[i] = e.Value
		if cur != (rgb{}) && (len(got) == 0 || got[len(got)-1] != cur) {
			got = append(got, cur)
		}
	}
	// Intermediate states appear while channels are set one by one; keep
	// those equal to a wanted step in order.
	var steps []rgb
	for _, g := range got {
		for _, w := range want {
			if near(g, w) && (len(steps) == 0 || !near(steps[len(steps)-1], g)) {
				steps = append(steps, g)
			}
		}
	}
	if len(steps) != len(want) {
		t.Fatalf("LED colours on the pins %v, want the chosen sequence %v", steps, want)
	}
	for i := range want {
		if !near(steps[i], want[i]) {
			t.Fatalf("LED step %d = %v, want %v", i, steps[i], want[i])
		}
	}
	// The frame after each change reports the light that was on.
	seen := 0
	for _, l := range a.emitted {
		if l != nil && seen < len(a.seq) && *l == a.seq[seen].Light {
			seen++
		}
	}
	if seen != len(a.seq) {
		t.Errorf("frames reported %d of %d challenge lights", seen, len(a.seq))
	}
}

func near(a, b [3]float64) bool {
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-3 {
			return false
		}
	}
	return true
}

func TestPanicLeavesRelayOff(t *testing.T) {
	b, clk := openSim(t)
	eng := &engine{mk: func() *scripted { return &scripted{seq: seq, faceFrom: 1, perStep: 2, verdict: "pass", panicAt: 6} }}
	st := &store{sim: b.Sim}
	k, err := kiosk.New(hw(b), eng, st, nil, kiosk.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	err = k.Run(context.Background())
	if !errors.Is(err, kiosk.ErrPanic) {
		t.Fatalf("Run = %v, want ErrPanic", err)
	}
	if n := len(b.Sim.RelayPulses()); n != 0 {
		t.Errorf("relay pulsed %d times", n)
	}
	if pin := b.Sim.Pin(b.Profile.Relay.Name); bool(pin.Read()) != gpioLow(b) {
		t.Errorf("relay pin left energised")
	}
	for name, l := range b.Lights {
		if l.Brightness() != 0 {
			t.Errorf("light %s left on", name)
		}
	}
	if len(st.commits) != 0 {
		t.Errorf("a panicked session was committed")
	}
}

func TestTechnicianTestsOnlyWhenIdle(t *testing.T) {
	b, clk := openSim(t)
	block := make(chan struct{})
	eng := &engine{mk: func() *scripted { return &scripted{seq: seq, faceFrom: 1, perStep: 2, verdict: "fail"} }}
	st := &blockingStore{store: store{sim: b.Sim}, entered: make(chan struct{}), release: block}
	k, err := kiosk.New(hw(b), eng, st, nil, kiosk.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := k.RunSession(context.Background(), "assigned-1", true)
		done <- err
	}()
	<-st.entered
	if _, err := k.TestRelay(context.Background(), 100*time.Millisecond); !errors.Is(err, kiosk.ErrBusy) {
		t.Errorf("TestRelay during a session = %v, want ErrBusy", err)
	}
	if err := k.TestLight(context.Background(), "white", 1, time.Second); !errors.Is(err, kiosk.ErrBusy) {
		t.Errorf("TestLight during a session = %v, want ErrBusy", err)
	}
	close(block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.commits[0].SessionID != "assigned-1" || !st.commits[0].Assigned {
		t.Errorf("assigned session stored as %+v", st.commits[0])
	}
	pr, err := k.TestRelay(context.Background(), 10*time.Second)
	if err != nil || !pr.Clipped || pr.Applied != b.Profile.Relay.MaxOn {
		t.Errorf("TestRelay = %+v, %v; want clipped to %v", pr, err, b.Profile.Relay.MaxOn)
	}
	if err := k.TestLight(context.Background(), "uv", 1, time.Second); !errors.Is(err, kiosk.ErrUnknownLight) {
		t.Errorf("TestLight(uv) = %v", err)
	}
	if err := k.TestLight(context.Background(), "red", 1, time.Second); err != nil || b.Lights["red"].Brightness() != 0 {
		t.Errorf("TestLight(red) = %v, left at %v", err, b.Lights["red"].Brightness())
	}
	if k.Status().Sessions != 1 || k.Preview() == nil {
		t.Errorf("status %+v, preview %d bytes", k.Status(), len(k.Preview()))
	}
}

type blockingStore struct {
	store
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) Commit(ctx context.Context, r *proto.SessionResult) error {
	close(s.entered)
	<-s.release
	return s.store.Commit(ctx, r)
}

func gpioLow(b *board.Board) bool { return b.Profile.Relay.ActiveLow }
