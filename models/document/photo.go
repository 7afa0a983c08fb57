package document

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand"
)

// Shot is how a synthetic document is photographed, every parameter drawn
// from a seed and recorded in the evaluation's manifest.
type Shot struct {
	Width         int        `json:"width"`
	Height        int        `json:"height"`
	CardWidth     float64    `json:"card_width"`    // the document's width over the frame's
	CenterX       float64    `json:"center_x"`      // the document's centre, as a fraction of the frame
	CenterY       float64    `json:"center_y"`      //
	Rotation      float64    `json:"rotation_deg"`  // in-plane rotation, degrees
	Perspective   float64    `json:"perspective"`   // corner jitter, as a fraction of the document's width
	Corners       [8]float64 `json:"corner_jitter"` // the jitter of each corner, −1…1, scaled by Perspective
	Blur          float64    `json:"blur_sigma"`    // Gaussian blur, frame pixels
	GlareX        float64    `json:"glare_x"`       // glare centre on the document, fractions; strength 0 for none
	GlareY        float64    `json:"glare_y"`
	GlareRadius   float64    `json:"glare_radius"` // as a fraction of the document's width
	GlareStrength float64    `json:"glare_strength"`
	Noise         float64    `json:"noise_sigma"` // sensor noise, grey levels
	JPEGQuality   int        `json:"jpeg_quality"`
	Background    [3]uint8   `json:"background"`
	Seed          int64      `json:"seed"` // of the noise and the background texture
}

// RandomShot draws a phone photo's parameters: a document filling 55–85 %
// of a 1600×1200 frame, rotated up to ±12°, with perspective, light blur,
// a glare patch half the time, noise and JPEG quality 60–92. A degraded shot
// is what a hurried capture gives: the document small, blurred, and glare
// over its machine readable zone.
func RandomShot(rng *rand.Rand, degraded bool) Shot {
	u := func(a, b float64) float64 { return a + (b-a)*rng.Float64() }
	s := Shot{
		Width: 1600, Height: 1200,
		CardWidth: u(0.55, 0.85), Rotation: u(-12, 12), Perspective: u(0, 0.06),
		Blur: u(0, 1.2), Noise: u(1, 5), JPEGQuality: 60 + rng.Intn(33), Seed: rng.Int63(),
	}
	for i := range s.Corners {
		s.Corners[i] = u(-1, 1)
	}
	s.CenterX, s.CenterY = u(0.45, 0.55), u(0.45, 0.55)
	bgs := [][3]uint8{{60, 42, 30}, {40, 40, 44}, {28, 36, 60}, {80, 60, 40}, {20, 20, 20}}
	s.Background = bgs[rng.Intn(len(bgs))]
	if rng.Float64() < 0.5 {
		s.GlareX, s.GlareY, s.GlareRadius, s.GlareStrength = u(0.1, 0.9), u(0.1, 0.6), u(0.08, 0.2), u(0.3, 0.7)
	}
	if degraded {
		s.CardWidth = u(0.4, 0.5)
		s.Blur = u(2.2, 3.2)
		s.GlareX, s.GlareY, s.GlareRadius, s.GlareStrength = u(0.3, 0.7), u(0.82, 0.92), u(0.2, 0.3), u(0.9, 1.2)
		s.JPEGQuality = 35 + rng.Intn(15)
	}
	return s
}

