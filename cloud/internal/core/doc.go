// Package core holds livegate-cloud's domain types — tenants, API keys,
// sessions and their results, webhook deliveries — and the identifiers and
// secrets they carry. It has no I/O: the store persists these types, the API
// serves them, the webhook worker delivers them.
//
// A session is shaped to carry more than one check (a flow), a decision with
// reasons, cancellation and idempotency keys, so that other vendors' surfaces
// (Sovera's sessions, IDV's ephemeral devices) are thin adapters over it.
package core
