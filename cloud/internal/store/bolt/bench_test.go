package bolt

import (
	"testing"

	"livegate.dev/cloud/internal/store/storetest"
)

// BenchmarkCreateSession compares the commit modes under 64 concurrent
// writers (on 2 cores): the group commit against one bbolt Update per write
// and bbolt's Batch with its defaults. Every write is fsynced in all three.
//
//	go test -run '^$' -bench CreateSession -benchtime 3s ./internal/store/bolt/
func BenchmarkCreateSession(b *testing.B) {
	for _, mode := range []CommitMode{CommitGroup, CommitUpdate, CommitBatch} {
		b.Run(mode.String(), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{Commit: mode})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			before := s.commits.Load()
			storetest.BenchCreateSession(b, s, 32)
			if mode == CommitGroup {
				b.ReportMetric(float64(b.N)/float64(s.commits.Load()-before), "writes/commit")
			}
		})
	}
}
