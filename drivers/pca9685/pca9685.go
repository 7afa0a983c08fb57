package pca9685

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"

	"livegate.dev/drivers"
)

// Register addresses and bits (datasheet rev. 4, section 7.3).
const (
	RegMode1     = 0x00
	RegMode2     = 0x01
	RegLED0OnL   = 0x06
	RegAllLEDOnL = 0xFA
	RegAllOffH   = 0xFD
	RegPreScale  = 0xFE

	Mode1Restart = 0x80
	Mode1ExtClk  = 0x40
	Mode1AI      = 0x20
	Mode1Sleep   = 0x10
	Mode1AllCall = 0x01

	Mode2Invert = 0x10
	Mode2OutDrv = 0x04

	// FullBit in an _H register is full on (LEDn_ON_H) or full off
	// (LEDn_OFF_H, which wins over full on).
	FullBit = 0x10

	// Channels is the number of PWM outputs.
	Channels = 16
	// Steps is the PWM resolution.
	Steps = 4096
	// DefaultAddr is the address with A0–A5 tied low.
	DefaultAddr = 0x40
	// InternalOscillator is the nominal internal clock.
	InternalOscillator = 25 * physic.MegaHertz
)

// Opts configures the chip.
type Opts struct {
	// Addr is the I²C address. Optional. Default: 0x40.
	Addr uint16
	// Frequency is the PWM frequency, 24 Hz–1526 Hz with the internal
	// oscillator. Optional. Default: 1 kHz.
	Frequency physic.Frequency
	// OpenDrain selects open-drain outputs (LEDs to V+ through the pin);
	// the default is totem-pole. Optional. Default: false.
	OpenDrain bool
	// Invert inverts every output. Optional. Default: false.
	Invert bool
	// Settle waits for the oscillator after wake-up (500 µs). Optional.
	// Default: time.Sleep. Tests pass a no-op.
	Settle func(time.Duration)
}

// ErrFrequency reports a PWM frequency the prescaler cannot produce.
var ErrFrequency = errors.New("pca9685: frequency out of range")

// Dev is one PCA9685.
type Dev struct {
	dev    i2c.Dev
	settle func(time.Duration)

	mu    sync.Mutex
	mode1 byte // MODE1 as last written, without RESTART
	freq  physic.Frequency
	used  [Channels]bool
}

// New initialises the chip on bus: all outputs off, MODE2 output stage,
// PRE_SCALE for opts.Frequency, auto-increment on, oscillator running.
func New(bus i2c.Bus, opts Opts) (*Dev, error) {
	if opts.Addr == 0 {
		opts.Addr = DefaultAddr
	}
	if opts.Frequency == 0 {
		opts.Frequency = physic.KiloHertz
	}
	if opts.Settle == nil {
		opts.Settle = time.Sleep
	}
	prescale, err := Prescale(opts.Frequency)
	if err != nil {
		return nil, err
	}
	d := &Dev{dev: i2c.Dev{Bus: bus, Addr: opts.Addr}, settle: opts.Settle}
	// Full off first: a single-byte write works whatever MODE1.AI is.
	if err := d.write(RegAllOffH, FullBit); err != nil {
		return nil, fmt.Errorf("pca9685 at %#x: all off: %w", opts.Addr, err)
	}
	mode2 := byte(Mode2OutDrv)
	if opts.OpenDrain {
		mode2 = 0
	}
	if opts.Invert {
		mode2 |= Mode2Invert
	}
	if err := d.write(RegMode2, mode2); err != nil {
		return nil, fmt.Errorf("pca9685 at %#x: MODE2: %w", opts.Addr, err)
	}
	old, err := d.read(RegMode1)
	if err != nil {
		return nil, fmt.Errorf("pca9685 at %#x: read MODE1: %w", opts.Addr, err)
	}
	d.mode1 = (old &^ (Mode1Restart | Mode1Sleep | Mode1ExtClk)) | Mode1AI
	if err := d.setPrescale(prescale); err != nil {
		return nil, fmt.Errorf("pca9685 at %#x: %w", opts.Addr, err)
	}
	d.freq = opts.Frequency
	return d, nil
}

// Prescale returns the PRE_SCALE value for f with the internal oscillator:
// round(25 MHz / (4096 × f)) − 1, which must be within 3–255.
func Prescale(f physic.Frequency) (byte, error) {
	if f <= 0 {
		return 0, fmt.Errorf("%w: %s", ErrFrequency, f)
	}
	p := math.Round(float64(InternalOscillator)/(Steps*float64(f))) - 1
	if p < 3 || p > 255 {
		return 0, fmt.Errorf("%w: %s needs prescale %v (3–255)", ErrFrequency, f, p)
	}
	return byte(p), nil
}

