// Package broker runs the embedded MQTT broker (mochi-mqtt) of a
// single-machine livegate-cloud and generates the ACL and configuration of
// an external Mosquitto broker.
//
// Every client authenticates: a device with its own credentials (a client
// certificate from the device CA, verified by mutual TLS, or its password),
// its MQTT client id equal to its device id; the cloud's own consumer with
// the service credentials. The ACL confines a device to its own topics:
// publish status, sessions, commands/resp and telemetry; subscribe acks and
// commands. A revoked device is refused at connect and Disconnect drops its
// live connection at once.
//
// Persistence: the broker keeps sessions and retained messages in memory
// only. mochi-mqtt's bbolt storage hook made QoS 1 publishing 28–125×
// slower here (BenchmarkPersistence, 512 B, 256 in flight, 2 cores: 2.1k
// vs 76 msg/s on a loaded machine, 11.5k vs 92 msg/s on a quieter one;
// about 50× on another quiet run), and it is not needed for correctness: the
// broker lives in the cloud process, devices keep every unacknowledged
// result in their outbox and republish it after a reconnect, and the cloud
// acks duplicates again. What a broker restart loses is acks and commands
// not yet delivered (the device resends; commands carry an expiry, and a
// command published while a device has no session here — not connected
// since the broker started — is dropped, so a caller that needs it
// delivered sends it again: Config.OnCommandsSubscribed says when the
// device's session is back, and the cloud re-sends every command not yet
// answered then, with the same message id: the OTA rollouts their update
// commands, the fleet its assign_session commands, package resend) and the
// retained status (devices publish their birth again when they reconnect).
package broker
