package corpus

import (
	"math"
	"math/rand/v2"
	"sort"

	"livegate.dev/models/imgproc"
)

// CutParams describe how a face is cut out of a photo.
type CutParams struct {
	// Polygon cuts a hand-cut irregular polygon (scissors: straight cuts)
	// around the face; false cuts an oval.
	Polygon bool
	// Margin grows the face outline (forehead to chin, cheek to cheek) by
	// this fraction all round; Top grows it further above the eyes (hair).
	Margin, Top float64
	// Vertices is the polygon's number of straight cuts and Jitter their
	// corners' random radial offset (fraction of the radius).
	Vertices int
	Jitter   float64
	// Hand adds the fingers and hand of the person holding the cut-out at
	// its lower edge.
	Hand bool
}

// RandomCut draws cut parameters: an oval or a hand-cut polygon, with or
// without a visible hand.
func RandomCut(rng *rand.Rand) CutParams {
	p := CutParams{Polygon: rng.IntN(2) == 0, Hand: rng.IntN(2) == 0}
	if p.Polygon {
		p.Margin, p.Top = 0.03+0.17*rng.Float64(), 0.1+0.35*rng.Float64()
		p.Vertices, p.Jitter = 9+rng.IntN(16), 0.02+0.06*rng.Float64()
	} else {
		p.Margin, p.Top = 0.08+0.3*rng.Float64(), 0.05+0.25*rng.Float64()
	}
	return p
}

// Cutout is a face cut out of a printed photo, in plane coordinates (canvas
// pixels; the face's centre is the canvas centre): the print, the cut's
// coverage mask (no paper border: the cut runs through the picture) and,
// optionally, the hand holding it.
type Cutout struct {
	// Print is the printed canvas and Mask its coverage (0–1 per pixel).
	Print *imgproc.RGB
	Mask  []float32
	// FaceWidth is the face's width in canvas pixels.
	FaceWidth float64
	// Hand is nil when no hand shows.
	Hand *handShape
	// x0, y0 is the canvas's top-left corner in the photo and k canvas
	// pixels per photo pixel.
	x0, y0, k float64
}

// toCanvas maps a photo point to canvas pixels.
func (c *Cutout) toCanvas(p [2]float64) [2]float64 {
	return [2]float64{(p[0] - c.x0) * c.k, (p[1] - c.y0) * c.k}
}

// handShape is a hand holding the cut-out's lower edge: the thumb over the
// paper, the rest of the hand below the edge (a rounded, boxy palm and
// knuckles) and the wrist going down out of the picture, in plane
// coordinates, lit from above.
type handShape struct {
	thumb, palm ellipse
	// Wrist: a band of half-width wristW from the palm's centre along dir.
	wristW, wristLen float64
	dir              [2]float64
	skin             [3]float64
}

// ellipse is an ellipse, or with boxy a superellipse (|x|³ + |y|³ < 1),
// of half-axes a and b rotated by angle (cos and sin kept).
type ellipse struct {
	cx, cy, a, b float64
	cos, sin     float64
	boxy         bool
}

func newEllipse(cx, cy, a, b, angle float64, boxy bool) ellipse {
	return ellipse{cx: cx, cy: cy, a: a, b: b, cos: math.Cos(angle), sin: math.Sin(angle), boxy: boxy}
}

// inside returns the normalised distance to the centre (below 1 inside) and
// the point's normalised position across and along the shape.
func (e ellipse) inside(u, v float64) (d, x, y float64) {
	du, dv := u-e.cx, v-e.cy
	x, y = (du*e.cos+dv*e.sin)/e.a, (-du*e.sin+dv*e.cos)/e.b
	if !e.boxy {
		return math.Sqrt(x*x + y*y), x, y
	}
	ax, ay := math.Abs(x), math.Abs(y)
	if ax > 2 || ay > 2 {
		return 2, x, y
	}
	return math.Cbrt(ax*ax*ax + ay*ay*ay), x, y
}

// at returns the hand's colour at plane point (u, v) and whether the hand
// covers it: rounded shapes darken toward their sides and bottom (light
// from above).
func (h *handShape) at(u, v float64) ([3]float64, bool) {
	shade := -1.0
	if d, x, y := h.thumb.inside(u, v); d < 1 {
		shade = 1.02 - 0.25*x*x - 0.08*y
	} else if d, x, y := h.palm.inside(u, v); d < 1 {
		shade = 0.95 - 0.2*x*x*x*x - 0.12*y
	} else {
		du, dv := u-h.palm.cx, v-h.palm.cy
		along := du*h.dir[0] + dv*h.dir[1]
		across := (-du*h.dir[1] + dv*h.dir[0]) / h.wristW
		if along > 0 && along < h.wristLen && math.Abs(across) < 1 {
			shade = 0.84 - 0.25*across*across
		}
	}
	if shade < 0 {
		return [3]float64{}, false
	}
	return [3]float64{h.skin[0] * shade, h.skin[1] * shade, h.skin[2] * shade}, true
}

