package liveness

import (
	"math"
	"sort"

	"livegate.dev/models/imgproc"
)

// The scene around the face. A live user sits in front of a camera that
// does not move (a kiosk, a laptop's webcam): the background beside and
// above the head stays where it is while the face moves, however little.
// A print or a screen held in front of the camera carries its own
// "background" (the rest of the photo or of the replayed video) and moves
// it together with the face: its motion is the instrument's, a plane's. So
// each frame's background points beside and above the face are tracked
// from the previous frame, and the face's own image points too; the motion
// layer compares the two trajectories (motionLayer, surroundMotion).

const (
	// surMaxSide bounds the longer side of the grey frame kept for tracking
	// (a 320×240 frame is tracked at half resolution).
	surMaxSide = 240
	// surStep is the spacing of candidate points (grey-frame pixels).
	surStep = 5
	// surPoints and facePoints are the most textured candidates tracked.
	surPoints  = 32
	facePoints = 16
	// surMinPoints is the fewest tracked background points that give a
	// frame's background motion.
	surMinPoints = 6
)

// surroundTracker keeps the previous frame's grey copy.
type surroundTracker struct {
	scale   float64
	prev    *greyCrop
	spare   *greyCrop
	prevIdx int
	prevBox [4]float32
	prevCtr pt2
}

// greyFrame fills c with the whole frame in grey at the tracker's scale.
func (s *surroundTracker) greyFrame(img *imgproc.RGB) *greyCrop {
	if s.scale == 0 {
		s.scale = math.Max(1, math.Ceil(float64(max(img.W, img.H))/surMaxSide))
	}
	k := int(s.scale)
	w, h := img.W/k, img.H/k
	c := s.spare
	if c == nil || c.w != w || c.h != h {
		c = &greyCrop{scale: s.scale, w: w, h: h, pix: make([]uint8, w*h)}
	}
	s.spare = nil
	inv := 1 / float32(k*k)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var sum float32
			for dy := 0; dy < k; dy++ {
				i := ((y*k+dy)*img.W + x*k) * 3
				for dx := 0; dx < k; dx++ {
					sum += 0.299*float32(img.Pix[i]) + 0.587*float32(img.Pix[i+1]) + 0.114*float32(img.Pix[i+2])
					i += 3
				}
			}
			c.pix[y*w+x] = uint8(min(sum*inv+0.5, 255))
		}
	}
	return c
}

// cornerness is the smaller eigenvalue of the structure tensor of the
// (2·lkRadius+1)² window at grey pixel (x, y), sampled every 2nd pixel:
// how well a point there can be tracked in both directions.
func cornerness(c *greyCrop, x, y int) float64 {
	var gxx, gxy, gyy float64
	for dy := -lkRadius; dy <= lkRadius; dy += 2 {
		for dx := -lkRadius; dx <= lkRadius; dx += 2 {
			px, py := x+dx, y+dy
			if px < 1 || py < 1 || px >= c.w-1 || py >= c.h-1 {
				return 0
			}
			i := py*c.w + px
			gx := (float64(c.pix[i+1]) - float64(c.pix[i-1])) / 2
			gy := (float64(c.pix[i+c.w]) - float64(c.pix[i-c.w])) / 2
			gxx += gx * gx
			gxy += gx * gy
			gyy += gy * gy
		}
	}
	t, d := gxx+gyy, gxx*gyy-gxy*gxy
	return t/2 - math.Sqrt(math.Max(t*t/4-d, 0))
}

// minCorner is the least cornerness of a tracked point: sensor noise alone
// gives a few units.
const minCorner = 20

// pickPoints returns up to n of the most textured grid points (source
// pixels) of c for which keep is true.
func pickPoints(c *greyCrop, n int, keep func(p pt2) bool) []pt2 {
	type cand struct {
		p pt2
		v float64
	}
	var cs []cand
	m := lkRadius + 2
	for y := m; y < c.h-m; y += surStep {
		for x := m; x < c.w-m; x += surStep {
			p := c.toSource(pt2{float64(x) + 0.5, float64(y) + 0.5})
			if !keep(p) {
				continue
			}
			if v := cornerness(c, x, y); v >= minCorner {
				cs = append(cs, cand{p, v})
			}
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].v > cs[j].v })
	out := make([]pt2, 0, n)
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.p)
	}
	return out
}

// inFaceZone says a source point belongs to the person rather than the
// background: the columns from half a face width left of the face box to
// half a width right of it, and everything below the chin (neck,
// shoulders, body), which move with a live head.
func inFaceZone(p pt2, box [4]float32) bool {
	bx, by, bw, bh := float64(box[0]), float64(box[1]), float64(box[2]), float64(box[3])
	return (p[0] >= bx-0.5*bw && p[0] <= bx+1.5*bw) || p[1] >= by+bh
}

