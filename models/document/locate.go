package document

import (
	"errors"
	"image"
	"image/color"
	"math"
	"sort"
)

// Point is a position in image pixels.
type Point struct{ X, Y float64 }

// Quad is a document's outline in an image: top-left, top-right,
// bottom-right, bottom-left as the document reads.
type Quad [4]Point

// ErrNotFound is returned by Locate when no document-shaped region stands
// out from the background.
var ErrNotFound = errors.New("document: no document found in the image")

// gray is a float grey image.
type gray struct {
	w, h int
	p    []float32
}

func (g *gray) at(x, y int) float32 { return g.p[y*g.w+x] }

// toGray converts and box-downscales img so its longer side is at most max
// pixels; it returns the image and the scale (source pixels per gray pixel).
func toGray(img image.Image, max int) (*gray, float64) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	f := 1
	for (w+f-1)/f > max || (h+f-1)/f > max {
		f++
	}
	gw, gh := w/f, h/f
	g := &gray{w: gw, h: gh, p: make([]float32, gw*gh)}
	for y := 0; y < gh*f; y++ {
		for x := 0; x < gw*f; x++ {
			g.p[(y/f)*gw+x/f] += luma(img, b.Min.X+x, b.Min.Y+y)
		}
	}
	n := float32(f * f)
	for i := range g.p {
		g.p[i] /= n
	}
	return g, float64(f)
}

func luma(img image.Image, x, y int) float32 {
	switch m := img.(type) {
	case *image.RGBA:
		i := m.PixOffset(x, y)
		return 0.299*float32(m.Pix[i]) + 0.587*float32(m.Pix[i+1]) + 0.114*float32(m.Pix[i+2])
	case *image.YCbCr:
		return float32(m.Y[m.YOffset(x, y)])
	case *image.Gray:
		return float32(m.Pix[m.PixOffset(x, y)])
	}
	r, g, b, _ := img.At(x, y).RGBA()
	return (0.299*float32(r) + 0.587*float32(g) + 0.114*float32(b)) / 257
}

// otsu is the threshold that best splits the histogram in two.
func otsu(p []float32) float32 {
	var hist [256]float64
	for _, v := range p {
		i := int(v)
		if i > 255 {
			i = 255
		}
		if i < 0 {
			i = 0
		}
		hist[i]++
	}
	total := float64(len(p))
	var sum float64
	for i, n := range hist {
		sum += float64(i) * n
	}
	var wB, sumB, best float64
	t := 128
	for i, n := range hist {
		wB += n
		if wB == 0 {
			continue
		}
		wF := total - wB
		if wF == 0 {
			break
		}
		sumB += float64(i) * n
		mB, mF := sumB/wB, (sum-sumB)/wF
		if v := wB * wF * (mB - mF) * (mB - mF); v > best {
			best, t = v, i
		}
	}
	return float32(t) + 0.5
}

// Locate finds the document in a photo: the largest bright region on the
// background (Otsu's threshold on a downscaled grey image), its convex hull,
// and the four corners of the quadrilateral that hull is: the two hull
// points farthest apart are one diagonal, the points farthest from it on
// either side the other two. The document is taken to be upright within
// ±45°, so the corner whose next edge points most to the right is the
// top-left one.
func Locate(img image.Image) (Quad, error) {
	g, f := toGray(img, 800)
	if g.w < 16 || g.h < 16 {
		return Quad{}, ErrNotFound
	}
	t := otsu(g.p)
	label := make([]int32, len(g.p))
	best, bestN := int32(0), 0
	var stack []int
	next := int32(0)
	for i := range g.p {
		if label[i] != 0 || g.p[i] < t {
			continue
		}
		next++
		n := 0
		stack = append(stack[:0], i)
		label[i] = next
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			x, y := j%g.w, j/g.w
			for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
				u, v := x+d[0], y+d[1]
				if u < 0 || v < 0 || u >= g.w || v >= g.h {
					continue
				}
				k := v*g.w + u
				if label[k] == 0 && g.p[k] >= t {
					label[k] = next
					stack = append(stack, k)
				}
			}
		}
		if n > bestN {
			best, bestN = next, n
		}
	}
	if bestN < len(g.p)/50 {
		return Quad{}, ErrNotFound
	}
	var pts []Point
	filled := 0 // the region with its holes (portrait, text) filled, row by row
	for y := 0; y < g.h; y++ {
		l, r := -1, -1
		for x := 0; x < g.w; x++ {
			if label[y*g.w+x] == best {
				if l < 0 {
					l = x
				}
				r = x
			}
		}
		if l >= 0 {
			filled += r - l + 1
			pts = append(pts, Point{float64(l), float64(y)}, Point{float64(r) + 1, float64(y)}, Point{float64(l), float64(y) + 1}, Point{float64(r) + 1, float64(y) + 1})
		}
	}
	hull := convexHull(pts)
	if len(hull) < 4 {
		return Quad{}, ErrNotFound
	}
	q, ok := quadOf(hull)
	if !ok {
		return Quad{}, ErrNotFound
	}
	// The region must fill most of its quadrilateral (a card, not a blob).
	if area := polyArea(q[:]); area > 1.2*float64(filled) || float64(filled) > 1.2*area {
		return Quad{}, ErrNotFound
	}
	for i := range q {
		q[i].X *= f
		q[i].Y *= f
	}
	return q, nil
}

func cross(o, a, b Point) float64 { return (a.X-o.X)*(b.Y-o.Y) - (a.Y-o.Y)*(b.X-o.X) }

