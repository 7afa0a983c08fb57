// Package board describes the boards livegate runs on — Raspberry Pi 4 and
// 5, NXP i.MX8M Plus, Rockchip RK3588, and sim — and opens them: which GPIO
// pins drive the relay, the LEDs, the status LED and the buzzer and read the
// PIR sensor, which I²C bus and addresses hold the PCA9685 LED driver and
// the VL53L0X distance sensor, which camera device and format to capture,
// and how many inference threads to use.
//
// Load returns a built-in Profile by name with a Config's overrides
// applied, validated with errors that name the field (FieldError). Open
// calls periph.io's host.Init, opens every part it can on the drivers
// package, and reports what it loaded, skipped and why, in the style of
// periph.io's driverreg. The sim board opens everything on fakes — gpiotest
// pins, an in-memory PCA9685 and VL53L0X, a synthetic or file camera — so the
// whole kiosk runs on any Linux machine, and Sim exposes the log of what was
// driven for tests.
package board
