package corpus

import (
	"math"
	"math/rand/v2"

	"livegate.dev/models/imgproc"
)

// FullScreenParams describe a screen that fills the camera's view: no
// bezel, the picture covering (or overfilling) the frame.
type FullScreenParams struct {
	// Screen holds the pixel grid, tone, refresh band and glare (its Bezel
	// is unused).
	Screen ScreenParams
	// Over is the content's size over the frame's at Scale 1 (≥ 1: the
	// screen overfills the view).
	Over float64
	// Moire point-samples the pixel grid (2×2 per camera pixel), which
	// aliases into moiré fringes; false integrates it away (the lens blurs a
	// grid much finer than the camera's pixels to its mean).
	Moire bool
	// Blur is the defocus (Gaussian sigma, camera pixels).
	Blur float64
}

// RandomFullScreen draws a full-frame screen: with moiré (pitch 0.35–0.95
// camera pixels, faint grid) or without (pitch 0.1–0.3, integrated), refresh
// banding on or off, gamma and colour shifts, defocus blur.
func RandomFullScreen(rng *rand.Rand) FullScreenParams {
	sp := RandomScreen(rng)
	p := FullScreenParams{Screen: sp, Over: 1 + 0.2*rng.Float64(), Moire: rng.IntN(2) == 0, Blur: 1.4 * rng.Float64()}
	p.Screen.Bezel = 0
	p.Screen.Black = 5 + 25*rng.Float64()
	p.Screen.Gamma = 0.8 + 0.45*rng.Float64()
	p.Screen.Glare = 0.12 * rng.Float64()
	p.Screen.Grid = 0.03 + 0.22*rng.Float64()
	if p.Moire {
		p.Screen.Pitch = 0.35 + 0.6*rng.Float64()
	} else {
		p.Screen.Pitch = 0.1 + 0.2*rng.Float64()
	}
	if rng.IntN(2) == 0 {
		p.Screen.Band = 0
	} else {
		p.Screen.Band = 0.02 + 0.1*rng.Float64()
	}
	return p
}

// RenderFullScreen draws src on a screen that fills the view: the content
// plane is (Over × frame) image pixels at Scale 1 under pose (the caller
// keeps the frame covered, see CoverScale), at time t. buf is scratch space
// (reused; nil allocates).
func (s *Scene) RenderFullScreen(dst, src *imgproc.RGB, p FullScreenParams, pose Pose, t float64, rng *rand.Rand, buf []float64) []float64 {
	w, h := float64(dst.W)*p.Over, float64(dst.H)*p.Over
	q := pose.Quad(w, h, s.F)
	H, ok := FromQuad(w, h, q)
	inv, ok2 := H.Invert()
	if !ok || !ok2 {
		s.renderBG(dst, rng)
		return buf
	}
	if len(buf) != len(dst.Pix) {
		buf = make([]float64, len(dst.Pix))
	}
	var lut [256]float64
	for i := range lut {
		lut[i] = math.Pow(float64(i)/255, p.Screen.Gamma)
	}
	n, off := 1, 0.5
	if p.Moire {
		n, off = 2, 0.25
	}
	sx, sy := float64(src.W)/w, float64(src.H)/h
	for y := 0; y < dst.H; y++ {
		for x := 0; x < dst.W; x++ {
			k := (y*dst.W + x) * 3
			var c [3]float64
			for a := 0; a < n; a++ {
				for b := 0; b < n; b++ {
					u, v := inv.Apply(float64(x)+off+float64(b)*0.5, float64(y)+off+float64(a)*0.5)
					px := s.screenAt(src, u, v, w, h, sx, sy, p, t, &lut, k)
					for ch := 0; ch < 3; ch++ {
						c[ch] += px[ch] / float64(n*n)
					}
				}
			}
			buf[k], buf[k+1], buf[k+2] = c[0], c[1], c[2]
		}
	}
	blurRGB(buf, dst.W, dst.H, p.Blur)
	for i, v := range buf {
		dst.Pix[i] = u8(v*s.Gain + rng.NormFloat64()*s.Noise)
	}
	return buf
}

