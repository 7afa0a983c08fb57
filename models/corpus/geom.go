package corpus

import "math"

// Homography maps plane points (u, v) to image points: (x, y, w) = H·(u, v, 1).
type Homography [9]float64

// Apply maps (u, v).
func (h Homography) Apply(u, v float64) (float64, float64) {
	x := h[0]*u + h[1]*v + h[2]
	y := h[3]*u + h[4]*v + h[5]
	w := h[6]*u + h[7]*v + h[8]
	return x / w, y / w
}

// Invert returns the inverse mapping (ok false when singular).
func (h Homography) Invert() (Homography, bool) {
	a, b, c, d, e, f, g, k, l := h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
	A := e*l - f*k
	B := -(d*l - f*g)
	C := d*k - e*g
	det := a*A + b*B + c*C
	if math.Abs(det) < 1e-12 {
		return Homography{}, false
	}
	inv := Homography{
		A, -(b*l - c*k), b*f - c*e,
		B, a*l - c*g, -(a*f - c*d),
		C, -(a*k - b*g), a*e - b*d,
	}
	for i := range inv {
		inv[i] /= det
	}
	return inv, true
}

// FromQuad returns the homography taking the rectangle [0,w]×[0,h] to the
// quad q (corners top-left, top-right, bottom-right, bottom-left).
func FromQuad(w, h float64, q [4][2]float64) (Homography, bool) {
	src := [4][2]float64{{0, 0}, {w, 0}, {w, h}, {0, h}}
	var m [8][9]float64
	for i := 0; i < 4; i++ {
		u, v := src[i][0], src[i][1]
		x, y := q[i][0], q[i][1]
		m[2*i] = [9]float64{u, v, 1, 0, 0, 0, -u * x, -v * x, x}
		m[2*i+1] = [9]float64{0, 0, 0, u, v, 1, -u * y, -v * y, y}
	}
	// Gaussian elimination with partial pivoting.
	for col := 0; col < 8; col++ {
		p := col
		for r := col + 1; r < 8; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if math.Abs(m[p][col]) < 1e-12 {
			return Homography{}, false
		}
		m[col], m[p] = m[p], m[col]
		for r := 0; r < 8; r++ {
			if r == col {
				continue
			}
			f := m[r][col] / m[col][col]
			for k := col; k < 9; k++ {
				m[r][k] -= f * m[col][k]
			}
		}
	}
	var out Homography
	for i := 0; i < 8; i++ {
		out[i] = m[i][8] / m[i][i]
	}
	out[8] = 1
	return out, true
}

// Pose is a flat object's pose in front of a pinhole camera: centre (image
// pixels), distance scale (1 = nominal), and rotations in degrees.
type Pose struct {
	CX, CY           float64
	Scale            float64
	Yaw, Pitch, Roll float64
}

// Quad projects a w×h plane (in image pixels at Scale 1, centred) under the
// pose with focal length f (pixels) and returns its image corners.
func (p Pose) Quad(w, h, f float64) [4][2]float64 {
	cy, sy := math.Cos(p.Yaw*math.Pi/180), math.Sin(p.Yaw*math.Pi/180)
	cp, sp := math.Cos(p.Pitch*math.Pi/180), math.Sin(p.Pitch*math.Pi/180)
	cr, sr := math.Cos(p.Roll*math.Pi/180), math.Sin(p.Roll*math.Pi/180)
	corners := [4][2]float64{{-w / 2, -h / 2}, {w / 2, -h / 2}, {w / 2, h / 2}, {-w / 2, h / 2}}
	var q [4][2]float64
	z0 := f / p.Scale
	for i, c := range corners {
		x, y := c[0]*cr-c[1]*sr, c[0]*sr+c[1]*cr // roll
		x, z := x*cy, x*sy                       // yaw about the vertical axis
		y, z = y*cp-z*sp, y*sp+z*cp
		q[i] = [2]float64{p.CX + f*x/(z0+z), p.CY + f*y/(z0+z)}
	}
	return q
}