// NewCutout cuts face f out of src printed with pp. The canvas is centred
// on the face and at most 220 px across the face (the photo's own
// resolution when lower); the cut never leaves the photo.
func NewCutout(src *imgproc.RGB, f FaceShape, cp CutParams, pp PrintParams, rng *rand.Rand) *Cutout {
	R := 1.15 * math.Max(f.Height, f.Width)
	k := math.Min(1, 220/f.Width) // canvas pixels per source pixel
	n := int(2 * R * k)
	canvas := imgproc.NewRGB(n, n)
	x0, y0 := f.CX-R, f.CY-R
	Resample(src, x0, y0, 2*R, 2*R, canvas)
	c := &Cutout{Print: Print(canvas, pp, rng), FaceWidth: f.Width * k, x0: x0, y0: y0, k: k}
	var poly [][2]float64
	if cp.Polygon {
		poly = handCutPolygon(f, cp, rng)
	} else {
		poly = ovalPolygon(f, cp)
	}
	for i := range poly {
		poly[i] = [2]float64{(poly[i][0] - x0) * k, (poly[i][1] - y0) * k}
	}
	c.Mask = fillPolygon(poly, n, n)
	// The cut cannot run outside the photo.
	for y := 0; y < n; y++ {
		sy := y0 + (float64(y)+0.5)/k
		for x := 0; x < n; x++ {
			sx := x0 + (float64(x)+0.5)/k
			if sx < 0.5 || sy < 0.5 || sx > float64(src.W)-0.5 || sy > float64(src.H)-0.5 {
				c.Mask[y*n+x] = 0
			}
		}
	}
	if cp.Hand {
		c.Hand = newHandShape(c, src, f, rng)
	}
	return c
}

// ovalPolygon is an ellipse around the grown face outline (72 corners).
func ovalPolygon(f FaceShape, cp CutParams) [][2]float64 {
	a := 0.5 * f.Width * (1 + cp.Margin)
	b := 0.5 * f.Height * (1 + cp.Margin + cp.Top/2)
	up := 0.5 * f.Height * cp.Top / 2 // the oval's centre moves up with the hair
	c, s := math.Cos(f.Roll), math.Sin(f.Roll)
	cx, cy := f.CX+up*s, f.CY-up*c
	out := make([][2]float64, 72)
	for i := range out {
		t := 2 * math.Pi * float64(i) / 72
		u, v := a*math.Cos(t), b*math.Sin(t)
		out[i] = [2]float64{cx + u*c - v*s, cy + u*s + v*c}
	}
	return out
}

// handCutPolygon cuts cp.Vertices straight segments around the face outline
// grown by the margin (more above the eyes), each corner moved by up to
// cp.Jitter of its radius.
func handCutPolygon(f FaceShape, cp CutParams, rng *rand.Rand) [][2]float64 {
	c, s := math.Cos(f.Roll), math.Sin(f.Roll)
	type polar struct{ t, r float64 }
	var pts []polar
	for _, p := range f.Outline {
		dx, dy := p[0]-f.CX, p[1]-f.CY
		u, v := dx*c+dy*s, -dx*s+dy*c // face frame, v down
		g := 1 + cp.Margin + cp.Top*math.Max(0, -v/(0.5*f.Height))
		pts = append(pts, polar{math.Atan2(v, u), math.Hypot(u, v) * g})
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].t < pts[j].t })
	radius := func(t float64) float64 {
		for i := range pts {
			j := (i + 1) % len(pts)
			t0, t1 := pts[i].t, pts[j].t
			if j == 0 {
				t1 += 2 * math.Pi
			}
			tt := t
			if tt < t0 {
				tt += 2 * math.Pi
			}
			if tt >= t0 && tt <= t1 {
				w := (tt - t0) / math.Max(t1-t0, 1e-9)
				return pts[i].r*(1-w) + pts[j].r*w
			}
		}
		return pts[0].r
	}
	out := make([][2]float64, cp.Vertices)
	phase := rng.Float64() * 2 * math.Pi
	for i := range out {
		t := phase + 2*math.Pi*(float64(i)+0.35*(rng.Float64()-0.5))/float64(cp.Vertices)
		t = math.Mod(t+math.Pi, 2*math.Pi) - math.Pi
		// A straight cut between corners cuts inside a convex outline: push
		// the corners out by the chord's sagitta so the face stays whole.
		r := radius(t) * (1 + cp.Jitter*(2*rng.Float64()-1)) / math.Cos(math.Pi/float64(cp.Vertices))
		u, v := r*math.Cos(t), r*math.Sin(t)
		out[i] = [2]float64{f.CX + u*c - v*s, f.CY + u*s + v*c}
	}
	return out
}

