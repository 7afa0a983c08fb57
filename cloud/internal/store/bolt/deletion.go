package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"time"

	bbolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// userKey is tenant \x00 user \x00 id: ids are time-ordered, so a user's
// sessions sort oldest first.
func userKey(sess *core.Session) []byte {
	return pairKey(string(pairKey(sess.TenantID, sess.UserID)), sess.ID)
}

// retainKey is tenant \x00 then the creation time and id.
func retainKey(sess *core.Session) []byte {
	return append(pairKey(sess.TenantID, ""), timeKey(sess.CreatedAt, sess.ID)...)
}

// sessionIndexKeys are the user and retention index entries of sess.
func sessionIndexKeys(sess *core.Session) map[string][]byte {
	out := map[string][]byte{}
	if sess == nil {
		return out
	}
	if len(sess.Flow) > 0 && sess.UserID != "" {
		out[string(bSessionUser)] = userKey(sess)
	}
	if !sess.Redaction.Covers(core.ScopeBiometrics) {
		out[string(bRetainBio)] = retainKey(sess)
	}
	if !sess.Redaction.Covers(core.ScopeAll) {
		out[string(bRetainAll)] = retainKey(sess)
	}
	return out
}

// indexSession moves the user and retention index entries of a session
// from what old had (nil: a new session) to what cur has.
func indexSession(tx *bbolt.Tx, old, cur *core.Session) error {
	was, now := sessionIndexKeys(old), sessionIndexKeys(cur)
	for _, name := range [][]byte{bSessionUser, bRetainBio, bRetainAll} {
		k0, k1 := was[string(name)], now[string(name)]
		if bytes.Equal(k0, k1) {
			continue
		}
		b := bucket(tx, name)
		if k0 != nil {
			if err := b.Delete(k0); err != nil {
				return fmt.Errorf("bolt: unindex session %s: %w", old.ID, err)
			}
		}
		if k1 != nil {
			if err := b.Put(k1, nil); err != nil {
				return fmt.Errorf("bolt: index session %s: %w", cur.ID, err)
			}
		}
	}
	return nil
}

