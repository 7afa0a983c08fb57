package presence

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
)

func TestPIR(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		pin := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level, 8)}
		clk := drivertest.NewClock(time.Unix(0, 0))
		p, err := NewPIR(pin, PIROpts{ActiveLow: activeLow, Clock: clk, Poll: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ev, err := p.Next(ctx)
		if err != nil || ev.Present {
			t.Fatalf("activeLow=%v: first = %+v, %v; want absent (pulled inactive)", activeLow, ev, err)
		}
		active := gpio.Level(!activeLow)
		// A bounce back to the inactive level is not a change; motion is.
		pin.EdgesChan <- !active
		pin.EdgesChan <- active
		clk.Advance(time.Second)
		ev, err = p.Next(ctx)
		if err != nil || !ev.Present || !ev.Time.Equal(time.Unix(1, 0)) {
			t.Fatalf("activeLow=%v: after motion = %+v, %v", activeLow, ev, err)
		}
		pin.EdgesChan <- !active
		ev, err = p.Next(ctx)
		if err != nil || ev.Present {
			t.Fatalf("activeLow=%v: after leave = %+v, %v", activeLow, ev, err)
		}
	}
}

func TestPIRCancel(t *testing.T) {
	pin := &gpiotest.Pin{N: "GPIO27", EdgesChan: make(chan gpio.Level)}
	p, err := NewPIR(pin, PIROpts{Poll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := p.Next(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := p.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// seq is a DistanceSensor returning a scripted sequence (-1: out of range).
type seq struct {
	mm  []int
	err error
	i   int
}

func (s *seq) DistanceMM(ctx context.Context) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	v := s.mm[s.i]
	if s.i < len(s.mm)-1 {
		s.i++
	}
	if v < 0 {
		return 0, drivers.ErrOutOfRange
	}
	return v, nil
}

func TestDistance(t *testing.T) {
	tests := []struct {
		name string
		mm   []int
		want []drivers.PresenceEvent // with Time as offsets in 100 ms steps
	}{
		{
			name: "walk up and leave with hysteresis",
			// 700 start absent; 450 present; 600 within hysteresis stays; 700 gone.
			mm:   []int{700, 650, 450, 520, 600, 700},
			want: []drivers.PresenceEvent{{Present: false, DistanceMM: 700, Time: time.Unix(0, 0)}, {Present: true, DistanceMM: 450, Time: time.Unix(0, 2e8)}, {Present: false, DistanceMM: 700, Time: time.Unix(0, 5e8)}},
		},
		{
			name: "out of range is absent",
			mm:   []int{300, -1},
			want: []drivers.PresenceEvent{{Present: true, DistanceMM: 300, Time: time.Unix(0, 0)}, {Present: false, Time: time.Unix(0, 1e8)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := drivertest.NewClock(time.Unix(0, 0))
			d, err := NewDistance(&seq{mm: tt.mm}, DistanceOpts{NearMM: 500, FarMM: 650, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				ch := make(chan drivers.PresenceEvent, 1)
				go func() {
					ev, err := d.Next(context.Background())
					if err != nil {
						t.Error(err)
					}
					ch <- ev
				}()
				var ev drivers.PresenceEvent
			wait:
				for {
					select {
					case ev = <-ch:
						break wait
					default:
					}
					if clk.WaitForWaiters(1, 20*time.Millisecond) {
						clk.Advance(100 * time.Millisecond)
					}
				}
				if ev != w {
					t.Fatalf("event %d = %+v, want %+v", i, ev, w)
				}
			}
		})
	}
}

func TestDistanceErrors(t *testing.T) {
	if _, err := NewDistance(&seq{}, DistanceOpts{}); err == nil {
		t.Error("zero threshold accepted")
	}
	if _, err := NewDistance(&seq{}, DistanceOpts{NearMM: 500, FarMM: 400}); err == nil {
		t.Error("far < near accepted")
	}
	boom := errors.New("bus stuck")
	d, _ := NewDistance(&seq{err: boom}, DistanceOpts{NearMM: 500})
	if _, err := d.Next(context.Background()); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}
