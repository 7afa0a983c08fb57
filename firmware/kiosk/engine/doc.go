// Package engine connects the kiosk to livegate's liveness engine
// (livegate.dev/models/liveness): Engine starts one liveness.Analyzer per
// session with the kiosk's LEDs declared as a controlled light, and Locator
// finds face boxes for audit frames with the BlazeFace detector.
package engine
