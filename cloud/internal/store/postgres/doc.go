// Package postgres is the PostgreSQL implementation of store.Store, for
// running several livegate-cloud replicas against one database. It uses pgx
// v5 with a pgxpool connection pool.
//
// # Schema and migrations
//
// The schema is a sequence of versioned SQL files embedded in the binary
// (migrations/NNNN_name.sql). Open applies the missing ones, each in its own
// transaction and recorded in schema_migrations, while holding a PostgreSQL
// advisory lock, so replicas that start at the same time migrate once and
// wait for each other. Every object's JSON is kept whole in a bytea column
// (exact round trip); the columns beside it are what queries filter, order
// and lock on.
//
// # Durability contract
//
// A method that writes returns nil only after its transaction committed;
// with PostgreSQL's default synchronous_commit=on the commit is flushed to
// the write-ahead log first. Session creation with its deliveries is one
// statement; session updates lock the row (SELECT … FOR UPDATE), so updates
// of one session from several replicas are serialised and none is lost.
//
// # Claims across replicas
//
// ClaimDeliveries selects due rows with FOR UPDATE SKIP LOCKED and writes
// their lease in the same transaction: two replicas claiming at once get
// disjoint deliveries, and a delivery whose lease lapsed is claimable again.
//
// # Errors
//
// Unique violations map to store.ErrExists (a repeated idempotency key
// returns the first session with it), missing rows and foreign keys to
// store.ErrNotFound, calls after Close to store.ErrClosed; all wrapped with
// %w naming the object. Errors from callers' update functions are returned
// unchanged.
package postgres
