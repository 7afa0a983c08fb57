package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// FileName is the name of the database file inside the data directory.
const FileName = "livegate.db"

// SchemaVersion is the layout version this build writes. Open refuses a file
// written by a newer build (ErrNewerSchema) rather than misread it.
const SchemaVersion = 1

// ErrNewerSchema: the file was written by a newer livegate-cloud.
var ErrNewerSchema = errors.New("bolt: database written by a newer version")

var (
	bMeta     = []byte("meta")
	keySchema = []byte("schema_version")

	bTenants         = []byte("tenants")
	bAPIKeys         = []byte("apikeys")
	bAPIKeyHash      = []byte("apikey_hash")
	bAPIKeyTenant    = []byte("apikey_tenant")
	bSessions        = []byte("sessions")
	bSessionIdem     = []byte("session_idem")
	bSessionExpiry   = []byte("session_expiry")
	bPhotos          = []byte("photos")
	bDeliveries      = []byte("deliveries")
	bDeliveryDue     = []byte("delivery_due")
	bDeliveryState   = []byte("delivery_state")
	bDeliverySession = []byte("delivery_session")
	bDeliveryTenant  = []byte("delivery_tenant")
	// bSessionUser indexes verification sessions by tenant and user id.
	bSessionUser = []byte("session_user")
	// bRetainBio and bRetainAll index sessions by tenant and creation time
	// while their biometric data, or any of their data, is kept.
	bRetainBio = []byte("session_retain_biometrics")
	bRetainAll = []byte("session_retain_all")
	// bDeletions is the deletion trail: tenant \x00 seq → receipt;
	// bDeletionIDs maps a receipt id to its key there.
	bDeletions   = []byte("deletions")
	bDeletionIDs = []byte("deletion_ids")

	// keySessionIndexes marks a file whose session indexes (user,
	// retention) are built; files from before them are indexed at Open.
	keySessionIndexes = []byte("session_indexes_v1")

	allBuckets = [][]byte{
		bTenants, bAPIKeys, bAPIKeyHash, bAPIKeyTenant, bSessions, bSessionIdem,
		bSessionExpiry, bPhotos, bDeliveries, bDeliveryDue, bDeliveryState,
		bDeliverySession, bDeliveryTenant, bSessionUser, bRetainBio, bRetainAll,
		bDeletions, bDeletionIDs,
	}
)

// Options configures Open.
type Options struct {
	// Commit is how writes are committed. Optional. Default: CommitGroup.
	Commit CommitMode
	// MaxBatch is the most writes one group commit takes. Optional. Default: 1024.
	MaxBatch int
	// MaxLinger caps how long the committer waits for writers to come back
	// after a commit (see the package doc); the wait is also at most a quarter
	// of the previous commit's duration. Optional. Default: 2ms. Negative:
	// never wait.
	MaxLinger time.Duration
	// InitialMmapSize is how much address space the file is mapped with at
	// first. Growing past it remaps the file, which waits for every reader
	// and stalls writes. Optional. Default: 1 GiB on 64-bit systems, bbolt's
	// default elsewhere. It reserves address space, not memory.
	InitialMmapSize int
	// LockTimeout is how long Open waits for another process to release the
	// file. Optional. Default: 5s.
	LockTimeout time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.MaxLinger == 0 {
		o.MaxLinger = 2 * time.Millisecond
	}
	if o.InitialMmapSize == 0 && strconv.IntSize == 64 {
		o.InitialMmapSize = 1 << 30
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	return o
}

// Store is the bbolt implementation of store.Store.
type Store struct {
	db        *bbolt.DB
	path      string
	mode      CommitMode
	maxBatch  int
	maxLinger time.Duration

	mu sync.RWMutex // guards closed and sending on queue
	// readers is held shared by every read transaction and exclusively by
	// Scrub, which overwrites free pages that an open reader could still
	// be reading.
	readers sync.RWMutex
	// scrubDue: a redaction was committed since the last scrub.
	scrubDue atomic.Bool
	closed   bool
	queue    chan *request
	stopped  chan struct{}
	commits  atomic.Int64 // group commits attempted, for tests
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) dir/livegate.db and, in CommitGroup mode,
// starts the committer goroutine, which Close stops.
func Open(dir string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         opts.LockTimeout,
		InitialMmapSize: opts.InitialMmapSize,
		NoFreelistSync:  true,
		FreelistType:    bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bMeta, err)
		}
		if v := meta.Get(keySchema); v != nil {
			if n, err := strconv.Atoi(string(v)); err != nil || n > SchemaVersion {
				return fmt.Errorf("file has schema version %q, this build knows %d: %w", v, SchemaVersion, ErrNewerSchema)
			}
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if meta.Get(keySessionIndexes) == nil {
			if err := buildSessionIndexes(tx); err != nil {
				return err
			}
			if err := meta.Put(keySessionIndexes, []byte("1")); err != nil {
				return err
			}
		}
		return meta.Put(keySchema, []byte(strconv.Itoa(SchemaVersion)))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("bolt: init %s: %w", path, err)
	}
	s := &Store{db: db, path: path, mode: opts.Commit, maxBatch: opts.MaxBatch, maxLinger: opts.MaxLinger, stopped: make(chan struct{})}
	if s.mode == CommitGroup {
		s.queue = make(chan *request, opts.MaxBatch)
		go s.committer()
	} else {
		close(s.stopped)
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close commits the writes already queued, stops the committer and closes
// the file. Writes after Close fail with store.ErrClosed. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.queue != nil {
		close(s.queue)
	}
	s.mu.Unlock()
	<-s.stopped
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", s.path, err)
	}
	return nil
}

