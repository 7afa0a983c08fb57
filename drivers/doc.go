// Package drivers is the contract between the kiosk and its hardware: the
// small interfaces the firmware asks for (a FrameSource, a Light, a Relay, a
// Presence sensor, a DistanceSensor, a Buzzer) and the types they exchange
// (Frame, PixelFormat, PresenceEvent, PulseReport), plus the injected Clock
// that every timed driver takes.
//
// The implementations live in sub-packages built on periph.io:
//
//	camera    file (y4m, MJPEG, JPEG/PNG folders) and synthetic frame sources
//	v4l2      Linux V4L2 capture (YUYV, MJPEG) through direct ioctls
//	light     GPIO on/off and PWM brightness LEDs with a rated maximum duty
//	pca9685   the NXP PCA9685 16-channel I²C LED driver
//	relay     the turnstile or door relay with a hard maximum on-time
//	presence  PIR on a GPIO edge, and presence from a distance threshold
//	vl53l0x   the ST VL53L0X time-of-flight distance sensor over I²C
//	buzzer    an active buzzer on a GPIO pin
//
// The status LED is a Light (light.GPIO). The sim board in package
// livegate.dev/board puts all of these on fakes.
//
// Each has a fake or a record/replay test beside it (periph.io's gpiotest
// and i2ctest, and drivertest for a fake clock and a log of what was
// driven). Drivers know nothing of sessions or the cloud.
package drivers