// Photograph renders doc into a frame as the shot says and returns the
// JPEG and where the document's corners landed (top-left first, clockwise).
func Photograph(doc image.Image, s Shot) ([]byte, Quad, error) {
	if s.Width <= 0 || s.Height <= 0 {
		return nil, Quad{}, fmt.Errorf("document: shot of %d×%d pixels", s.Width, s.Height)
	}
	db := doc.Bounds()
	dw, dh := float64(db.Dx()), float64(db.Dy())
	cw := s.CardWidth * float64(s.Width)
	ch := cw * dh / dw
	th := s.Rotation * math.Pi / 180
	cx, cy := s.CenterX*float64(s.Width), s.CenterY*float64(s.Height)
	var q Quad
	for i, c := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		x, y := c[0]*cw/2+s.Corners[2*i]*s.Perspective*cw, c[1]*ch/2+s.Corners[2*i+1]*s.Perspective*cw
		q[i] = Point{cx + x*math.Cos(th) - y*math.Sin(th), cy + x*math.Sin(th) + y*math.Cos(th)}
	}
	docCorners := [4]Point{{0, 0}, {dw, 0}, {dw, dh}, {0, dh}}
	h, ok := homographyOf([4]Point(q), docCorners) // frame → document
	if !ok {
		return nil, Quad{}, fmt.Errorf("document: degenerate shot")
	}
	rng := rand.New(rand.NewSource(s.Seed))
	frame := make([]float64, s.Width*s.Height*3)
	// A desk: the background colour with a low-frequency texture.
	fx, fy, ph := 0.004+0.01*rng.Float64(), 0.002+0.01*rng.Float64(), rng.Float64()*6
	src, _ := doc.(*image.RGBA)
	for y := 0; y < s.Height; y++ {
		for x := 0; x < s.Width; x++ {
			i := (y*s.Width + x) * 3
			u, v := h.apply(float64(x)+0.5, float64(y)+0.5)
			if u >= 0 && v >= 0 && u < dw && v < dh {
				r, g, b := sampleRGBA(src, doc, u-0.5, v-0.5)
				if s.GlareStrength > 0 {
					d := math.Hypot(u/dw-s.GlareX, (v/dh-s.GlareY)*dh/dw) / s.GlareRadius
					k := s.GlareStrength * math.Exp(-d*d*2) * 255
					r, g, b = r+k, g+k, b+k
				}
				frame[i], frame[i+1], frame[i+2] = r, g, b
				continue
			}
			t := 1 + 0.15*math.Sin(float64(x)*fx+ph)*math.Sin(float64(y)*fy+2*ph)
			for c := 0; c < 3; c++ {
				frame[i+c] = float64(s.Background[c]) * t
			}
		}
	}
	if s.Blur > 0.3 {
		gaussBlur(frame, s.Width, s.Height, s.Blur)
	}
	out := image.NewRGBA(image.Rect(0, 0, s.Width, s.Height))
	for i, j := 0, 0; i < len(frame); i, j = i+3, j+4 {
		for c := 0; c < 3; c++ {
			v := frame[i+c] + rng.NormFloat64()*s.Noise
			out.Pix[j+c] = uint8(math.Max(0, math.Min(255, v+0.5)))
		}
		out.Pix[j+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: s.JPEGQuality}); err != nil {
		return nil, Quad{}, fmt.Errorf("document: encode photo: %w", err)
	}
	return buf.Bytes(), q, nil
}

func sampleRGBA(rgba *image.RGBA, img image.Image, x, y float64) (float64, float64, float64) {
	b := img.Bounds()
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	var acc [3]float64
	for _, c := range [4]struct {
		dx, dy int
		w      float64
	}{{0, 0, (1 - fx) * (1 - fy)}, {1, 0, fx * (1 - fy)}, {0, 1, (1 - fx) * fy}, {1, 1, fx * fy}} {
		px, py := min(max(x0+c.dx, b.Min.X), b.Max.X-1), min(max(y0+c.dy, b.Min.Y), b.Max.Y-1)
		var r, g, bb float64
		if rgba != nil {
			i := rgba.PixOffset(px, py)
			r, g, bb = float64(rgba.Pix[i]), float64(rgba.Pix[i+1]), float64(rgba.Pix[i+2])
		} else {
			cr, cg, cb, _ := color.RGBAModel.Convert(img.At(px, py)).RGBA()
			r, g, bb = float64(cr>>8), float64(cg>>8), float64(cb>>8)
		}
		acc[0] += c.w * r
		acc[1] += c.w * g
		acc[2] += c.w * bb
	}
	return acc[0], acc[1], acc[2]
}

// gaussBlur blurs an interleaved RGB float image in place, separably.
func gaussBlur(p []float64, w, h int, sigma float64) {
	r := int(math.Ceil(sigma * 3))
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(p))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := 0.0
				for i, kv := range k {
					xx := min(max(x+i-r, 0), w-1)
					v += kv * p[(y*w+xx)*3+c]
				}
				tmp[(y*w+x)*3+c] = v
			}
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < 3; c++ {
				v := 0.0
				for i, kv := range k {
					yy := min(max(y+i-r, 0), h-1)
					v += kv * tmp[(yy*w+x)*3+c]
				}
				p[(y*w+x)*3+c] = v
			}
		}
	}
}
