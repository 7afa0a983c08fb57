// Package relay drives the turnstile or door relay on a GPIO pin. The relay
// is de-energised from New on, except during a Pulse, and a Pulse never
// lasts longer than the hard maximum on-time given at New: a longer request
// is clipped, logged and reported in the drivers.PulseReport. Cancelling the
// context, Close, or a panic unwinding through Pulse de-energises it at once.
//
// A crash that kills the process cannot run Go code: the wiring must make
// "pin released / input / reset" mean "relay off" (a pull resistor to the
// inactive level), and New drives the pin inactive first so a restarted
// kiosk starts with the gate closed.
package relay
