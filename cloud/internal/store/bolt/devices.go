package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/store"
)

var (
	bDevices     = []byte("devices")     // id → Device JSON
	bEnrollments = []byte("enrollments") // token hash → Enrollment JSON
)

func init() { allBuckets = append(allBuckets, bDevices, bEnrollments) }

func (s *Store) CreateEnrollment(ctx context.Context, e *store.Enrollment) error {
	if e == nil || len(e.Hash) == 0 || e.DeviceID == "" {
		return errors.New("bolt: create enrollment: missing hash or device id")
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("bolt: encode enrollment of %s: %w", e.DeviceID, err)
	}
	return s.write(ctx, func(tx *bbolt.Tx) error {
		eb := bucket(tx, bEnrollments)
		if eb.Get(e.Hash) != nil {
			return reject(exists("enrollment", e.DeviceID))
		}
		if bucket(tx, bDevices).Get([]byte(e.DeviceID)) != nil {
			return reject(exists("device", e.DeviceID))
		}
		return eb.Put(e.Hash, data)
	})
}

func (s *Store) ConsumeEnrollment(ctx context.Context, hash []byte, now time.Time, fn func(*store.Enrollment) (*store.Device, error)) (*store.Device, error) {
	var out *store.Device
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		eb, db := bucket(tx, bEnrollments), bucket(tx, bDevices)
		v := eb.Get(hash)
		if v == nil {
			return reject(notFound("enrollment", "(token)"))
		}
		e, err := decode[store.Enrollment]("enrollment", "(token)", v)
		if err != nil {
			return reject(err)
		}
		if e.UsedAt != nil || !now.Before(e.ExpiresAt) {
			return reject(fmt.Errorf("bolt: enrollment of %s is used or expired: %w", e.DeviceID, store.ErrNotFound))
		}
		d, err := fn(e)
		if err != nil {
			return reject(err)
		}
		if d == nil || d.ID == "" || db.Get([]byte(d.ID)) != nil {
			return reject(exists("device", e.DeviceID))
		}
		ddata, err := json.Marshal(d)
		if err != nil {
			return reject(fmt.Errorf("bolt: encode device %s: %w", d.ID, err))
		}
		e.UsedAt = &now
		edata, err := json.Marshal(e)
		if err != nil {
			return reject(err)
		}
		if err := eb.Put(bytes.Clone(hash), edata); err != nil {
			return err
		}
		out = d
		return db.Put([]byte(d.ID), ddata)
	})
	if err != nil {
		return nil, unreject(err)
	}
	return out, nil
}

func (s *Store) GetDevice(ctx context.Context, id string) (*store.Device, error) {
	var d *store.Device
	err := s.view(ctx, "get device", func(tx *bbolt.Tx) error {
		v := bucket(tx, bDevices).Get([]byte(id))
		if v == nil {
			return notFound("device", id)
		}
		var err error
		d, err = decode[store.Device]("device", id, v)
		return err
	})
	return d, err
}

func (s *Store) ListDevices(ctx context.Context, tenantID string) ([]*store.Device, error) {
	var out []*store.Device
	err := s.view(ctx, "list devices", func(tx *bbolt.Tx) error {
		return bucket(tx, bDevices).ForEach(func(k, v []byte) error {
			d, err := decode[store.Device]("device", string(k), v)
			if err != nil {
				return err
			}
			if tenantID == "" || d.TenantID == tenantID {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

func (s *Store) UpdateDevice(ctx context.Context, id string, fn func(*store.Device) error) (*store.Device, error) {
	var out *store.Device
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		b := bucket(tx, bDevices)
		v := b.Get([]byte(id))
		if v == nil {
			return reject(notFound("device", id))
		}
		d, err := decode[store.Device]("device", id, v)
		if err != nil {
			return reject(err)
		}
		tenant := d.TenantID
		if err := fn(d); err != nil {
			return reject(err)
		}
		if d.ID != id || d.TenantID != tenant {
			return reject(fmt.Errorf("bolt: update device %s: id and tenant are immutable", id))
		}
		data, err := json.Marshal(d)
		if err != nil {
			return reject(fmt.Errorf("bolt: encode device %s: %w", id, err))
		}
		out = d
		return b.Put([]byte(id), data)
	})
	if err != nil {
		return nil, unreject(err)
	}
	return out, nil
}
