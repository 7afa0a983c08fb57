package liveness

import (
	"math"

	"livegate.dev/models/imgproc"
)

// greyCrop is a grey copy of the region around the face at a scale shared
// by the whole session, so image points can be tracked between frames.
type greyCrop struct {
	x0, y0 float64 // source position of crop pixel (0, 0)'s corner
	scale  float64 // source pixels per crop pixel
	w, h   int
	pix    []uint8
}

// maxCropSide bounds the crop's side in crop pixels (a crop is at most
// (maxCropSide+40)² bytes a frame).
const maxCropSide = 128

// cropScale picks the session's crop scale from the first face box.
func cropScale(boxW float32) float64 {
	return math.Max(1, math.Ceil(float64(boxW)*1.6/maxCropSide))
}

// makeCrop copies the region of 1.6× the face box around its centre at the
// given scale (area average of scale×scale source pixels).
func makeCrop(img *imgproc.RGB, box [4]float32, scale float64) *greyCrop {
	side := float64(max(box[2], box[3])) * 1.6
	n := min(int(side/scale), maxCropSide+40)
	cx, cy := float64(box[0]+box[2]/2), float64(box[1]+box[3]/2)
	c := &greyCrop{scale: scale, w: n, h: n, pix: make([]uint8, n*n)}
	c.x0 = math.Floor(cx - float64(n)*scale/2)
	c.y0 = math.Floor(cy - float64(n)*scale/2)
	k := int(scale)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			var s float32
			cnt := 0
			for dy := 0; dy < k; dy++ {
				sy := int(c.y0) + y*k + dy
				if sy < 0 || sy >= img.H {
					continue
				}
				for dx := 0; dx < k; dx++ {
					sx := int(c.x0) + x*k + dx
					if sx < 0 || sx >= img.W {
						continue
					}
					i := (sy*img.W + sx) * 3
					s += 0.299*float32(img.Pix[i]) + 0.587*float32(img.Pix[i+1]) + 0.114*float32(img.Pix[i+2])
					cnt++
				}
			}
			if cnt > 0 {
				s /= float32(cnt)
			}
			c.pix[y*n+x] = uint8(min(s+0.5, 255))
		}
	}
	return c
}

// toCrop and toSource convert between source and crop pixel positions.
func (c *greyCrop) toCrop(p pt2) pt2   { return pt2{(p[0] - c.x0) / c.scale, (p[1] - c.y0) / c.scale} }
func (c *greyCrop) toSource(p pt2) pt2 { return pt2{p[0]*c.scale + c.x0, p[1]*c.scale + c.y0} }

// at samples the crop bilinearly at a crop position (pixel centres at +0.5).
func (c *greyCrop) at(x, y float64) (float64, bool) {
	x -= 0.5
	y -= 0.5
	if x < 0 || y < 0 || x >= float64(c.w-1) || y >= float64(c.h-1) {
		return 0, false
	}
	x0, y0 := int(x), int(y)
	fx, fy := x-float64(x0), y-float64(y0)
	i := y0*c.w + x0
	p := c.pix
	return (float64(p[i])*(1-fx)+float64(p[i+1])*fx)*(1-fy) + (float64(p[i+c.w])*(1-fx)+float64(p[i+c.w+1])*fx)*fy, true
}

// lkRadius is the half-side of the tracked window in crop pixels.
const lkRadius = 6

// track refines the position guess (source pixels) in frame b of the point
// p (source pixels) of frame a by Lucas–Kanade on mean-removed windows (so a
// change of light does not move the point). ok is false when the window
// leaves a crop, has no texture or does not converge.
func track(a, b *greyCrop, p, guess pt2) (pt2, bool) {
	pa := a.toCrop(p)
	q := b.toCrop(guess)
	const n = (2*lkRadius + 1) * (2*lkRadius + 1)
	var tpl [n]float64
	var tm float64
	k := 0
	for dy := -lkRadius; dy <= lkRadius; dy++ {
		for dx := -lkRadius; dx <= lkRadius; dx++ {
			v, ok := a.at(pa[0]+float64(dx), pa[1]+float64(dy))
			if !ok {
				return pt2{}, false
			}
			tpl[k] = v
			tm += v
			k++
		}
	}
	tm /= n
	for it := 0; it < 8; it++ {
		var gxx, gxy, gyy, bx, by, im float64
		var vals, gxs, gys [n]float64
		k = 0
		for dy := -lkRadius; dy <= lkRadius; dy++ {
			for dx := -lkRadius; dx <= lkRadius; dx++ {
				x, y := q[0]+float64(dx), q[1]+float64(dy)
				v, ok1 := b.at(x, y)
				l, ok2 := b.at(x-1, y)
				r, ok3 := b.at(x+1, y)
				u, ok4 := b.at(x, y-1)
				d, ok5 := b.at(x, y+1)
				if !(ok1 && ok2 && ok3 && ok4 && ok5) {
					return pt2{}, false
				}
				vals[k], gxs[k], gys[k] = v, (r-l)/2, (d-u)/2
				im += v
				k++
			}
		}
		im /= n
		for k := 0; k < n; k++ {
			e := (vals[k] - im) - (tpl[k] - tm)
			gx, gy := gxs[k], gys[k]
			gxx += gx * gx
			gxy += gx * gy
			gyy += gy * gy
			bx += gx * e
			by += gy * e
		}
		det := gxx*gyy - gxy*gxy
		// Too little texture in one direction (an edge or a flat patch).
		if det < 1e-3*(gxx+gyy)*(gxx+gyy) || gxx+gyy < n*4 {
			return pt2{}, false
		}
		ux := -(gyy*bx - gxy*by) / det
		uy := -(-gxy*bx + gxx*by) / det
		q[0] += ux
		q[1] += uy
		if ux*ux+uy*uy < 1e-4 {
			break
		}
		if math.Hypot(q[0]-b.toCrop(guess)[0], q[1]-b.toCrop(guess)[1]) > 3*lkRadius {
			return pt2{}, false
		}
	}
	return b.toSource(q), true
}
