package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// Options configures Open.
type Options struct {
	// MaxConns is the pool size. Optional. Default: pgxpool's (4 or the CPU count, whichever is larger).
	MaxConns int32
}

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool    *pgxpool.Pool
	closed  atomic.Bool
	version int
}

var _ store.Store = (*Store)(nil)

// Open connects to dsn and applies the missing migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	v, err := migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, version: v}, nil
}

// SchemaVersion is the migration version the database is at.
func (s *Store) SchemaVersion() int { return s.version }

// Close closes the pool. It is idempotent; calls after it fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		s.pool.Close()
	}
	return nil
}

func (s *Store) check(what string) error {
	if s.closed.Load() {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrClosed)
	}
	return nil
}

func (s *Store) Ping(ctx context.Context) error {
	if err := s.check("ping"); err != nil {
		return err
	}
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// inTx runs fn in a transaction; fn's error is returned unchanged.
func (s *Store) inTx(ctx context.Context, what string, fn func(pgx.Tx) error) error {
	if err := s.check(what); err != nil {
		return err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: %s: commit: %w", what, err)
	}
	return nil
}

// callerError marks an update function's error so it passes through unchanged.
type callerError struct{ err error }

func (c callerError) Error() string { return c.err.Error() }

func unwrapCaller(err error) error {
	var c callerError
	if errors.As(err, &c) {
		return c.err
	}
	return err
}

func pgErr(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

// mapErr turns constraint violations into sentinel errors.
func mapErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if pe := pgErr(err); pe != nil {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("postgres: %s (%s): %w", what, pe.ConstraintName, store.ErrExists)
		case "23503": // foreign_key_violation
			return fmt.Errorf("postgres: %s (%s): %w", what, pe.ConstraintName, store.ErrNotFound)
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

func decode[T any](what, id string, data []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("postgres: decode %s %s: %w", what, id, err)
	}
	return v, nil
}

func encode(what, id string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode %s %s: %w", what, id, err)
	}
	return b, nil
}

// ---- tenants and keys

func (s *Store) CreateTenant(ctx context.Context, t *core.Tenant, k *core.APIKey) error {
	if t == nil || t.ID == "" {
		return errors.New("postgres: create tenant: empty id")
	}
	tdoc, err := encode("tenant", t.ID, t)
	if err != nil {
		return err
	}
	var kdoc []byte
	if k != nil {
		if k.ID == "" || len(k.Hash) == 0 {
			return fmt.Errorf("postgres: create tenant %s: api key without id or hash", t.ID)
		}
		if kdoc, err = encode("api key", k.ID, k); err != nil {
			return err
		}
	}
	err = s.inTx(ctx, "create tenant", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO tenants (id, doc) VALUES ($1, $2)", t.ID, tdoc); err != nil {
			return err
		}
		if k != nil {
			_, err := tx.Exec(ctx, "INSERT INTO api_keys (id, tenant_id, hash, doc) VALUES ($1, $2, $3, $4)", k.ID, k.TenantID, k.Hash, kdoc)
			return err
		}
		return nil
	})
	return mapErr("create tenant "+t.ID, err)
}

func (s *Store) GetTenant(ctx context.Context, id string) (*core.Tenant, error) {
	if err := s.check("get tenant"); err != nil {
		return nil, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT doc FROM tenants WHERE id = $1", id).Scan(&doc); err != nil {
		return nil, mapErr(fmt.Sprintf("tenant %q", id), err)
	}
	return decode[core.Tenant]("tenant", id, doc)
}

func (s *Store) ListTenants(ctx context.Context) ([]*core.Tenant, error) {
	return list[core.Tenant](ctx, s, "list tenants", "SELECT id, doc FROM tenants ORDER BY id")
}

// list runs a query of (id, doc) rows and decodes each doc.
func list[T any](ctx context.Context, s *Store, what, sql string, args ...any) ([]*T, error) {
	if err := s.check(what); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr(what, err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, mapErr(what, err)
		}
		v, err := decode[T](what, id, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(what, err)
	}
	return out, nil
}

func (s *Store) UpdateTenant(ctx context.Context, id string, fn func(*core.Tenant) error) (*core.Tenant, error) {
	var out *core.Tenant
	err := s.inTx(ctx, "update tenant", func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, "SELECT doc FROM tenants WHERE id = $1 FOR UPDATE", id).Scan(&doc); err != nil {
			return mapErr(fmt.Sprintf("tenant %q", id), err)
		}
		t, err := decode[core.Tenant]("tenant", id, doc)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return callerError{err}
		}
		if t.ID != id {
			return fmt.Errorf("postgres: update tenant %s: the id is immutable", id)
		}
		if doc, err = encode("tenant", id, t); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE tenants SET doc = $2 WHERE id = $1", id, doc); err != nil {
			return mapErr("update tenant "+id, err)
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, unwrapCaller(err)
	}
	return out, nil
}

