//go:build race

package main

// raceEnabled: the end-to-end tests with the real engine are too slow under
// the race detector; `make test-firmware-e2e` runs them without it.
const raceEnabled = true
