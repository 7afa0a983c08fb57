package bolt

import (
	"testing"

	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/storetest"
)

func TestSuite(t *testing.T) {
	for _, mode := range []CommitMode{CommitGroup, CommitUpdate, CommitBatch} {
		t.Run(mode.String(), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s, err := Open(t.TempDir(), Options{Commit: mode})
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}