func (s *Store) PutAPIKey(ctx context.Context, k *core.APIKey) error {
	if k == nil || k.ID == "" || len(k.Hash) == 0 {
		return errors.New("postgres: put api key: missing id or hash")
	}
	if err := s.check("put api key"); err != nil {
		return err
	}
	doc, err := encode("api key", k.ID, k)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, "INSERT INTO api_keys (id, tenant_id, hash, doc) VALUES ($1, $2, $3, $4)", k.ID, k.TenantID, k.Hash, doc)
	return mapErr("put api key "+k.ID, err)
}

func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*core.APIKey, error) {
	if err := s.check("api key by hash"); err != nil {
		return nil, err
	}
	var id string
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT id, doc FROM api_keys WHERE hash = $1", hash).Scan(&id, &doc); err != nil {
		return nil, mapErr("api key by hash", err)
	}
	return decode[core.APIKey]("api key", id, doc)
}

func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]*core.APIKey, error) {
	return list[core.APIKey](ctx, s, "list api keys", "SELECT id, doc FROM api_keys WHERE tenant_id = $1 ORDER BY id", tenantID)
}

func (s *Store) UpdateAPIKey(ctx context.Context, id string, fn func(*core.APIKey) error) (*core.APIKey, error) {
	var out *core.APIKey
	err := s.inTx(ctx, "update api key", func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, "SELECT doc FROM api_keys WHERE id = $1 FOR UPDATE", id).Scan(&doc); err != nil {
			return mapErr(fmt.Sprintf("api key %q", id), err)
		}
		k, err := decode[core.APIKey]("api key", id, doc)
		if err != nil {
			return err
		}
		tenant, hash := k.TenantID, bytes.Clone(k.Hash)
		if err := fn(k); err != nil {
			return callerError{err}
		}
		if k.ID != id || k.TenantID != tenant || !bytes.Equal(k.Hash, hash) {
			return fmt.Errorf("postgres: update api key %s: id, tenant and hash are immutable", id)
		}
		if doc, err = encode("api key", id, k); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE api_keys SET doc = $2 WHERE id = $1", id, doc); err != nil {
			return mapErr("update api key "+id, err)
		}
		out = k
		return nil
	})
	if err != nil {
		return nil, unwrapCaller(err)
	}
	return out, nil
}

// ---- sessions

// deliveryRows holds deliveries as column arrays for one unnest insert.
type deliveryRows struct {
	ids, sessions, tenants, states []string
	next, lease                    []time.Time
	docs                           [][]byte
}

func newDeliveryRows(ds []*core.Delivery) (*deliveryRows, error) {
	r := &deliveryRows{}
	for _, d := range ds {
		if d == nil || d.ID == "" {
			return nil, errors.New("postgres: delivery without id")
		}
		doc, err := encode("delivery", d.ID, d)
		if err != nil {
			return nil, err
		}
		r.ids = append(r.ids, d.ID)
		r.sessions = append(r.sessions, d.SessionID)
		r.tenants = append(r.tenants, d.TenantID)
		r.states = append(r.states, string(d.State))
		r.next = append(r.next, d.NextAttemptAt)
		r.lease = append(r.lease, d.LeaseUntil)
		r.docs = append(r.docs, doc)
	}
	return r, nil
}

const insertDeliveries = `INSERT INTO deliveries (id, session_id, tenant_id, state, next_attempt_at, lease_until, doc)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::bytea[])`

func (r *deliveryRows) args() []any {
	return []any{r.ids, r.sessions, r.tenants, r.states, r.next, r.lease, r.docs}
}

