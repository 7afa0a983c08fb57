package vl53l0x

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"

	"livegate.dev/drivers"
)

// Registers (ST API register map, vl53l0x_device.h).
const (
	RegSysRangeStart          = 0x00
	RegSystemSequenceConfig   = 0x01
	RegSystemInterruptConfig  = 0x0A
	RegSystemInterruptClear   = 0x0B
	RegResultInterruptStatus  = 0x13
	RegResultRangeStatus      = 0x14
	RegFinalRangeMinCountRate = 0x44
	RegMSRCConfigControl      = 0x60
	RegGPIOHVMuxActiveHigh    = 0x84
	RegI2CMode                = 0x88
	RegStopVariable           = 0x91
	RegPowerManagement        = 0x80
	RegPageSelect             = 0xFF
	RegModelID                = 0xC0

	// ModelID is the value of RegModelID on a VL53L0X.
	ModelID = 0xEE
	// DefaultAddr is the sensor's power-on address.
	DefaultAddr = 0x29
	// RangeValid is the device range status of a good measurement.
	RangeValid = 11
	// OutOfRangeMM is what the sensor reports when nothing is seen.
	OutOfRangeMM = 8190
)

// Opts configures the sensor.
type Opts struct {
	// Addr is the I²C address. Optional. Default: 0x29.
	Addr uint16
	// Poll is the wait between status reads. Optional. Default: 5ms.
	Poll time.Duration
	// Timeout bounds one measurement or calibration. Optional. Default:
	// 500ms (on Clock).
	Timeout time.Duration
	// Clock paces polling. Optional. Default: drivers.RealClock.
	Clock drivers.Clock
}

var (
	// ErrNotVL53L0X reports a device with another model ID.
	ErrNotVL53L0X = errors.New("vl53l0x: wrong model ID")
	// ErrTimeout reports a measurement that did not complete in time.
	ErrTimeout = errors.New("vl53l0x: timeout")
)

// Dev is one VL53L0X.
type Dev struct {
	dev  i2c.Dev
	opts Opts

	mu      sync.Mutex
	stopVar byte
}

var _ drivers.DistanceSensor = (*Dev)(nil)

