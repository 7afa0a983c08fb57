package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// encodedDelivery is a delivery with its JSON, encoded outside the transaction.
type encodedDelivery struct {
	d    *core.Delivery
	data []byte
}

func encodeDeliveries(ds []*core.Delivery) ([]encodedDelivery, error) {
	out := make([]encodedDelivery, 0, len(ds))
	for _, d := range ds {
		if d == nil || d.ID == "" {
			return nil, errors.New("bolt: delivery without id")
		}
		data, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("bolt: encode delivery %s: %w", d.ID, err)
		}
		out = append(out, encodedDelivery{d: d, data: data})
	}
	return out, nil
}

// checkNewDeliveries fails with ErrExists if any id is taken (or repeated).
func checkNewDeliveries(tx *bbolt.Tx, ds []encodedDelivery) error {
	b := bucket(tx, bDeliveries)
	for i, e := range ds {
		if b.Get([]byte(e.d.ID)) != nil {
			return exists("delivery", e.d.ID)
		}
		for _, f := range ds[:i] {
			if f.d.ID == e.d.ID {
				return exists("delivery", e.d.ID)
			}
		}
	}
	return nil
}

func (s *Store) CreateSession(ctx context.Context, sess *core.Session, events []*core.Delivery) (*core.Session, error) {
	if sess == nil || sess.ID == "" {
		return nil, errors.New("bolt: create session: empty id")
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return nil, fmt.Errorf("bolt: encode session %s: %w", sess.ID, err)
	}
	evs, err := encodeDeliveries(events)
	if err != nil {
		return nil, err
	}
	var existing *core.Session
	err = s.write(ctx, func(tx *bbolt.Tx) error {
		existing = nil
		sb := bucket(tx, bSessions)
		id := []byte(sess.ID)
		if sb.Get(id) != nil {
			return reject(exists("session", sess.ID))
		}
		var idem []byte
		if sess.IdempotencyKey != "" {
			idem = pairKey(sess.TenantID, sess.IdempotencyKey)
			if prev := bucket(tx, bSessionIdem).Get(idem); prev != nil {
				v := sb.Get(prev)
				if v == nil {
					return reject(notFound("session", string(prev)))
				}
				e, err := decode[core.Session]("session", string(prev), v)
				if err != nil {
					return reject(err)
				}
				existing = e
				return reject(fmt.Errorf("bolt: session idempotency key of tenant %q: %w", sess.TenantID, store.ErrExists))
			}
		}
		if err := checkNewDeliveries(tx, evs); err != nil {
			return reject(err)
		}
		if err := sb.Put(id, data); err != nil {
			return fmt.Errorf("bolt: put session %s: %w", sess.ID, err)
		}
		if idem != nil {
			if err := bucket(tx, bSessionIdem).Put(idem, id); err != nil {
				return fmt.Errorf("bolt: index session %s: %w", sess.ID, err)
			}
		}
		if !sess.Status.Terminal() {
			if err := bucket(tx, bSessionExpiry).Put(timeKey(sess.ExpiresAt, sess.ID), nil); err != nil {
				return fmt.Errorf("bolt: index session %s: %w", sess.ID, err)
			}
		}
		if err := indexSession(tx, nil, sess); err != nil {
			return err
		}
		return putNewDeliveries(tx, evs)
	})
	if existing != nil {
		return existing, err
	}
	if err != nil {
		return nil, err
	}
	out := *sess
	return &out, nil
}

