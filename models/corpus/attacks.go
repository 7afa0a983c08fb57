package corpus

import (
	"math"
	"math/rand/v2"

	"livegate.dev/models/imgproc"
)

// Hand is a hand-held object's motion: a slow drift and tilt plus hand
// shake (a smoothed random walk), sampled per frame.
type Hand struct {
	rng                    *rand.Rand
	base                   Pose
	driftAmp, driftHz      [2]float64
	tiltAmp, tiltHz        [3]float64
	phase                  [5]float64
	shake                  float64
	sx, sy, vx, vy         float64
	scaleAmp, scaleHz, sPh float64
}

// NewHand draws a motion; amount scales every amplitude (1 = a person
// holding a photo at arm's length, 0.3 = a phone propped on a stand).
func NewHand(rng *rand.Rand, base Pose, amount float64) *Hand {
	h := &Hand{rng: rng, base: base, shake: (0.4 + 0.8*rng.Float64()) * amount}
	for i := range h.phase {
		h.phase[i] = rng.Float64() * 2 * math.Pi
	}
	h.driftAmp = [2]float64{(3 + 12*rng.Float64()) * amount, (2 + 8*rng.Float64()) * amount}
	h.driftHz = [2]float64{0.15 + 0.4*rng.Float64(), 0.1 + 0.4*rng.Float64()}
	h.tiltAmp = [3]float64{(4 + 16*rng.Float64()) * amount, (3 + 12*rng.Float64()) * amount, (1 + 4*rng.Float64()) * amount}
	h.tiltHz = [3]float64{0.1 + 0.4*rng.Float64(), 0.1 + 0.4*rng.Float64(), 0.1 + 0.3*rng.Float64()}
	h.scaleAmp, h.scaleHz, h.sPh = 0.06*amount*rng.Float64(), 0.1+0.3*rng.Float64(), rng.Float64()*2*math.Pi
	return h
}

// At returns the pose at time t seconds; call it once per frame in order
// (the shake is a random walk).
func (h *Hand) At(t float64) Pose {
	h.vx = 0.6*h.vx + h.rng.NormFloat64()*h.shake
	h.vy = 0.6*h.vy + h.rng.NormFloat64()*h.shake
	h.sx = 0.85*h.sx + h.vx
	h.sy = 0.85*h.sy + h.vy
	p := h.base
	p.CX += h.driftAmp[0]*math.Sin(2*math.Pi*h.driftHz[0]*t+h.phase[0]) + h.sx
	p.CY += h.driftAmp[1]*math.Sin(2*math.Pi*h.driftHz[1]*t+h.phase[1]) + h.sy
	p.Yaw += h.tiltAmp[0] * math.Sin(2*math.Pi*h.tiltHz[0]*t+h.phase[2])
	p.Pitch += h.tiltAmp[1] * math.Sin(2*math.Pi*h.tiltHz[1]*t+h.phase[3])
	p.Roll += h.tiltAmp[2] * math.Sin(2*math.Pi*h.tiltHz[2]*t+h.phase[4])
	p.Scale *= 1 + h.scaleAmp*math.Sin(2*math.Pi*h.scaleHz*t+h.sPh)
	return p
}

// PrintParams describe a printed photo.
type PrintParams struct {
	// Paper and Ink are the colours of blank paper and full ink.
	Paper, Ink [3]float64
	// Saturation keeps this fraction of the colour (a print's gamut).
	Saturation float64
	// Gamma of the print's tone curve.
	Gamma float64
	// Grain is the paper texture's standard deviation (levels).
	Grain float64
	// Halftone is the amplitude of the printer's dot pattern (levels) and
	// HalftonePitch its period in print pixels.
	Halftone, HalftonePitch float64
}

// RandomPrint draws print parameters from the range of office and photo
// printers on plain or photo paper.
func RandomPrint(rng *rand.Rand) PrintParams {
	w := 225 + 25*rng.Float64()
	return PrintParams{
		Paper:         [3]float64{w, w - 3*rng.Float64(), w - 4 - 10*rng.Float64()},
		Ink:           [3]float64{20 + 20*rng.Float64(), 18 + 20*rng.Float64(), 22 + 20*rng.Float64()},
		Saturation:    0.6 + 0.3*rng.Float64(),
		Gamma:         0.9 + 0.35*rng.Float64(),
		Grain:         2 + 5*rng.Float64(),
		Halftone:      4 + 10*rng.Float64(),
		HalftonePitch: 2 + 2*rng.Float64(),
	}
}

