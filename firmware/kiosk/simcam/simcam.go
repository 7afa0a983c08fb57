package simcam

import (
	"context"
	"fmt"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/lightsim"
	"livegate.dev/models/liveness"
)

// Reflect wraps a FrameSource and adds the LEDs' reflection to the face,
// by the reflection model of models/lightsim (lightsim.Kiosk unless
// Opts.Params says otherwise: a diffused panel of 3000 cd/m², 0.015 m², at
// 0.6 m, in a 300-lux room; skin, an ellipsoidal head; 60 ms camera
// latency and auto-exposure), so the kiosk's light layer is exercised by
// the same physics the evaluation and the hosted page's test camera use.
type Reflect struct {
	src    drivers.FrameSource
	lights map[string]drivers.Light
	loc    kiosk.FaceLocator
	every  int

	sched lightsim.Schedule
	rend  *lightsim.Renderer
	start time.Time
	rgb   *imgproc.RGB
	lit   imgproc.RGB
	out   []byte
	n     int
}

var _ drivers.FrameSource = (*Reflect)(nil)

// Opts configures NewReflect.
type Opts struct {
	// Locator finds the face to light. Optional. Default: lightsim's
	// centred face region.
	Locator kiosk.FaceLocator
	// Params is the reflection model. Optional. Default: lightsim.Kiosk().
	Params *lightsim.Params
	// LocateEvery re-locates the face every n frames. Optional. Default: 5.
	LocateEvery int
}

// NewReflect wraps src; lights are the board's LEDs, read at each frame.
// It fails when Opts.Params is not valid.
func NewReflect(src drivers.FrameSource, lights map[string]drivers.Light, opts Opts) (*Reflect, error) {
	if opts.LocateEvery <= 0 {
		opts.LocateEvery = 5
	}
	p := lightsim.Kiosk()
	if opts.Params != nil {
		p = *opts.Params
	}
	r := &Reflect{src: src, lights: lights, loc: opts.Locator, every: opts.LocateEvery}
	rend, err := lightsim.NewRenderer(p, r.sched.At, lightsim.Ellipse{})
	if err != nil {
		return nil, fmt.Errorf("simcam: %w", err)
	}
	r.rend = rend
	return r, nil
}

// SceneLight is the visible light the LEDs put on the face per RGB channel
// in [0, 1], each LED at its share of its rated maximum: white on all three
// channels, red, green and blue on their own; infrared is invisible.
func SceneLight(lights map[string]drivers.Light) [3]float64 {
	var c [3]float64
	add := func(name string, rgb [3]float64) {
		l := lights[name]
		if l == nil || l.MaxBrightness() <= 0 {
			return
		}
		b := l.Brightness() / l.MaxBrightness()
		for i := range c {
			c[i] += b * rgb[i]
		}
	}
	add("white", [3]float64{1, 1, 1})
	add("red", [3]float64{1, 0, 0})
	add("green", [3]float64{0, 1, 0})
	add("blue", [3]float64{0, 0, 1})
	for i := range c {
		c[i] = min(c[i], 1)
	}
	return c
}

// Next returns the next frame (RGB24) with the reflection added: the LEDs'
// state at the frame's capture time is recorded, and the frame is lit by
// what the LEDs emitted over its exposure one camera latency earlier.
func (r *Reflect) Next(ctx context.Context) (drivers.Frame, error) {
	f, err := r.src.Next(ctx)
	if err != nil {
		return f, err
	}
	light := SceneLight(r.lights) // the light at capture time
	if f.Format == drivers.FormatRGB24 {
		if r.rgb == nil || r.rgb.W != f.Width || r.rgb.H != f.Height {
			r.rgb = imgproc.NewRGB(f.Width, f.Height)
		}
		copy(r.rgb.Pix, f.Data)
	} else {
		img, err := f.Image()
		if err != nil {
			return f, fmt.Errorf("simcam: frame %d: %w", f.Seq, err)
		}
		r.rgb = imgproc.FromImage(img, r.rgb)
	}
	m := r.rgb
	if r.n%r.every == 0 && r.loc != nil {
		if box, ok := r.loc.Locate(m); ok {
			r.rend.SetFace(lightsim.FaceFromBox(box))
		}
	}
	if r.n == 0 {
		r.start = f.Time
	}
	r.n++
	t := f.Time.Sub(r.start)
	r.sched.Set(t, liveness.Light{R: light[0], G: light[1], B: light[2], Intensity: 1})
	if err := r.rend.Render(&r.lit, m, t); err != nil {
		return f, fmt.Errorf("simcam: frame %d: %w", f.Seq, err)
	}
	r.out = append(r.out[:0], r.lit.Pix...)
	f.Data, f.Format, f.Width, f.Height, f.LimitedRange = r.out, drivers.FormatRGB24, m.W, m.H, false
	return f, nil
}

// Format reports the source's size as RGB24.
func (r *Reflect) Format() drivers.FrameFormat {
	f := r.src.Format()
	f.Format, f.LimitedRange = drivers.FormatRGB24, false
	return f
}

// Close closes the source.
func (r *Reflect) Close() error { return r.src.Close() }
