package bolt

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func open(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func session(id string) *core.Session {
	return &core.Session{
		ID: id, Kind: core.KindManaged, Mode: core.ModeActive, Status: core.StatusPending,
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute), Version: 1,
	}
}

func delivery(id, sessionID string) *core.Delivery {
	return &core.Delivery{
		ID: id, Type: core.EventSessionCreated, SessionID: sessionID, URL: "https://example.com/hook",
		Body: []byte(`{"id":"` + id + `"}`), State: core.DeliveryPending, NextAttemptAt: t0, CreatedAt: t0,
	}
}

// TestReopen: what a write returned for is in the file after Close and Open.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, mode := range []CommitMode{CommitGroup, CommitUpdate, CommitBatch} {
		t.Run(mode.String(), func(t *testing.T) {
			s, err := Open(dir, Options{Commit: mode})
			if err != nil {
				t.Fatal(err)
			}
			sid := core.NewID("ses", t0)
			did := core.NewID("evt", t0)
			if _, err := s.CreateSession(ctx, session(sid), []*core.Delivery{delivery(did, sid)}); err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := s.CreateSession(ctx, session(core.NewID("ses", t0)), nil); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("CreateSession after Close = %v, want ErrClosed", err)
			}
			s = open(t, dir, Options{Commit: mode})
			got, err := s.GetSession(ctx, sid)
			if err != nil || got.ID != sid || !got.ExpiresAt.Equal(t0.Add(30*time.Minute)) {
				t.Fatalf("GetSession after reopen = %+v, %v", got, err)
			}
			if d, err := s.GetDelivery(ctx, did); err != nil || d.SessionID != sid {
				t.Fatalf("GetDelivery after reopen = %+v, %v", d, err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestGroupCommitIsolatesFailures: in one group, writes that fail (before
// or after they began writing) do not take the others down.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	ctx := context.Background()
	errFn := errors.New("caller's function refused")
	const n = 60
	var wg sync.WaitGroup
	errs := make([]error, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = core.NewID("ses", t0)
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0: // clean write
				_, errs[i] = s.CreateSession(ctx, session(ids[i]), nil)
			case 1: // fails before writing
				errs[i] = s.write(ctx, func(*bbolt.Tx) error { return reject(errFn) })
			case 2: // writes, then fails: the group must be retried without it
				errs[i] = s.write(ctx, func(tx *bbolt.Tx) error {
					if err := tx.Bucket(bSessions).Put([]byte(ids[i]), []byte("{}")); err != nil {
						return err
					}
					return fmt.Errorf("late failure %d", i)
				})
			}
		}()
	}
	wg.Wait()
	for i := range n {
		_, err := s.GetSession(ctx, ids[i])
		switch i % 3 {
		case 0:
			if errs[i] != nil || err != nil {
				t.Errorf("write %d: create %v, get %v; want both nil", i, errs[i], err)
			}
		case 1:
			if errs[i] != errFn {
				t.Errorf("write %d: got %v, want the function's error unchanged", i, errs[i])
			}
		case 2:
			if errs[i] == nil || !errors.Is(err, store.ErrNotFound) {
				t.Errorf("write %d: write error %v, get %v; want an error and nothing written", i, errs[i], err)
			}
		}
	}
}

// TestGroupCommitPanics: a panicking write function fails alone.
func TestGroupCommitPanics(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	err := s.write(context.Background(), func(*bbolt.Tx) error { panic("boom") })
	if err == nil {
		t.Fatal("panicking write returned nil")
	}
	if _, err := s.CreateSession(context.Background(), session(core.NewID("ses", t0)), nil); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
}

// TestGroupCommitGroups: concurrent writers share commits.
func TestGroupCommitGroups(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	ctx := context.Background()
	before := s.commits.Load()
	const n = 200
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.CreateSession(ctx, session(core.NewID("ses", t0)), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	commits := s.commits.Load() - before
	t.Logf("%d writes in %d commits", n, commits)
	if commits >= n {
		t.Errorf("%d concurrent writes took %d commits; want fewer (grouped)", n, commits)
	}
}

// TestWriteCancelledContext: a write whose context is done writes nothing.
func TestWriteCancelledContext(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	id := core.NewID("ses", t0)
	if _, err := s.CreateSession(ctx, session(id), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateSession with cancelled ctx = %v", err)
	}
	if _, err := s.GetSession(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSession = %v, want ErrNotFound", err)
	}
}

// TestOpenLocked: a second Open of the same file waits for the lock, then fails.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, Options{})
	if s, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond}); err == nil {
		s.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
}

// TestCloseWhileWriting: writes racing with Close either fail with ErrClosed
// or are on disk after reopening; none hangs.
func TestCloseWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const writers = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	started := make(chan struct{}, writers)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := core.NewID("ses", time.Now())
				_, err := s.CreateSession(ctx, session(id), nil)
				if i == 0 {
					started <- struct{}{}
				}
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("CreateSession: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	for range writers {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s = open(t, dir, Options{})
	for _, id := range acked {
		if _, err := s.GetSession(ctx, id); err != nil {
			t.Errorf("acknowledged session %s: %v", id, err)
		}
	}
	t.Logf("%d writes acknowledged before Close", len(acked))
}

// TestNewerSchema: a file from a newer build is refused, not misread.
func TestNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bMeta).Put(keySchema, []byte(fmt.Sprint(SchemaVersion+1)))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(dir, Options{}); !errors.Is(err, ErrNewerSchema) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a newer file = %v, want ErrNewerSchema", err)
	}
}
