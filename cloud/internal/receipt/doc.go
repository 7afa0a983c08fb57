// Package receipt signs and verifies deletion receipts
// (core.DeletionReceipt): the record livegate-cloud gives an integrator
// when a session's data is deleted, and one entry of the tenant's
// append-only, hash-chained deletion trail.
//
// # Canonical form
//
// A receipt is signed over its canonical form: the receipt's JSON object
// without the "signature" member, keys sorted by their bytes, no
// whitespace, no HTML escaping (Python's json.dumps(obj, sort_keys=True,
// separators=(",", ":")) of the same object gives the same bytes: every
// string in a receipt is printable ASCII). Hash is the hex SHA-256 of the
// canonical form without "hash" and "signature"; an entry's PrevHash is
// the previous entry's Hash (64 zeros for a tenant's first), so the trail
// verifies as a chain.
//
// The signing key is Ed25519, derived from the service's master key; its
// public half is served at GET /v1/deletion-keys with its key id.
package receipt
