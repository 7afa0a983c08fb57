// Package pca9685test is an in-memory PCA9685 on a fake i2c.Bus: it keeps
// the register file, honours auto-increment, SLEEP, RESTART and the
// PRE_SCALE write rule, and logs every change of an output's effective duty
// to a drivertest.Log, so the sim board and tests can check what the LEDs
// did over time.
package pca9685test
