// Package vl53l0x reads distances from an ST VL53L0X time-of-flight sensor
// over periph.io's i2c.Bus in single-shot mode, and satisfies
// drivers.DistanceSensor.
//
// New runs a reduced form of ST's data init and static init: it checks the
// model ID (0xC0 = 0xEE), selects standard I²C mode, reads the stop
// variable, disables the MSRC and pre-range signal-rate limit checks, sets
// the final-range signal-rate limit to 0.25 MCPS, enables the
// new-sample-ready interrupt, and runs the VHV and phase reference
// calibrations. It does not load ST's default tuning table or run reference
// SPAD management; the chip's power-on values are used for those, which
// gives working ranges on breakout boards but is not verified against real
// hardware here.
//
// A single-shot measurement writes the stop variable sequence, sets
// SYSRANGE_START, waits for the start bit to clear and the interrupt status
// (0x13) to show a new sample, reads RESULT_RANGE_STATUS (0x14, 12 bytes:
// device status in bits 6:3 of the first, range in mm at offsets 10–11) and
// clears the interrupt. Polling waits on the injected clock.
//
// Package vl53l0xtest holds an in-memory sensor that answers on the bus
// like the chip, for the sim board and tests.
package vl53l0x