// screenAt is the light the screen emits at content point (u, v): the
// picture through the screen's tone curve, its pixel grid (point-sampled or
// integrated), the rolling refresh band and a glare; the background k
// outside the screen.
func (s *Scene) screenAt(src *imgproc.RGB, u, v, w, h, sx, sy float64, p FullScreenParams, t float64, lut *[256]float64, k int) [3]float64 {
	if u < 0 || v < 0 || u >= w || v >= h {
		return [3]float64{float64(s.BG.Pix[k]), float64(s.BG.Pix[k+1]), float64(s.BG.Pix[k+2])}
	}
	sp := p.Screen
	px := bilinear(src, u*sx-0.5, v*sy-0.5)
	band, glare := 1.0, 0.0
	if sp.Band > 0 {
		band = 1 - sp.Band*(0.5+0.5*math.Sin(2*math.Pi*(v/h*sp.BandCycles-t*sp.BandHz)))
	}
	if sp.Glare > 0.002 {
		glare = sp.Glare * 255 * math.Exp(-((u/w-0.7)*(u/w-0.7)+(v/h-0.3)*(v/h-0.3))/0.05)
	}
	row := 1 - sp.Grid*0.25 // mean of the row gaps
	if p.Moire {
		row = 1 - sp.Grid*0.5*(0.5-0.5*math.Cos(2*math.Pi*v/sp.Pitch))
	}
	var out [3]float64
	for ch := 0; ch < 3; ch++ {
		stripe := 1 - sp.Grid*0.5
		if p.Moire {
			stripe = 1 - sp.Grid*(0.5-0.5*math.Cos(2*math.Pi*(u/sp.Pitch-float64(ch)/3)))
		}
		lvl := lut[u8(px[ch])]
		out[ch] = (sp.Black+(sp.White[ch]-sp.Black)*lvl)*band*row*stripe + glare
	}
	return out
}

// blurRGB blurs a packed float RGB image with a separable Gaussian (sigma
// in pixels; below 0.2 nothing is done), clamping at the border.
func blurRGB(buf []float64, w, h int, sigma float64) {
	if sigma < 0.2 {
		return
	}
	r := int(math.Ceil(2.5 * sigma))
	kern := make([]float64, 2*r+1)
	var sum float64
	for i := range kern {
		d := float64(i - r)
		kern[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += kern[i]
	}
	for i := range kern {
		kern[i] /= sum
	}
	tmp := make([]float64, len(buf))
	pass := func(in, out []float64, horizontal bool) {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var acc [3]float64
				for i, kv := range kern {
					xx, yy := x, y
					if horizontal {
						xx = min(max(x+i-r, 0), w-1)
					} else {
						yy = min(max(y+i-r, 0), h-1)
					}
					q := (yy*w + xx) * 3
					acc[0] += in[q] * kv
					acc[1] += in[q+1] * kv
					acc[2] += in[q+2] * kv
				}
				q := (y*w + x) * 3
				out[q], out[q+1], out[q+2] = acc[0], acc[1], acc[2]
			}
		}
	}
	pass(buf, tmp, true)
	pass(tmp, buf, false)
}

// CoverScale returns the smallest factor (1 or more) by which pose's Scale
// must grow so that a w×h plane (image pixels at Scale 1) under the pose
// covers the whole imgW×imgH frame.
func CoverScale(pose Pose, w, h, f float64, imgW, imgH int) float64 {
	covers := func(m float64) bool {
		p := pose
		p.Scale *= m
		H, ok := FromQuad(w, h, p.Quad(w, h, f))
		inv, ok2 := H.Invert()
		if !ok || !ok2 {
			return false
		}
		for _, c := range [4][2]float64{{0, 0}, {float64(imgW), 0}, {float64(imgW), float64(imgH)}, {0, float64(imgH)}} {
			u, v := inv.Apply(c[0], c[1])
			if u < 0.5 || v < 0.5 || u > w-0.5 || v > h-0.5 {
				return false
			}
		}
		return true
	}
	if covers(1) {
		return 1
	}
	lo, hi := 1.0, 1.25
	for !covers(hi) {
		lo, hi = hi, hi*1.25
		if hi > 4 {
			return hi
		}
	}
	for i := 0; i < 16; i++ {
		mid := (lo + hi) / 2
		if covers(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
