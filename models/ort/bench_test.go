package ort

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"livegate.dev/models/assets"
)

// BenchmarkModels measures the ONNX Runtime latency of every model in the
// manifest whose ONNX file is in the cache (converted files appear once
// scripts/setup.d/40-convert.sh has run), at 1 and 2 intra-op threads, on
// random input in the model's value range. It reports the median and the 95th
// percentile of single Run calls. `make bench` runs it with -benchtime 50x.
func BenchmarkModels(b *testing.B) {
	man, err := assets.Manifest()
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range man.Models {
		path := filepath.Join(assets.ModelsDir(), e.ONNXFile)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", e.Name, threads), func(b *testing.B) {
				if _, err := os.Stat(path); err != nil {
					b.Skipf("%s not in the cache (run `make setup`)", e.ONNXFile)
				}
				m, err := Load(path, nil, nil, Options{IntraOpThreads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				lo, hi := float32(-1), float32(1)
				if len(e.Inputs) > 0 && e.Inputs[0].Range == "[0, 1]" {
					lo = 0
				}
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range m.Inputs() {
					for j := range m.Input(i) {
						m.Input(i)[j] = lo + (hi-lo)*rng.Float32()
					}
				}
				if err := m.Run(); err != nil { // warm up
					b.Fatal(err)
				}
				times := make([]time.Duration, 0, b.N)
				b.ResetTimer()
				for b.Loop() {
					t0 := time.Now()
					if err := m.Run(); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(t0))
				}
				b.StopTimer()
				slices.Sort(times)
				q := func(p float64) float64 {
					return float64(times[int(p*float64(len(times)-1))].Microseconds()) / 1000
				}
				b.ReportMetric(q(0.5), "ms-median")
				b.ReportMetric(q(0.95), "ms-p95")
			})
		}
	}
}
