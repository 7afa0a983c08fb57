// Package bolt is the embedded default store of livegate-cloud: one bbolt
// file, <data dir>/livegate.db, implementing store.Store.
//
// # Durability contract
//
// Every method that writes returns only after its transaction is committed
// and fsynced: a nil error means the write survives kill -9 and power loss.
// If the context is cancelled before the write was queued, the method returns
// the context's error and nothing is written; once queued, the method waits
// for the commit's outcome whatever the context does, so a returned error
// always means "not written" and nil always means "on disk".
//
// # Group commit
//
// Writes do not each pay for an fsync. One committer goroutine owns all write
// transactions: it takes every write waiting in its queue (up to
// Options.MaxBatch), applies them in one bbolt transaction and commits once,
// with one fsync round for the whole group. Writes that arrive while a commit
// is running wait and form the next group; when fewer are waiting than the
// last group had, the committer lingers briefly (at most a quarter of the
// last commit's duration, Options.MaxLinger at most) for the writers that
// are about to come back. A write whose function fails
// before touching the database (not found, exists, the caller's update
// function returned an error) is answered with its error and the others go
// on in the same transaction; a write that fails after it began writing
// rolls the group back, gets its error, and the rest is retried without it,
// as bbolt's Batch does. Because of that retry, update functions passed to
// UpdateSession, UpdateTenant and UpdateAPIKey may run more than once and
// must not have side effects beyond the value they are given.
//
// Keys of sessions and deliveries are their time-ordered ids (core.NewID), so
// inserts append to the end of the B+tree instead of splitting pages all over
// it.
//
// # Layout
//
// Buckets: meta (schema_version; Open refuses a newer one), tenants, apikeys (id → JSON), apikey_hash (hash → id),
// apikey_tenant (tenant \x00 id), sessions (id → JSON), session_idem (tenant
// \x00 idempotency key → id), session_expiry (expires-at ‖ id, non-terminal
// sessions only), photos (session id → JPEG), deliveries (id → JSON),
// delivery_due (NextAttemptAt ‖ id → LeaseUntil, pending deliveries only),
// delivery_state (state \x00 id, delivered and dead ones only),
// delivery_session (session \x00 id), delivery_tenant (tenant \x00 id).
// Values are the JSON of the core types.
//
// # Errors
//
// Methods wrap store.ErrNotFound, store.ErrExists and store.ErrClosed with %w
// and name the object; errors returned by callers' update functions are
// returned unchanged.
package bolt
