// Package outbox is the kiosk's durable queue of decided session results: a
// bbolt file in which every result is written (and fsynced) before the kiosk
// opens the gate, read back in append order by the sender (woken by Appended
// as soon as an entry is durable, and after every reconnect), and deleted
// only when the cloud's application Ack for it arrives (a PUBACK only says
// the broker has it).
//
// # Bounds and the policy when full
//
// The outbox holds at most Options.MaxEntries entries and Options.MaxBytes
// bytes of payload. It never evicts an unsent or unacknowledged entry: when a
// new entry would exceed a bound, Append refuses it with ErrFull and writes
// nothing. The kiosk must then refuse to start new sessions (show "out of
// service", keep the gate shut) until acks free space; Stats reports the
// depth for telemetry and the kiosk's status screen. A result is therefore
// either durable in the outbox or was never decided for the user — it is
// never dropped silently.
//
// Entries are keyed by a monotonic sequence (bbolt NextSequence), so the
// drain order is the append order, across restarts.
package outbox
