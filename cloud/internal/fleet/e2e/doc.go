// Package e2e holds the fleet's end-to-end and fault tests: a real device
// client (livegate.dev/firmware/sync with its bbolt outbox) against the
// embedded broker or a real Mosquitto (mqtttest), the cloud ingest and a
// bolt store. The fault tests kill the broker, the device process (kill -9,
// by re-executing the test binary as the device), the cloud ingest process
// and the network (a TCP proxy that stops forwarding), and then check that
// every result the device logged is in the cloud exactly once with exactly
// one webhook delivery queued. BenchmarkDrain measures the drain rate.
package e2e
