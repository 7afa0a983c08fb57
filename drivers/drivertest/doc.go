// Package drivertest holds the test doubles shared by the drivers and by the
// sim board: a fake Clock that tests advance instead of sleeping, and a Log
// of what was driven (pin levels, PWM duties, LED channel duties, relay
// pulses) with the clock's time of each change, plus Pin, a gpio.PinIO
// wrapper that writes to that Log.
package drivertest
