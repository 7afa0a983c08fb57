// Package fleet is the cloud side of the device fleet; its sub-packages are
//
//   - broker: the embedded MQTT broker (mochi-mqtt), the single-machine
//     default, with an auth+ACL hook that authenticates each device with
//     its own credentials and confines it to its own topics; and the
//     Mosquitto ACL/config generated for the external-broker mode;
//   - ingest: the MQTT consumer that turns device results into sessions
//     (idempotent by session id, durable before the Ack), keeps the device
//     registry (status, last seen, versions, outbox depth) and sends
//     commands;
//   - provision: the device CA, one-time enrollment tokens and their
//     exchange for a client certificate or a password, and revocation;
//   - resend: commands kept until their device answers or they expire,
//     and the one schedule of their repeats.
//
// Fleet sends assign_session commands (AssignSession: id AssignCommandID,
// kept in Pending and sent again until the device answers) and update
// commands for the OTA rollouts (SendUpdate, with the message id and
// expiry the rollout chose, so that it can send the same command again)
// and hands the devices' command responses and telemetry, and each
// device's session coming online (DeviceOnline: the embedded broker's
// commands subscription, or an external broker's online birth), to
// Pending first and then to a Listener; a Link joins it to the rollouts
// when another daemon hook builds them.
//
// The contract (topics and payloads) is livegate.dev/proto; the device side
// is livegate.dev/firmware/sync.
package fleet
