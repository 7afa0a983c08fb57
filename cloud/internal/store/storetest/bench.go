package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// BenchCreateSession measures what POST /api/v1/managed-session costs the
// store: CreateSession of a new session with its session.created delivery,
// from parallelism×GOMAXPROCS goroutines at once (the concurrent requests of
// a loaded server). It reports ops/s and the p50/p99 latency of one call.
func BenchCreateSession(b *testing.B, s store.Store, parallelism int) {
	b.Helper()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			// Ids and times from the clock, as the service makes them: keys
			// append to the store's trees.
			now := time.Now()
			ses := Session("")
			ses.ID, ses.CreatedAt, ses.UpdatedAt = core.NewID("ses", now), now, now
			ses.ExpiresAt, ses.ClientExpiresAt = now.Add(30*time.Minute), now.Add(30*time.Minute)
			d := Delivery(ses, core.EventSessionCreated)
			d.ID, d.NextAttemptAt, d.CreatedAt = core.NewID("evt", now), now, now
			start := time.Now()
			if _, err := s.CreateSession(ctx, ses, []*core.Delivery{d}); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
