package kiosk_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"livegate.dev/firmware/kiosk"
	"livegate.dev/proto"
)

// TestRunOnPresence: the loop waits idle, a PIR edge starts a session, an
// assignment runs under the cloud's id, and cancelling leaves the relay
// off.
func TestRunOnPresence(t *testing.T) {
	b, clk := openSim(t)
	eng := &engine{mk: func() *scripted { return &scripted{seq: seq, faceFrom: 1, perStep: 2, verdict: "pass"} }}
	st := &store{sim: b.Sim}
	h := hw(b)
	h.Presence = b.Presence
	states := make(chan kiosk.State, 64)
	k, err := kiosk.New(h, eng, st, nil, kiosk.Options{Clock: clk, CoolDown: time.Second,
		OnState: func(s kiosk.State, _ time.Time) {
			select {
			case states <- s:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- k.Run(ctx) }()
	waitState := func(want kiosk.State) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-states:
				if s == want {
					return
				}
			case <-deadline:
				t.Fatalf("state %s never reached", want)
			}
		}
	}
	waitState(kiosk.StateIdle)
	if len(st.commits) != 0 {
		t.Fatal("a session ran without presence")
	}
	b.Sim.SetPresence(true, 400)
	waitState(kiosk.StateCoolDown)
	waitState(kiosk.StateIdle)
	if !k.Assign("cloud-session-7") {
		t.Fatal("Assign refused")
	}
	waitState(kiosk.StateCoolDown)
	waitState(kiosk.StateIdle)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.commits) != 2 || st.commits[1].SessionID != "cloud-session-7" || !st.commits[1].Assigned {
		t.Fatalf("commits %d: %+v", len(st.commits), st.commits)
	}
	if n := len(b.Sim.RelayPulses()); n != 2 {
		t.Errorf("relay pulses %d, want 2", n)
	}
	if bool(b.Sim.Pin(b.Profile.Relay.Name).Read()) != b.Profile.Relay.ActiveLow {
		t.Error("relay energised after Run returned")
	}
}

type fullErr struct{}

func (fullErr) Error() string { return "store full" }
func (fullErr) Full() bool    { return true }

// fullStore refuses commits as full until room is set.
type fullStore struct {
	store
	room atomic.Bool
}

func (s *fullStore) Commit(ctx context.Context, r *proto.SessionResult) error {
	if !s.room.Load() {
		return fullErr{}
	}
	return s.store.Commit(ctx, r)
}

func (s *fullStore) Room() bool { return s.room.Load() }

// TestOutOfService: a full store keeps the gate shut and the kiosk out of
// service until room is freed, then sessions resume.
func TestOutOfService(t *testing.T) {
	b, clk := openSim(t)
	eng := &engine{mk: func() *scripted { return &scripted{seq: seq, faceFrom: 1, perStep: 2, verdict: "pass"} }}
	st := &fullStore{store: store{sim: b.Sim}}
	states := make(chan kiosk.State, 1024)
	k, err := kiosk.New(hw(b), eng, st, nil, kiosk.Options{Clock: clk, OnState: func(s kiosk.State, _ time.Time) {
		select {
		case states <- s:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- k.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for s := kiosk.State(""); s != kiosk.StateOutOfService; {
		select {
		case s = <-states:
		case <-deadline:
			t.Fatal("never out of service")
		}
	}
	if n := len(b.Sim.RelayPulses()); n != 0 {
		t.Fatalf("a pass that could not be stored pulsed the relay %d times", n)
	}
	st.room.Store(true)
	for len(b.Sim.RelayPulses()) == 0 {
		select {
		case <-states:
		case <-deadline:
			t.Fatal("sessions did not resume after room was freed")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st.pulsesAtCom[0] != 0 {
		t.Error("pulsed before the commit")
	}
}