// medianShift is the component-wise median displacement of tracked pairs.
func medianShift(d []pt2) pt2 {
	xs := make([]float64, len(d))
	ys := make([]float64, len(d))
	for i, v := range d {
		xs[i], ys[i] = v[0], v[1]
	}
	return pt2{median(xs), median(ys)}
}

// step tracks the background and the face from the previous frame into
// this one and records both displacements in r (source pixels). The
// previous frame must be the one just before (consecutive indices) with a
// face; otherwise it only keeps this frame.
func (s *surroundTracker) step(r *frameRec, img *imgproc.RGB) {
	cur := s.greyFrame(img)
	if s.prev != nil && s.prevIdx == r.idx-1 {
		prev, box := s.prev, s.prevBox
		bg := pickPoints(prev, surPoints, func(p pt2) bool { return !inFaceZone(p, box) })
		var d []pt2
		for _, p := range bg {
			if q, ok := track(prev, cur, p, p); ok {
				d = append(d, pt2{q[0] - p[0], q[1] - p[1]})
			}
		}
		// The face: image points in the inner face box, each started where
		// the landmarks moved.
		lm := r.centre()
		guess := pt2{lm[0] - s.prevCtr[0], lm[1] - s.prevCtr[1]}
		bx, by, bw, bh := float64(box[0]), float64(box[1]), float64(box[2]), float64(box[3])
		fp := pickPoints(prev, facePoints, func(p pt2) bool {
			return p[0] >= bx+0.15*bw && p[0] <= bx+0.85*bw && p[1] >= by+0.15*bh && p[1] <= by+0.9*bh
		})
		var fd []pt2
		for _, p := range fp {
			if q, ok := track(prev, cur, p, pt2{p[0] + guess[0], p[1] + guess[1]}); ok {
				fd = append(fd, pt2{q[0] - p[0], q[1] - p[1]})
			}
		}
		if len(d) >= surMinPoints && len(fd) >= 4 {
			r.sur, r.faceD, r.surN, r.hasSur = medianShift(d), medianShift(fd), len(d), true
		}
	}
	s.spare, s.prev = s.prev, cur
	s.prevIdx, s.prevBox, s.prevCtr = r.idx, r.box, r.centre()
}

// surroundEvidence compares the background's motion with the face's.
type surroundEvidence struct {
	// Frames is the number of consecutive pairs with both motions.
	Frames int
	// Surround, Face and Relative are RMS displacements over surLag frames
	// in IOD units: of the background, of the face, and of the face
	// relative to the background.
	Surround, Face, Relative float64
	// Co is the correlation of the face's and the background's
	// displacements (1: they move together, as on a held picture).
	Co float64
}

// surLag is the span (frames) over which displacements are compared: hand
// shake and sway build up over it, tracking noise averages out.
const surLag = 5

// surroundMotion builds the background and face trajectories from the
// consecutive displacements and compares them.
func surroundMotion(g []*frameRec) (surroundEvidence, bool) {
	var S, F []pt2
	var iod float64
	var sp, fp pt2
	for _, r := range g {
		if !r.hasSur {
			continue
		}
		sp = pt2{sp[0] + r.sur[0], sp[1] + r.sur[1]}
		fp = pt2{fp[0] + r.faceD[0], fp[1] + r.faceD[1]}
		S = append(S, sp)
		F = append(F, fp)
		iod += r.iod
	}
	ev := surroundEvidence{Frames: len(S)}
	if len(S) < 3*surLag || iod <= 0 {
		return ev, false
	}
	iod /= float64(len(S))
	var ss, ff, rr, sf float64
	n := 0
	for t := 0; t+surLag < len(S); t++ {
		ds := pt2{S[t+surLag][0] - S[t][0], S[t+surLag][1] - S[t][1]}
		df := pt2{F[t+surLag][0] - F[t][0], F[t+surLag][1] - F[t][1]}
		ss += ds[0]*ds[0] + ds[1]*ds[1]
		ff += df[0]*df[0] + df[1]*df[1]
		rr += (df[0]-ds[0])*(df[0]-ds[0]) + (df[1]-ds[1])*(df[1]-ds[1])
		sf += ds[0]*df[0] + ds[1]*df[1]
		n++
	}
	ev.Surround = math.Sqrt(ss/float64(n)) / iod
	ev.Face = math.Sqrt(ff/float64(n)) / iod
	ev.Relative = math.Sqrt(rr/float64(n)) / iod
	if ss > 0 && ff > 0 {
		ev.Co = sf / math.Sqrt(ss*ff)
	}
	return ev, true
}
