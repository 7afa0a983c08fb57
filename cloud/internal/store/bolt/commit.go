package bolt

import (
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"livegate.dev/cloud/internal/store"
)

// CommitMode selects how writes reach the disk. Only CommitGroup is meant for
// service use; the others exist so benchmarks can show what it buys.
type CommitMode int

const (
	// CommitGroup: one committer goroutine, every write waiting at a commit
	// joins the next one, one fsync round per commit. The default.
	CommitGroup CommitMode = iota
	// CommitUpdate: one bbolt Update, and so one fsync round, per write.
	CommitUpdate
	// CommitBatch: bbolt's DB.Batch with its default size and delay.
	CommitBatch
)

func (m CommitMode) String() string {
	switch m {
	case CommitGroup:
		return "group"
	case CommitUpdate:
		return "update"
	case CommitBatch:
		return "batch"
	}
	return fmt.Sprintf("CommitMode(%d)", int(m))
}

// rejected marks an error raised by a write function before it changed
// anything in the transaction: the committer answers that write with the
// inner error and carries on with the rest of the group in the same
// transaction.
type rejected struct{ err error }

func (r rejected) Error() string { return r.err.Error() }
func (r rejected) Unwrap() error { return r.err }

// reject wraps err to say nothing was written.
func reject(err error) error { return rejected{err: err} }

// unreject returns the error a caller should see.
func unreject(err error) error {
	var rj rejected
	if errors.As(err, &rj) {
		return rj.err
	}
	return err
}

// request is one write waiting for a commit.
type request struct {
	fn   func(*bbolt.Tx) error
	done chan error // buffered, receives exactly once
}

// write runs fn in a write transaction according to the commit mode and
// returns once the transaction is on disk (nil) or not written (error).
func (s *Store) write(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch s.mode {
	case CommitUpdate:
		return s.direct(s.db.Update, fn)
	case CommitBatch:
		return s.direct(s.db.Batch, fn)
	}
	r := &request{fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return fmt.Errorf("bolt: write: %w", store.ErrClosed)
	}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// Once queued the outcome is decided by the committer; wait for it so
	// that an error always means "not written".
	return <-r.done
}

func (s *Store) direct(run func(func(*bbolt.Tx) error) error, fn func(*bbolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("bolt: write: %w", store.ErrClosed)
	}
	return unreject(run(func(tx *bbolt.Tx) error { return call(fn, tx) }))
}

// committer owns all write transactions in CommitGroup mode. It stops when
// the queue is closed, after committing what was queued.
//
// Every write queued while a commit runs joins the next one. Writers whose
// commit just finished come back a moment later (their caller answers and
// sends the next request), so right after a commit the queue may hold only
// the first of them: taking the group at that instant would alternate a tiny
// commit with a large one. So when fewer writes are queued than the previous
// group had, the committer lingers for the rest, at most a quarter of the
// previous commit's duration (capped by Options.MaxLinger): latency grows by
// at most a quarter, and a steady load forms full groups (measured: 32 → 40
// writes per commit with 64 writers on a loaded 2-core machine).
func (s *Store) committer() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.maxBatch)
	var (
		prevSize int
		prevDur  time.Duration
		timer    = time.NewTimer(time.Hour)
	)
	timer.Stop()
	for {
		r, ok := <-s.queue
		if !ok {
			return
		}
		batch = append(batch[:0], r)
		open := s.drain(&batch)
		if want := min(prevSize, s.maxBatch); open && len(batch) < want && s.maxLinger > 0 {
			if wait := min(prevDur/4, s.maxLinger); wait > 0 {
				timer.Reset(wait)
			linger:
				for len(batch) < want {
					select {
					case r, ok := <-s.queue:
						if !ok {
							break linger
						}
						batch = append(batch, r)
					case <-timer.C:
						break linger
					}
				}
				if !timer.Stop() {
					select { // drain a fire that raced with Stop
					case <-timer.C:
					default:
					}
				}
			}
		}
		start := time.Now()
		s.commit(batch)
		prevDur, prevSize = time.Since(start), len(batch)
		clear(batch)
	}
}

// drain moves what is queued into batch without waiting; it reports false
// if the queue is closed.
func (s *Store) drain(batch *[]*request) bool {
	for len(*batch) < s.maxBatch {
		select {
		case r, ok := <-s.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		default:
			return true
		}
	}
	return true
}

// commit applies the group in one transaction. A write that fails after it
// began writing spoils the transaction: it is rolled back, that write gets
// its error, and the rest is retried without it.
func (s *Store) commit(group []*request) {
	pending := group
	results := make([]error, len(group))
	for len(pending) > 0 {
		bad := -1
		s.commits.Add(1)
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for i, r := range pending {
				err := call(r.fn, tx)
				if err == nil {
					results[i] = nil
					continue
				}
				var rj rejected
				if errors.As(err, &rj) {
					results[i] = rj.err
					continue
				}
				bad, results[i] = i, err
				return err
			}
			return nil
		})
		if bad >= 0 {
			pending[bad].done <- results[bad]
			rest := make([]*request, 0, len(pending)-1)
			rest = append(rest, pending[:bad]...)
			pending = append(rest, pending[bad+1:]...)
			continue
		}
		if err != nil {
			if errors.Is(err, bberrors.ErrDatabaseNotOpen) {
				err = store.ErrClosed
			}
			err = fmt.Errorf("bolt: commit of %d writes: %w", len(pending), err)
			for _, r := range pending {
				r.done <- err
			}
			return
		}
		for i, r := range pending {
			r.done <- results[i]
		}
		return
	}
}

// call runs fn, turning a panic into an error so one bad write cannot take
// the committer down.
func call(fn func(*bbolt.Tx) error, tx *bbolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("bolt: write panicked: %v", p)
		}
	}()
	return fn(tx)
}
