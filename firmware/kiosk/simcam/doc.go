// Package simcam couples the sim board's LED fakes with a recorded camera:
// Reflect tints the face region of each real video frame by the light the
// LEDs emit at capture time, as a real face under the kiosk's LEDs would
// reflect it (a "bona fide" source that answers the illumination challenge),
// while the unwrapped recording is a replay that ignores the light.
package simcam
