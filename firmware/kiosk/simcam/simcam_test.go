package simcam_test

import (
	"context"
	"math"
	"testing"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/firmware/kiosk/simcam"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/lightsim"
)

// grey is a uniform grey camera whose frames are 40 ms apart.
type grey struct {
	w, h int
	n    *int
}

func (g grey) Next(context.Context) (drivers.Frame, error) {
	d := make([]byte, g.w*g.h*3)
	for i := range d {
		d[i] = 100
	}
	t := time.Unix(0, 0).Add(time.Duration(*g.n) * 40 * time.Millisecond)
	*g.n++
	return drivers.Frame{Data: d, Format: drivers.FormatRGB24, Width: g.w, Height: g.h, Time: t}, nil
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
	// The kiosk preset with the camera's latency, exposure and
	// auto-exposure taken out and a flat surface, so each frame shows the
	// light at its own capture time, evenly over the face.
	p := lightsim.Kiosk()
	p.LatencyMS, p.ExposureMS, p.AutoExposureMS, p.Relief = 0, 0, 0, lightsim.Flat
	var n int
	r, err := simcam.NewReflect(grey{100, 80, &n}, lights, simcam.Opts{Locator: box{}, Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	px := func(f drivers.Frame, x, y int) [3]byte {
		i := (y*f.Width + x) * 3
		return [3]byte{f.Data[i], f.Data[i+1], f.Data[i+2]}
	}
	// level is the 8-bit value of grey 100 changed by the relative change
	// rel of linear light.
	level := func(rel float64) byte {
		lin := imgproc.SRGBToLinear[100] * (1 + rel)
		return byte(math.Round(255 * (1.055*math.Pow(lin, 1/2.4) - 0.055)))
	}
	s, m := p.Strength(), lightsim.CameraResponse(p.CrossTalk)
	tests := []struct {
		name      string
		red, blue float64
		// e is the emitted light per primary.
		e [3]float64
	}{
		{"dark", 0, 0, [3]float64{}},
		{"red at its rated maximum", 0.5, 0, [3]float64{1, 0, 0}},
		{"blue at half", 0, 0.25, [3]float64{0, 0, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red.SetBrightness(tt.red)
			blue.SetBrightness(tt.blue)
			f, err := r.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var centre, out [3]byte
			for c := range 3 {
				rel := s * (m[c][0]*tt.e[0] + m[c][1]*tt.e[1] + m[c][2]*tt.e[2])
				centre[c], out[c] = level(rel), level(rel*p.BackgroundFactor())
			}
			if got := px(f, 40, 40); got != centre {
				t.Errorf("face centre %v, want %v", got, centre)
			}
			if got := px(f, 2, 2); got != out {
				t.Errorf("background %v, want %v (the background is farther from the LEDs)", got, out)
			}
		})
	}
	if got := simcam.SceneLight(lights); got != [3]float64{0, 0, 0.5} {
		t.Errorf("SceneLight = %v", got)
	}
}

// With the preset's 60 ms latency, a light switched on between two frames
// 40 ms apart shows from the second frame after it on.
func TestReflectLatency(t *testing.T) {
	white := &led{name: "white", max: 1}
	var n int
	p := lightsim.Kiosk()
	p.ExposureMS, p.AutoExposureMS = 0, 0
	r, err := simcam.NewReflect(grey{100, 80, &n}, map[string]drivers.Light{"white": white}, simcam.Opts{Locator: box{}, Params: &p})
	if err != nil {
		t.Fatal(err)
	}
	var centre []byte
	for i := range 4 {
		if i == 1 {
			white.SetBrightness(1)
		}
		f, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		centre = append(centre, f.Data[(40*f.Width+40)*3])
	}
	if centre[0] != 100 || centre[1] != 100 || centre[2] != 100 || centre[3] <= 100 {
		t.Errorf("face centre over frames 0–3 (light on from frame 1, 60 ms latency): %v, want 100 100 100 then brighter", centre)
	}
}

func TestReflectBadParams(t *testing.T) {
	p := lightsim.Kiosk()
	p.Distance = -1
	var n int
	if _, err := simcam.NewReflect(grey{10, 10, &n}, nil, simcam.Opts{Params: &p}); err == nil {
		t.Fatal("NewReflect accepted a negative distance")
	}
}
