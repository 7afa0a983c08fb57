// Package drivers holds the kiosk's hardware drivers, built on periph.io:
// camera sources (V4L2, file, synthetic), illumination LEDs (GPIO, PWM,
// PCA9685), the turnstile relay and presence sensors. Each driver has a fake
// or a record/replay test beside it. Drivers know nothing of sessions or the
// cloud.
package drivers
