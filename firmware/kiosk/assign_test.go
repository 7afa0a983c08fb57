package kiosk_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/outbox"
	"livegate.dev/proto"
)

// countingStore is the kiosk's outbox store, counting the sessions it
// commits.
type countingStore struct {
	*kiosk.OutboxStore
	mu  sync.Mutex
	ids []string
}

func (s *countingStore) Commit(ctx context.Context, r *proto.SessionResult) error {
	s.mu.Lock()
	s.ids = append(s.ids, r.SessionID)
	s.mu.Unlock()
	return s.OutboxStore.Commit(ctx, r)
}

func (s *countingStore) committed() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}

// TestAssignRepeated: the cloud repeats an assignment until the kiosk
// answers, so the same session id may be assigned again — while it is
// queued, after it ran, and after the kiosk restarted with its result
// still in the outbox (not yet acknowledged). Each time Assign accepts it
// and no second walk-up session runs; other sessions still run, in order.
func TestAssignRepeated(t *testing.T) {
	ob, err := outbox.Open(filepath.Join(t.TempDir(), "outbox.db"), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	// power runs a kiosk over the outbox and returns it with a wait for
	// its next commit and its stop.
	power := func() (*kiosk.Kiosk, *countingStore, func(n int), func()) {
		b, clk := openSim(t)
		eng := &engine{mk: func() *scripted { return &scripted{seq: seq, faceFrom: 1, perStep: 2, verdict: "pass"} }}
		st := &countingStore{OutboxStore: &kiosk.OutboxStore{Outbox: ob, Clock: clk}}
		h := hw(b)
		h.Presence = b.Presence // nobody walks up: only assignments run
		commits := make(chan struct{}, 16)
		k, err := kiosk.New(h, eng, st, nil, kiosk.Options{Clock: clk, CoolDown: time.Second,
			OnState: func(s kiosk.State, _ time.Time) {
				if s == kiosk.StateCoolDown {
					commits <- struct{}{}
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- k.Run(ctx) }()
		wait := func(n int) {
			t.Helper()
			for range n {
				select {
				case <-commits:
				case <-time.After(20 * time.Second):
					t.Fatalf("no session decided; committed %v", st.committed())
				}
			}
		}
		stop := func() {
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run = %v", err)
			}
		}
		return k, st, wait, stop
	}

	k, st, wait, stop := power()
	for range 2 { // repeated while queued
		if !k.Assign("ses_A") {
			t.Fatal("Assign refused")
		}
	}
	wait(1)
	if !k.Assign("ses_A") || !k.Assign("ses_B") { // repeated after it ran
		t.Fatal("Assign refused")
	}
	wait(1)
	stop()
	if got := st.committed(); !slices.Equal(got, []string{"ses_A", "ses_B"}) {
		t.Fatalf("sessions run %v, want ses_A, ses_B once each", got)
	}

	// Restarted, the results not yet acknowledged: the repeat of ses_A is
	// answered from the outbox; ses_C, assigned after it, runs.
	k, st, wait, stop = power()
	if !k.Assign("ses_A") || !k.Assign("ses_C") {
		t.Fatal("Assign refused after the restart")
	}
	wait(1)
	stop()
	if got := st.committed(); !slices.Equal(got, []string{"ses_C"}) {
		t.Fatalf("sessions run after the restart %v, want ses_C only", got)
	}
	if n := ob.Stats().Entries; n != 3 {
		t.Fatalf("outbox holds %d results, want 3", n)
	}
}