func (s *Store) CreateSession(ctx context.Context, sess *core.Session, events []*core.Delivery) (*core.Session, error) {
	if sess == nil || sess.ID == "" {
		return nil, errors.New("postgres: create session: empty id")
	}
	if err := s.check("create session"); err != nil {
		return nil, err
	}
	doc, err := encode("session", sess.ID, sess)
	if err != nil {
		return nil, err
	}
	rows, err := newDeliveryRows(events)
	if err != nil {
		return nil, err
	}
	// One statement: the session and its deliveries commit together, in one
	// round trip.
	sql := `WITH s AS (INSERT INTO sessions (id, tenant_id, idempotency_key, terminal, expires_at, version, doc,
			created_at, user_id, verification, erased)
		VALUES ($8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18))
		` + insertDeliveries
	args := append(rows.args(), sess.ID, sess.TenantID, sess.IdempotencyKey, sess.Status.Terminal(), sess.ExpiresAt, sess.Version, doc,
		sess.CreatedAt, sess.UserID, len(sess.Flow) > 0, erased(sess))
	if _, err := s.pool.Exec(ctx, sql, args...); err != nil {
		if pe := pgErr(err); pe != nil && pe.Code == "23505" && pe.ConstraintName == "sessions_idempotency" {
			var id string
			var prev []byte
			err := s.pool.QueryRow(ctx, "SELECT id, doc FROM sessions WHERE tenant_id = $1 AND idempotency_key = $2",
				sess.TenantID, sess.IdempotencyKey).Scan(&id, &prev)
			if err != nil {
				return nil, mapErr("session by idempotency key", err)
			}
			existing, err := decode[core.Session]("session", id, prev)
			if err != nil {
				return nil, err
			}
			return existing, fmt.Errorf("postgres: session idempotency key of tenant %q: %w", sess.TenantID, store.ErrExists)
		}
		return nil, mapErr("create session "+sess.ID, err)
	}
	out := *sess
	return &out, nil
}

func (s *Store) GetSession(ctx context.Context, id string) (*core.Session, error) {
	if err := s.check("get session"); err != nil {
		return nil, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT doc FROM sessions WHERE id = $1", id).Scan(&doc); err != nil {
		return nil, mapErr(fmt.Sprintf("session %q", id), err)
	}
	return decode[core.Session]("session", id, doc)
}

func (s *Store) ListVerificationsByUser(ctx context.Context, tenantID, userID string, limit int) ([]*core.Session, error) {
	if err := s.check("list sessions of a user"); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT id, doc FROM sessions WHERE tenant_id = $1 AND user_id = $2 AND verification AND user_id <> '' ORDER BY id DESC LIMIT $3",
		tenantID, userID, limit)
	if err != nil {
		return nil, mapErr("list sessions of a user", err)
	}
	defer rows.Close()
	var out []*core.Session
	for rows.Next() {
		var id string
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, mapErr("list sessions of a user", err)
		}
		sess, err := decode[core.Session]("session", id, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr("list sessions of a user", err)
	}
	return out, nil
}

func (s *Store) UpdateSession(ctx context.Context, id string, fn func(*core.Session) ([]*core.Delivery, error)) (*core.Session, error) {
	var out *core.Session
	err := s.inTx(ctx, "update session", func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, "SELECT doc FROM sessions WHERE id = $1 FOR UPDATE", id).Scan(&doc); err != nil {
			return mapErr(fmt.Sprintf("session %q", id), err)
		}
		sess, err := decode[core.Session]("session", id, doc)
		if err != nil {
			return err
		}
		tenant, idem, version := sess.TenantID, sess.IdempotencyKey, sess.Version
		events, err := fn(sess)
		if err != nil {
			return callerError{err}
		}
		if sess.ID != id || sess.TenantID != tenant || sess.IdempotencyKey != idem {
			return fmt.Errorf("postgres: update session %s: id, tenant and idempotency key are immutable", id)
		}
		sess.Version = version + 1
		if doc, err = encode("session", id, sess); err != nil {
			return err
		}
		rows, err := newDeliveryRows(events)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE sessions SET terminal = $2, expires_at = $3, version = $4, doc = $5, user_id = $6, verification = $7, erased = $8 WHERE id = $1",
			id, sess.Status.Terminal(), sess.ExpiresAt, sess.Version, doc, sess.UserID, len(sess.Flow) > 0, erased(sess)); err != nil {
			return mapErr("update session "+id, err)
		}
		if len(events) > 0 {
			if _, err := tx.Exec(ctx, insertDeliveries, rows.args()...); err != nil {
				return mapErr("enqueue deliveries of session "+id, err)
			}
		}
		out = sess
		return nil
	})
	if err != nil {
		return nil, unwrapCaller(err)
	}
	return out, nil
}

func (s *Store) ListExpiring(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if err := s.check("list expiring"); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, "SELECT id FROM sessions WHERE NOT terminal AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2", now, limit)
	if err != nil {
		return nil, mapErr("list expiring", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr("list expiring", err)
	}
	return ids, nil
}

