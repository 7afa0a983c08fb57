// Package proto is the device↔cloud contract of livegate: the MQTT topic
// layout and the versioned JSON payloads exchanged on it. It is used by the
// firmware and by the cloud and imports nothing of the project.
//
// Every topic lives under livegate/v1/devices/{device_id}/:
//
//	status          device → cloud, retained: "online" birth, "offline" last will, "stopped" on clean stop
//	sessions        device → cloud, QoS 1: one decided session (SessionResult)
//	acks            cloud → device, QoS 1: sent only after the result is durable in the cloud (Ack)
//	commands        cloud → device, QoS 1: assign session, config, reboot, update (Command)
//	commands/resp   device → cloud, QoS 1: the outcome of a command (CommandResponse)
//	telemetry       device → cloud, QoS 0: periodic health figures (Telemetry)
//
// Every payload is an Envelope: a schema version, a message id (consumers are
// idempotent on it), the sending time, the message type, and the typed body.
// Decoding is strict: unknown fields, a missing id or an unsupported schema
// version are errors.
package proto
