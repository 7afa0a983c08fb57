package simcam_test

import (
	"context"
	"testing"

	"livegate.dev/drivers"
	"livegate.dev/firmware/kiosk/simcam"
	"livegate.dev/models/imgproc"
)

type grey struct{ w, h int }

func (g grey) Next(context.Context) (drivers.Frame, error) {
	d := make([]byte, g.w*g.h*3)
	for i := range d {
		d[i] = 100
	}
	return drivers.Frame{Data: d, Format: drivers.FormatRGB24, Width: g.w, Height: g.h}, nil
}
func (g grey) Format() drivers.FrameFormat {
	return drivers.FrameFormat{Format: drivers.FormatRGB24, Width: g.w, Height: g.h}
}
func (grey) Close() error { return nil }

type led struct {
	name   string
	b, max float64
}

func (l *led) SetBrightness(b float64) error { l.b = min(b, l.max); return nil }
func (l *led) Brightness() float64           { return l.b }
func (l *led) MaxBrightness() float64        { return l.max }
func (l *led) Name() string                  { return l.name }

type box struct{}

func (box) Locate(*imgproc.RGB) ([4]float64, bool) { return [4]float64{20, 20, 40, 40}, true }

func TestReflect(t *testing.T) {
	red := &led{name: "red", max: 0.5}
	blue := &led{name: "blue", max: 0.5}
	lights := map[string]drivers.Light{"red": red, "blue": blue}
	r := simcam.NewReflect(grey{100, 80}, lights, simcam.Opts{Locator: box{}, Gain: 0.2})
	px := func(f drivers.Frame, x, y int) [3]byte {
		i := (y*f.Width + x) * 3
		return [3]byte{f.Data[i], f.Data[i+1], f.Data[i+2]}
	}
	tests := []struct {
		name        string
		red, blue   float64
		centre, out [3]byte
	}{
		{"dark", 0, 0, [3]byte{100, 100, 100}, [3]byte{100, 100, 100}},
		{"red at its rated maximum", 1, 0, [3]byte{120, 100, 100}, [3]byte{100, 100, 100}},
		{"blue at half", 0, 0.25, [3]byte{100, 100, 110}, [3]byte{100, 100, 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red.SetBrightness(tt.red)
			blue.SetBrightness(tt.blue)
			f, err := r.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := px(f, 40, 40); got != tt.centre {
				t.Errorf("face centre %v, want %v", got, tt.centre)
			}
			if got := px(f, 2, 2); got != tt.out {
				t.Errorf("background %v, want %v (only the face reflects)", got, tt.out)
			}
		})
	}
	if got := simcam.SceneLight(lights); got != [3]float64{0, 0, 0.5} {
		t.Errorf("SceneLight = %v", got)
	}
}
