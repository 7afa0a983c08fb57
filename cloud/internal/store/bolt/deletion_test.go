package bolt

import (
	"context"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store/storetest"
)

// TestOpenIndexesOlderFile: a file written before the user and retention
// indexes existed is indexed when it is opened, so its sessions are found
// by user and reached by the retention sweeper.
func TestOpenIndexesOlderFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ten, key := storetest.Tenant("a")
	if err := s.CreateTenant(ctx, ten, key); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sess := storetest.Session(ten.ID)
		sess.Flow = []string{"liveness"}
		if _, err := s.CreateSession(ctx, sess, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Make it the older layout: no marker, empty indexes.
	db, err := bbolt.Open(dir+"/"+FileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bMeta).Delete(keySessionIndexes); err != nil {
			return err
		}
		for _, name := range [][]byte{bSessionUser, bRetainBio, bRetainAll} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.ListVerificationsByUser(ctx, ten.ID, "user-1", 10); err != nil || len(got) != 2 {
		t.Fatalf("by user after reopening: %d, %v", len(got), err)
	}
	for _, scope := range []string{core.ScopeAll, core.ScopeBiometrics} {
		if ids, err := s.ListRetentionDue(ctx, ten.ID, scope, storetest.T0.Add(time.Hour), 10); err != nil || len(ids) != 2 {
			t.Fatalf("%s due after reopening: %v, %v", scope, ids, err)
		}
	}
}
