package presence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"livegate.dev/drivers"
)

// PIROpts configures a PIR sensor input.
type PIROpts struct {
	// ActiveLow means the sensor pulls its output low on motion. Optional.
	// Default: false (most HC-SR501-class modules drive high).
	ActiveLow bool
	// Pull is the input's pull resistor. Optional. Default: gpio.PullDown
	// (gpio.PullUp when ActiveLow).
	Pull gpio.Pull
	// Poll bounds how long one edge wait lasts before ctx is checked again.
	// Optional. Default: 100ms.
	Poll time.Duration
	// Clock stamps events. Optional. Default: drivers.RealClock.
	Clock drivers.Clock
}

// PIR is a passive-infrared motion sensor on a GPIO input.
type PIR struct {
	pin  gpio.PinIn
	opts PIROpts

	mu    sync.Mutex // one Next at a time
	known bool
	last  bool
}

var _ drivers.Presence = (*PIR)(nil)

// NewPIR configures p as an input with edge detection on both edges.
func NewPIR(p gpio.PinIn, opts PIROpts) (*PIR, error) {
	if p == nil {
		return nil, errors.New("pir: nil pin")
	}
	if opts.Pull == gpio.PullNoChange || opts.Pull == 0 {
		opts.Pull = gpio.PullDown
		if opts.ActiveLow {
			opts.Pull = gpio.PullUp
		}
	}
	if opts.Poll <= 0 {
		opts.Poll = 100 * time.Millisecond
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	if err := p.In(opts.Pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("pir: configure pin %s as input with edges: %w", p, err)
	}
	return &PIR{pin: p, opts: opts}, nil
}

func (p *PIR) present() bool { return bool(p.pin.Read()) != p.opts.ActiveLow }

// Next returns the current state on the first call, then blocks until the
// state changes. Edges that do not change the state (bounces) are ignored.
func (p *PIR) Next(ctx context.Context) (drivers.PresenceEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known {
		p.known, p.last = true, p.present()
		return drivers.PresenceEvent{Present: p.last, Time: p.opts.Clock.Now()}, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return drivers.PresenceEvent{}, fmt.Errorf("pir %s: %w", p.pin, err)
		}
		p.pin.WaitForEdge(p.opts.Poll)
		// Read the level whether or not an edge came: a missed edge still
		// shows as a changed level.
		if now := p.present(); now != p.last {
			p.last = now
			return drivers.PresenceEvent{Present: now, Time: p.opts.Clock.Now()}, nil
		}
	}
}

// DistanceOpts configures presence from a distance sensor.
type DistanceOpts struct {
	// NearMM: present when the distance is at most this. Required.
	NearMM int
	// FarMM: absent again when the distance exceeds this (hysteresis).
	// Optional. Default: NearMM + 150.
	FarMM int
	// Interval between measurements. Optional. Default: 100ms.
	Interval time.Duration
	// Clock paces measurements and stamps events. Optional. Default:
	// drivers.RealClock.
	Clock drivers.Clock
}

// Distance reports presence from a distance sensor.
type Distance struct {
	s    drivers.DistanceSensor
	opts DistanceOpts

	mu    sync.Mutex
	known bool
	last  bool
}

var _ drivers.Presence = (*Distance)(nil)

// NewDistance returns presence from s.
func NewDistance(s drivers.DistanceSensor, opts DistanceOpts) (*Distance, error) {
	if s == nil {
		return nil, errors.New("presence: nil distance sensor")
	}
	if opts.NearMM <= 0 {
		return nil, fmt.Errorf("presence: near threshold must be positive, got %d mm", opts.NearMM)
	}
	if opts.FarMM == 0 {
		opts.FarMM = opts.NearMM + 150
	}
	if opts.FarMM < opts.NearMM {
		return nil, fmt.Errorf("presence: far threshold %d mm below near threshold %d mm", opts.FarMM, opts.NearMM)
	}
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	return &Distance{s: s, opts: opts}, nil
}

// Next measures until the presence state changes (the first call returns
// the first measurement's state). A sensor error other than
// drivers.ErrOutOfRange is returned.
func (d *Distance) Next(ctx context.Context) (drivers.PresenceEvent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for first := !d.known; ; first = false {
		if !first {
			if err := drivers.Sleep(ctx, d.opts.Clock, d.opts.Interval); err != nil {
				return drivers.PresenceEvent{}, fmt.Errorf("presence: %w", err)
			}
		}
		mm, err := d.s.DistanceMM(ctx)
		inRange := err == nil
		if err != nil && !errors.Is(err, drivers.ErrOutOfRange) {
			return drivers.PresenceEvent{}, fmt.Errorf("presence: measure distance: %w", err)
		}
		present := d.last
		switch {
		case !inRange:
			present = false
		case mm <= d.opts.NearMM:
			present = true
		case mm > d.opts.FarMM:
			present = false
		case !d.known:
			present = false // between thresholds at start: not yet present
		}
		if !inRange {
			mm = 0
		}
		if first || present != d.last {
			d.known, d.last = true, present
			return drivers.PresenceEvent{Present: present, Time: d.opts.Clock.Now(), DistanceMM: mm}, nil
		}
	}
}
