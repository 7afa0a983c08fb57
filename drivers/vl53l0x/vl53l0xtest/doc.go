// Package vl53l0xtest is an in-memory VL53L0X on a fake i2c.Bus. It answers
// the model ID, keeps the register file with the page-select rule (register
// 0x00 is SYSRANGE_START only on page 0), starts a measurement on
// SYSRANGE_START, raises the interrupt status after a settable number of
// status reads, reports the distance set by SetDistance in
// RESULT_RANGE_STATUS, and clears on SYSTEM_INTERRUPT_CLEAR. Each completed
// ranging is logged.
package vl53l0xtest
