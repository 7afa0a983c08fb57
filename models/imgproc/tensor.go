package imgproc

import "math"

// Norm maps an 8-bit sample v to v*Scale + Offset in the tensor.
type Norm struct{ Scale, Offset float32 }

// Value ranges used by the face models.
var (
	// NormSigned maps [0,255] to [-1,1] (BlazeFace).
	NormSigned = Norm{Scale: 2.0 / 255, Offset: -1}
	// NormUnit maps [0,255] to [0,1] (face_landmark, FaceAntiSpoofing).
	NormUnit = Norm{Scale: 1.0 / 255}
	// NormFaceNet is (v-127.5)/128 (MobileFaceNet).
	NormFaceNet = Norm{Scale: 1.0 / 128, Offset: -127.5 / 128}
)

// Affine maps a tensor pixel position (u, v) to a source image position
// (x, y) = (A*u + B*v + C, D*u + E*v + F). Positions are continuous: pixel
// (i, j) covers [i, i+1)×[j, j+1) and its centre is (i+0.5, j+0.5).
type Affine struct{ A, B, C, D, E, F float64 }

// Apply maps (u, v) to the source image.
func (a Affine) Apply(u, v float64) (x, y float64) {
	return a.A*u + a.B*v + a.C, a.D*u + a.E*v + a.F
}

// Invert returns the inverse mapping (source image to tensor).
func (a Affine) Invert() Affine {
	det := a.A*a.E - a.B*a.D
	ia, ib := a.E/det, -a.B/det
	id, ie := -a.D/det, a.A/det
	return Affine{A: ia, B: ib, C: -(ia*a.C + ib*a.F), D: id, E: ie, F: -(id*a.C + ie*a.F)}
}

// Scale returns the source length covered by one tensor pixel.
func (a Affine) Scale() float64 { return math.Sqrt(math.Abs(a.A*a.E - a.B*a.D)) }

// RotatedRect returns the mapping that makes a dw×dh tensor cover the
// rectangle of size w×h centred at (cx, cy), turned by angle radians
// (clockwise on screen, since image y points down).
func RotatedRect(cx, cy, w, h, angle float64, dw, dh int) Affine {
	c, s := math.Cos(angle), math.Sin(angle)
	sx, sy := w/float64(dw), h/float64(dh)
	// u' = u*sx - w/2, v' = v*sy - h/2; x = cx + c*u' - s*v'; y = cy + s*u' + c*v'.
	return Affine{
		A: c * sx, B: -s * sy, C: cx - c*w/2 + s*h/2,
		D: s * sx, E: c * sy, F: cy - s*w/2 - c*h/2,
	}
}

// Letterbox describes how a source image was placed in a tensor: tensor
// position = source position × Scale + (PadX, PadY).
type Letterbox struct{ Scale, PadX, PadY float64 }

// ToSource maps a tensor position back to source image pixels.
func (l Letterbox) ToSource(u, v float64) (x, y float64) {
	return (u - l.PadX) / l.Scale, (v - l.PadY) / l.Scale
}

// Sampler writes RGB images into float32 NHWC tensors. It keeps scratch
// buffers between calls, so steady-state use allocates nothing. The zero
// value is ready to use; a Sampler is not safe for concurrent use.
type Sampler struct {
	xs0, xs1 []int32
}

