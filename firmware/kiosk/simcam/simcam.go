package simcam

import (
	"context"
	"fmt"

	"livegate.dev/drivers"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/models/imgproc"
)

// Reflect wraps a FrameSource and adds the LEDs' reflection to the face.
type Reflect struct {
	src    drivers.FrameSource
	lights map[string]drivers.Light
	loc    kiosk.FaceLocator
	gain   float64
	every  int

	rgb   *imgproc.RGB
	out   []byte
	box   [4]float64
	found bool
	n     int
}

var _ drivers.FrameSource = (*Reflect)(nil)

// Opts configures NewReflect.
type Opts struct {
	// Locator finds the face to tint. Optional. Default: a centred ellipse
	// over the middle of the frame.
	Locator kiosk.FaceLocator
	// Gain is the reflection's strength: a channel at full LED brightness
	// becomes p·(1+Gain). Optional. Default: 0.25.
	Gain float64
	// LocateEvery re-locates the face every n frames. Optional. Default: 5.
	LocateEvery int
}

// NewReflect wraps src; lights are the board's LEDs, read at each frame.
func NewReflect(src drivers.FrameSource, lights map[string]drivers.Light, opts Opts) *Reflect {
	if opts.Gain <= 0 {
		opts.Gain = 0.25
	}
	if opts.LocateEvery <= 0 {
		opts.LocateEvery = 5
	}
	return &Reflect{src: src, lights: lights, loc: opts.Locator, gain: opts.Gain, every: opts.LocateEvery}
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

// Next returns the next frame (RGB24) with the reflection added.
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
	if r.n%r.every == 0 {
		r.found = false
		if r.loc != nil {
			r.box, r.found = r.loc.Locate(m)
		}
		if !r.found {
			r.box = [4]float64{float64(m.W) * 0.3, float64(m.H) * 0.2, float64(m.W) * 0.4, float64(m.H) * 0.6}
		}
	}
	r.n++
	tint(m, r.box, light, r.gain)
	r.out = append(r.out[:0], m.Pix...)
	f.Data, f.Format, f.Width, f.Height, f.LimitedRange = r.out, drivers.FormatRGB24, m.W, m.H, false
	return f, nil
}

// tint multiplies each channel inside the ellipse inscribed in box (grown
// by a fifth, feathered at the edge) by 1 + gain·light[c].
func tint(m *imgproc.RGB, box [4]float64, light [3]float64, gain float64) {
	if light == [3]float64{} {
		return
	}
	cx, cy := box[0]+box[2]/2, box[1]+box[3]/2
	ax, ay := box[2]*0.6, box[3]*0.6
	if ax < 1 || ay < 1 {
		return
	}
	x0, x1 := max(0, int(cx-ax)), min(m.W, int(cx+ax)+1)
	y0, y1 := max(0, int(cy-ay)), min(m.H, int(cy+ay)+1)
	for y := y0; y < y1; y++ {
		dy := (float64(y) - cy) / ay
		for x := x0; x < x1; x++ {
			dx := (float64(x) - cx) / ax
			d := dx*dx + dy*dy
			if d >= 1 {
				continue
			}
			w := 1.0
			if d > 0.7 {
				w = (1 - d) / 0.3
			}
			p := m.Pix[(y*m.W+x)*3:]
			for c := 0; c < 3; c++ {
				v := float64(p[c]) * (1 + gain*w*light[c])
				p[c] = uint8(min(v, 255))
			}
		}
	}
}

// Format reports the source's size as RGB24.
func (r *Reflect) Format() drivers.FrameFormat {
	f := r.src.Format()
	f.Format, f.LimitedRange = drivers.FormatRGB24, false
	return f
}

// Close closes the source.
func (r *Reflect) Close() error { return r.src.Close() }