// fillPolygon rasterises a polygon into a w×h coverage mask (4 sub-rows per
// row, exact coverage along each sub-row).
func fillPolygon(poly [][2]float64, w, h int) []float32 {
	mask := make([]float32, w*h)
	const sub = 4
	var xs []float64
	for sy := 0; sy < h*sub; sy++ {
		y := (float64(sy) + 0.5) / sub
		xs = xs[:0]
		for i := range poly {
			a, b := poly[i], poly[(i+1)%len(poly)]
			if (a[1] <= y) != (b[1] <= y) {
				xs = append(xs, a[0]+(y-a[1])/(b[1]-a[1])*(b[0]-a[0]))
			}
		}
		sort.Float64s(xs)
		row := mask[(sy/sub)*w : (sy/sub+1)*w]
		for i := 0; i+1 < len(xs); i += 2 {
			addSpan(row, math.Max(xs[i], 0), math.Min(xs[i+1], float64(w)), 1.0/sub)
		}
	}
	return mask
}

// addSpan adds weight × the coverage of [a, b) to each pixel of row.
func addSpan(row []float32, a, b, weight float64) {
	if b <= a {
		return
	}
	for x := int(a); x < len(row) && float64(x) < b; x++ {
		cov := math.Min(b, float64(x+1)) - math.Max(a, float64(x))
		if cov > 0 {
			row[x] += float32(cov * weight)
		}
	}
}

// newHandShape places a hand at the cut's lower edge: the thumb over the
// edge, the palm below it and the wrist going down; the skin colour is the
// face's own, varied.
func newHandShape(c *Cutout, src *imgproc.RGB, f FaceShape, rng *rand.Rand) *handShape {
	n := c.Print.W
	W := c.FaceWidth
	cs, sn := math.Cos(f.Roll), math.Sin(f.Roll)
	down := [2]float64{-sn, cs}
	side := [2]float64{cs, sn}
	// The grip: a point along the lower edge, off centre by up to 0.3 W.
	off := (rng.Float64()*2 - 1) * 0.3 * W
	cx, cy := float64(n)/2+side[0]*off, float64(n)/2+side[1]*off
	ex, ey := cx, cy
	for d := 0.0; d < float64(n); d++ {
		x, y := cx+down[0]*d, cy+down[1]*d
		xi, yi := int(x), int(y)
		if xi < 0 || yi < 0 || xi >= n || yi >= n || c.Mask[yi*n+xi] < 0.5 {
			break
		}
		ex, ey = x, y
	}
	tilt := (rng.Float64()*2 - 1) * 0.35
	side2 := 1.0 // the thumb leans toward the cut-out's centre
	if off > 0 {
		side2 = -1
	}
	h := &handShape{skin: skinOf(src, f, rng), wristW: (0.2 + 0.06*rng.Float64()) * W, wristLen: 6 * W}
	pa := f.Roll + tilt/2
	h.palm = newEllipse(ex+down[0]*0.22*W, ey+down[1]*0.22*W, (0.3+0.08*rng.Float64())*W, (0.2+0.06*rng.Float64())*W, pa, true)
	ta := pa + side2*(0.3+0.5*rng.Float64())
	tx, ty := ex+side[0]*side2*0.12*W, ey+side[1]*side2*0.12*W
	h.thumb = newEllipse(tx-down[0]*0.06*W, ty-down[1]*0.06*W, (0.065+0.025*rng.Float64())*W, (0.16+0.05*rng.Float64())*W, ta, false)
	h.dir = [2]float64{-math.Sin(pa), math.Cos(pa)}
	return h
}

// skinOf is the mean colour of the face's centre (cheeks, nose) times a
// random tone of the holder's hand.
func skinOf(src *imgproc.RGB, f FaceShape, rng *rand.Rand) [3]float64 {
	var acc [3]float64
	var k float64
	r := 0.2 * f.Width
	for y := int(f.CY - r); y <= int(f.CY+r); y++ {
		for x := int(f.CX - r); x <= int(f.CX+r); x++ {
			if x < 0 || y < 0 || x >= src.W || y >= src.H {
				continue
			}
			q := (y*src.W + x) * 3
			for ch := 0; ch < 3; ch++ {
				acc[ch] += float64(src.Pix[q+ch])
			}
			k++
		}
	}
	if k == 0 {
		return [3]float64{190, 145, 120}
	}
	tone := 0.9 + 0.25*rng.Float64()
	return [3]float64{acc[0] / k * tone, acc[1] / k * tone * (0.96 + 0.04*rng.Float64()), acc[2] / k * tone * (0.92 + 0.08*rng.Float64())}
}