// Print renders src as a printed sheet (in print pixels, same size as src).
func Print(src *imgproc.RGB, p PrintParams, rng *rand.Rand) *imgproc.RGB {
	out := imgproc.NewRGB(src.W, src.H)
	// Low-frequency fibre variation: a coarse noise grid interpolated.
	const cell = 16
	gw, gh := src.W/cell+2, src.H/cell+2
	fib := make([]float64, gw*gh)
	for i := range fib {
		fib[i] = rng.NormFloat64() * p.Grain * 0.8
	}
	for y := 0; y < src.H; y++ {
		for x := 0; x < src.W; x++ {
			q := (y*src.W + x) * 3
			r, g, b := float64(src.Pix[q])/255, float64(src.Pix[q+1])/255, float64(src.Pix[q+2])/255
			l := 0.299*r + 0.587*g + 0.114*b
			c := [3]float64{l + (r-l)*p.Saturation, l + (g-l)*p.Saturation, l + (b-l)*p.Saturation}
			gx, gy := float64(x)/cell, float64(y)/cell
			ix, iy := int(gx), int(gy)
			fx, fy := gx-float64(ix), gy-float64(iy)
			f := (fib[iy*gw+ix]*(1-fx)+fib[iy*gw+ix+1]*fx)*(1-fy) + (fib[(iy+1)*gw+ix]*(1-fx)+fib[(iy+1)*gw+ix+1]*fx)*fy
			ht := 0.0
			if p.HalftonePitch > 0 {
				ht = p.Halftone * math.Sin(2*math.Pi*float64(x)/p.HalftonePitch) * math.Sin(2*math.Pi*float64(y)/p.HalftonePitch)
			}
			n := rng.NormFloat64() * p.Grain
			for k := 0; k < 3; k++ {
				v := math.Pow(min(max(c[k], 0), 1), p.Gamma)
				ink := 1 - v // ink coverage
				val := p.Paper[k]*(1-ink) + p.Ink[k]*ink + f + n + ht*ink*(1-ink)*4
				out.Pix[q+k] = u8(val)
			}
		}
	}
	return out
}

// ScreenParams describe a screen showing the replayed picture.
type ScreenParams struct {
	// Pitch is the screen's pixel pitch in image pixels (below 1: finer
	// than the camera's pixels).
	Pitch float64
	// Grid is the depth of the pixel grid's modulation (RGB stripes, dark
	// gaps between rows), 0–1.
	Grid float64
	// Gamma is applied to the content, Black the screen's black level, White
	// its white point (a bluish tint on most phones).
	Gamma float64
	Black float64
	White [3]float64
	// Band is the amplitude of the rolling refresh band (fraction of
	// brightness), BandHz its roll rate and BandCycles the bands per height.
	Band, BandHz, BandCycles float64
	// Bezel is the bezel width as a fraction of the screen's width.
	Bezel float64
	// Glare is the strength of a specular highlight.
	Glare float64
}

// RandomScreen draws screen parameters (phones, tablets, monitors).
func RandomScreen(rng *rand.Rand) ScreenParams {
	return ScreenParams{
		Pitch:      0.3 + 0.6*rng.Float64(),
		Grid:       0.15 + 0.3*rng.Float64(),
		Gamma:      0.8 + 0.4*rng.Float64(),
		Black:      10 + 25*rng.Float64(),
		White:      [3]float64{225 + 25*rng.Float64(), 235 + 20*rng.Float64(), 245 + 10*rng.Float64()},
		Band:       0.03 + 0.12*rng.Float64(),
		BandHz:     0.5 + 3*rng.Float64(),
		BandCycles: 0.5 + 2*rng.Float64(),
		Bezel:      0.03 + 0.06*rng.Float64(),
		Glare:      0.3 * rng.Float64(),
	}
}

// Background is a blurred, darkened room behind the attack instrument.
func Background(src *imgproc.RGB, rng *rand.Rand) *imgproc.RGB {
	small := imgproc.NewRGB(SampleW/16, SampleH/16)
	Resample(src, 0, 0, float64(src.W), float64(src.H), small)
	out := imgproc.NewRGB(SampleW, SampleH)
	Resample(small, 0, 0, float64(small.W), float64(small.H), out)
	gain := 0.5 + 0.4*rng.Float64()
	shift := rng.IntN(3)
	for i := 0; i < len(out.Pix); i += 3 {
		r, g, b := out.Pix[i], out.Pix[i+1], out.Pix[i+2]
		c := [3]uint8{r, g, b}
		out.Pix[i], out.Pix[i+1], out.Pix[i+2] = u8(float64(c[shift%3])*gain), u8(float64(c[(shift+1)%3])*gain), u8(float64(c[(shift+2)%3])*gain)
	}
	return out
}

// Scene renders frames of a flat instrument (print or screen) held in front
// of a background and filmed by the camera.
type Scene struct {
	BG    *imgproc.RGB
	Noise float64 // camera sensor noise (levels)
	Gain  float64 // exposure gain
	F     float64 // focal length in pixels
}

