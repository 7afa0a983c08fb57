// Package sync is the kiosk's link to the cloud over MQTT (paho): it drains
// the outbox of decided session results in order, deletes an entry only on
// the cloud's application Ack, answers the cloud's commands through a
// CommandHandler, publishes telemetry and measures the clock skew between
// device and cloud from the acks.
//
// The MQTT session is persistent (clean session off, client id = device id),
// so acks and commands published while the device is offline are delivered
// when it comes back. The status topic carries a retained "online" birth
// after every connect, the broker publishes the "offline" last will when the
// connection dies, and Run publishes "stopped" before a clean disconnect.
//
// Results are delivered at least once: after a reconnect, or when an ack
// does not come within AckTimeout, every unacknowledged entry is published
// again, in order. The cloud is idempotent by session id and acks duplicates
// again, so each result is stored exactly once.
//
// A command is answered once by the CommandHandler; long work (an update)
// answers again later with Respond (QoS 1, a message id per distinct
// answer), and a redelivered command gets the latest answer. Birth and
// telemetry carry the running firmware and models versions (Versions).
//
// Credentials (a client certificate from enrollment, or a password) are
// kept by SaveCredentials / LoadCredentials with 0600 permissions, written
// atomically.
package sync
