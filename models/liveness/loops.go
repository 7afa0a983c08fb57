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
	// one turn (reversed) that counts as a loop. A live face crosses its
	// earlier path; it does not run along it.
	loopMinRun = 12
	// loopMotionK: a matching stretch must move, on average, this multiple
	// of the noise distance per frame (and at least loopMinMotion IOD):
	// a still face matches itself everywhere.
	loopMotionK   = 1.5
	loopMinMotion = 0.003
	// loopMinShift is the smallest offset (frames) between a frame and the
	// one it matches.
	loopMinShift = 4
)

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
// the stretch moving. It returns the stretch's length in frames and
// whether it is reversed.
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
		noise := 2 * math.Max(meshNoise(s, iod), 2e-4)
		tol := loopMatchK * noise
		minMot := math.Max(loopMinMotion, loopMotionK*noise)
		step := make([]float64, n)
		for i := 1; i < n; i++ {
			step[i] = meshDist(s[i-1], s[i], iod)
		}
		// longest scans one diagonal: pairs (i, pair(i)) for i in [lo, hi).
		longest := func(lo, hi int, pair func(int) int) int {
			best, cur := 0, 0
			var mot float64
			for i := lo; i < hi; i++ {
				if meshDist(s[i], s[pair(i)], iod) >= tol {
					cur, mot = 0, 0
					continue
				}
				cur++
				if cur > 1 {
					mot += step[i]
				}
				if cur > best && cur >= 2 && mot/float64(cur-1) >= minMot {
					best = cur
				}
			}
			return best
		}
		for d := loopMinShift; d < n; d++ {
			if l := longest(d, n, func(i int) int { return i - d }); l > run {
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
			if l := longest(lo, hi, func(i int) int { return c - i }); l > run {
				run, reversed = l, true
			}
		}
	}
	return run, reversed
}
