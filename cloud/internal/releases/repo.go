package releases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"go.etcd.io/bbolt"
)

// Repo keeps release metadata and rollouts. Implementations: OpenBolt and
// OpenPostgres. Every method is safe for concurrent use.
type Repo interface {
	// CreateRelease stores r; ErrExists if its id is taken.
	CreateRelease(ctx context.Context, r *Release) error
	// GetRelease returns the release id, or ErrNotFound.
	GetRelease(ctx context.Context, id string) (*Release, error)
	// ListReleases returns every release, newest upload first.
	ListReleases(ctx context.Context) ([]*Release, error)
	// DeleteRelease deletes the release id, or returns ErrNotFound.
	DeleteRelease(ctx context.Context, id string) error
	// CreateRollout stores ro; ErrExists if its id is taken.
	CreateRollout(ctx context.Context, ro *Rollout) error
	// GetRollout returns the rollout id, or ErrNotFound.
	GetRollout(ctx context.Context, id string) (*Rollout, error)
	// ListRollouts returns every rollout, newest first.
	ListRollouts(ctx context.Context) ([]*Rollout, error)
	// UpdateRollout reads the rollout id, calls fn on it and stores the
	// result, atomically with respect to other updates; an error from fn
	// stores nothing and is returned.
	UpdateRollout(ctx context.Context, id string, fn func(*Rollout) error) error
	// GetDeviceFacts returns a device's facts, or ErrNotFound.
	GetDeviceFacts(ctx context.Context, deviceID string) (*DeviceFacts, error)
	// ListDeviceFacts returns the facts of every device that has some, by
	// device id.
	ListDeviceFacts(ctx context.Context) ([]*DeviceFacts, error)
	// UpdateDeviceFacts reads a device's facts (empty ones the first
	// time), calls fn on them and stores the result, atomically with
	// respect to other updates; an error from fn stores nothing.
	UpdateDeviceFacts(ctx context.Context, deviceID string, fn func(*DeviceFacts) error) error
	// Close releases the repository.
	Close() error
}

// Bolt is the Repo on a bbolt file of its own.
type Bolt struct{ db *bbolt.DB }

var _ Repo = (*Bolt)(nil)

var (
	bucketReleases = []byte("releases")
	bucketRollouts = []byte("rollouts")
	bucketDevices  = []byte("devices")
)

// OpenBolt opens (or creates) dir/releases.db.
func OpenBolt(dir string) (*Bolt, error) {
	path := filepath.Join(dir, "releases.db")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("releases: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketReleases, bucketRollouts, bucketDevices} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("releases: create buckets in %s: %w", path, err)
	}
	return &Bolt{db: db}, nil
}

// Close closes the file.
func (b *Bolt) Close() error { return b.db.Close() }

func (b *Bolt) create(ctx context.Context, bucket []byte, id string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("releases: encode %s: %w", id, err)
	}
	return b.update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucket)
		if bk.Get([]byte(id)) != nil {
			return fmt.Errorf("releases: %s: %w", id, ErrExists)
		}
		return bk.Put([]byte(id), data)
	})
}

func (b *Bolt) update(fn func(tx *bbolt.Tx) error) error {
	err := b.db.Update(fn)
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("releases: %w", ErrClosed)
	}
	return err
}

func (b *Bolt) get(ctx context.Context, bucket []byte, id string, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := b.db.View(func(tx *bbolt.Tx) error {
		data := tx.Bucket(bucket).Get([]byte(id))
		if data == nil {
			return fmt.Errorf("releases: %s: %w", id, ErrNotFound)
		}
		return json.Unmarshal(data, v)
	})
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("releases: %w", ErrClosed)
	}
	return err
}

func boltList[T any](ctx context.Context, b *Bolt, bucket []byte) ([]*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []*T
	err := b.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, data []byte) error {
			v := new(T)
			if err := json.Unmarshal(data, v); err != nil {
				return fmt.Errorf("releases: decode %s: %w", k, err)
			}
			out = append(out, v)
			return nil
		})
	})
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return nil, fmt.Errorf("releases: %w", ErrClosed)
	}
	return out, err
}

