package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// leaseValue is the value of a delivery_due entry: the lease end, so that
// claims skip leased deliveries without decoding them.
func leaseValue(d *core.Delivery) []byte {
	return binary.BigEndian.AppendUint64(nil, nanos(d.LeaseUntil))
}

// claimable reports whether a delivery_due entry is claimable at bound.
func claimable(k, v []byte, bound uint64) (due, free bool) {
	if len(k) < 8 || binary.BigEndian.Uint64(k) > bound {
		return false, false
	}
	return true, len(v) < 8 || binary.BigEndian.Uint64(v) <= bound
}

// putDelivery writes d and its index entries, replacing those of old.
func putDelivery(tx *bbolt.Tx, d *core.Delivery, data []byte, old *core.Delivery) error {
	id := d.ID
	b := bucket(tx, bDeliveries)
	if err := b.Put([]byte(id), data); err != nil {
		return fmt.Errorf("bolt: put delivery %s: %w", id, err)
	}
	dueB, stateB := bucket(tx, bDeliveryDue), bucket(tx, bDeliveryState)
	if old != nil {
		if old.State == core.DeliveryPending {
			if err := dueB.Delete(timeKey(old.NextAttemptAt, id)); err != nil {
				return fmt.Errorf("bolt: unindex delivery %s: %w", id, err)
			}
		}
		if old.State != core.DeliveryPending {
			if err := stateB.Delete(pairKey(string(old.State), id)); err != nil {
				return fmt.Errorf("bolt: unindex delivery %s: %w", id, err)
			}
		}
	}
	if d.State == core.DeliveryPending {
		if err := dueB.Put(timeKey(d.NextAttemptAt, id), leaseValue(d)); err != nil {
			return fmt.Errorf("bolt: index delivery %s: %w", id, err)
		}
	}
	if d.State != core.DeliveryPending { // pending ones are in delivery_due
		if err := stateB.Put(pairKey(string(d.State), id), nil); err != nil {
			return fmt.Errorf("bolt: index delivery %s: %w", id, err)
		}
	}
	if old == nil {
		if err := bucket(tx, bDeliverySession).Put(pairKey(d.SessionID, id), nil); err != nil {
			return fmt.Errorf("bolt: index delivery %s: %w", id, err)
		}
		if d.TenantID != "" {
			if err := bucket(tx, bDeliveryTenant).Put(pairKey(d.TenantID, id), nil); err != nil {
				return fmt.Errorf("bolt: index delivery %s: %w", id, err)
			}
		}
	}
	return nil
}

