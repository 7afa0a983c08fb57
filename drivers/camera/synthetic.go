package camera

import (
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"sync"
	"time"

	"livegate.dev/drivers"
)

// SyntheticOpts configures a Synthetic source.
type SyntheticOpts struct {
	// Width and Height of the frames. Optional. Default: 640×480.
	Width, Height int
	// FPS is the frame rate. Optional. Default: 30.
	FPS float64
	// Format is FormatRGB24, FormatYUYV or FormatI420. Optional. Default:
	// FormatRGB24.
	Format drivers.PixelFormat
	// Face draws a face-like shape (skin ellipse, eyes that blink every 75
	// frames, mouth) that sways slowly. Optional. Default: false.
	Face bool
	// Frames ends the stream with io.EOF after this many frames. Optional.
	// Default: 0, endless.
	Frames int
	// Light, when set, is called for each frame with its time and returns
	// the red, green and blue light (each 0–1) the illumination LEDs shine
	// on the scene; the face reflects it strongly and the background
	// weakly, like a real face close to the kiosk. Optional.
	Light func(t time.Time) [3]float64
	// Clock paces delivery and stamps frames. Optional. Default:
	// drivers.RealClock.
	Clock drivers.Clock
}

// Synthetic generates frames. The picture is a function of the frame number
// (and of Light), so two sources with the same options give the same bytes.
type Synthetic struct {
	opts   SyntheticOpts
	period time.Duration

	mu    sync.Mutex
	rgb   []byte
	out   []byte
	start time.Time
	seq   uint64
}

var _ drivers.FrameSource = (*Synthetic)(nil)

