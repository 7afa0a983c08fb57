package corpus

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// Glasses: a live person wearing glasses. The real clips have none, so a
// pair is drawn on the real face of each frame, placed by the mesh's eyes
// (smoothed over 7 frames, as the eyehole mask is): the analyzer's eye and
// blink measures read lids behind lenses and rims, the light layer's skin
// points sit beside the frame, and a lens may carry a glare (a window or
// the screen mirrored in it). Synthetic glasses on real faces:
// the report says so (KindGlasses).

// planGlasses adds n windows of 6–8 s of bona fide with glasses, spread
// over the clips as planBonaFideKinds spreads its kinds.
func (g *generator) planGlasses(rng *rand.Rand, n int, add func(Label, runFunc)) {
	nc := len(g.clips)
	for k := 0; k < n; k++ {
		c := g.clips[k%nc]
		length := int((6 + 2*rng.Float64()) * c.FPS())
		avail := len(c.Frames) - length
		if avail <= 0 {
			continue
		}
		per := (n + nc - 1) / nc
		from := int((float64(k/nc) + rng.Float64()) / float64(per) * float64(avail))
		add(Label{Label: BonaFide, Mode: "passive", Kind: KindGlasses, Source: c.Name, SourceFrames: [2]int{from, from + length}}, g.glassesWindow(c))
	}
}

// spectacles is a pair of glasses in the face's eye frame: lengths in
// units of the eye distance (the eyes' centres), along the eye line (u)
// and across it (v, down positive).
type spectacles struct {
	// halfW and halfH are each lens's half-width and half-height; its
	// outline is the superellipse |u/halfW|^p + |v/halfH|^p = 1.
	halfW, halfH, p float64
	// rim is the frame's width; drop moves the lenses' centres below the
	// eyes' (glasses sit on the nose, the eyes in their upper half).
	rim, drop float64
	// colour of the frame (8-bit RGB); tint darkens what a lens shows.
	colour [3]float64
	tint   float64
	// glare is the strength of the mirrored light on each lens (0–1 of
	// the way to white), at (gu, gv) in the lens's half-sizes, radius
	// gr of its half-width.
	glare, gu, gv, gr float64
}

// at returns the colour of the glasses at eye-frame point (u, v)
// (the eyes at (−½, 0) and (½, 0)) over the real pixel bg, and whether the
// glasses cover it at all; the rim is anti-aliased over px (a pixel in eye
// distances).
func (s *spectacles) at(u, v, px float64, bg [3]float64) ([3]float64, bool) {
	v -= s.drop
	base := bg
	frame := 0.0 // how much of the point the frame covers
	covered := false
	for _, cu := range []float64{-0.5, 0.5} {
		du, dv := (u-cu)/s.halfW, v/s.halfH
		r := math.Pow(math.Pow(math.Abs(du), s.p)+math.Pow(math.Abs(dv), s.p), 1/s.p)
		// Distance outside the lens's edge, in eye distances (a radial
		// approximation, close enough for a rim a few pixels wide).
		d := (r - 1) * math.Min(s.halfW, s.halfH)
		if d < 0 {
			// Seen through the lens: tinted, with the glare.
			gd := math.Hypot(du-s.gu, dv-s.gv) / s.gr
			gl := s.glare * math.Exp(-gd*gd)
			for c := range base {
				base[c] = bg[c]*(1-s.tint)*(1-gl) + 255*gl
			}
			covered = true
		}
		if d < s.rim+px/2 && d > -px/2 {
			// The rim: rising from the lens's edge, falling past its width.
			frame = math.Max(frame, smooth01((d+px/2)/px)*(1-smooth01((d-s.rim+px/2)/px)))
			covered = true
		}
	}
	// The bridge: a bar between the lenses' inner edges, a little above
	// their centres.
	if inner := 0.5 - s.halfW; math.Abs(u) < inner+s.rim {
		if e := math.Abs(v+0.25*s.halfH) - s.rim/2; e < px/2 {
			frame = math.Max(frame, 1-smooth01((e+px/2)/px))
			covered = true
		}
	}
	var out [3]float64
	for c := range out {
		out[c] = frame*s.colour[c] + (1-frame)*base[c]
	}
	return out, covered
}

func smooth01(x float64) float64 {
	x = min(max(x, 0), 1)
	return x * x * (3 - 2*x)
}

