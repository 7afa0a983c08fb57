// Package presence turns sensors into drivers.Presence: PIR watches a
// passive-infrared sensor's output on a GPIO pin (edges both ways), and
// Distance polls a drivers.DistanceSensor (a VL53L0X time-of-flight sensor)
// and reports presence when something is nearer than a threshold, with
// hysteresis so a person swaying at the edge does not flap the state.
package presence
