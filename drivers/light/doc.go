// Package light drives illumination LEDs and the status LED from GPIO pins:
// GPIO is an on/off channel, PWM a dimmable channel with a PWM frequency and
// a rated maximum duty that is never exceeded (eye safety for near-infrared,
// heat for white strings). Both satisfy drivers.Light. For a PCA9685 LED
// driver see package pca9685.
package light
