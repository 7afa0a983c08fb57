// Package simcam couples the sim board's LED fakes with a recorded camera:
// Reflect lights the face region of each real video frame by the light the
// LEDs emit, as a real face under the kiosk's LEDs would reflect it (the
// reflection model of models/lightsim with its Kiosk preset) (a "bona fide" source that answers the illumination challenge),
// while the unwrapped recording is a replay that ignores the light.
package simcam