// Letterbox scales src uniformly to fit a dw×dh tensor, centres it, fills the
// borders with black and writes the result to dst (length ≥ dw*dh*3, NHWC).
// Downscaling averages the covered source pixels (no aliasing on large
// photos); upscaling is bilinear.
func (s *Sampler) Letterbox(dst []float32, dw, dh int, src *RGB, n Norm) Letterbox {
	scale := math.Min(float64(dw)/float64(src.W), float64(dh)/float64(src.H))
	// The explicit conversions round the products before the subtraction so
	// no fused multiply-add (arm64) turns an exact 0 pad into -6e-16.
	padX := (float64(dw) - float64(float64(src.W)*scale)) / 2
	padY := (float64(dh) - float64(float64(src.H)*scale)) / 2
	lb := Letterbox{Scale: scale, PadX: padX, PadY: padY}
	if scale >= 1 {
		a := Affine{A: 1 / scale, C: -padX / scale, E: 1 / scale, F: -padY / scale}
		s.warp(dst, dw, dh, src, a, n, 1)
		return lb
	}
	if cap(s.xs0) < dw {
		s.xs0 = make([]int32, dw)
		s.xs1 = make([]int32, dw)
	}
	xs0, xs1 := s.xs0[:dw], s.xs1[:dw]
	for u := 0; u < dw; u++ {
		xs0[u], xs1[u] = span(float64(u), padX, scale, src.W)
	}
	black := n.Offset
	for v := 0; v < dh; v++ {
		y0, y1 := span(float64(v), padY, scale, src.H)
		row := dst[v*dw*3 : (v+1)*dw*3]
		if y0 < 0 {
			for i := range row {
				row[i] = black
			}
			continue
		}
		for u := 0; u < dw; u++ {
			x0, x1 := xs0[u], xs1[u]
			o := row[u*3 : u*3+3 : u*3+3]
			if x0 < 0 {
				o[0], o[1], o[2] = black, black, black
				continue
			}
			var r, g, b uint32
			for y := y0; y < y1; y++ {
				p := src.Pix[(int(y)*src.W+int(x0))*3 : (int(y)*src.W+int(x1))*3]
				for i := 0; i+2 < len(p); i += 3 {
					r += uint32(p[i])
					g += uint32(p[i+1])
					b += uint32(p[i+2])
				}
			}
			cnt := float32((y1 - y0) * (x1 - x0))
			k := n.Scale / cnt
			o[0] = float32(r)*k + n.Offset
			o[1] = float32(g)*k + n.Offset
			o[2] = float32(b)*k + n.Offset
		}
	}
	return lb
}

// span returns the source pixel range [i0, i1) covered by tensor pixel t, or
// (-1, -1) when the pixel centre lies in the padding.
func span(t, pad, scale float64, size int) (int32, int32) {
	c := (t + 0.5 - pad) / scale
	if c < 0 || c >= float64(size) {
		return -1, -1
	}
	f0 := (t - pad) / scale
	f1 := (t + 1 - pad) / scale
	i0 := int(math.Floor(f0 + 0.5))
	i1 := int(math.Floor(f1 + 0.5))
	if i0 < 0 {
		i0 = 0
	}
	if i1 > size {
		i1 = size
	}
	if i1 <= i0 {
		i0 = int(c)
		i1 = i0 + 1
	}
	return int32(i0), int32(i1)
}

// Warp samples src through the affine map a (tensor → source) into a dw×dh
// NHWC tensor dst. Source outside the image reads as black. Sampling is
// bilinear, as MediaPipe's crops are; only when one tensor pixel covers four
// or more source pixels across are n×n bilinear samples averaged (n =
// footprint/2, at most 4) so strongly shrunken faces do not alias.
func (s *Sampler) Warp(dst []float32, dw, dh int, src *RGB, a Affine, n Norm) {
	ss := int(a.Scale() / 2)
	if ss < 1 {
		ss = 1
	}
	if ss > 4 {
		ss = 4
	}
	s.warp(dst, dw, dh, src, a, n, ss)
}

func (s *Sampler) warp(dst []float32, dw, dh int, src *RGB, a Affine, n Norm, ss int) {
	if ss == 1 {
		warp1(dst, dw, dh, src, a, n)
		return
	}
	inv := 1 / float32(ss*ss)
	k := n.Scale * inv
	step := 1 / float64(ss)
	for v := 0; v < dh; v++ {
		for u := 0; u < dw; u++ {
			var r, g, b float32
			for j := 0; j < ss; j++ {
				tv := float64(v) + (float64(j)+0.5)*step
				for i := 0; i < ss; i++ {
					tu := float64(u) + (float64(i)+0.5)*step
					x, y := a.Apply(tu, tv)
					pr, pg, pb := bilinear(src, x-0.5, y-0.5)
					r += pr
					g += pg
					b += pb
				}
			}
			o := dst[(v*dw+u)*3 : (v*dw+u)*3+3 : (v*dw+u)*3+3]
			o[0] = r*k + n.Offset
			o[1] = g*k + n.Offset
			o[2] = b*k + n.Offset
		}
	}
}

