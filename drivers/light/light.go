package light

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers"
)

// GPIO is an on/off LED channel on one output pin.
type GPIO struct {
	name      string
	pin       gpio.PinOut
	activeLow bool

	mu sync.Mutex
	on bool
}

var _ drivers.Light = (*GPIO)(nil)

// NewGPIO returns an on/off channel on p, switched off. activeLow inverts
// the pin (the LED lights when the pin is low).
func NewGPIO(name string, p gpio.PinOut, activeLow bool) (*GPIO, error) {
	if p == nil {
		return nil, fmt.Errorf("light %q: nil pin", name)
	}
	g := &GPIO{name: name, pin: p, activeLow: activeLow}
	if err := g.SetBrightness(0); err != nil {
		return nil, err
	}
	return g, nil
}

// SetBrightness switches the LED on for any b > 0 and off for 0.
func (g *GPIO) SetBrightness(b float64) error {
	b, err := drivers.CheckBrightness(b, 1)
	if err != nil {
		return fmt.Errorf("light %q: %w", g.name, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	on := b > 0
	if err := g.pin.Out(gpio.Level(on != g.activeLow)); err != nil {
		return fmt.Errorf("light %q: drive pin %s: %w", g.name, g.pin, err)
	}
	g.on = on
	return nil
}

// Brightness is 1 when on, 0 when off.
func (g *GPIO) Brightness() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.on {
		return 1
	}
	return 0
}

// MaxBrightness is 1: an on/off channel must be rated for continuous use.
func (g *GPIO) MaxBrightness() float64 { return 1 }

// Name names the channel.
func (g *GPIO) Name() string { return g.name }

// Close switches the LED off.
func (g *GPIO) Close() error { return g.SetBrightness(0) }

// PWMOpts configures a PWM channel.
type PWMOpts struct {
	// MaxDuty is the rated maximum duty fraction, in (0, 1]. Required.
	MaxDuty float64
	// Frequency is the PWM frequency. Optional. Default: 1 kHz (flicker
	// free on camera at common exposures).
	Frequency physic.Frequency
	// ActiveLow inverts the output. Optional. Default: false.
	ActiveLow bool
}

// ErrMaxDuty reports a missing or invalid rated maximum duty.
var ErrMaxDuty = errors.New("light: rated maximum duty must be within (0, 1]")

// PWM is a dimmable LED channel on a PWM-capable pin.
type PWM struct {
	name string
	pin  gpio.PinOut
	opts PWMOpts

	mu sync.Mutex
	b  float64
}

var _ drivers.Light = (*PWM)(nil)

// NewPWM returns a dimmable channel on p, switched off.
func NewPWM(name string, p gpio.PinOut, opts PWMOpts) (*PWM, error) {
	if p == nil {
		return nil, fmt.Errorf("light %q: nil pin", name)
	}
	if !(opts.MaxDuty > 0 && opts.MaxDuty <= 1) {
		return nil, fmt.Errorf("light %q: %w: %v", name, ErrMaxDuty, opts.MaxDuty)
	}
	if opts.Frequency == 0 {
		opts.Frequency = physic.KiloHertz
	}
	if opts.Frequency < 0 {
		return nil, fmt.Errorf("light %q: negative PWM frequency %s", name, opts.Frequency)
	}
	l := &PWM{name: name, pin: p, opts: opts}
	if err := l.SetBrightness(0); err != nil {
		return nil, err
	}
	return l, nil
}

// SetBrightness sets the duty fraction, clamped to the rated maximum.
func (l *PWM) SetBrightness(b float64) error {
	b, err := drivers.CheckBrightness(b, l.opts.MaxDuty)
	if err != nil {
		return fmt.Errorf("light %q: %w", l.name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	duty := b
	if l.opts.ActiveLow {
		duty = 1 - b
	}
	switch {
	case duty == 0:
		err = l.pin.Out(gpio.Low)
	case duty == 1:
		err = l.pin.Out(gpio.High)
	default:
		err = l.pin.PWM(DutyOf(duty), l.opts.Frequency)
	}
	if err != nil {
		return fmt.Errorf("light %q: drive pin %s at duty %.3f: %w", l.name, l.pin, duty, err)
	}
	l.b = b
	return nil
}

// Brightness reports the applied duty fraction.
func (l *PWM) Brightness() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b
}

// MaxBrightness reports the rated maximum duty.
func (l *PWM) MaxBrightness() float64 { return l.opts.MaxDuty }

// Name names the channel.
func (l *PWM) Name() string { return l.name }

// Close switches the LED off.
func (l *PWM) Close() error { return l.SetBrightness(0) }

// DutyOf converts a fraction in [0, 1] to a gpio.Duty, rounding down so a
// clamped maximum is never exceeded.
func DutyOf(f float64) gpio.Duty {
	return gpio.Duty(f * float64(gpio.DutyMax))
}