// setPrescale runs the datasheet sequence: sleep, PRE_SCALE, wake, wait
// 500 µs, restart. The caller holds d.mu or owns d exclusively.
func (d *Dev) setPrescale(p byte) error {
	steps := []struct {
		what string
		reg  byte
		val  byte
	}{
		{"sleep", RegMode1, d.mode1 | Mode1Sleep},
		{"PRE_SCALE", RegPreScale, p},
		{"wake", RegMode1, d.mode1},
	}
	for _, s := range steps {
		if err := d.write(s.reg, s.val); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	d.settle(500 * time.Microsecond)
	if err := d.write(RegMode1, d.mode1|Mode1Restart); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// SetFrequency changes the PWM frequency of every channel.
func (d *Dev) SetFrequency(f physic.Frequency) error {
	p, err := Prescale(f)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.setPrescale(p); err != nil {
		return fmt.Errorf("pca9685 at %#x: set frequency %s: %w", d.dev.Addr, f, err)
	}
	d.freq = f
	return nil
}

// Frequency reports the PWM frequency.
func (d *Dev) Frequency() physic.Frequency {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.freq
}

// AllOff switches every output fully off.
func (d *Dev) AllOff() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.dev.Tx([]byte{RegAllLEDOnL, 0, 0, 0, FullBit}, nil); err != nil {
		return fmt.Errorf("pca9685 at %#x: all off: %w", d.dev.Addr, err)
	}
	return nil
}

// Halt switches every output off and puts the oscillator to sleep.
func (d *Dev) Halt() error {
	if err := d.AllOff(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write(RegMode1, d.mode1|Mode1Sleep); err != nil {
		return fmt.Errorf("pca9685 at %#x: sleep: %w", d.dev.Addr, err)
	}
	return nil
}

// Registers returns the four LEDn register values for a duty of ticks out
// of 4096: 0 is full off, 4096 full on.
func Registers(ticks int) [4]byte {
	switch {
	case ticks <= 0:
		return [4]byte{0, 0, 0, FullBit}
	case ticks >= Steps:
		return [4]byte{0, FullBit, 0, 0}
	}
	return [4]byte{0, 0, byte(ticks), byte(ticks >> 8)}
}

func (d *Dev) setTicks(ch, ticks int) error {
	r := Registers(ticks)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dev.Tx([]byte{byte(RegLED0OnL + 4*ch), r[0], r[1], r[2], r[3]}, nil)
}

func (d *Dev) write(reg, v byte) error { return d.dev.Tx([]byte{reg, v}, nil) }

func (d *Dev) read(reg byte) (byte, error) {
	var b [1]byte
	err := d.dev.Tx([]byte{reg}, b[:])
	return b[0], err
}

// Channel is one output of the chip used as a drivers.Light.
type Channel struct {
	dev  *Dev
	n    int
	name string
	max  float64

	mu sync.Mutex
	b  float64
}

var _ drivers.Light = (*Channel)(nil)

// Channel returns output n (0–15) as a light named name with the rated
// maximum duty max in (0, 1], switched off. Each output can be taken once.
func (d *Dev) Channel(n int, name string, max float64) (*Channel, error) {
	if n < 0 || n >= Channels {
		return nil, fmt.Errorf("pca9685 channel %q: output %d out of range 0–15", name, n)
	}
	if !(max > 0 && max <= 1) {
		return nil, fmt.Errorf("pca9685 channel %q: rated maximum duty %v not within (0, 1]", name, max)
	}
	d.mu.Lock()
	if d.used[n] {
		d.mu.Unlock()
		return nil, fmt.Errorf("pca9685 channel %q: output %d already in use", name, n)
	}
	d.used[n] = true
	d.mu.Unlock()
	c := &Channel{dev: d, n: n, name: name, max: max}
	if err := c.SetBrightness(0); err != nil {
		return nil, err
	}
	return c, nil
}

// SetBrightness sets the duty fraction, clamped to the rated maximum and
// rounded down to the 12-bit step.
func (c *Channel) SetBrightness(b float64) error {
	b, err := drivers.CheckBrightness(b, c.max)
	if err != nil {
		return fmt.Errorf("pca9685 channel %q: %w", c.name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ticks := int(b * Steps)
	if err := c.dev.setTicks(c.n, ticks); err != nil {
		return fmt.Errorf("pca9685 channel %q (output %d): set duty %d/4096: %w", c.name, c.n, ticks, err)
	}
	c.b = b
	return nil
}

// Brightness reports the applied duty fraction.
func (c *Channel) Brightness() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b
}

// MaxBrightness reports the rated maximum duty.
func (c *Channel) MaxBrightness() float64 { return c.max }

// Name names the channel.
func (c *Channel) Name() string { return c.name }

// Output returns the chip output number.
func (c *Channel) Output() int { return c.n }
