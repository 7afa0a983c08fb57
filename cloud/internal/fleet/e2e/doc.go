// Package e2e holds the fleet's end-to-end and fault tests: a real device
// client (livegate.dev/firmware/sync with its bbolt outbox) against the
// embedded broker or a real Mosquitto (mqtttest), the cloud ingest and a
// bolt store. The fault tests kill the broker, the device process (kill -9,
// by re-executing the test binary as the device), the cloud ingest process
// and the network (a TCP proxy that stops forwarding), and then check that
// every result the device logged is in the cloud exactly once with exactly
// one webhook delivery queued. BenchmarkDrain measures the drain rate.
//
// TestOTARolloutOverFleet runs OTA end to end on a real livegate-cloud
// daemon (HTTPS, embedded broker, releases and rollouts wired as serve.go
// wires them): ten sim kiosks enrolled through the enrollment API, each
// with A/B slots, the sync client and the kiosk's update agent
// (firmware/update), restarting into the new slot by a power cycle.
package e2e