// RenderCutout draws the cut-out (its canvas shown at w×h image pixels at
// Scale 1) under pose into dst over the scene's background, with 2×2
// supersampling so the cut's edge is anti-aliased, then gain and sensor
// noise on every pixel.
func (s *Scene) RenderCutout(dst *imgproc.RGB, c *Cutout, w, h float64, pose Pose, rng *rand.Rand) {
	n := float64(c.Print.W)
	q := pose.Quad(w, h, s.F)
	H, ok := FromQuad(n, n, q)
	inv, ok2 := H.Invert()
	if !ok || !ok2 {
		s.renderBG(dst, rng)
		return
	}
	bx0, by0, bx1, by1 := s.cutoutBounds(H, c, n, dst)
	for y := 0; y < dst.H; y++ {
		for x := 0; x < dst.W; x++ {
			k := (y*dst.W + x) * 3
			bg := [3]float64{float64(s.BG.Pix[k]), float64(s.BG.Pix[k+1]), float64(s.BG.Pix[k+2])}
			col := bg
			if x >= bx0 && x <= bx1 && y >= by0 && y <= by1 {
				col = [3]float64{}
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						u, v := inv.Apply(float64(x)+0.25+0.5*float64(b), float64(y)+0.25+0.5*float64(a))
						p := c.at(u, v, bg)
						col[0] += p[0] / 4
						col[1] += p[1] / 4
						col[2] += p[2] / 4
					}
				}
			}
			for ch := 0; ch < 3; ch++ {
				dst.Pix[k+ch] = u8(col[ch]*s.Gain + rng.NormFloat64()*s.Noise)
			}
		}
	}
}

// at is the colour at plane point (u, v): the hand, else the print where the
// cut covers, else bg.
func (c *Cutout) at(u, v float64, bg [3]float64) [3]float64 {
	if c.Hand != nil {
		if p, ok := c.Hand.at(u, v); ok {
			return p
		}
	}
	n := c.Print.W
	if u < 0 || v < 0 || u >= float64(n) || v >= float64(n) {
		return bg
	}
	a := float64(maskAt(c.Mask, n, u-0.5, v-0.5))
	if a <= 0 {
		return bg
	}
	p := bilinear(c.Print, u-0.5, v-0.5)
	return [3]float64{a*p[0] + (1-a)*bg[0], a*p[1] + (1-a)*bg[1], a*p[2] + (1-a)*bg[2]}
}

// maskAt samples a square mask bilinearly (0 outside).
func maskAt(m []float32, n int, x, y float64) float32 {
	if x < -1 || y < -1 || x > float64(n) || y > float64(n) {
		return 0
	}
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	get := func(i, j int) float32 {
		if i < 0 || j < 0 || i >= n || j >= n {
			return 0
		}
		return m[j*n+i]
	}
	return (get(x0, y0)*(1-fx)+get(x0+1, y0)*fx)*(1-fy) + (get(x0, y0+1)*(1-fx)+get(x0+1, y0+1)*fx)*fy
}

// cutoutBounds is the image rectangle the canvas (and the hand, down to the
// frame's bottom) can cover.
func (s *Scene) cutoutBounds(H Homography, c *Cutout, n float64, dst *imgproc.RGB) (x0, y0, x1, y1 int) {
	pts := [][2]float64{{0, 0}, {n, 0}, {n, n}, {0, n}}
	if c.Hand != nil {
		h := c.Hand
		end := [2]float64{h.palm.cx + h.dir[0]*h.wristLen, h.palm.cy + h.dir[1]*h.wristLen}
		r := math.Max(h.palm.a, h.palm.b) + h.wristW
		for _, p := range [][2]float64{{h.palm.cx, h.palm.cy}, end} {
			pts = append(pts, [2]float64{p[0] - r, p[1] - r}, [2]float64{p[0] + r, p[1] + r}, [2]float64{p[0] - r, p[1] + r}, [2]float64{p[0] + r, p[1] - r})
		}
	}
	fx0, fy0, fx1, fy1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		x, y := H.Apply(p[0], p[1])
		fx0, fy0, fx1, fy1 = math.Min(fx0, x), math.Min(fy0, y), math.Max(fx1, x), math.Max(fy1, y)
	}
	clamp := func(v float64, hi int) int { return int(math.Min(math.Max(v, -1), float64(hi))) }
	return clamp(fx0-1, dst.W), clamp(fy0-1, dst.H), clamp(fx1+1, dst.W), clamp(fy1+1, dst.H)
}

// renderBG draws the background alone (gain and noise).
func (s *Scene) renderBG(dst *imgproc.RGB, rng *rand.Rand) {
	for i := range dst.Pix {
		dst.Pix[i] = u8(float64(s.BG.Pix[i])*s.Gain + rng.NormFloat64()*s.Noise)
	}
}