// ClaimDeliveries leases due pending deliveries, oldest NextAttemptAt first
// (then by id). Claims go through the single writer, so two claimers never
// get the same delivery.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*core.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, fmt.Errorf("bolt: claim deliveries: lease %v is not positive", lease)
	}
	bound := nanos(now)
	scan := func(tx *bbolt.Tx, max int) [][]byte {
		var keys [][]byte
		c := bucket(tx, bDeliveryDue).Cursor()
		for k, v := c.First(); k != nil && len(keys) < max; k, v = c.Next() {
			due, free := claimable(k, v, bound)
			if !due {
				break
			}
			if free {
				keys = append(keys, bytes.Clone(k))
			}
		}
		return keys
	}
	// An idle worker polls: answer "nothing due" from a read transaction
	// instead of committing (and fsyncing) an empty write.
	anyDue := false
	err := s.view(ctx, "claim deliveries", func(tx *bbolt.Tx) error {
		anyDue = len(scan(tx, 1)) > 0
		return nil
	})
	if err != nil || !anyDue {
		return nil, err
	}
	until := now.Add(lease)
	var out []*core.Delivery
	err = s.write(ctx, func(tx *bbolt.Tx) error {
		out = out[:0]
		keys := scan(tx, limit)
		if len(keys) == 0 {
			return nil
		}
		b := bucket(tx, bDeliveries)
		type claimed struct {
			d    *core.Delivery
			data []byte
			old  *core.Delivery
		}
		todo := make([]claimed, 0, len(keys))
		for _, k := range keys {
			id := string(k[8:])
			v := b.Get(k[8:])
			if v == nil {
				return reject(fmt.Errorf("bolt: claim: index names missing delivery %s", id))
			}
			d, err := decode[core.Delivery]("delivery", id, v)
			if err != nil {
				return reject(err)
			}
			old := *d
			d.LeaseUntil = until
			data, err := json.Marshal(d)
			if err != nil {
				return reject(fmt.Errorf("bolt: encode delivery %s: %w", id, err))
			}
			todo = append(todo, claimed{d: d, data: data, old: &old})
		}
		for _, c := range todo {
			if err := putDelivery(tx, c.d, c.data, c.old); err != nil {
				return err
			}
			out = append(out, c.d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) SaveDelivery(ctx context.Context, d *core.Delivery) error {
	if d == nil || d.ID == "" {
		return errors.New("bolt: save delivery: empty id")
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("bolt: encode delivery %s: %w", d.ID, err)
	}
	return s.write(ctx, func(tx *bbolt.Tx) error {
		v := bucket(tx, bDeliveries).Get([]byte(d.ID))
		if v == nil {
			return reject(notFound("delivery", d.ID))
		}
		old, err := decode[core.Delivery]("delivery", d.ID, v)
		if err != nil {
			return reject(err)
		}
		if old.SessionID != d.SessionID || old.TenantID != d.TenantID {
			return reject(fmt.Errorf("bolt: save delivery %s: session and tenant are immutable", d.ID))
		}
		if !bytes.Equal(old.Body, d.Body) {
			// The body is written once, and rewritten only by a
			// redaction: a worker saving an attempt keeps what is stored.
			cp := *d
			cp.Body = old.Body
			if data, err = json.Marshal(&cp); err != nil {
				return reject(fmt.Errorf("bolt: encode delivery %s: %w", d.ID, err))
			}
		}
		return putDelivery(tx, d, data, old)
	})
}

func (s *Store) GetDelivery(ctx context.Context, id string) (*core.Delivery, error) {
	var out *core.Delivery
	err := s.view(ctx, "get delivery", func(tx *bbolt.Tx) error {
		v := bucket(tx, bDeliveries).Get([]byte(id))
		if v == nil {
			return notFound("delivery", id)
		}
		var err error
		out, err = decode[core.Delivery]("delivery", id, v)
		return err
	})
	return out, err
}

// ListDeliveries walks the most selective index newest first (session, then
// state, then tenant, else all deliveries) and filters the rest.
func (s *Store) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]*core.Delivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []*core.Delivery
	err := s.view(ctx, "list deliveries", func(tx *bbolt.Tx) error {
		b := bucket(tx, bDeliveries)
		var ferr error
		visit := func(id, v []byte) bool {
			if v == nil {
				if v = b.Get(id); v == nil {
					return true
				}
			}
			d, err := decode[core.Delivery]("delivery", string(id), v)
			if err != nil {
				ferr = err
				return false
			}
			if (f.State != "" && d.State != f.State) || (f.TenantID != "" && d.TenantID != f.TenantID) ||
				(f.SessionID != "" && d.SessionID != f.SessionID) {
				return true
			}
			out = append(out, d)
			return len(out) < limit
		}
		var idx *bbolt.Bucket
		var prefix []byte
		switch {
		case f.SessionID != "":
			idx, prefix = bucket(tx, bDeliverySession), pairKey(f.SessionID, "")
		case f.State == core.DeliveryPending:
			// Pending deliveries are few (the outbox in flight): take them
			// from delivery_due and order them newest first.
			var pending [][]byte
			c := bucket(tx, bDeliveryDue).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				pending = append(pending, k[8:])
			}
			slices.SortFunc(pending, func(a, b []byte) int { return bytes.Compare(b, a) })
			for _, id := range pending {
				if !visit(id, nil) {
					break
				}
			}
			return ferr
		case f.State != "":
			idx, prefix = bucket(tx, bDeliveryState), pairKey(string(f.State), "")
		case f.TenantID != "":
			idx, prefix = bucket(tx, bDeliveryTenant), pairKey(f.TenantID, "")
		default:
			scanPrefixReverse(b, nil, func(k, v []byte) bool { return visit(k, v) })
			return ferr
		}
		scanPrefixReverse(idx, prefix, func(k, _ []byte) bool { return visit(k[len(prefix):], nil) })
		return ferr
	})
	return out, err
}
