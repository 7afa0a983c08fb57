package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// erased is the sessions.erased column of sess: 0 nothing deleted, 1 its
// biometric data, 2 every personal field.
func erased(sess *core.Session) int16 {
	switch {
	case sess.Redaction.Covers(core.ScopeAll):
		return 2
	case sess.Redaction.Covers(core.ScopeBiometrics):
		return 1
	}
	return 0
}

func (s *Store) Redact(ctx context.Context, id string, fn store.RedactFunc) (*core.Session, *core.DeletionReceipt, error) {
	var out *core.Session
	var rec *core.DeletionReceipt
	err := s.inTx(ctx, "redact session", func(tx pgx.Tx) error {
		var doc []byte
		var tenant string
		if err := tx.QueryRow(ctx, "SELECT tenant_id, doc FROM sessions WHERE id = $1 FOR UPDATE", id).Scan(&tenant, &doc); err != nil {
			return mapErr(fmt.Sprintf("session %q", id), err)
		}
		// One writer at a time appends to a tenant's trail.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('livegate deletion trail ' || $1, 0))", tenant); err != nil {
			return mapErr("lock deletion trail", err)
		}
		sess, err := decode[core.Session]("session", id, doc)
		if err != nil {
			return err
		}
		var prev *core.DeletionReceipt
		var pdoc []byte
		err = tx.QueryRow(ctx, "SELECT doc FROM deletion_receipts WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 1", tenant).Scan(&pdoc)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return mapErr("read deletion trail", err)
		default:
			if prev, err = decode[core.DeletionReceipt]("deletion receipt", tenant, pdoc); err != nil {
				return err
			}
		}
		idem, version := sess.IdempotencyKey, sess.Version
		r, events, scrub, err := fn(sess, prev)
		if err != nil {
			return callerError{err}
		}
		if sess.ID != id || sess.TenantID != tenant || sess.IdempotencyKey != idem || r == nil || r.TenantID != tenant || r.ID == "" {
			return fmt.Errorf("postgres: redact session %s: id, tenant and idempotency key are immutable, and a receipt of its tenant is needed", id)
		}
		sess.Version = version + 1
		if doc, err = encode("session", id, sess); err != nil {
			return err
		}
		rdoc, err := encode("deletion receipt", r.ID, r)
		if err != nil {
			return err
		}
		if scrub != nil {
			rows, err := tx.Query(ctx, "SELECT doc FROM deliveries WHERE session_id = $1 FOR UPDATE", id)
			if err != nil {
				return mapErr("read deliveries of session "+id, err)
			}
			docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
			if err != nil {
				return mapErr("read deliveries of session "+id, err)
			}
			for _, dd := range docs {
				d, err := decode[core.Delivery]("delivery", id, dd)
				if err != nil {
					return err
				}
				scrub(d)
				nd, err := encode("delivery", d.ID, d)
				if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "UPDATE deliveries SET doc = $2, scrubbed = true WHERE id = $1", d.ID, nd); err != nil {
					return mapErr("rewrite delivery "+d.ID, err)
				}
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE sessions SET terminal = $2, expires_at = $3, version = $4, doc = $5, user_id = $6, verification = $7, erased = $8 WHERE id = $1",
			id, sess.Status.Terminal(), sess.ExpiresAt, sess.Version, doc, sess.UserID, len(sess.Flow) > 0, erased(sess)); err != nil {
			return mapErr("update session "+id, err)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM photos WHERE session_id = $1", id); err != nil {
			return mapErr("delete photo of session "+id, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO deletion_receipts (tenant_id, seq, id, session_id, doc) VALUES ($1, $2, $3, $4, $5)",
			tenant, r.Seq, r.ID, id, rdoc); err != nil {
			return mapErr("append receipt "+r.ID, err)
		}
		if len(events) > 0 {
			rows, err := newDeliveryRows(events)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insertDeliveries, rows.args()...); err != nil {
				return mapErr("enqueue deliveries of session "+id, err)
			}
		}
		out, rec = sess, r
		return nil
	})
	if err != nil {
		return nil, nil, unwrapCaller(err)
	}
	return out, rec, nil
}

func (s *Store) GetDeletionReceipt(ctx context.Context, tenantID, id string) (*core.DeletionReceipt, error) {
	if err := s.check("get deletion receipt"); err != nil {
		return nil, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT doc FROM deletion_receipts WHERE tenant_id = $1 AND id = $2", tenantID, id).Scan(&doc); err != nil {
		return nil, mapErr(fmt.Sprintf("deletion receipt %q", id), err)
	}
	return decode[core.DeletionReceipt]("deletion receipt", id, doc)
}

func (s *Store) ListDeletionReceipts(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*core.DeletionReceipt, error) {
	if limit <= 0 {
		limit = 100
	}
	return list[core.DeletionReceipt](ctx, s, "list deletion receipts",
		"SELECT id, doc FROM deletion_receipts WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3", tenantID, afterSeq, limit)
}

func (s *Store) ListRetentionDue(ctx context.Context, tenantID, scope string, before time.Time, limit int) ([]string, error) {
	if err := s.check("list retention due"); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	// The predicate is written out, not a parameter, so that the planner
	// matches it to its partial index (sessions_retain_…).
	sql := "SELECT id FROM sessions WHERE tenant_id = $1 AND erased < 2 AND created_at <= $2 ORDER BY created_at, id LIMIT $3"
	if scope == core.ScopeBiometrics {
		sql = "SELECT id FROM sessions WHERE tenant_id = $1 AND erased < 1 AND created_at <= $2 ORDER BY created_at, id LIMIT $3"
	}
	rows, err := s.pool.Query(ctx, sql, tenantID, before, limit)
	if err != nil {
		return nil, mapErr("list retention due", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, mapErr("list retention due", err)
	}
	return ids, nil
}

// scrubTables hold the data a redaction deletes (the session row, its
// photo, its webhook bodies).
var scrubTables = []string{"sessions", "photos", "deliveries"}

// Scrub rewrites the tables that held deleted data (VACUUM FULL) when a
// receipt newer than the last scrub exists, whichever replica made it: the
// old row versions a redaction left behind as dead tuples, which a plain
// VACUUM only marks reusable, are not copied into the new files, and the
// old files are removed. It holds an ACCESS EXCLUSIVE lock on each table
// while it is rewritten, so the sweeper runs it once per pass, not per
// request.
func (s *Store) Scrub(ctx context.Context) error {
	if err := s.check("scrub"); err != nil {
		return err
	}
	var newest, done string
	if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(id), ''), (SELECT scrubbed_through FROM scrub_state) FROM deletion_receipts").Scan(&newest, &done); err != nil {
		return mapErr("scrub state", err)
	}
	if newest <= done {
		return nil
	}
	for _, t := range scrubTables {
		if _, err := s.pool.Exec(ctx, "VACUUM (FULL) "+t); err != nil {
			return mapErr("scrub "+t, err)
		}
	}
	if _, err := s.pool.Exec(ctx, "UPDATE scrub_state SET scrubbed_through = $1 WHERE scrubbed_through < $1", newest); err != nil {
		return mapErr("scrub state", err)
	}
	return nil
}
