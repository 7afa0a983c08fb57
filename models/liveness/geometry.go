package liveness

import (
	"math"
	"sort"
)

type pt2 = [2]float64

// normalise returns Hartley's similarity normalisation of ps: centroid at
// the origin, mean distance √2. It returns the transformed points, the
// centroid and the scale.
func normalise(ps []pt2, out []pt2) ([]pt2, pt2, float64) {
	var c pt2
	for _, p := range ps {
		c[0] += p[0]
		c[1] += p[1]
	}
	n := float64(len(ps))
	c[0] /= n
	c[1] /= n
	var d float64
	for _, p := range ps {
		d += math.Hypot(p[0]-c[0], p[1]-c[1])
	}
	d /= n
	s := math.Sqrt2 / math.Max(d, 1e-9)
	out = out[:0]
	for _, p := range ps {
		out = append(out, pt2{(p[0] - c[0]) * s, (p[1] - c[1]) * s})
	}
	return out, c, s
}

// solve solves the n×n system a·x = b in place by Gaussian elimination with
// partial pivoting; ok is false for a singular system.
func solve(a [][]float64, b []float64) ([]float64, bool) {
	n := len(b)
	for col := 0; col < n; col++ {
		p := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		if math.Abs(a[p][col]) < 1e-12 {
			return nil, false
		}
		a[col], a[p] = a[p], a[col]
		b[col], b[p] = b[p], b[col]
		for r := col + 1; r < n; r++ {
			f := a[r][col] / a[col][col]
			for k := col; k < n; k++ {
				a[r][k] -= f * a[col][k]
			}
			b[r] -= f * b[col]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

// fitResiduals fits src→dst with a similarity (dof 4) or a homography (dof
// 8) by linear least squares on normalised points and returns the transfer
// residual of each point in dst's units. ok is false when the fit is
// degenerate.
func fitResiduals(src, dst []pt2, homography bool) ([]float64, bool) {
	_, res, ok := fit(src, dst, homography)
	return res, ok
}

// fit is fitResiduals that also returns the fitted mapping (source pixels
// to destination pixels).
func fit(src, dst []pt2, homography bool) (func(pt2) pt2, []float64, bool) {
	if len(src) != len(dst) || len(src) < 5 {
		return nil, nil, false
	}
	ns, cs, ss := normalise(src, make([]pt2, 0, len(src)))
	nd, cd, sd := normalise(dst, make([]pt2, 0, len(dst)))
	dof := 4
	if homography {
		dof = 8
	}
	ata := make([][]float64, dof)
	for i := range ata {
		ata[i] = make([]float64, dof)
	}
	atb := make([]float64, dof)
	var row [2][8]float64
	var rhs [2]float64
	for i := range ns {
		x, y := ns[i][0], ns[i][1]
		u, v := nd[i][0], nd[i][1]
		if homography {
			// u = (h0 x + h1 y + h2) / (h6 x + h7 y + 1), likewise v.
			row[0] = [8]float64{x, y, 1, 0, 0, 0, -u * x, -u * y}
			row[1] = [8]float64{0, 0, 0, x, y, 1, -v * x, -v * y}
		} else {
			// u = a x − b y + tx, v = b x + a y + ty.
			row[0] = [8]float64{x, -y, 1, 0}
			row[1] = [8]float64{y, x, 0, 1}
		}
		rhs = [2]float64{u, v}
		for r := 0; r < 2; r++ {
			for j := 0; j < dof; j++ {
				atb[j] += row[r][j] * rhs[r]
				for k := 0; k < dof; k++ {
					ata[j][k] += row[r][j] * row[r][k]
				}
			}
		}
	}
	h, ok := solve(ata, atb)
	if !ok {
		return nil, nil, false
	}
	mapping := func(p pt2) pt2 {
		x, y := (p[0]-cs[0])*ss, (p[1]-cs[1])*ss
		var u, v float64
		if homography {
			w := h[6]*x + h[7]*y + 1
			if math.Abs(w) < 1e-9 {
				w = 1e-9
			}
			u = (h[0]*x + h[1]*y + h[2]) / w
			v = (h[3]*x + h[4]*y + h[5]) / w
		} else {
			u = h[0]*x - h[1]*y + h[2]
			v = h[1]*x + h[0]*y + h[3]
		}
		return pt2{u/sd + cd[0], v/sd + cd[1]}
	}
	res := make([]float64, len(src))
	for i := range src {
		q := mapping(src[i])
		res[i] = math.Hypot(q[0]-dst[i][0], q[1]-dst[i][1])
	}
	return mapping, res, true
}

// trimmedRMS is the RMS of the smallest (1−trim) share of rs: a few
// landmark glitches do not count as parallax.
func trimmedRMS(rs []float64, trim float64) float64 {
	c := append([]float64(nil), rs...)
	sort.Float64s(c)
	k := max(1, int(float64(len(c))*(1-trim)))
	var s float64
	for _, r := range c[:k] {
		s += r * r
	}
	return math.Sqrt(s / float64(k))
}

// pairMotion is the geometric evidence between two frames' landmarks, in
// units of the inter-ocular distance.
type pairMotion struct {
	// NonSim is the residual of the best similarity (shift, rotation,
	// scale): the motion a flat picture can only make by tilting, and a head
	// by turning or changing expression.
	NonSim float64
	// Parallax is the residual of the best homography: what no moving plane
	// explains.
	Parallax float64
}

// minTracked is the fewest image-tracked points a pair is judged on.
const minTracked = 12

// trackedMotion measures the motion between frames a and b on image
// points: each landmark of a is followed into b by Lucas–Kanade, starting
// from where the landmark homography puts it. The landmark model has a
// face prior and can place points as a turning head would even on a tilted
// photo; image tracking follows what the camera saw. Without crops (or with
// too few trackable points) it measures the landmarks themselves.
func trackedMotion(a, b *frameRec, pa, pb []pt2) (pairMotion, bool) {
	iod := (a.iod + b.iod) / 2
	if a.crop == nil || b.crop == nil {
		return motionBetween(pa, pb, iod)
	}
	h, _, ok := fit(pa, pb, true)
	if !ok {
		return pairMotion{}, false
	}
	src := make([]pt2, 0, len(pa))
	dst := make([]pt2, 0, len(pa))
	for _, p := range pa {
		if q, ok := track(a.crop, b.crop, p, h(p)); ok {
			src = append(src, p)
			dst = append(dst, q)
		}
	}
	if len(src) < minTracked {
		return motionBetween(pa, pb, iod)
	}
	return motionBetween(src, dst, iod)
}

// motionBetween fits both models between two point sets.
func motionBetween(a, b []pt2, iod float64) (pairMotion, bool) {
	rs, ok1 := fitResiduals(a, b, false)
	rh, ok2 := fitResiduals(a, b, true)
	if !ok1 || !ok2 || iod <= 0 {
		return pairMotion{}, false
	}
	return pairMotion{NonSim: trimmedRMS(rs, 0.05) / iod, Parallax: trimmedRMS(rh, 0.05) / iod}, true
}
