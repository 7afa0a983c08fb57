package liveness

import "math"

// Loops on landmark trajectories. A clip injected in a loop, forward or
// back and forth, replays the same landmark positions in the same or the
// reverse order; noise added to each frame, re-encoding or cross-fading
// change its pixels but not where the face is. A live face that comes back
// to a pose never retraces its whole mesh, frame by frame, for long.
const (
	// loopMatchK: two frames' meshes match when their distance is below
	// loopMatchK times what landmark noise alone gives between two views of
	// one face (2σ: the meshDist of two noisy copies).
	loopMatchK = 1.6
	// loopMinRun is the length (frames) of a stretch whose every frame
	// matches an earlier frame at one offset (forward) or mirrored about
	// one turning point (reversed) that counts as a loop. A live face
	// crosses its earlier path; it does not run along it.
	loopMinRun = 12
	// A still face matches itself at every offset, so a stretch counts only
	// when it moves — on average loopMotionK noise distances per frame (and
	// at least loopMinMotion IOD) — or when it matches at its offset much
	// better than at the offsets loopNeighbour frames either side (mean
	// distance ratio at most loopSpecific): a still loop's blinks come back
	// where they were.
	loopMotionK   = 1.5
	loopMinMotion = 0.003
	loopSpecific  = 0.5
	loopNeighbour = 3
	// loopMinShift is the smallest offset (frames) between a frame and the
	// one it matches.
	loopMinShift = 4
)

// shapes returns copies of the frames whose landmarks are centred and
// scaled to the stretch's mean size: the mesh's shape (pose and
// expression), without where the face sits in the frame or how large. A
// loop whose frames were shifted or zoomed a little each (jitter, a slow
// drift) still retraces its shapes; hand shake does not blur them.
func shapes(s []*frameRec) []*frameRec {
	out := make([]*frameRec, len(s))
	size := make([]float64, len(s))
	var mean float64
	for i, r := range s {
		c := r.centre()
		var rad float64
		for _, p := range r.pts {
			rad += math.Hypot(p[0]-c[0], p[1]-c[1])
		}
		size[i] = rad / float64(len(r.pts))
		mean += size[i] / float64(len(s))
	}
	for i, r := range s {
		cp := *r
		c := r.centre()
		k := mean / math.Max(size[i], 1e-9)
		cp.pts = make([]pt2, len(r.pts))
		for j, p := range r.pts {
			cp.pts[j] = pt2{(p[0] - c[0]) * k, (p[1] - c[1]) * k}
		}
		out[i] = &cp
	}
	return out
}

// meshDist is the RMS distance between two frames' kept landmarks over the
// IOD.
func meshDist(a, b *frameRec, iod float64) float64 {
	var s float64
	for i := range a.pts {
		dx, dy := a.pts[i][0]-b.pts[i][0], a.pts[i][1]-b.pts[i][1]
		s += dx*dx + dy*dy
	}
	return math.Sqrt(s/float64(len(a.pts))) / iod
}

// meshNoise is the landmark noise σ (IOD units, per coordinate) of a
// stretch of consecutive frames: the median RMS second difference of the
// landmarks over √6. A head moves smoothly at camera rates, so its second
// differences are mostly noise. Triples with a repeated frame (webcams
// repeat frames in low light) are left out.
func meshNoise(s []*frameRec, iod float64) float64 {
	var v []float64
	for i := 2; i < len(s); i++ {
		if s[i].hash == s[i-1].hash || s[i-1].hash == s[i-2].hash {
			continue
		}
		var acc float64
		for k := range s[i].pts {
			for c := 0; c < 2; c++ {
				d := s[i].pts[k][c] - 2*s[i-1].pts[k][c] + s[i-2].pts[k][c]
				acc += d * d
			}
		}
		if acc == 0 {
			continue
		}
		v = append(v, math.Sqrt(acc/float64(2*len(s[i].pts))))
	}
	if len(v) == 0 {
		return 0
	}
	return median(v) / math.Sqrt(6) / iod
}

// trajectoryLoop finds the longest stretch of consecutive one-face frames
// that runs along an earlier stretch of the same session: every frame's
// mesh within loopMatchK noise distances of the frame at one fixed offset
// before it (forward), or mirrored about one turning point (reversed), and
// matching there much better than at the offsets beside it. It returns the
// stretch's length in frames and whether it is reversed.
func trajectoryLoop(g []*frameRec) (run int, reversed bool) {
	// Split into stretches of consecutive frames (no frame lost between).
	var runs [][]*frameRec
	for i, r := range g {
		if i == 0 || r.idx != g[i-1].idx+1 {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], r)
	}
	for _, s := range runs {
		n := len(s)
		if n < loopMinRun+loopMinShift {
			continue
		}
		var iod float64
		for _, r := range s {
			iod += r.iod
		}
		iod /= float64(n)
		if iod <= 0 {
			continue
		}
		s = shapes(s)
		noise := 2 * math.Max(meshNoise(s, iod), 2e-4)
		tol := loopMatchK * noise
		minMot := math.Max(loopMinMotion, loopMotionK*noise)
		dist := func(i, j int) (float64, bool) {
			if j < 0 || j >= n || j == i {
				return 0, false
			}
			return meshDist(s[i], s[j], iod), true
		}
		// longest scans one diagonal, frames i in [lo, hi) against
		// pair(i, 0), and returns its longest matching stretch that is
		// specific: it matches much worse at pair(i, ±loopNeighbour).
		longest := func(lo, hi int, pair func(i, k int) int) int {
			best := 0
			// window reports whether the loopMinRun frames from w move or
			// match specifically.
			window := func(w int) bool {
				var on, off, mot float64
				var nOn, nOff int
				for i := w; i < w+loopMinRun; i++ {
					if i > w {
						mot += meshDist(s[i-1], s[i], iod)
					}
					if d, ok := dist(i, pair(i, 0)); ok {
						on += d
						nOn++
					}
					for _, k := range []int{-loopNeighbour, loopNeighbour} {
						if d, ok := dist(i, pair(i, k)); ok {
							off += d
							nOff++
						}
					}
				}
				moving := mot/float64(loopMinRun-1) >= minMot
				specific := nOn > 0 && nOff > 0 && on/float64(nOn) <= loopSpecific*off/float64(nOff)
				return moving || specific
			}
			// judge keeps a matching stretch [from, to) when some window
			// of it moves or matches specifically.
			judge := func(from, to int) {
				if to-from < loopMinRun || to-from <= best {
					return
				}
				for w := from; w+loopMinRun <= to; w++ {
					if window(w) {
						best = to - from
						return
					}
				}
			}
			from := lo
			for i := lo; i < hi; i++ {
				if d, _ := dist(i, pair(i, 0)); d >= tol {
					judge(from, i)
					from = i + 1
				}
			}
			judge(from, hi)
			return best
		}
		for d := loopMinShift; d < n; d++ {
			if l := longest(d, n, func(i, k int) int { return i - d + k }); l > run {
				run, reversed = l, false
			}
		}
		// Reversed about c/2: frame i against frame c−i, i > c−i.
		for c := 1; c < 2*n-2; c++ {
			lo := c/2 + 1
			for lo-(c-lo) < loopMinShift {
				lo++
			}
			hi := min(n, c+1)
			if lo >= hi {
				continue
			}
			if l := longest(lo, hi, func(i, k int) int { return c - i + k }); l > run {
				run, reversed = l, true
			}
		}
	}
	return run, reversed
}
