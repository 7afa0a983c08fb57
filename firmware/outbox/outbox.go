package outbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Sentinel errors.
var (
	// ErrFull: appending would exceed MaxEntries or MaxBytes; nothing was written.
	ErrFull = errors.New("outbox: full")
	// ErrExists: an entry with that id is already queued.
	ErrExists = errors.New("outbox: id already queued")
	// ErrClosed: the outbox was closed.
	ErrClosed = errors.New("outbox: closed")
)

var (
	bEntries = []byte("entries") // seq (8 bytes big endian) → record JSON
	bIDs     = []byte("ids")     // id → seq
	bMeta    = []byte("meta")
	keyBytes = []byte("bytes") // total payload bytes, uint64
)

// Options configures Open.
type Options struct {
	// MaxEntries bounds the number of queued entries. Optional. Default: 50000.
	MaxEntries int
	// MaxBytes bounds the sum of payload sizes. Optional. Default: 256 MiB.
	MaxBytes int64
	// NoSync disables fsync (tests and benchmarks only: an entry is then not
	// durable before Append returns). Optional. Default: false.
	NoSync bool
}

func (o Options) withDefaults() Options {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 50000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 256 << 20
	}
	return o
}

// Entry is one queued message.
type Entry struct {
	Seq     uint64    `json:"-"`
	ID      string    `json:"id"`      // message id (the proto Envelope id)
	Queued  time.Time `json:"queued"`  // when it was appended (caller's clock)
	Payload []byte    `json:"payload"` // the encoded message
}

// Stats is the outbox's depth.
type Stats struct {
	Entries    int
	Bytes      int64
	MaxEntries int
	MaxBytes   int64
}

// Outbox is a durable FIFO of messages awaiting the cloud's ack. It is safe
// for concurrent use.
type Outbox struct {
	db   *bbolt.DB
	opts Options

	mu       sync.Mutex // guards entries, bytes, appended
	entries  int
	bytes    int64
	appended chan struct{} // closed by the next Append, then replaced
}

// Open opens (creating if needed) the outbox file at path, with 0600 permissions.
func Open(path string, opts Options) (*Outbox, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("outbox: create dir of %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 5 * time.Second, NoSync: opts.NoSync})
	if err != nil {
		return nil, fmt.Errorf("outbox: open %s: %w", path, err)
	}
	o := &Outbox{db: db, opts: opts, appended: make(chan struct{})}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bEntries, bIDs, bMeta} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		o.entries = tx.Bucket(bEntries).Stats().KeyN
		if v := tx.Bucket(bMeta).Get(keyBytes); len(v) == 8 {
			o.bytes = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox: init %s: %w", path, err)
	}
	return o, nil
}

// Close closes the file (syncing it first when NoSync is set).
func (o *Outbox) Close() error {
	if o.opts.NoSync {
		if err := o.db.Sync(); err != nil {
			o.db.Close()
			return fmt.Errorf("outbox: sync on close: %w", err)
		}
	}
	return o.db.Close()
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func putBytes(tx *bbolt.Tx, n int64) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(n))
	return tx.Bucket(bMeta).Put(keyBytes, v[:])
}

// Append queues payload under id and returns once it is durable (fsynced).
// It returns ErrFull (nothing written) when a bound would be exceeded and
// ErrExists when id is already queued. A successful Append closes the
// channel Appended returned, after the entry is durable.
func (o *Outbox) Append(id string, queued time.Time, payload []byte) (uint64, error) {
	if id == "" {
		return 0, errors.New("outbox: append: empty id")
	}
	rec, err := json.Marshal(Entry{ID: id, Queued: queued.UTC(), Payload: payload})
	if err != nil {
		return 0, fmt.Errorf("outbox: encode entry %s: %w", id, err)
	}
	size := int64(len(payload))
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.entries+1 > o.opts.MaxEntries || o.bytes+size > o.opts.MaxBytes {
		return 0, fmt.Errorf("%w: %d entries, %d bytes queued (limits %d, %d); entry %s refused",
			ErrFull, o.entries, o.bytes, o.opts.MaxEntries, o.opts.MaxBytes, id)
	}
	var seq uint64
	err = o.db.Update(func(tx *bbolt.Tx) error {
		ids := tx.Bucket(bIDs)
		if ids.Get([]byte(id)) != nil {
			return fmt.Errorf("%w: %s", ErrExists, id)
		}
		eb := tx.Bucket(bEntries)
		seq, err = eb.NextSequence()
		if err != nil {
			return err
		}
		if err := eb.Put(seqKey(seq), rec); err != nil {
			return err
		}
		if err := ids.Put([]byte(id), seqKey(seq)); err != nil {
			return err
		}
		return putBytes(tx, o.bytes+size)
	})
	if err != nil {
		if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("outbox: append %s: %w", id, err)
	}
	o.entries++
	o.bytes += size
	close(o.appended)
	o.appended = make(chan struct{})
	return seq, nil
}

// Appended returns a channel that the next successful Append closes, once
// its entry is durable (a refused Append leaves it open). A sender takes it
// before reading the outbox and waits on it with its other events, so an
// entry appended after the read wakes it at once: nothing waits for a
// reconnect or a timer. Every caller gets the same channel until an Append
// closes it; take a new one after each wake.
func (o *Outbox) Appended() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.appended
}

// After returns up to limit entries with a sequence greater than seq, in
// append order.
func (o *Outbox) After(seq uint64, limit int) ([]Entry, error) {
	var out []Entry
	err := o.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bEntries).Cursor()
		for k, v := c.Seek(seqKey(seq + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode entry %x: %w", k, err)
			}
			e.Seq = binary.BigEndian.Uint64(k)
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: read after %d: %w", seq, err)
	}
	return out, nil
}

// Has reports whether an entry with id is queued (appended and not yet
// deleted).
func (o *Outbox) Has(id string) (bool, error) {
	var ok bool
	err := o.db.View(func(tx *bbolt.Tx) error {
		ok = tx.Bucket(bIDs).Get([]byte(id)) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("outbox: has %s: %w", id, err)
	}
	return ok, nil
}

// Delete removes the entries with the given ids (acknowledged by the cloud)
// in one transaction and returns how many were queued. Unknown ids are
// ignored: an ack may arrive twice.
func (o *Outbox) Delete(ids ...string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var n int
	var freed int64
	err := o.db.Update(func(tx *bbolt.Tx) error {
		n, freed = 0, 0
		ib, eb := tx.Bucket(bIDs), tx.Bucket(bEntries)
		for _, id := range ids {
			k := ib.Get([]byte(id))
			if k == nil {
				continue
			}
			k = append([]byte(nil), k...)
			if v := eb.Get(k); v != nil {
				var e Entry
				if err := json.Unmarshal(v, &e); err != nil {
					return fmt.Errorf("decode entry %s: %w", id, err)
				}
				freed += int64(len(e.Payload))
				if err := eb.Delete(k); err != nil {
					return err
				}
			}
			if err := ib.Delete([]byte(id)); err != nil {
				return err
			}
			n++
		}
		return putBytes(tx, o.bytes-freed)
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: delete %d ids: %w", len(ids), err)
	}
	o.entries -= n
	o.bytes -= freed
	return n, nil
}

// Stats returns the current depth and bounds.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Stats{Entries: o.entries, Bytes: o.bytes, MaxEntries: o.opts.MaxEntries, MaxBytes: o.opts.MaxBytes}
}
