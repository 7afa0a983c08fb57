package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"livegate.dev/drivers"
)

// Opts configures a relay.
type Opts struct {
	// MaxOn is the hard maximum on-time of one pulse. Required.
	MaxOn time.Duration
	// ActiveLow energises the relay with a low pin (common on opto-isolated
	// relay boards). Optional. Default: false (active high).
	ActiveLow bool
	// Name names the relay in errors and logs. Optional. Default: "relay".
	Name string
	// Clock times pulses. Optional. Default: drivers.RealClock.
	Clock drivers.Clock
	// Logger receives a warning for each clipped pulse. Optional. Default:
	// slog.Default().
	Logger *slog.Logger
}

var (
	// ErrBusy reports a Pulse while another is running.
	ErrBusy = errors.New("relay: a pulse is already running")
	// ErrClosed reports use after Close.
	ErrClosed = errors.New("relay: closed")
)

// Relay is one relay output.
type Relay struct {
	pin  gpio.PinOut
	opts Opts

	pulsing sync.Mutex    // held for the length of a pulse
	closing chan struct{} // closed by Close
	once    sync.Once
	mu      sync.Mutex // guards pin writes and closed
	closed  bool
}

var _ drivers.Relay = (*Relay)(nil)

// New returns the relay on p, de-energised.
func New(p gpio.PinOut, opts Opts) (*Relay, error) {
	if opts.Name == "" {
		opts.Name = "relay"
	}
	if p == nil {
		return nil, fmt.Errorf("%s: nil pin", opts.Name)
	}
	if opts.MaxOn <= 0 {
		return nil, fmt.Errorf("%s: maximum on-time must be positive, got %s", opts.Name, opts.MaxOn)
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Relay{pin: p, opts: opts, closing: make(chan struct{})}
	if err := r.drive(false); err != nil {
		return nil, err
	}
	return r, nil
}

// MaxOn reports the hard maximum on-time.
func (r *Relay) MaxOn() time.Duration { return r.opts.MaxOn }

func (r *Relay) drive(on bool) error {
	if err := r.pin.Out(gpio.Level(on != r.opts.ActiveLow)); err != nil {
		state := "de-energise"
		if on {
			state = "energise"
		}
		return fmt.Errorf("%s: %s pin %s: %w", r.opts.Name, state, r.pin, err)
	}
	return nil
}

// off de-energises, retrying once: it is the one write that must happen.
func (r *Relay) off() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.drive(false); err != nil {
		return errors.Join(err, r.drive(false))
	}
	return nil
}

// Pulse energises the relay for d, clipped to MaxOn, and returns once it is
// de-energised again.
func (r *Relay) Pulse(ctx context.Context, d time.Duration) (rep drivers.PulseReport, err error) {
	rep.Requested = d
	if d <= 0 {
		return rep, fmt.Errorf("%s: pulse length must be positive, got %s", r.opts.Name, d)
	}
	if !r.pulsing.TryLock() {
		return rep, fmt.Errorf("%s: %w", r.opts.Name, ErrBusy)
	}
	defer r.pulsing.Unlock()
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("%s: pulse not started: %w", r.opts.Name, err)
	}
	rep.Applied = d
	if d > r.opts.MaxOn {
		rep.Applied, rep.Clipped = r.opts.MaxOn, true
		r.opts.Logger.Warn("relay pulse clipped to the maximum on-time",
			"relay", r.opts.Name, "requested", d, "applied", r.opts.MaxOn)
	}

	// From here on, every way out (return, cancel, panic) de-energises.
	defer func() {
		rep.End = r.opts.Clock.Now()
		if offErr := r.off(); offErr != nil {
			err = errors.Join(err, offErr)
		}
	}()
	if err := r.energise(&rep); err != nil {
		return rep, err
	}
	select {
	case <-r.opts.Clock.After(rep.Applied):
		return rep, nil
	case <-ctx.Done():
		rep.Cancelled = true
		return rep, fmt.Errorf("%s: pulse cut short: %w", r.opts.Name, ctx.Err())
	case <-r.closing:
		rep.Cancelled = true
		return rep, fmt.Errorf("%s: pulse cut short: %w", r.opts.Name, ErrClosed)
	}
}

func (r *Relay) energise(rep *drivers.PulseReport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("%s: %w", r.opts.Name, ErrClosed)
	}
	rep.Start = r.opts.Clock.Now()
	return r.drive(true)
}

// Close de-energises the relay, ends a running pulse and refuses further
// pulses.
func (r *Relay) Close() error {
	r.once.Do(func() { close(r.closing) })
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.off()
}
