package bolt

import (
	"fmt"
	"runtime"
	"testing"

	"livegate.dev/cloud/internal/store/storetest"
)

// BenchmarkCreateSession compares the commit modes under 8 and 64
// concurrent writers (on a 2-core machine: parallelism × GOMAXPROCS): the group commit (with and without lingering for
// returning writers) against one bbolt Update per write and bbolt's Batch
// with its defaults. Every write is fsynced in all of them.
//
//	go test -run '^$' -bench CreateSession -benchtime 3s ./internal/store/bolt/
func BenchmarkCreateSession(b *testing.B) {
	for _, writers := range []int{8, 64} {
		for _, bc := range []struct {
			name string
			opts Options
		}{
			{"group", Options{}},
			{"group-nolinger", Options{MaxLinger: -1}},
			{"update", Options{Commit: CommitUpdate}},
			{"batch", Options{Commit: CommitBatch}},
		} {
			b.Run(fmt.Sprintf("writers=%d/%s", writers, bc.name), func(b *testing.B) {
				s, err := Open(b.TempDir(), bc.opts)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				before := s.commits.Load()
				storetest.BenchCreateSession(b, s, max(1, writers/runtime.GOMAXPROCS(0)))
				if bc.opts.Commit == CommitGroup {
					b.ReportMetric(float64(b.N)/float64(s.commits.Load()-before), "writes/commit")
				}
			})
		}
	}
}