// NewSynthetic returns a synthetic source.
func NewSynthetic(opts SyntheticOpts) (*Synthetic, error) {
	if opts.Width == 0 && opts.Height == 0 {
		opts.Width, opts.Height = 640, 480
	}
	if opts.Width < 16 || opts.Height < 16 || opts.Width%2 != 0 || opts.Height%2 != 0 {
		return nil, fmt.Errorf("synthetic camera: size %dx%d must be even and at least 16×16", opts.Width, opts.Height)
	}
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	if opts.FPS < 0 {
		return nil, fmt.Errorf("synthetic camera: negative frame rate %v", opts.FPS)
	}
	switch opts.Format {
	case drivers.FormatUnknown:
		opts.Format = drivers.FormatRGB24
	case drivers.FormatRGB24, drivers.FormatYUYV, drivers.FormatI420:
	default:
		return nil, fmt.Errorf("synthetic camera: format %s not supported (RGB24, YUYV, I420)", opts.Format)
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	return &Synthetic{
		opts:   opts,
		period: time.Duration(float64(time.Second) / opts.FPS),
		rgb:    make([]byte, opts.Width*opts.Height*3),
		out:    make([]byte, opts.Format.FrameSize(opts.Width, opts.Height)),
	}, nil
}

// Format reports the generated format.
func (s *Synthetic) Format() drivers.FrameFormat {
	return drivers.FrameFormat{Format: s.opts.Format, Width: s.opts.Width, Height: s.opts.Height, FPS: s.opts.FPS}
}

// Next returns the next frame once it is due.
func (s *Synthetic) Next(ctx context.Context) (drivers.Frame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Frames > 0 && s.seq >= uint64(s.opts.Frames) {
		return drivers.Frame{}, io.EOF
	}
	if s.seq == 0 {
		s.start = s.opts.Clock.Now()
	}
	due := s.start.Add(time.Duration(s.seq) * s.period)
	if wait := due.Sub(s.opts.Clock.Now()); wait > 0 {
		if err := drivers.Sleep(ctx, s.opts.Clock, wait); err != nil {
			return drivers.Frame{}, err
		}
	}
	now := s.opts.Clock.Now()
	var light [3]float64
	if s.opts.Light != nil {
		light = s.opts.Light(now)
	}
	Render(s.rgb, s.opts.Width, s.opts.Height, s.seq, s.opts.Face, light)
	data := s.rgb
	if s.opts.Format != drivers.FormatRGB24 {
		ConvertRGB(s.out, s.rgb, s.opts.Width, s.opts.Height, s.opts.Format)
		data = s.out
	}
	f := drivers.Frame{Data: data, Format: s.opts.Format, Width: s.opts.Width, Height: s.opts.Height, Time: now, Seq: s.seq}
	s.seq++
	return f, nil
}

// Close ends the stream.
func (s *Synthetic) Close() error { return nil }

// skin, eye and mouth colours of the drawn face.
var (
	skin  = [3]float64{224, 172, 140}
	eye   = [3]float64{40, 30, 30}
	mouth = [3]float64{150, 60, 60}
)

// FaceBox returns the centre and semi-axes of the face ellipse in frame
// seq, for tests that look for it.
func FaceBox(w, h int, seq uint64) (cx, cy, ax, ay float64) {
	t := float64(seq)
	cx = float64(w)/2 + float64(w)/10*math.Sin(2*math.Pi*t/90)
	cy = float64(h)/2 + float64(h)/24*math.Sin(2*math.Pi*t/60)
	return cx, cy, float64(h) * 0.17, float64(h) * 0.23
}

// Render draws frame seq as packed RGB into dst (w×h×3 bytes): a gradient
// background that drifts, a bright bar that sweeps across, and optionally
// the face; light tints the scene (the face strongly, the background
// weakly).
func Render(dst []byte, w, h int, seq uint64, face bool, light [3]float64) {
	const kBackground, kFace = 0.1, 0.6 // share of the LED light reaching each
	tint := func(c [3]float64, k float64) [3]byte {
		var o [3]byte
		for ch := range o {
			o[ch] = clamp8(c[ch]*(1-k/2) + 255*k*light[ch])
		}
		return o
	}
	// The background colour depends only on (x + y + 2·seq) mod 256.
	var lut [256][3]byte
	for g := range lut {
		gf := float64(g) / 255
		lut[g] = tint([3]float64{60 + 80*gf, 70 + 60*gf, 90 + 50*(1-gf)}, kBackground)
	}
	bar := tint([3]float64{230, 230, 230}, kBackground)
	barX := int(seq*6) % w
	shift := int(seq % 256 * 2)
	for y := 0; y < h; y++ {
		row := dst[y*w*3 : (y+1)*w*3]
		for x, i := 0, 0; x < w; x, i = x+1, i+3 {
			c := &lut[(x+y+shift)&255]
			row[i], row[i+1], row[i+2] = c[0], c[1], c[2]
		}
		for x := barX; x < barX+8 && x < w; x++ {
			row[x*3], row[x*3+1], row[x*3+2] = bar[0], bar[1], bar[2]
		}
	}
	if !face {
		return
	}
	cx, cy, ax, ay := FaceBox(w, h, seq)
	skinC, eyeC, mouthC := tint(skin, kFace), tint(eye, kFace), tint(mouth, kFace)
	blink := seq%75 >= 72
	y0, y1 := max(0, int(cy-ay)-1), min(h-1, int(cy+ay)+1)
	x0, x1 := max(0, int(cx-ax)-1), min(w-1, int(cx+ax)+1)
	for y := y0; y <= y1; y++ {
		dy := (float64(y) - cy) / ay
		if dy*dy > 1 {
			continue
		}
		row := dst[y*w*3:]
		for x := x0; x <= x1; x++ {
			dx := (float64(x) - cx) / ax
			if dx*dx+dy*dy > 1 {
				continue
			}
			c := &skinC
			ex := math.Abs(dx) - 0.38
			ey := dy + 0.2
			switch {
			case !blink && (ex*ex)/(0.16*0.16)+(ey*ey)/(0.07*0.07) <= 1:
				c = &eyeC
			case blink && math.Abs(ey) < 0.015 && math.Abs(ex) < 0.16:
				c = &eyeC
			case (dx*dx)/(0.3*0.3)+((dy-0.5)*(dy-0.5))/(0.06*0.06) <= 1:
				c = &mouthC
			}
			row[x*3], row[x*3+1], row[x*3+2] = c[0], c[1], c[2]
		}
	}
}

func clamp8(v float64) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}

// ConvertRGB converts packed RGB (w×h×3) into dst in format f (FormatYUYV
// or FormatI420; w and h even), full-range as image/color.
func ConvertRGB(dst, rgb []byte, w, h int, f drivers.PixelFormat) {
	switch f {
	case drivers.FormatYUYV:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x += 2 {
				i := (y*w + x) * 3
				y0, cb0, cr0 := color.RGBToYCbCr(rgb[i], rgb[i+1], rgb[i+2])
				y1, cb1, cr1 := color.RGBToYCbCr(rgb[i+3], rgb[i+4], rgb[i+5])
				o := (y*w + x) * 2
				dst[o], dst[o+1], dst[o+2], dst[o+3] = y0, byte((int(cb0)+int(cb1))/2), y1, byte((int(cr0)+int(cr1))/2)
			}
		}
	case drivers.FormatI420:
		cw := w / 2
		ys, cs := w*h, cw*(h/2)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := (y*w + x) * 3
				yy, cb, cr := color.RGBToYCbCr(rgb[i], rgb[i+1], rgb[i+2])
				dst[y*w+x] = yy
				if x%2 == 0 && y%2 == 0 {
					dst[ys+(y/2)*cw+x/2] = cb
					dst[ys+cs+(y/2)*cw+x/2] = cr
				}
			}
		}
	}
}
