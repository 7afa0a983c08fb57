// Package store defines the persistence interface of livegate-cloud. Two
// implementations pass one shared test suite (storetest): bolt (embedded,
// the default) and postgres (for several replicas on one database).
//
// # Durability contract
//
// When a method that writes returns nil, the write is on disk: fsynced by
// bolt, committed (WAL flushed) by PostgreSQL. A returned error means
// nothing was written. A session's creation or update and the webhook
// deliveries it causes are written in one transaction, so an acknowledged
// state change always has its outbox entries, and a failed one has none.
//
// # Errors
//
// Implementations wrap the sentinel errors with %w, naming what failed:
//   - ErrNotFound: no such tenant, API key, session, photo or delivery (also
//     a photo or key whose session or tenant does not exist);
//   - ErrExists: the id, API key hash, delivery id or the tenant's
//     idempotency key is taken (CreateSession then also returns the session
//     that holds the key);
//   - ErrClosed: the store was closed.
//
// Errors returned by update functions are passed back unchanged.
//
// # Leases
//
// ClaimDeliveries leases deliveries to one worker at a time, across
// goroutines and replicas; a worker that dies loses its lease when it
// expires, and the delivery is claimed again.
package store