// warp1 is Warp with one bilinear sample per tensor pixel, stepping the
// source position incrementally along each row.
func warp1(dst []float32, dw, dh int, src *RGB, a Affine, n Norm) {
	w, h := src.W, src.H
	fw, fh := float64(w-1), float64(h-1)
	pix := src.Pix
	stride := w * 3
	for v := 0; v < dh; v++ {
		// Pixel-index coordinates (centres at integers) of tensor pixel (0, v).
		x := a.A*0.5 + a.B*(float64(v)+0.5) + a.C - 0.5
		y := a.D*0.5 + a.E*(float64(v)+0.5) + a.F - 0.5
		row := dst[v*dw*3 : (v+1)*dw*3]
		for u := 0; u < dw; u, x, y = u+1, x+a.A, y+a.D {
			o := row[u*3 : u*3+3 : u*3+3]
			if x >= 0 && y >= 0 && x < fw && y < fh {
				x0, y0 := int(x), int(y)
				ax, ay := float32(x-float64(x0)), float32(y-float64(y0))
				i := y0*stride + x0*3
				p := pix[i : i+6 : i+6]
				q := pix[i+stride : i+stride+6 : i+stride+6]
				w00, w10 := (1-ax)*(1-ay), ax*(1-ay)
				w01, w11 := (1-ax)*ay, ax*ay
				o[0] = (w00*float32(p[0])+w10*float32(p[3])+w01*float32(q[0])+w11*float32(q[3]))*n.Scale + n.Offset
				o[1] = (w00*float32(p[1])+w10*float32(p[4])+w01*float32(q[1])+w11*float32(q[4]))*n.Scale + n.Offset
				o[2] = (w00*float32(p[2])+w10*float32(p[5])+w01*float32(q[2])+w11*float32(q[5]))*n.Scale + n.Offset
				continue
			}
			r, g, b := bilinear(src, x, y)
			o[0] = r*n.Scale + n.Offset
			o[1] = g*n.Scale + n.Offset
			o[2] = b*n.Scale + n.Offset
		}
	}
}

// bilinear samples src at (x, y) in pixel-index coordinates (pixel centres at
// integers); outside the image counts as black.
func bilinear(src *RGB, x, y float64) (r, g, b float32) {
	if x <= -1 || y <= -1 || x >= float64(src.W) || y >= float64(src.H) {
		return 0, 0, 0
	}
	fx, fy := math.Floor(x), math.Floor(y)
	x0, y0 := int(fx), int(fy)
	ax, ay := float32(x-fx), float32(y-fy)
	w := src.W
	if x0 >= 0 && y0 >= 0 && x0+1 < w && y0+1 < src.H {
		i := (y0*w + x0) * 3
		p := src.Pix[i : i+6]
		q := src.Pix[i+w*3 : i+w*3+6]
		w00, w10 := (1-ax)*(1-ay), ax*(1-ay)
		w01, w11 := (1-ax)*ay, ax*ay
		r = w00*float32(p[0]) + w10*float32(p[3]) + w01*float32(q[0]) + w11*float32(q[3])
		g = w00*float32(p[1]) + w10*float32(p[4]) + w01*float32(q[1]) + w11*float32(q[4])
		b = w00*float32(p[2]) + w10*float32(p[5]) + w01*float32(q[2]) + w11*float32(q[5])
		return r, g, b
	}
	for dy := 0; dy < 2; dy++ {
		for dx := 0; dx < 2; dx++ {
			wt := ax
			if dx == 0 {
				wt = 1 - ax
			}
			if dy == 0 {
				wt *= 1 - ay
			} else {
				wt *= ay
			}
			pr, pg, pb := src.At(x0+dx, y0+dy)
			r += wt * float32(pr)
			g += wt * float32(pg)
			b += wt * float32(pb)
		}
	}
	return r, g, b
}
