package resend

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
)

var t0 = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

// broker records what was published; a device in down refuses.
type broker struct {
	mu   sync.Mutex
	sent []string // "device/id"
	down map[string]bool
	got  chan struct{}
}

func newBroker() *broker { return &broker{down: map[string]bool{}, got: make(chan struct{}, 100)} }

func (b *broker) publish(_ context.Context, c Command) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down[c.DeviceID] {
		return errors.New("not connected")
	}
	b.sent = append(b.sent, c.DeviceID+"/"+c.ID)
	b.got <- struct{}{}
	return nil
}

func (b *broker) count(dev, id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.sent {
		if s == dev+"/"+id {
			n++
		}
	}
	return n
}

func newPending(t *testing.T, b *broker, clk clock.Clock) *Pending {
	t.Helper()
	p, err := New(Config{Publish: b.publish, Clock: clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBackoff(t *testing.T) {
	var b Backoff // defaults: 5 min doubling up to 2 h
	var got []time.Duration
	for sends := 1; sends <= 8; sends++ {
		got = append(got, b.Wait(sends))
	}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 2 * time.Hour, 2 * time.Hour, 2 * time.Hour}
	if !slices.Equal(got, want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	if !b.Due(time.Time{}, 0, t0) || b.Due(t0, 1, t0.Add(5*time.Minute-1)) || !b.Due(t0, 1, t0.Add(5*time.Minute)) {
		t.Fatal("Due does not follow Wait")
	}
	if w := (Backoff{First: 3 * time.Hour}).Wait(4); w != 3*time.Hour {
		t.Fatalf("a First above the default Max: wait %v", w)
	}
}

// A command the device does not answer is sent again on the injected
// clock (5 min after the first send, then 10, 20 …) and at once when its
// device comes online; an answer from its device ends the repeats, one
// from another device does not; a failed send keeps it and is retried at
// the next tick; an expired command is forgotten, never sent.
func TestPendingResend(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	b := newBroker()
	p := newPending(t, b, clk)
	c := Command{ID: "cmd_assign_ses_1", DeviceID: "k1", Kind: "assign_session", Args: map[string]string{"session_id": "ses_1"},
		ExpiresAt: t0.Add(time.Hour)}
	if err := p.Send(ctx, c); err != nil {
		t.Fatal(err)
	}
	sends := func() int { return b.count("k1", c.ID) }
	if sends() != 1 {
		t.Fatalf("first send: %d", sends())
	}
	clk.Advance(5*time.Minute - time.Second)
	p.Tick(ctx)
	if sends() != 1 {
		t.Fatalf("repeated before 5 min: %d sends", sends())
	}
	clk.Advance(time.Second)
	p.Tick(ctx)
	if sends() != 2 {
		t.Fatalf("not repeated at 5 min: %d sends", sends())
	}
	clk.Advance(10*time.Minute - time.Second) // the wait doubled
	p.Tick(ctx)
	if sends() != 2 {
		t.Fatalf("repeated before 10 more min: %d sends", sends())
	}
	clk.Advance(time.Second)
	p.Tick(ctx)
	if sends() != 3 {
		t.Fatalf("not repeated at 10 more min: %d sends", sends())
	}

	// Online: at once, and only the device's own commands.
	p.Online(ctx, "k2")
	p.Online(ctx, "k1")
	if sends() != 4 || len(b.sent) != 4 {
		t.Fatalf("online: %d sends, %v", sends(), b.sent)
	}
	if k, _ := p.Get(c.ID); k.Sends != 4 || !k.SentAt.Equal(clk.Now()) || !k.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("kept %+v", k)
	}

	// The same command sent again (a replay) is not a second command.
	if err := p.Send(ctx, c); err != nil || p.Len() != 1 {
		t.Fatalf("send again: %v, %d kept", err, p.Len())
	}
	if k, _ := p.Get(c.ID); k.Sends != 5 {
		t.Fatalf("count after a repeated Send: %d", k.Sends)
	}

	// Another device's answer naming it changes nothing; its device's does.
	if p.Answered("k2", c.ID) {
		t.Fatal("another device answered k1's command")
	}
	if !p.Answered("k1", c.ID) || p.Len() != 0 {
		t.Fatal("k1's answer did not end the repeats")
	}
	clk.Advance(3 * time.Hour)
	p.Tick(ctx)
	p.Online(ctx, "k1")
	if sends() != 5 {
		t.Fatalf("sent after the answer: %d sends", sends())
	}

	// A failed send keeps the command; every tick retries until the broker takes it.
	b.mu.Lock()
	b.down["k3"] = true
	b.mu.Unlock()
	d := Command{ID: "cmd_assign_ses_3", DeviceID: "k3", Kind: "assign_session", ExpiresAt: clk.Now().Add(time.Hour)}
	if err := p.Send(ctx, d); err == nil {
		t.Fatal("a failed send returned no error")
	}
	if k, ok := p.Get(d.ID); !ok || k.Sends != 0 {
		t.Fatalf("failed send: kept %v %+v", ok, k)
	}
	b.mu.Lock()
	delete(b.down, "k3")
	b.mu.Unlock()
	p.Tick(ctx)
	if b.count("k3", d.ID) != 1 {
		t.Fatalf("failed send not retried at the tick: %d", b.count("k3", d.ID))
	}

	// Expired: forgotten at the next tick or online, never sent.
	clk.Advance(time.Hour)
	p.Online(ctx, "k3")
	p.Tick(ctx)
	if b.count("k3", d.ID) != 1 || p.Len() != 0 {
		t.Fatalf("expired command: %d sends, %d kept", b.count("k3", d.ID), p.Len())
	}
	if err := p.Send(ctx, Command{ID: "cmd_x", DeviceID: "k1", ExpiresAt: clk.Now()}); err == nil || p.Len() != 0 {
		t.Fatalf("an expired command was kept: %v", err)
	}
}

// Run repeats on the injected clock: no timer of the wall clock.
func TestPendingRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock.NewFake(t0)
	b := newBroker()
	p := newPending(t, b, clk)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, 30*time.Second) }()
	if err := p.Send(ctx, Command{ID: "cmd_1", DeviceID: "k1", ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	<-b.got
	for i := 0; i < 10; i++ { // 10 ticks of 30 s: 5 min
		if !clk.WaitForWaiters(1, 10*time.Second) {
			t.Fatal("Run is not waiting on the clock")
		}
		clk.Advance(30 * time.Second)
	}
	<-b.got // the repeat at 5 min
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if n := b.count("k1", "cmd_1"); n != 2 {
		t.Fatalf("%d sends after 5 min, want 2", n)
	}
}
