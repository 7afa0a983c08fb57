package bolt

import (
	"testing"

	"livegate.dev/cloud/internal/store/storetest"
)

// BenchmarkCreateSession compares the commit modes under 64 concurrent
// writers (on 2 cores): the group commit (with and without lingering for
// returning writers) against one bbolt Update per write and bbolt's Batch
// with its defaults. Every write is fsynced in all of them.
//
//	go test -run '^$' -bench CreateSession -benchtime 3s ./internal/store/bolt/
func BenchmarkCreateSession(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"group", Options{}},
		{"group-nolinger", Options{MaxLinger: -1}},
		{"update", Options{Commit: CommitUpdate}},
		{"batch", Options{Commit: CommitBatch}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(b.TempDir(), bc.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			before := s.commits.Load()
			storetest.BenchCreateSession(b, s, 32)
			if bc.opts.Commit == CommitGroup {
				b.ReportMetric(float64(b.N)/float64(s.commits.Load()-before), "writes/commit")
			}
		})
	}
}
