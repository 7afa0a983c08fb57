package camera

import (
	"context"
	"testing"

	"livegate.dev/drivers"
)

func BenchmarkSynthetic640x480(b *testing.B) {
	for _, f := range []drivers.PixelFormat{drivers.FormatRGB24, drivers.FormatYUYV} {
		b.Run(f.String(), func(b *testing.B) {
			s, err := NewSynthetic(SyntheticOpts{Format: f, Face: true, FPS: 1e9})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Next(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