// convexHull is Andrew's monotone chain.
func convexHull(pts []Point) []Point {
	sort.Slice(pts, func(i, j int) bool {
		if pts[i].X != pts[j].X {
			return pts[i].X < pts[j].X
		}
		return pts[i].Y < pts[j].Y
	})
	var h []Point
	for _, p := range pts {
		for len(h) >= 2 && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	lower := len(h) + 1
	for i := len(pts) - 2; i >= 0; i-- {
		p := pts[i]
		for len(h) >= lower && cross(h[len(h)-2], h[len(h)-1], p) <= 0 {
			h = h[:len(h)-1]
		}
		h = append(h, p)
	}
	return h[:len(h)-1]
}

func dist(a, b Point) float64 { return math.Hypot(a.X-b.X, a.Y-b.Y) }

// quadOf picks four corners of a convex hull and orders them.
func quadOf(h []Point) (Quad, bool) {
	var a, c Point
	far := -1.0
	for i := range h {
		for j := i + 1; j < len(h); j++ {
			if d := dist(h[i], h[j]); d > far {
				far, a, c = d, h[i], h[j]
			}
		}
	}
	var b, d Point
	bmax, dmax := 0.0, 0.0
	for _, p := range h {
		s := cross(a, c, p)
		if s > bmax {
			bmax, b = s, p
		}
		if -s > dmax {
			dmax, d = -s, p
		}
	}
	if bmax == 0 || dmax == 0 {
		return Quad{}, false
	}
	// a, b, c, d go round the quadrilateral; make it clockwise on screen
	// (y down) and start at the corner whose next edge points most to the right.
	q := []Point{a, b, c, d}
	if polySigned(q) < 0 {
		q = []Point{a, d, c, b}
	}
	start, bestDX := 0, math.Inf(-1)
	for i := range q {
		e := q[(i+1)%4]
		dx := (e.X - q[i].X) / dist(e, q[i])
		if dx > bestDX {
			start, bestDX = i, dx
		}
	}
	var out Quad
	for i := range out {
		out[i] = q[(start+i)%4]
	}
	return out, true
}

func polySigned(p []Point) float64 {
	s := 0.0
	for i := range p {
		j := (i + 1) % len(p)
		s += p[i].X*p[j].Y - p[j].X*p[i].Y
	}
	return s / 2
}

func polyArea(p []Point) float64 { return math.Abs(polySigned(p)) }

// Aspect is the quadrilateral's mean width over its mean height.
func (q Quad) Aspect() float64 {
	w := (dist(q[0], q[1]) + dist(q[3], q[2])) / 2
	h := (dist(q[0], q[3]) + dist(q[1], q[2])) / 2
	if h == 0 {
		return 0
	}
	return w / h
}

// homography maps (u, v) to (x, y): x = (h0 u + h1 v + h2) / (h6 u + h7 v + 1), …
type homography [8]float64

func (h homography) apply(u, v float64) (float64, float64) {
	d := h[6]*u + h[7]*v + 1
	return (h[0]*u + h[1]*v + h[2]) / d, (h[3]*u + h[4]*v + h[5]) / d
}

// homographyOf is the homography taking src[i] to dst[i].
func homographyOf(src, dst [4]Point) (homography, bool) {
	var a [8][9]float64
	for i := 0; i < 4; i++ {
		u, v, x, y := src[i].X, src[i].Y, dst[i].X, dst[i].Y
		a[2*i] = [9]float64{u, v, 1, 0, 0, 0, -u * x, -v * x, x}
		a[2*i+1] = [9]float64{0, 0, 0, u, v, 1, -u * y, -v * y, y}
	}
	for col := 0; col < 8; col++ {
		piv := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-12 {
			return homography{}, false
		}
		a[col], a[piv] = a[piv], a[col]
		for r := 0; r < 8; r++ {
			if r == col {
				continue
			}
			k := a[r][col] / a[col][col]
			for c := col; c < 9; c++ {
				a[r][c] -= k * a[col][c]
			}
		}
	}
	var h homography
	for i := range h {
		h[i] = a[i][8] / a[i][i]
	}
	return h, true
}

// warp fills dst's rectangle r (in document pixels) from src through h
// (document pixels → source pixels), bilinear; outside src is white.
func warp(dst *image.RGBA, src image.Image, h homography) {
	b := dst.Bounds()
	sb := src.Bounds()
	rgba, _ := src.(*image.RGBA)
	px := func(x, y int) (float64, float64, float64) {
		if x < sb.Min.X || y < sb.Min.Y || x >= sb.Max.X || y >= sb.Max.Y {
			return 255, 255, 255
		}
		if rgba != nil {
			i := rgba.PixOffset(x, y)
			return float64(rgba.Pix[i]), float64(rgba.Pix[i+1]), float64(rgba.Pix[i+2])
		}
		r, g, bb, _ := src.At(x, y).RGBA()
		return float64(r) / 257, float64(g) / 257, float64(bb) / 257
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			sx, sy := h.apply(float64(x)+0.5, float64(y)+0.5)
			sx, sy = sx-0.5, sy-0.5
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := sx-float64(x0), sy-float64(y0)
			r00, g00, b00 := px(x0, y0)
			r10, g10, b10 := px(x0+1, y0)
			r01, g01, b01 := px(x0, y0+1)
			r11, g11, b11 := px(x0+1, y0+1)
			mix := func(a, b, c, d float64) uint8 {
				v := (a*(1-fx)+b*fx)*(1-fy) + (c*(1-fx)+d*fx)*fy
				return uint8(math.Max(0, math.Min(255, v+0.5)))
			}
			dst.SetRGBA(x, y, color.RGBA{mix(r00, r10, r01, r11), mix(g00, g10, g01, g11), mix(b00, b10, b01, b11), 255})
		}
	}
}