// buildSessionIndexes indexes every session of a file written before the
// user and retention indexes existed.
func buildSessionIndexes(tx *bbolt.Tx) error {
	var all []*core.Session
	err := bucket(tx, bSessions).ForEach(func(k, v []byte) error {
		sess, err := decode[core.Session]("session", string(k), v)
		if err != nil {
			return err
		}
		all = append(all, sess)
		return nil
	})
	if err != nil {
		return err
	}
	for _, sess := range all {
		if err := indexSession(tx, nil, sess); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) ListVerificationsByUser(ctx context.Context, tenantID, userID string, limit int) ([]*core.Session, error) {
	var out []*core.Session
	err := s.view(ctx, "list sessions of a user", func(tx *bbolt.Tx) error {
		sb := bucket(tx, bSessions)
		prefix := pairKey(string(pairKey(tenantID, userID)), "")
		var err error
		scanPrefixReverse(bucket(tx, bSessionUser), prefix, func(k, _ []byte) bool {
			id := k[len(prefix):]
			v := sb.Get(id)
			if v == nil {
				return true
			}
			var sess *core.Session
			if sess, err = decode[core.Session]("session", string(id), v); err != nil {
				return false
			}
			out = append(out, sess)
			return len(out) < limit
		})
		return err
	})
	return out, err
}

func (s *Store) ListRetentionDue(ctx context.Context, tenantID, scope string, before time.Time, limit int) ([]string, error) {
	name := bRetainAll
	if scope == core.ScopeBiometrics {
		name = bRetainBio
	}
	if limit <= 0 {
		limit = 100
	}
	bound := nanos(before)
	prefix := pairKey(tenantID, "")
	var ids []string
	err := s.view(ctx, "list retention due", func(tx *bbolt.Tx) error {
		c := bucket(tx, name).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && len(ids) < limit; k, _ = c.Next() {
			rest := k[len(prefix):]
			if len(rest) < 8 || binary.BigEndian.Uint64(rest) > bound {
				break
			}
			ids = append(ids, string(rest[8:]))
		}
		return nil
	})
	return ids, err
}

// deletionKey is tenant \x00 then the big-endian sequence number.
func deletionKey(tenantID string, seq int64) []byte {
	k := pairKey(tenantID, "")
	return binary.BigEndian.AppendUint64(k, uint64(seq))
}

func (s *Store) Redact(ctx context.Context, id string, fn store.RedactFunc) (*core.Session, *core.DeletionReceipt, error) {
	var out *core.Session
	var rec *core.DeletionReceipt
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		out, rec = nil, nil
		sb := bucket(tx, bSessions)
		v := sb.Get([]byte(id))
		if v == nil {
			return reject(notFound("session", id))
		}
		old, err := decode[core.Session]("session", id, v)
		if err != nil {
			return reject(err)
		}
		sess, _ := decode[core.Session]("session", id, v)
		var prev *core.DeletionReceipt
		prefix := pairKey(sess.TenantID, "")
		scanPrefixReverse(bucket(tx, bDeletions), prefix, func(_, pv []byte) bool {
			prev, err = decode[core.DeletionReceipt]("deletion receipt", sess.TenantID, pv)
			return false
		})
		if err != nil {
			return reject(err)
		}
		r, events, scrub, err := fn(sess, prev)
		if err != nil {
			return reject(err)
		}
		if sess.ID != id || sess.TenantID != old.TenantID || sess.IdempotencyKey != old.IdempotencyKey || r == nil ||
			r.TenantID != sess.TenantID || r.ID == "" {
			return reject(fmt.Errorf("bolt: redact session %s: id, tenant and idempotency key are immutable, and a receipt of its tenant is needed", id))
		}
		if want := int64(1); (prev == nil && r.Seq != want) || (prev != nil && r.Seq != prev.Seq+1) {
			return reject(fmt.Errorf("bolt: redact session %s: receipt seq %d does not follow the trail", id, r.Seq))
		}
		sess.Version = old.Version + 1
		data, err := json.Marshal(sess)
		if err != nil {
			return reject(fmt.Errorf("bolt: encode session %s: %w", id, err))
		}
		rdata, err := json.Marshal(r)
		if err != nil {
			return reject(fmt.Errorf("bolt: encode receipt %s: %w", r.ID, err))
		}
		evs, err := encodeDeliveries(events)
		if err != nil {
			return reject(err)
		}
		if err := checkNewDeliveries(tx, evs); err != nil {
			return reject(err)
		}
		if bucket(tx, bDeletionIDs).Get([]byte(r.ID)) != nil {
			return reject(exists("deletion receipt", r.ID))
		}
		// Earlier deliveries of the session get their bodies rewritten.
		if scrub != nil {
			db := bucket(tx, bDeliveries)
			dprefix := pairKey(id, "")
			c := bucket(tx, bDeliverySession).Cursor()
			var ids [][]byte
			for k, _ := c.Seek(dprefix); k != nil && bytes.HasPrefix(k, dprefix); k, _ = c.Next() {
				ids = append(ids, bytes.Clone(k[len(dprefix):]))
			}
			for _, did := range ids {
				dv := db.Get(did)
				if dv == nil {
					continue
				}
				d, err := decode[core.Delivery]("delivery", string(did), dv)
				if err != nil {
					return err
				}
				scrub(d)
				dd, err := json.Marshal(d)
				if err != nil {
					return fmt.Errorf("bolt: encode delivery %s: %w", d.ID, err)
				}
				if err := db.Put(did, dd); err != nil {
					return fmt.Errorf("bolt: put delivery %s: %w", d.ID, err)
				}
			}
		}
		if err := sb.Put([]byte(id), data); err != nil {
			return fmt.Errorf("bolt: put session %s: %w", id, err)
		}
		if err := indexSession(tx, old, sess); err != nil {
			return err
		}
		if err := bucket(tx, bPhotos).Delete([]byte(id)); err != nil {
			return fmt.Errorf("bolt: delete photo of session %s: %w", id, err)
		}
		key := deletionKey(r.TenantID, r.Seq)
		if err := bucket(tx, bDeletions).Put(key, rdata); err != nil {
			return fmt.Errorf("bolt: append receipt %s: %w", r.ID, err)
		}
		if err := bucket(tx, bDeletionIDs).Put([]byte(r.ID), key); err != nil {
			return fmt.Errorf("bolt: index receipt %s: %w", r.ID, err)
		}
		if err := putNewDeliveries(tx, evs); err != nil {
			return err
		}
		out, rec = sess, r
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	s.scrubDue.Store(true)
	return out, rec, nil
}

func (s *Store) GetDeletionReceipt(ctx context.Context, tenantID, id string) (*core.DeletionReceipt, error) {
	var out *core.DeletionReceipt
	err := s.view(ctx, "get deletion receipt", func(tx *bbolt.Tx) error {
		key := bucket(tx, bDeletionIDs).Get([]byte(id))
		if key == nil || !bytes.HasPrefix(key, pairKey(tenantID, "")) || len(key) != len(tenantID)+1+8 {
			return notFound("deletion receipt", id)
		}
		v := bucket(tx, bDeletions).Get(key)
		if v == nil {
			return notFound("deletion receipt", id)
		}
		var err error
		out, err = decode[core.DeletionReceipt]("deletion receipt", id, v)
		return err
	})
	return out, err
}

func (s *Store) ListDeletionReceipts(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*core.DeletionReceipt, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []*core.DeletionReceipt
	prefix := pairKey(tenantID, "")
	err := s.view(ctx, "list deletion receipts", func(tx *bbolt.Tx) error {
		c := bucket(tx, bDeletions).Cursor()
		for k, v := c.Seek(deletionKey(tenantID, afterSeq+1)); k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Next() {
			if len(k) != len(prefix)+8 {
				continue // another tenant whose id extends this one's
			}
			r, err := decode[core.DeletionReceipt]("deletion receipt", string(k), v)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Scrub overwrites every free page of the file with zeros, when a
// redaction was committed since the last scrub, so that the
// bytes of deleted values (bbolt copies a page on write and frees the old
// copy, which keeps its content until the page is reused) are gone from
// the file. It waits for open read transactions to end and keeps new ones
// out while it runs; the write lock keeps writers out. A page still
// pending (freed by a transaction that an older reader may see) is not
// free yet: none is, once no reader is open and a write transaction
// begins.
func (s *Store) Scrub(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("bolt: scrub: %w", store.ErrClosed)
	}
	if !s.scrubDue.Swap(false) {
		return nil
	}
	ok := false
	defer func() {
		if !ok {
			s.scrubDue.Store(true)
		}
	}()
	s.readers.Lock()
	defer s.readers.Unlock()
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("bolt: scrub: %w", err)
	}
	defer f.Close()
	size := s.db.Info().PageSize
	zero := make([]byte, size)
	page := make([]byte, size)
	wrote := false
	err = s.db.Update(func(tx *bbolt.Tx) error {
		for id := 2; ; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil {
				return nil // past the high-water mark
			}
			if info.Type != "free" {
				continue
			}
			off := int64(id) * int64(size)
			if _, err := f.ReadAt(page, off); err != nil {
				return err
			}
			if bytes.Equal(page, zero) {
				continue
			}
			if _, err := f.WriteAt(zero, off); err != nil {
				return err
			}
			wrote = true
		}
	})
	if err != nil {
		return fmt.Errorf("bolt: scrub %s: %w", s.path, err)
	}
	if wrote {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("bolt: scrub %s: %w", s.path, err)
		}
	}
	ok = true
	return nil
}