// glassesWindow: a real window with glasses drawn on the face in every
// frame: lenses 0.62–0.80 of the eye distance wide (38–50 mm for eyes
// 62 mm apart; the bridge's gap the rest), 0.55–0.85 as tall, rounded (superellipse
// exponent 2.5–5), a rim of 3–7 % of the eye distance in black, brown,
// grey or metal, the lenses' centres 0–10 % of the eye distance below the
// eyes, a tint of 0–15 % and in half of the samples a glare of 15–45 %
// on each lens, carried with it; temples are left out (they lie beside the
// face, where nothing is measured).
func (g *generator) glassesWindow(c *Clip) runFunc {
	return func(j *job, rng *rand.Rand, w *video.AVIWriter) error {
		from, to := j.label.SourceFrames[0], j.label.SourceFrames[1]
		to = from + g.frameCap(to-from)
		wearer, err := g.wearerFaces(c, from, to)
		if err != nil {
			return err
		}
		colours := [][3]float64{{25, 22, 20}, {70, 45, 30}, {90, 90, 95}, {150, 140, 120}}
		s := &spectacles{
			halfW: (0.62 + 0.18*rng.Float64()) / 2, p: 2.5 + 2.5*rng.Float64(),
			rim: 0.03 + 0.04*rng.Float64(), drop: 0.1 * rng.Float64(),
			colour: colours[rng.IntN(len(colours))], tint: 0.15 * rng.Float64(),
		}
		s.halfH = s.halfW * (0.55 + 0.3*rng.Float64())
		if rng.IntN(2) == 0 {
			s.glare, s.gu, s.gv, s.gr = 0.15+0.3*rng.Float64(), rng.Float64()-0.5, rng.Float64()-0.5, 0.25+0.2*rng.Float64()
		}
		noise := 1.0 + rng.Float64()
		j.label.Params = map[string]float64{"lens_width": 2 * s.halfW, "lens_height": 2 * s.halfH, "roundness": s.p, "rim": s.rim,
			"drop": s.drop, "tint": s.tint, "glare": s.glare, "noise": noise}
		n := len(wearer)
		e0, e1 := make([]complex128, n), make([]complex128, n)
		for i, f := range wearer {
			e0[i], e1[i] = cpt(f.Eyes[0]), cpt(f.Eyes[1])
		}
		e0, e1 = smoothPoints(e0), smoothPoints(e1)
		dst := imgproc.NewRGB(SampleW, SampleH)
		var frame imgproc.RGB
		for i := from; i < to; i++ {
			m, err := c.Frame(i, &frame)
			if err != nil {
				return err
			}
			if m.W != SampleW || m.H != SampleH {
				return fmt.Errorf("corpus: %s frame %d: %dx%d, want %dx%d", c.Name, i, m.W, m.H, SampleW, SampleH)
			}
			k := i - from
			// The eye frame: origin between the eyes, unit the eye
			// distance.
			mid, axis := (e0[k]+e1[k])/2, e1[k]-e0[k]
			iod := cmplx.Abs(axis)
			if iod < 1 {
				copy(dst.Pix, m.Pix)
			} else {
				renderGlasses(dst, m, s, mid, axis, rng, noise)
			}
			if err := w.WriteFrame(dst); err != nil {
				return err
			}
			j.label.Frames++
		}
		return nil
	}
}

// renderGlasses draws s over src into dst: image point z maps to the eye
// frame as (z − mid)/axis. Pixels the glasses cover get 2×2 supersampling
// and sensor noise; the rest is copied.
func renderGlasses(dst, src *imgproc.RGB, s *spectacles, mid, axis complex128, rng *rand.Rand, noise float64) {
	copy(dst.Pix, src.Pix)
	iod := cmplx.Abs(axis)
	px := 1 / iod
	reach := (0.5 + s.halfW + s.rim + 0.05) * iod
	x0, x1 := max(int(real(mid)-reach), 0), min(int(real(mid)+reach)+1, dst.W)
	y0, y1 := max(int(imag(mid)-reach), 0), min(int(imag(mid)+reach)+1, dst.H)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			q := (y*dst.W + x) * 3
			bg := [3]float64{float64(src.Pix[q]), float64(src.Pix[q+1]), float64(src.Pix[q+2])}
			var acc [3]float64
			covered := false
			for a := 0; a < 2; a++ {
				for b := 0; b < 2; b++ {
					z := (complex(float64(x)+0.25+0.5*float64(b), float64(y)+0.25+0.5*float64(a)) - mid) / axis
					col, ok := s.at(real(z), imag(z), px, bg)
					covered = covered || ok
					for c := range acc {
						acc[c] += col[c] / 4
					}
				}
			}
			if !covered {
				continue
			}
			for c := range acc {
				dst.Pix[q+c] = u8(acc[c] + rng.NormFloat64()*noise)
			}
		}
	}
}