func putNewDeliveries(tx *bbolt.Tx, evs []encodedDelivery) error {
	for _, e := range evs {
		if err := putDelivery(tx, e.d, e.data, nil); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) GetSession(ctx context.Context, id string) (*core.Session, error) {
	var out *core.Session
	err := s.view(ctx, "get session", func(tx *bbolt.Tx) error {
		v := bucket(tx, bSessions).Get([]byte(id))
		if v == nil {
			return notFound("session", id)
		}
		var err error
		out, err = decode[core.Session]("session", id, v)
		return err
	})
	return out, err
}

func (s *Store) UpdateSession(ctx context.Context, id string, fn func(*core.Session) ([]*core.Delivery, error)) (*core.Session, error) {
	var out *core.Session
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		out = nil
		sb := bucket(tx, bSessions)
		v := sb.Get([]byte(id))
		if v == nil {
			return reject(notFound("session", id))
		}
		sess, err := decode[core.Session]("session", id, v)
		if err != nil {
			return reject(err)
		}
		old := *sess
		tenant, idem, version := sess.TenantID, sess.IdempotencyKey, sess.Version
		oldExpiry := []byte(nil)
		if !sess.Status.Terminal() {
			oldExpiry = timeKey(sess.ExpiresAt, id)
		}
		events, err := fn(sess)
		if err != nil {
			return reject(err)
		}
		if sess.ID != id || sess.TenantID != tenant || sess.IdempotencyKey != idem {
			return reject(fmt.Errorf("bolt: update session %s: id, tenant and idempotency key are immutable", id))
		}
		sess.Version = version + 1
		data, err := json.Marshal(sess)
		if err != nil {
			return reject(fmt.Errorf("bolt: encode session %s: %w", id, err))
		}
		evs, err := encodeDeliveries(events)
		if err != nil {
			return reject(err)
		}
		if err := checkNewDeliveries(tx, evs); err != nil {
			return reject(err)
		}
		if err := sb.Put([]byte(id), data); err != nil {
			return fmt.Errorf("bolt: put session %s: %w", id, err)
		}
		exp := bucket(tx, bSessionExpiry)
		if oldExpiry != nil {
			if err := exp.Delete(oldExpiry); err != nil {
				return fmt.Errorf("bolt: unindex session %s: %w", id, err)
			}
		}
		if !sess.Status.Terminal() {
			if err := exp.Put(timeKey(sess.ExpiresAt, id), nil); err != nil {
				return fmt.Errorf("bolt: index session %s: %w", id, err)
			}
		}
		if err := indexSession(tx, &old, sess); err != nil {
			return err
		}
		if err := putNewDeliveries(tx, evs); err != nil {
			return err
		}
		out = sess
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) ListExpiring(ctx context.Context, now time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 100
	}
	bound := nanos(now)
	var ids []string
	err := s.view(ctx, "list expiring", func(tx *bbolt.Tx) error {
		c := bucket(tx, bSessionExpiry).Cursor()
		for k, _ := c.First(); k != nil && len(ids) < limit; k, _ = c.Next() {
			if len(k) < 8 || binary.BigEndian.Uint64(k) > bound {
				break
			}
			ids = append(ids, string(k[8:]))
		}
		return nil
	})
	return ids, err
}

func (s *Store) PutPhoto(ctx context.Context, sessionID string, jpeg []byte) error {
	if len(jpeg) == 0 {
		return fmt.Errorf("bolt: put photo of session %s: empty image", sessionID)
	}
	data := bytes.Clone(jpeg)
	return s.write(ctx, func(tx *bbolt.Tx) error {
		if bucket(tx, bSessions).Get([]byte(sessionID)) == nil {
			return reject(notFound("session", sessionID))
		}
		if err := bucket(tx, bPhotos).Put([]byte(sessionID), data); err != nil {
			return fmt.Errorf("bolt: put photo of session %s: %w", sessionID, err)
		}
		return nil
	})
}

func (s *Store) GetPhoto(ctx context.Context, sessionID string) ([]byte, error) {
	var out []byte
	err := s.view(ctx, "get photo", func(tx *bbolt.Tx) error {
		v := bucket(tx, bPhotos).Get([]byte(sessionID))
		if v == nil {
			return notFound("photo of session", sessionID)
		}
		out = bytes.Clone(v)
		return nil
	})
	return out, err
}