func (s *Store) PutPhoto(ctx context.Context, sessionID string, jpeg []byte) error {
	if len(jpeg) == 0 {
		return fmt.Errorf("postgres: put photo of session %s: empty image", sessionID)
	}
	if err := s.check("put photo"); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO photos (session_id, jpeg) VALUES ($1, $2)
		ON CONFLICT (session_id) DO UPDATE SET jpeg = EXCLUDED.jpeg`, sessionID, jpeg)
	return mapErr(fmt.Sprintf("put photo of session %q", sessionID), err)
}

func (s *Store) GetPhoto(ctx context.Context, sessionID string) ([]byte, error) {
	if err := s.check("get photo"); err != nil {
		return nil, err
	}
	var jpeg []byte
	if err := s.pool.QueryRow(ctx, "SELECT jpeg FROM photos WHERE session_id = $1", sessionID).Scan(&jpeg); err != nil {
		return nil, mapErr(fmt.Sprintf("photo of session %q", sessionID), err)
	}
	return jpeg, nil
}

// ---- deliveries

func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*core.Delivery, error) {
	if limit <= 0 {
		return nil, s.check("claim deliveries")
	}
	if lease <= 0 {
		return nil, fmt.Errorf("postgres: claim deliveries: lease %v is not positive", lease)
	}
	until := now.Add(lease)
	var out []*core.Delivery
	err := s.inTx(ctx, "claim deliveries", func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT id, doc FROM deliveries
			WHERE state = 'pending' AND next_attempt_at <= $1 AND lease_until <= $1
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
		if err != nil {
			return mapErr("claim deliveries", err)
		}
		var ids []string
		var docs [][]byte
		for rows.Next() {
			var id string
			var doc []byte
			if err := rows.Scan(&id, &doc); err != nil {
				rows.Close()
				return mapErr("claim deliveries", err)
			}
			d, err := decode[core.Delivery]("delivery", id, doc)
			if err != nil {
				rows.Close()
				return err
			}
			d.LeaseUntil = until
			if doc, err = encode("delivery", id, d); err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
			ids, docs = append(ids, id), append(docs, doc)
		}
		if err := rows.Err(); err != nil {
			return mapErr("claim deliveries", err)
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE deliveries d SET lease_until = $1, doc = u.doc
			FROM unnest($2::text[], $3::bytea[]) AS u(id, doc) WHERE d.id = u.id`, until, ids, docs)
		return mapErr("lease deliveries", err)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) SaveDelivery(ctx context.Context, d *core.Delivery) error {
	if d == nil || d.ID == "" {
		return errors.New("postgres: save delivery: empty id")
	}
	if err := s.check("save delivery"); err != nil {
		return err
	}
	doc, err := encode("delivery", d.ID, d)
	if err != nil {
		return err
	}
	// A body a redaction rewrote (scrubbed) is kept: the worker's copy
	// may be older.
	tag, err := s.pool.Exec(ctx, `UPDATE deliveries SET state = $4, next_attempt_at = $5, lease_until = $6,
		doc = CASE WHEN scrubbed THEN convert_to(jsonb_set(convert_from($7, 'UTF8')::jsonb, '{body}',
			convert_from(doc, 'UTF8')::jsonb->'body')::text, 'UTF8') ELSE $7 END
		WHERE id = $1 AND session_id = $2 AND tenant_id = $3`,
		d.ID, d.SessionID, d.TenantID, string(d.State), d.NextAttemptAt, d.LeaseUntil, doc)
	if err != nil {
		return mapErr("save delivery "+d.ID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	if _, err := s.GetDelivery(ctx, d.ID); err != nil {
		return err
	}
	return fmt.Errorf("postgres: save delivery %s: session and tenant are immutable", d.ID)
}

func (s *Store) GetDelivery(ctx context.Context, id string) (*core.Delivery, error) {
	if err := s.check("get delivery"); err != nil {
		return nil, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT doc FROM deliveries WHERE id = $1", id).Scan(&doc); err != nil {
		return nil, mapErr(fmt.Sprintf("delivery %q", id), err)
	}
	return decode[core.Delivery]("delivery", id, doc)
}

func (s *Store) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]*core.Delivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("state", string(f.State))
	add("tenant_id", f.TenantID)
	add("session_id", f.SessionID)
	sql := "SELECT id, doc FROM deliveries"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	sql += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	return list[core.Delivery](ctx, s, "list deliveries", sql, args...)
}