// Ping reports whether the store is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*bbolt.Tx) error { return nil })
}

func (s *Store) view(ctx context.Context, what string, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("bolt: %s: %w", what, store.ErrClosed)
	}
	s.readers.RLock()
	err := s.db.View(fn)
	s.readers.RUnlock()
	if errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		return fmt.Errorf("bolt: %s: %w", what, store.ErrClosed)
	}
	return err
}

// bucket returns a top-level bucket. Keys mostly append (time-ordered ids
// and times), so pages are filled almost completely before they split:
// fewer pages to write and fsync per commit.
func bucket(tx *bbolt.Tx, name []byte) *bbolt.Bucket {
	b := tx.Bucket(name)
	b.FillPercent = 0.95
	return b
}

// ---- encoding helpers

func decode[T any](what, id string, data []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("bolt: decode %s %s: %w", what, id, err)
	}
	return v, nil
}

func notFound(what, id string) error {
	return fmt.Errorf("bolt: %s %q: %w", what, id, store.ErrNotFound)
}

func exists(what, id string) error {
	return fmt.Errorf("bolt: %s %q: %w", what, id, store.ErrExists)
}

// nanos maps t to an order-preserving uint64 (times outside UnixNano's range clamp).
func nanos(t time.Time) uint64 {
	var n int64
	switch {
	case t.Before(minNanoTime):
		n = math.MinInt64
	case t.After(maxNanoTime):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	return uint64(n) ^ (1 << 63)
}

var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// timeKey is the 8-byte order-preserving time followed by id.
func timeKey(t time.Time, id string) []byte {
	k := make([]byte, 8+len(id))
	binary.BigEndian.PutUint64(k, nanos(t))
	copy(k[8:], id)
	return k
}

// pairKey is a \x00 b: ids never contain \x00, so a is unambiguous.
func pairKey(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// scanPrefixReverse calls fn for each key with prefix, last first, until fn returns false.
func scanPrefixReverse(b *bbolt.Bucket, prefix []byte, fn func(k, v []byte) bool) {
	c := b.Cursor()
	var k, v []byte
	if len(prefix) == 0 {
		k, v = c.Last()
	} else {
		end := append(bytes.Clone(prefix[:len(prefix)-1]), prefix[len(prefix)-1]+1)
		if k, v = c.Seek(end); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if !fn(k, v) {
			return
		}
	}
}

// ---- tenants and keys

func (s *Store) CreateTenant(ctx context.Context, t *core.Tenant, k *core.APIKey) error {
	if t == nil || t.ID == "" {
		return errors.New("bolt: create tenant: empty id")
	}
	tdata, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("bolt: encode tenant %s: %w", t.ID, err)
	}
	var kdata []byte
	if k != nil {
		if k.ID == "" || len(k.Hash) == 0 {
			return fmt.Errorf("bolt: create tenant %s: api key without id or hash", t.ID)
		}
		if kdata, err = json.Marshal(k); err != nil {
			return fmt.Errorf("bolt: encode api key %s: %w", k.ID, err)
		}
	}
	return s.write(ctx, func(tx *bbolt.Tx) error {
		tb := bucket(tx, bTenants)
		if tb.Get([]byte(t.ID)) != nil {
			return reject(exists("tenant", t.ID))
		}
		if k != nil {
			if err := checkNewKey(tx, k); err != nil {
				return reject(err)
			}
		}
		if err := tb.Put([]byte(t.ID), tdata); err != nil {
			return fmt.Errorf("bolt: put tenant %s: %w", t.ID, err)
		}
		if k != nil {
			return putKey(tx, k, kdata)
		}
		return nil
	})
}

func checkNewKey(tx *bbolt.Tx, k *core.APIKey) error {
	if bucket(tx, bAPIKeys).Get([]byte(k.ID)) != nil {
		return exists("api key", k.ID)
	}
	if bucket(tx, bAPIKeyHash).Get(k.Hash) != nil {
		return exists("api key hash of", k.ID)
	}
	return nil
}

func putKey(tx *bbolt.Tx, k *core.APIKey, data []byte) error {
	if err := bucket(tx, bAPIKeys).Put([]byte(k.ID), data); err != nil {
		return fmt.Errorf("bolt: put api key %s: %w", k.ID, err)
	}
	if err := bucket(tx, bAPIKeyHash).Put(k.Hash, []byte(k.ID)); err != nil {
		return fmt.Errorf("bolt: index api key %s: %w", k.ID, err)
	}
	if err := bucket(tx, bAPIKeyTenant).Put(pairKey(k.TenantID, k.ID), nil); err != nil {
		return fmt.Errorf("bolt: index api key %s: %w", k.ID, err)
	}
	return nil
}

func (s *Store) GetTenant(ctx context.Context, id string) (*core.Tenant, error) {
	var t *core.Tenant
	err := s.view(ctx, "get tenant", func(tx *bbolt.Tx) error {
		v := bucket(tx, bTenants).Get([]byte(id))
		if v == nil {
			return notFound("tenant", id)
		}
		var err error
		t, err = decode[core.Tenant]("tenant", id, v)
		return err
	})
	return t, err
}

func (s *Store) ListTenants(ctx context.Context) ([]*core.Tenant, error) {
	var out []*core.Tenant
	err := s.view(ctx, "list tenants", func(tx *bbolt.Tx) error {
		return bucket(tx, bTenants).ForEach(func(k, v []byte) error {
			t, err := decode[core.Tenant]("tenant", string(k), v)
			if err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}

func (s *Store) UpdateTenant(ctx context.Context, id string, fn func(*core.Tenant) error) (*core.Tenant, error) {
	var out *core.Tenant
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		b := bucket(tx, bTenants)
		v := b.Get([]byte(id))
		if v == nil {
			return reject(notFound("tenant", id))
		}
		t, err := decode[core.Tenant]("tenant", id, v)
		if err != nil {
			return reject(err)
		}
		if err := fn(t); err != nil {
			return reject(err)
		}
		if t.ID != id {
			return reject(fmt.Errorf("bolt: update tenant %s: the id is immutable", id))
		}
		data, err := json.Marshal(t)
		if err != nil {
			return reject(fmt.Errorf("bolt: encode tenant %s: %w", id, err))
		}
		if err := b.Put([]byte(id), data); err != nil {
			return fmt.Errorf("bolt: put tenant %s: %w", id, err)
		}
		out = t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) PutAPIKey(ctx context.Context, k *core.APIKey) error {
	if k == nil || k.ID == "" || len(k.Hash) == 0 {
		return errors.New("bolt: put api key: missing id or hash")
	}
	data, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("bolt: encode api key %s: %w", k.ID, err)
	}
	return s.write(ctx, func(tx *bbolt.Tx) error {
		if bucket(tx, bTenants).Get([]byte(k.TenantID)) == nil {
			return reject(notFound("tenant", k.TenantID))
		}
		if err := checkNewKey(tx, k); err != nil {
			return reject(err)
		}
		return putKey(tx, k, data)
	})
}

func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*core.APIKey, error) {
	var k *core.APIKey
	err := s.view(ctx, "api key by hash", func(tx *bbolt.Tx) error {
		id := bucket(tx, bAPIKeyHash).Get(hash)
		if id == nil {
			return fmt.Errorf("bolt: api key by hash: %w", store.ErrNotFound)
		}
		v := bucket(tx, bAPIKeys).Get(id)
		if v == nil {
			return notFound("api key", string(id))
		}
		var err error
		k, err = decode[core.APIKey]("api key", string(id), v)
		return err
	})
	return k, err
}

func (s *Store) ListAPIKeys(ctx context.Context, tenantID string) ([]*core.APIKey, error) {
	var out []*core.APIKey
	err := s.view(ctx, "list api keys", func(tx *bbolt.Tx) error {
		keys := bucket(tx, bAPIKeys)
		prefix := pairKey(tenantID, "")
		c := bucket(tx, bAPIKeyTenant).Cursor()
		for ik, _ := c.Seek(prefix); ik != nil && bytes.HasPrefix(ik, prefix); ik, _ = c.Next() {
			id := ik[len(prefix):]
			v := keys.Get(id)
			if v == nil {
				continue
			}
			k, err := decode[core.APIKey]("api key", string(id), v)
			if err != nil {
				return err
			}
			out = append(out, k)
		}
		return nil
	})
	return out, err
}

func (s *Store) UpdateAPIKey(ctx context.Context, id string, fn func(*core.APIKey) error) (*core.APIKey, error) {
	var out *core.APIKey
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		b := bucket(tx, bAPIKeys)
		v := b.Get([]byte(id))
		if v == nil {
			return reject(notFound("api key", id))
		}
		k, err := decode[core.APIKey]("api key", id, v)
		if err != nil {
			return reject(err)
		}
		tenant, hash := k.TenantID, bytes.Clone(k.Hash)
		if err := fn(k); err != nil {
			return reject(err)
		}
		if k.ID != id || k.TenantID != tenant || !bytes.Equal(k.Hash, hash) {
			return reject(fmt.Errorf("bolt: update api key %s: id, tenant and hash are immutable", id))
		}
		data, err := json.Marshal(k)
		if err != nil {
			return reject(fmt.Errorf("bolt: encode api key %s: %w", id, err))
		}
		if err := b.Put([]byte(id), data); err != nil {
			return fmt.Errorf("bolt: put api key %s: %w", id, err)
		}
		out = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