// New checks and initialises the sensor on bus.
func New(ctx context.Context, bus i2c.Bus, opts Opts) (*Dev, error) {
	if opts.Addr == 0 {
		opts.Addr = DefaultAddr
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	d := &Dev{dev: i2c.Dev{Bus: bus, Addr: opts.Addr}, opts: opts}
	if err := d.init(ctx); err != nil {
		return nil, fmt.Errorf("vl53l0x at %#x: %w", opts.Addr, err)
	}
	return d, nil
}

func (d *Dev) init(ctx context.Context) error {
	id, err := d.read(RegModelID)
	if err != nil {
		return fmt.Errorf("read model ID: %w", err)
	}
	if id != ModelID {
		return fmt.Errorf("%w: %#x, want %#x", ErrNotVL53L0X, id, ModelID)
	}
	if err := d.write(RegI2CMode, 0x00); err != nil {
		return fmt.Errorf("set standard I²C mode: %w", err)
	}
	// The stop variable lives behind a page switch.
	for _, w := range [][2]byte{{RegPowerManagement, 0x01}, {RegPageSelect, 0x01}, {RegSysRangeStart, 0x00}} {
		if err := d.write(w[0], w[1]); err != nil {
			return fmt.Errorf("open stop variable page: %w", err)
		}
	}
	if d.stopVar, err = d.read(RegStopVariable); err != nil {
		return fmt.Errorf("read stop variable: %w", err)
	}
	for _, w := range [][2]byte{{RegSysRangeStart, 0x01}, {RegPageSelect, 0x00}, {RegPowerManagement, 0x00}} {
		if err := d.write(w[0], w[1]); err != nil {
			return fmt.Errorf("close stop variable page: %w", err)
		}
	}
	msrc, err := d.read(RegMSRCConfigControl)
	if err != nil {
		return fmt.Errorf("read MSRC_CONFIG_CONTROL: %w", err)
	}
	if err := d.write(RegMSRCConfigControl, msrc|0x12); err != nil {
		return fmt.Errorf("disable MSRC and pre-range limit checks: %w", err)
	}
	// 0.25 MCPS in 9.7 fixed point.
	if err := d.dev.Tx([]byte{RegFinalRangeMinCountRate, 0x00, 0x20}, nil); err != nil {
		return fmt.Errorf("set signal rate limit: %w", err)
	}
	if err := d.write(RegSystemInterruptConfig, 0x04); err != nil { // new sample ready
		return fmt.Errorf("set interrupt config: %w", err)
	}
	mux, err := d.read(RegGPIOHVMuxActiveHigh)
	if err != nil {
		return fmt.Errorf("read GPIO_HV_MUX_ACTIVE_HIGH: %w", err)
	}
	if err := d.write(RegGPIOHVMuxActiveHigh, mux&^0x10); err != nil { // active low
		return fmt.Errorf("set interrupt polarity: %w", err)
	}
	if err := d.write(RegSystemInterruptClear, 0x01); err != nil {
		return fmt.Errorf("clear interrupt: %w", err)
	}
	// Reference calibrations: VHV (sequence step 0x01, start 0x41), then
	// phase (step 0x02, start 0x01).
	for _, c := range []struct {
		name      string
		seq, vhvb byte
	}{{"VHV calibration", 0x01, 0x40}, {"phase calibration", 0x02, 0x00}} {
		if err := d.write(RegSystemSequenceConfig, c.seq); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if err := d.write(RegSysRangeStart, 0x01|c.vhvb); err != nil {
			return fmt.Errorf("%s: start: %w", c.name, err)
		}
		if err := d.waitSample(ctx); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if err := d.write(RegSystemInterruptClear, 0x01); err != nil {
			return fmt.Errorf("%s: clear interrupt: %w", c.name, err)
		}
		if err := d.write(RegSysRangeStart, 0x00); err != nil {
			return fmt.Errorf("%s: stop: %w", c.name, err)
		}
	}
	// Restore the normal sequence: DSS, pre-range, final range.
	if err := d.write(RegSystemSequenceConfig, 0xE8); err != nil {
		return fmt.Errorf("set sequence config: %w", err)
	}
	return nil
}

// DistanceMM runs one single-shot measurement.
func (d *Dev) DistanceMM(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	mm, err := d.measure(ctx)
	if err != nil && !errors.Is(err, drivers.ErrOutOfRange) {
		return 0, fmt.Errorf("vl53l0x at %#x: %w", d.dev.Addr, err)
	}
	return mm, err
}

func (d *Dev) measure(ctx context.Context) (int, error) {
	for _, w := range [][2]byte{
		{RegPowerManagement, 0x01}, {RegPageSelect, 0x01}, {RegSysRangeStart, 0x00},
		{RegStopVariable, d.stopVar},
		{RegSysRangeStart, 0x01}, {RegPageSelect, 0x00}, {RegPowerManagement, 0x00},
		{RegSysRangeStart, 0x01},
	} {
		if err := d.write(w[0], w[1]); err != nil {
			return 0, fmt.Errorf("start measurement: %w", err)
		}
	}
	if err := d.poll(ctx, "start bit", func() (bool, error) {
		v, err := d.read(RegSysRangeStart)
		return v&0x01 == 0, err
	}); err != nil {
		return 0, err
	}
	if err := d.waitSample(ctx); err != nil {
		return 0, err
	}
	var res [12]byte
	if err := d.dev.Tx([]byte{RegResultRangeStatus}, res[:]); err != nil {
		return 0, fmt.Errorf("read result: %w", err)
	}
	if err := d.write(RegSystemInterruptClear, 0x01); err != nil {
		return 0, fmt.Errorf("clear interrupt: %w", err)
	}
	status := (res[0] >> 3) & 0x0F
	mm := int(res[10])<<8 | int(res[11])
	if status != RangeValid || mm >= OutOfRangeMM {
		return 0, fmt.Errorf("%w (device status %d, range %d mm)", drivers.ErrOutOfRange, status, mm)
	}
	return mm, nil
}

func (d *Dev) waitSample(ctx context.Context) error {
	return d.poll(ctx, "new sample", func() (bool, error) {
		v, err := d.read(RegResultInterruptStatus)
		return v&0x07 != 0, err
	})
}

// poll calls ready until it reports true, waiting Poll between calls, for
// at most Timeout on the clock.
func (d *Dev) poll(ctx context.Context, what string, ready func() (bool, error)) error {
	for waited := time.Duration(0); ; waited += d.opts.Poll {
		ok, err := ready()
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if waited >= d.opts.Timeout {
			return fmt.Errorf("wait for %s: %w after %s", what, ErrTimeout, d.opts.Timeout)
		}
		if err := drivers.Sleep(ctx, d.opts.Clock, d.opts.Poll); err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
	}
}

func (d *Dev) write(reg, v byte) error { return d.dev.Tx([]byte{reg, v}, nil) }

func (d *Dev) read(reg byte) (byte, error) {
	var b [1]byte
	err := d.dev.Tx([]byte{reg}, b[:])
	return b[0], err
}
