package relay

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio/gpiotest"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type rig struct {
	clk   *drivertest.Clock
	log   *drivertest.Log
	relay *Relay
}

func newRig(t *testing.T, activeLow bool) rig {
	t.Helper()
	clk := drivertest.NewClock(t0)
	log := drivertest.NewLog(clk)
	r, err := New(&drivertest.Pin{PinIO: &gpiotest.Pin{N: "GPIO17"}, Device: "relay", Log: log}, Opts{
		MaxOn: 5 * time.Second, ActiveLow: activeLow, Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return rig{clk, log, r}
}

// levels returns the logged pin levels as (offset from t0, level) pairs.
func (g rig) levels() [][2]float64 {
	var out [][2]float64
	for _, e := range g.log.Events("relay") {
		out = append(out, [2]float64{e.Time.Sub(t0).Seconds(), e.Value})
	}
	return out
}

// start runs Pulse in a goroutine and returns once it waits on the clock.
func (g rig) start(t *testing.T, ctx context.Context, d time.Duration) <-chan result {
	t.Helper()
	ch := make(chan result, 1)
	n := g.clk.Waiters()
	go func() {
		rep, err := g.relay.Pulse(ctx, d)
		ch <- result{rep, err}
	}()
	if !g.clk.WaitForWaiters(n+1, 5*time.Second) {
		t.Fatal("pulse never waited on the clock")
	}
	return ch
}

type result struct {
	rep drivers.PulseReport
	err error
}

func TestPulse(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		req       time.Duration
		advance   time.Duration
		want      drivers.PulseReport
		levels    [][2]float64
	}{
		{
			name: "within maximum", req: 2 * time.Second, advance: 2 * time.Second,
			want:   drivers.PulseReport{Requested: 2 * time.Second, Applied: 2 * time.Second, Start: t0, End: t0.Add(2 * time.Second)},
			levels: [][2]float64{{0, 0}, {0, 1}, {2, 0}},
		},
		{
			name: "clipped to maximum", req: time.Minute, advance: 5 * time.Second,
			want:   drivers.PulseReport{Requested: time.Minute, Applied: 5 * time.Second, Clipped: true, Start: t0, End: t0.Add(5 * time.Second)},
			levels: [][2]float64{{0, 0}, {0, 1}, {5, 0}},
		},
		{
			name: "active low", activeLow: true, req: time.Second, advance: time.Second,
			want:   drivers.PulseReport{Requested: time.Second, Applied: time.Second, Start: t0, End: t0.Add(time.Second)},
			levels: [][2]float64{{0, 1}, {0, 0}, {1, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRig(t, tt.activeLow)
			ch := g.start(t, context.Background(), tt.req)
			g.clk.Advance(tt.advance - time.Millisecond)
			select {
			case <-ch:
				t.Fatal("pulse ended early")
			default:
			}
			g.clk.Advance(time.Millisecond)
			res := <-ch
			if res.err != nil {
				t.Fatal(res.err)
			}
			if res.rep != tt.want {
				t.Fatalf("report = %+v, want %+v", res.rep, tt.want)
			}
			if got := g.levels(); !reflect.DeepEqual(got, tt.levels) {
				t.Fatalf("levels = %v, want %v", got, tt.levels)
			}
		})
	}
}

func TestPulseCancelled(t *testing.T) {
	g := newRig(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	ch := g.start(t, ctx, 3*time.Second)
	g.clk.Advance(time.Second)
	cancel()
	res := <-ch
	if !errors.Is(res.err, context.Canceled) || !res.rep.Cancelled {
		t.Fatalf("err = %v, report %+v", res.err, res.rep)
	}
	if got, want := g.levels(), [][2]float64{{0, 0}, {0, 1}, {1, 0}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("levels = %v, want %v", got, want)
	}
}

func TestCloseEndsPulseAndRefusesMore(t *testing.T) {
	g := newRig(t, false)
	ch := g.start(t, context.Background(), 3*time.Second)
	if _, err := g.relay.Pulse(context.Background(), time.Second); !errors.Is(err, ErrBusy) {
		t.Fatalf("concurrent pulse: err = %v, want ErrBusy", err)
	}
	if err := g.relay.Close(); err != nil {
		t.Fatal(err)
	}
	res := <-ch
	if !errors.Is(res.err, ErrClosed) {
		t.Fatalf("err = %v", res.err)
	}
	if _, err := g.relay.Pulse(context.Background(), time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("pulse after close: err = %v", err)
	}
	ev := g.log.Events("relay")
	if last := ev[len(ev)-1]; last.Value != 0 {
		t.Fatalf("relay left at %v", last.Value)
	}
	for _, e := range ev[2:] {
		if e.Value != 0 {
			t.Fatalf("energised after close: %v", g.levels())
		}
	}
}

type panicClock struct{ drivers.Clock }

func (panicClock) After(time.Duration) <-chan time.Time { panic("clock broke") }

func TestPanicLeavesRelayOff(t *testing.T) {
	clk := drivertest.NewClock(t0)
	log := drivertest.NewLog(clk)
	r, err := New(&drivertest.Pin{PinIO: &gpiotest.Pin{N: "GPIO17"}, Device: "relay", Log: log}, Opts{MaxOn: time.Second, Clock: panicClock{clk}})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		_, _ = r.Pulse(context.Background(), time.Second)
	}()
	ev := log.Events("relay")
	if len(ev) != 3 || ev[1].Value != 1 || ev[2].Value != 0 {
		t.Fatalf("events:\n%s", log)
	}
}

func TestInvalid(t *testing.T) {
	if _, err := New(&gpiotest.Pin{}, Opts{}); err == nil {
		t.Error("New without MaxOn succeeded")
	}
	if _, err := New(nil, Opts{MaxOn: time.Second}); err == nil {
		t.Error("New with nil pin succeeded")
	}
	g := newRig(t, false)
	if _, err := g.relay.Pulse(context.Background(), 0); err == nil {
		t.Error("zero pulse accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.relay.Pulse(ctx, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("pulse on cancelled ctx: %v", err)
	}
	if n := len(g.log.Events("relay")); n != 1 {
		t.Errorf("relay driven %d times, want only the initial off", n)
	}
}
