package store

import (
	"context"
	"errors"
	"time"

	"livegate.dev/cloud/internal/core"
)

// Sentinel errors. Implementations wrap them with %w; callers test with errors.Is.
var (
	// ErrNotFound: no such tenant, key, session, photo or delivery.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: an object with that id (or idempotency key) already exists.
	ErrExists = errors.New("store: already exists")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Store is what livegate-cloud persists. All methods are safe for concurrent use.
//
// Update functions (UpdateTenant, UpdateAPIKey, UpdateSession) run inside the
// store's transaction and may be called more than once if the store retries
// it: they must only change the value they are given (and build the
// deliveries they return), with no other side effects. They must not change
// an object's id, nor a session's TenantID or IdempotencyKey, nor a key's
// TenantID or Hash; the store refuses such an update.
//
// Times are kept exactly in the stored objects; comparisons the store makes
// (expiry, due deliveries) have at least microsecond precision.
type Store interface {
	// CreateTenant stores a new tenant and its first API key together.
	CreateTenant(ctx context.Context, t *core.Tenant, k *core.APIKey) error
	GetTenant(ctx context.Context, id string) (*core.Tenant, error)
	ListTenants(ctx context.Context) ([]*core.Tenant, error)
	// UpdateTenant applies fn to the current tenant in a transaction and
	// stores the result. If fn returns an error nothing is written.
	UpdateTenant(ctx context.Context, id string, fn func(*core.Tenant) error) (*core.Tenant, error)

	// PutAPIKey adds a key (ErrExists if its id or hash is taken).
	PutAPIKey(ctx context.Context, k *core.APIKey) error
	// APIKeyByHash finds a key by core.HashSecret of the presented key.
	APIKeyByHash(ctx context.Context, hash []byte) (*core.APIKey, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]*core.APIKey, error)
	UpdateAPIKey(ctx context.Context, id string, fn func(*core.APIKey) error) (*core.APIKey, error)

	// CreateSession stores a new session and the deliveries its creation
	// causes. If s.IdempotencyKey is set and the tenant already has a session
	// with that key, it returns that session and ErrExists.
	CreateSession(ctx context.Context, s *core.Session, events []*core.Delivery) (*core.Session, error)
	GetSession(ctx context.Context, id string) (*core.Session, error)
	// UpdateSession applies fn to the current session in one transaction,
	// bumps Version and UpdatedAt (to the session's UpdatedAt as fn set it),
	// and enqueues the deliveries fn returns. If fn returns an error nothing
	// is written and the error is returned as is.
	UpdateSession(ctx context.Context, id string, fn func(*core.Session) ([]*core.Delivery, error)) (*core.Session, error)
	// ListVerificationsByUser returns tenantID's verification sessions
	// (Flow set) whose UserID is userID, newest first, at most limit, from
	// an index on (tenant, user).
	ListVerificationsByUser(ctx context.Context, tenantID, userID string, limit int) ([]*core.Session, error)
	// ListExpiring returns ids of sessions not in a terminal status whose
	// ExpiresAt is at or before now, oldest first, at most limit.
	ListExpiring(ctx context.Context, now time.Time, limit int) ([]string, error)

	// Redact deletes a session's data in one transaction. fn erases sess in
	// place and returns the receipt to append to the session's tenant's
	// deletion trail (prev is the trail's last entry, nil when it is
	// empty; the store serialises appends per tenant, so fn sees the true
	// last entry), the deliveries to queue, and scrub, which the store
	// calls on each earlier delivery of the session to rewrite its body.
	// The session's photo is deleted. If fn returns an error nothing is
	// written and the error is returned as is.
	Redact(ctx context.Context, id string, fn RedactFunc) (*core.Session, *core.DeletionReceipt, error)
	// GetDeletionReceipt returns tenantID's receipt id, or ErrNotFound.
	GetDeletionReceipt(ctx context.Context, tenantID, id string) (*core.DeletionReceipt, error)
	// ListDeletionReceipts returns tenantID's deletion trail in Seq order,
	// the entries after afterSeq, at most limit.
	ListDeletionReceipts(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*core.DeletionReceipt, error)
	// ListRetentionDue returns the ids of tenantID's sessions created at or
	// before before whose data of scope (core.ScopeBiometrics or
	// core.ScopeAll) has not been deleted, oldest first, at most limit.
	ListRetentionDue(ctx context.Context, tenantID, scope string, before time.Time, limit int) ([]string, error)
	// Scrub makes the data that redactions deleted unrecoverable from the
	// store's own files: bolt overwrites its free pages with zeros,
	// PostgreSQL rewrites the tables that held it (VACUUM FULL), dropping
	// the dead row versions. It does nothing when no redaction was
	// committed since the last scrub (on PostgreSQL: by any replica).
	Scrub(ctx context.Context) error

	// PutPhoto stores the ICAO JPEG of a session; GetPhoto returns it or ErrNotFound.
	PutPhoto(ctx context.Context, sessionID string, jpeg []byte) error
	GetPhoto(ctx context.Context, sessionID string) ([]byte, error)

	// ClaimDeliveries leases up to limit pending deliveries whose
	// NextAttemptAt and LeaseUntil are at or before now, setting LeaseUntil to
	// now+lease, oldest NextAttemptAt first. Two callers (in one process or in
	// several replicas) never hold the same delivery at once.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*core.Delivery, error)
	// SaveDelivery writes back a delivery after an attempt (state, attempts,
	// next attempt, last status and error, lease cleared or kept).
	SaveDelivery(ctx context.Context, d *core.Delivery) error
	GetDelivery(ctx context.Context, id string) (*core.Delivery, error)
	// ListDeliveries lists deliveries, newest first, filtered.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*core.Delivery, error)

	// DeviceStore: devices and enrollment tokens (the fleet).
	DeviceStore
	// GalleryStore: face galleries and their enrolled persons.
	GalleryStore

	// Ping reports whether the store can serve (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// RedactFunc is Redact's update function.
type RedactFunc func(sess *core.Session, prev *core.DeletionReceipt) (rec *core.DeletionReceipt, events []*core.Delivery, scrub func(*core.Delivery), err error)

// DeliveryFilter selects deliveries. Zero fields match everything.
type DeliveryFilter struct {
	State     core.DeliveryState
	TenantID  string
	SessionID string
	Limit     int // 0: 100
}