// RenderPrint draws the print (its own pixel grid, shown at size w×h image
// pixels at Scale 1) under pose into dst.
func (s *Scene) RenderPrint(dst, print *imgproc.RGB, w, h float64, pose Pose, rng *rand.Rand) {
	q := pose.Quad(w, h, s.F)
	H, ok := FromQuad(float64(print.W), float64(print.H), q)
	inv, ok2 := H.Invert()
	copy(dst.Pix, s.BG.Pix)
	if !ok || !ok2 {
		return
	}
	for y := 0; y < dst.H; y++ {
		for x := 0; x < dst.W; x++ {
			// 2×2 supersampling for an anti-aliased edge.
			var acc [3]float64
			var bgw float64
			for a := 0; a < 2; a++ {
				for b := 0; b < 2; b++ {
					u, v := inv.Apply(float64(x)+0.25+0.5*float64(b), float64(y)+0.25+0.5*float64(a))
					if u < 0 || v < 0 || u >= float64(print.W) || v >= float64(print.H) {
						bgw += 0.25
						continue
					}
					p := bilinear(print, u-0.5, v-0.5)
					acc[0] += p[0] * 0.25
					acc[1] += p[1] * 0.25
					acc[2] += p[2] * 0.25
				}
			}
			q := (y*dst.W + x) * 3
			for k := 0; k < 3; k++ {
				v := (acc[k]+bgw*float64(s.BG.Pix[q+k]))*s.Gain + rng.NormFloat64()*s.Noise
				dst.Pix[q+k] = u8(v)
			}
		}
	}
}

// RenderScreen draws src shown on a screen (content w×h image pixels at
// Scale 1, plus bezel) under pose at time t into dst. The screen's pixel
// grid (RGB stripes and dark row gaps, Pitch image pixels apart) is point
// sampled by the camera's pixels, which aliases it into coloured moiré
// fringes exactly as a sensor without a perfect optical low-pass does; then
// gamma, black level and white point, a rolling refresh band, the bezel and a
// glare.
func (s *Scene) RenderScreen(dst, src *imgproc.RGB, w, h float64, p ScreenParams, pose Pose, t float64, rng *rand.Rand) {
	bez := p.Bezel * w
	tw, th := w+2*bez, h+2*bez
	q := pose.Quad(tw, th, s.F)
	H, ok := FromQuad(tw, th, q)
	inv, ok2 := H.Invert()
	copy(dst.Pix, s.BG.Pix)
	if !ok || !ok2 {
		return
	}
	var lut [256]float64
	for i := range lut {
		lut[i] = math.Pow(float64(i)/255, p.Gamma)
	}
	sx, sy := float64(src.W)/w, float64(src.H)/h
	for y := 0; y < dst.H; y++ {
		for x := 0; x < dst.W; x++ {
			u, v := inv.Apply(float64(x)+0.5, float64(y)+0.5)
			k := (y*dst.W + x) * 3
			var c [3]float64
			switch {
			case u < 0 || v < 0 || u >= tw || v >= th:
				c = [3]float64{float64(s.BG.Pix[k]), float64(s.BG.Pix[k+1]), float64(s.BG.Pix[k+2])}
			case u < bez || v < bez || u >= tw-bez || v >= th-bez:
				c = [3]float64{12, 12, 14} // bezel
			default:
				cu, cv := (u-bez)/p.Pitch, (v-bez)/p.Pitch // screen pixel coordinates
				sp := bilinear(src, (u-bez)*sx-0.5, (v-bez)*sy-0.5)
				band := 1 - p.Band*(0.5+0.5*math.Sin(2*math.Pi*((v-bez)/h*p.BandCycles-t*p.BandHz)))
				row := 1 - p.Grid*0.5*(0.5-0.5*math.Cos(2*math.Pi*cv))
				g := p.Glare * 255 * math.Exp(-((u/tw-0.7)*(u/tw-0.7)+(v/th-0.3)*(v/th-0.3))/0.02)
				for ch := 0; ch < 3; ch++ {
					stripe := 1 - p.Grid*(0.5-0.5*math.Cos(2*math.Pi*(cu-float64(ch)/3)))
					lvl := lut[u8(sp[ch])]
					c[ch] = (p.Black+(p.White[ch]-p.Black)*lvl)*band*row*stripe + g
				}
			}
			for ch := 0; ch < 3; ch++ {
				dst.Pix[k+ch] = u8(c[ch]*s.Gain + rng.NormFloat64()*s.Noise)
			}
		}
	}
}

// Tint adds the reflection of a light (colour × intensity, channels in
// [0, 1]) on the face near the screen: out = in × (1 + strength·w·light),
// w a Gaussian weight centred on (cx, cy) with sigma in pixels (the face is
// much nearer the screen than the background).
func Tint(img *imgproc.RGB, light [3]float64, strength, cx, cy, sigma float64) {
	for y := 0; y < img.H; y++ {
		dy := float64(y) - cy
		for x := 0; x < img.W; x++ {
			dx := float64(x) - cx
			w := strength * math.Exp(-(dx*dx+dy*dy)/(2*sigma*sigma))
			q := (y*img.W + x) * 3
			for k := 0; k < 3; k++ {
				img.Pix[q+k] = u8(float64(img.Pix[q+k]) * (1 + w*light[k]))
			}
		}
	}
}
