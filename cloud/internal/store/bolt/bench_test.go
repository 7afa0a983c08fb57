package bolt

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/core"
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

// BenchmarkScrub measures what a redaction adds on bbolt: one pass over
// the file's pages overwriting the free ones (here after every session of
// a file of 20,000 was rewritten once, so about half its pages are free).
//
//	go test -run '^$' -bench Scrub ./internal/store/bolt/
func BenchmarkScrub(b *testing.B) {
	s, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var ids []string
	for range 20_000 {
		sess := storetest.Session("")
		sess.Metadata = json.RawMessage(`{"note":"` + strings.Repeat("x", 1500) + `"}`)
		if _, err := s.CreateSession(ctx, sess, nil); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, sess.ID)
	}
	for _, id := range ids {
		if _, err := s.UpdateSession(ctx, id, func(c *core.Session) ([]*core.Delivery, error) { c.Metadata = nil; return nil, nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		s.scrubDue.Store(true) // as after a redaction
		if err := s.Scrub(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if fi, err := os.Stat(s.Path()); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	}
}
