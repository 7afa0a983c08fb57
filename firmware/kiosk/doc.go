// Package kiosk is the livegate kiosk's state machine: idle → presence →
// guiding → challenges (including the LED illumination challenge) →
// analysing → verdict → relay pulse on pass → cool-down.
//
// It reaches hardware only through the small interfaces of
// livegate.dev/drivers (FrameSource, Light, Relay, Presence, Buzzer), the
// liveness decision only through Engine/Analyzer and storage only through
// Store, all defined here where they are used; every wait is on an injected
// drivers.Clock.
//
// Safety guarantees:
//   - the relay is energised in exactly one place, after a session whose
//     verdict is "pass" has been committed to the Store (fsynced): a result
//     that could not be stored never opens the gate;
//   - a panic anywhere in a session de-energises the relay (Close) and
//     switches the LEDs off before Run returns ErrPanic; the relay driver
//     itself clips every pulse to its hard maximum on-time;
//   - when the Store is full the kiosk stays out of service (no session, gate
//     shut) until space is freed;
//   - technician tests (TestRelay, TestLight) run only while idle.
package kiosk
