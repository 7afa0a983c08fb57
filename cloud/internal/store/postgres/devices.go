package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/store"
)

func (s *Store) CreateEnrollment(ctx context.Context, e *store.Enrollment) error {
	if e == nil || len(e.Hash) == 0 || e.DeviceID == "" {
		return errors.New("postgres: create enrollment: missing hash or device id")
	}
	doc, err := encode("enrollment", e.DeviceID, e)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "create enrollment", func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM devices WHERE id = $1", e.DeviceID).Scan(&n); err != nil {
			return mapErr("device "+e.DeviceID, err)
		}
		if n > 0 {
			return fmt.Errorf("postgres: device %q: %w", e.DeviceID, store.ErrExists)
		}
		_, err := tx.Exec(ctx, "INSERT INTO enrollments (hash, device_id, doc) VALUES ($1, $2, $3)", e.Hash, e.DeviceID, doc)
		return mapErr("create enrollment of "+e.DeviceID, err)
	})
}

func (s *Store) ConsumeEnrollment(ctx context.Context, hash []byte, now time.Time, fn func(*store.Enrollment) (*store.Device, error)) (*store.Device, error) {
	var out *store.Device
	err := s.inTx(ctx, "consume enrollment", func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, "SELECT doc FROM enrollments WHERE hash = $1 FOR UPDATE", hash).Scan(&doc); err != nil {
			return mapErr("enrollment (token)", err)
		}
		e, err := decode[store.Enrollment]("enrollment", "(token)", doc)
		if err != nil {
			return err
		}
		if e.UsedAt != nil || !now.Before(e.ExpiresAt) {
			return fmt.Errorf("postgres: enrollment of %s is used or expired: %w", e.DeviceID, store.ErrNotFound)
		}
		d, err := fn(e)
		if err != nil {
			return callerError{err}
		}
		if d == nil || d.ID == "" {
			return fmt.Errorf("postgres: enrollment of %s built no device", e.DeviceID)
		}
		e.UsedAt = &now
		if doc, err = encode("enrollment", e.DeviceID, e); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE enrollments SET doc = $2 WHERE hash = $1", hash, doc); err != nil {
			return mapErr("use enrollment of "+e.DeviceID, err)
		}
		ddoc, err := encode("device", d.ID, d)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO devices (id, tenant_id, doc) VALUES ($1, $2, $3)", d.ID, d.TenantID, ddoc); err != nil {
			return mapErr("create device "+d.ID, err)
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, unwrapCaller(err)
	}
	return out, nil
}

func (s *Store) GetDevice(ctx context.Context, id string) (*store.Device, error) {
	if err := s.check("get device"); err != nil {
		return nil, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT doc FROM devices WHERE id = $1", id).Scan(&doc); err != nil {
		return nil, mapErr(fmt.Sprintf("device %q", id), err)
	}
	return decode[store.Device]("device", id, doc)
}

func (s *Store) ListDevices(ctx context.Context, tenantID string) ([]*store.Device, error) {
	if tenantID == "" {
		return list[store.Device](ctx, s, "list devices", "SELECT id, doc FROM devices ORDER BY id")
	}
	return list[store.Device](ctx, s, "list devices", "SELECT id, doc FROM devices WHERE tenant_id = $1 ORDER BY id", tenantID)
}

func (s *Store) UpdateDevice(ctx context.Context, id string, fn func(*store.Device) error) (*store.Device, error) {
	var out *store.Device
	err := s.inTx(ctx, "update device", func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, "SELECT doc FROM devices WHERE id = $1 FOR UPDATE", id).Scan(&doc); err != nil {
			return mapErr(fmt.Sprintf("device %q", id), err)
		}
		d, err := decode[store.Device]("device", id, doc)
		if err != nil {
			return err
		}
		tenant := d.TenantID
		if err := fn(d); err != nil {
			return callerError{err}
		}
		if d.ID != id || d.TenantID != tenant {
			return fmt.Errorf("postgres: update device %s: id and tenant are immutable", id)
		}
		if doc, err = encode("device", id, d); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE devices SET doc = $2 WHERE id = $1", id, doc); err != nil {
			return mapErr("update device "+id, err)
		}
		out = d
		return nil
	})
	if err != nil {
		return nil, unwrapCaller(err)
	}
	return out, nil
}
