// Package pca9685 drives the NXP PCA9685 16-channel 12-bit PWM controller
// over periph.io's i2c.Bus, as an LED driver for RGB and near-infrared
// illumination channels. Every Channel has a rated maximum duty that the
// driver never exceeds; New switches every output off before anything else,
// so a kiosk restarting after a crash starts dark.
//
// Register map used: MODE1 (0x00: RESTART, AI, SLEEP), MODE2 (0x01: INVRT,
// OUTDRV), LEDn_ON_L/H and LEDn_OFF_L/H (0x06 + 4n; bit 4 of the _H
// registers is full on / full off), ALL_LED_ON/OFF (0xFA–0xFD) and PRE_SCALE
// (0xFE, writable only while SLEEP is set). The frequency change follows the
// datasheet's sleep / prescale / wake / 500 µs / restart sequence.
//
// Package pca9685test holds an in-memory chip that behaves like the
// PCA9685 on the bus, for the sim board and tests.
package pca9685