// CreateRelease implements Repo.
func (b *Bolt) CreateRelease(ctx context.Context, r *Release) error {
	return b.create(ctx, bucketReleases, r.ID, r)
}

// GetRelease implements Repo.
func (b *Bolt) GetRelease(ctx context.Context, id string) (*Release, error) {
	r := new(Release)
	if err := b.get(ctx, bucketReleases, id, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ListReleases implements Repo.
func (b *Bolt) ListReleases(ctx context.Context) ([]*Release, error) {
	rs, err := boltList[Release](ctx, b, bucketReleases)
	sortReleases(rs)
	return rs, err
}

// DeleteRelease implements Repo.
func (b *Bolt) DeleteRelease(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketReleases)
		if bk.Get([]byte(id)) == nil {
			return fmt.Errorf("releases: %s: %w", id, ErrNotFound)
		}
		return bk.Delete([]byte(id))
	})
}

// CreateRollout implements Repo.
func (b *Bolt) CreateRollout(ctx context.Context, ro *Rollout) error {
	return b.create(ctx, bucketRollouts, ro.ID, ro)
}

// GetRollout implements Repo.
func (b *Bolt) GetRollout(ctx context.Context, id string) (*Rollout, error) {
	ro := new(Rollout)
	if err := b.get(ctx, bucketRollouts, id, ro); err != nil {
		return nil, err
	}
	return ro, nil
}

// ListRollouts implements Repo.
func (b *Bolt) ListRollouts(ctx context.Context) ([]*Rollout, error) {
	rs, err := boltList[Rollout](ctx, b, bucketRollouts)
	sortRollouts(rs)
	return rs, err
}

// UpdateRollout implements Repo.
func (b *Bolt) UpdateRollout(ctx context.Context, id string, fn func(*Rollout) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketRollouts)
		data := bk.Get([]byte(id))
		if data == nil {
			return fmt.Errorf("releases: %s: %w", id, ErrNotFound)
		}
		ro := new(Rollout)
		if err := json.Unmarshal(data, ro); err != nil {
			return fmt.Errorf("releases: decode %s: %w", id, err)
		}
		if err := fn(ro); err != nil {
			return err
		}
		out, err := json.Marshal(ro)
		if err != nil {
			return fmt.Errorf("releases: encode %s: %w", id, err)
		}
		return bk.Put([]byte(id), out)
	})
}

// GetDeviceFacts implements Repo.
func (b *Bolt) GetDeviceFacts(ctx context.Context, deviceID string) (*DeviceFacts, error) {
	f := new(DeviceFacts)
	if err := b.get(ctx, bucketDevices, deviceID, f); err != nil {
		return nil, err
	}
	return f, nil
}

// ListDeviceFacts implements Repo.
func (b *Bolt) ListDeviceFacts(ctx context.Context) ([]*DeviceFacts, error) {
	return boltList[DeviceFacts](ctx, b, bucketDevices) // bbolt keeps keys sorted
}

// UpdateDeviceFacts implements Repo.
func (b *Bolt) UpdateDeviceFacts(ctx context.Context, deviceID string, fn func(*DeviceFacts) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketDevices)
		f := &DeviceFacts{DeviceID: deviceID}
		if data := bk.Get([]byte(deviceID)); data != nil {
			if err := json.Unmarshal(data, f); err != nil {
				return fmt.Errorf("releases: decode device %s: %w", deviceID, err)
			}
		}
		if err := fn(f); err != nil {
			return err
		}
		f.DeviceID = deviceID
		out, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("releases: encode device %s: %w", deviceID, err)
		}
		return bk.Put([]byte(deviceID), out)
	})
}

func sortReleases(rs []*Release) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].UploadedAt.Equal(rs[j].UploadedAt) {
			return rs[i].UploadedAt.After(rs[j].UploadedAt)
		}
		return rs[i].ID < rs[j].ID
	})
}

func sortRollouts(rs []*Rollout) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].CreatedAt.Equal(rs[j].CreatedAt) {
			return rs[i].CreatedAt.After(rs[j].CreatedAt)
		}
		return rs[i].ID < rs[j].ID
	})
}
