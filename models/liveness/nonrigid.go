package liveness

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Non-rigid evidence: a face deforms (blinks, speaks, moves its lips) in
// ways no picture can, however it is moved. Each frame's mesh is mapped onto
// the session's reference frame by the homography of its rigid points (eye
// corners, nose): a flat picture moved in any way maps exactly, so what
// remains of the lids and lips is the landmark noise. Openings are then
// measured in the reference frame, in IOD units.
const (
	// A blink: the rectified lid gap falls by blinkDip of its session
	// median and comes back within blinkMaxDur.
	blinkDip    = 0.25
	blinkMaxDur = 900 * time.Millisecond
	// A dip or a lip movement must also stand out of the landmark noise by
	// this factor: the median RMS residual of the rigid points after their
	// homography between consecutive frames (a picture's whole mesh maps
	// exactly, up to that noise; a head turns too little in 40 ms to add
	// parallax).
	deformNoiseK = 4.0
	// mouthMove is the smallest spread (5th to 95th percentile, IOD) of the
	// rectified lip gap or mouth width that counts as the mouth moving.
	mouthMove = 0.06
	// mouthWidthK: the mouth's width alone must spread this many times
	// more than the lip gap to count. A turning head's mouth corners, on
	// a curved face the eyes-and-nose homography does not rectify, and a
	// picture's reread by the landmark model spread as far (tuning seeds
	// 2 and 3: screen replays and prints to 0.097 IOD, a print on a stand
	// accepted on 0.063 alone), while an opening mouth is specific.
	mouthWidthK = 2.0
	// minDeformFrames is the fewest one-face frames the layer judges.
	minDeformFrames = 10
)

// Positions in motionPoints (and so in frameRec.pts).
var (
	// rigidPos are points that keep their place on a face whatever its
	// expression: eye corners and the nose.
	rigidPos = []int{0, 1, 2, 3, 14, 15, 16, 17, 18, 19}
	// lidPos are the upper and lower lid of each eye.
	lidPos = [2][2]int{{4, 5}, {6, 7}}
	// lipGapPos are the inner lips; mouthCornerPos the mouth corners.
	lipGapPos      = [2]int{24, 25}
	mouthCornerPos = [2]int{20, 21}
)

// deformSeries are the rectified openings of one session, one value per
// one-face frame.
type deformSeries struct {
	t            []time.Duration
	eye, gap, mw []float64
	// rigid is the RMS residual of the rigid points between consecutive
	// frames (IOD), per pair.
	rigid []float64
}

// rectify maps every frame's lids and lips onto the reference frame (the
// first one-face frame) through the homography of the rigid points.
func rectify(g []*frameRec) deformSeries {
	var s deformSeries
	if len(g) == 0 {
		return s
	}
	ref := g[0]
	refRigid := pick(ref.pts, rigidPos)
	iod := ref.iod
	for k, r := range g {
		rigid := pick(r.pts, rigidPos)
		h, _, ok := fit(rigid, refRigid, true)
		if !ok || iod <= 0 {
			continue
		}
		if k > 0 && g[k-1].idx+1 == r.idx {
			if _, res, ok := fit(pick(g[k-1].pts, rigidPos), rigid, true); ok {
				s.rigid = append(s.rigid, trimmedRMS(res, 0)/r.iod)
			}
		}
		q := func(i int) pt2 { return h(r.pts[i]) }
		d := func(a, b int) float64 {
			pa, pb := q(a), q(b)
			return math.Hypot(pa[0]-pb[0], pa[1]-pb[1]) / iod
		}
		s.t = append(s.t, r.t)
		s.eye = append(s.eye, (d(lidPos[0][0], lidPos[0][1])+d(lidPos[1][0], lidPos[1][1]))/2)
		s.gap = append(s.gap, d(lipGapPos[0], lipGapPos[1]))
		s.mw = append(s.mw, d(mouthCornerPos[0], mouthCornerPos[1]))
	}
	return s
}

func pick(pts []pt2, pos []int) []pt2 {
	out := make([]pt2, len(pos))
	for i, k := range pos {
		out[i] = pts[k]
	}
	return out
}

// spread is the distance between the 5th and the 95th percentile.
func spread(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	lo := c[int(0.05*float64(len(c)-1))]
	hi := c[int(math.Ceil(0.95*float64(len(c)-1)))]
	return hi - lo
}

// countBlinks counts dips of the rectified lid gap below (1−blinkDip) of its
// median that stand out of its noise and recover within blinkMaxDur.
func countBlinks(t []time.Duration, eye []float64, noise float64) int {
	if len(eye) < 3 {
		return 0
	}
	m := median(eye)
	low := m * (1 - blinkDip)
	if n := m - deformNoiseK*noise; n < low {
		low = n
	}
	back := m * (1 - blinkDip/2)
	blinks := 0
	for i := 1; i < len(eye); i++ {
		if eye[i] >= low || eye[i-1] < low {
			continue
		}
		// A dip starts at i: where does it end?
		j := i
		for j < len(eye) && eye[j] < back {
			j++
		}
		if j < len(eye) && t[j]-t[i] <= blinkMaxDur {
			blinks++
		}
		i = j
	}
	return blinks
}

// nonRigidLayer looks for deformation a flat or replayed-as-a-plane face
// cannot make: blinks and lip movement, measured after the rigid motion is
// taken out.
func nonRigidLayer(recs []frameRec) LayerScore {
	l := LayerScore{Name: LayerNonRigid, Measures: map[string]float64{}}
	g := good(recs)
	if len(g) < minDeformFrames {
		l.Score, l.Detail = 0, fmt.Sprintf("%d one-face frames (need %d)", len(g), minDeformFrames)
		l.Reasons = []string{ReasonNoNonRigidMotion}
		return l
	}
	s := rectify(g)
	noise := median(s.rigid)
	blinks := countBlinks(s.t, s.eye, noise)
	// The lips' spread is read on a running median over five frames: a
	// landmark model rereading a moving picture jitters the lips from one
	// frame to the next, a mouth that moves keeps moving for longer.
	sg, sw := spread(runningMedian(s.gap, 2)), spread(runningMedian(s.mw, 2))
	l.Measures["blinks"] = float64(blinks)
	l.Measures["eye_median"] = median(s.eye)
	l.Measures["rigid_noise"] = noise
	l.Measures["lip_gap_spread"] = sg
	l.Measures["mouth_width_spread"] = sw
	minMove := math.Max(mouthMove, deformNoiseK*noise)
	mouth := sg >= minMove || sw >= mouthWidthK*minMove
	l.Measures["mouth_moved"] = b2f(mouth)
	switch {
	case blinks > 0 && mouth:
		l.Score, l.Passed = 1, true
		l.Detail = fmt.Sprintf("%d blink(s) and lip movement (gap spread %.3f, width spread %.3f IOD) beyond any rigid motion", blinks, sg, sw)
	case blinks > 0:
		l.Score, l.Passed = 1, true
		l.Detail = fmt.Sprintf("%d blink(s) beyond any rigid motion", blinks)
	case mouth:
		l.Score, l.Passed = 0.9, true
		l.Detail = fmt.Sprintf("lip movement beyond any rigid motion (gap spread %.3f, width spread %.3f IOD)", sg, sw)
	default:
		l.Score = 0.3
		l.Detail = fmt.Sprintf("no blink and no lip movement beyond landmark noise (rigid residual %.4f, lip gap spread %.3f, width spread %.3f IOD)", noise, sg, sw)
		l.Reasons = []string{ReasonNoNonRigidMotion}
	}
	return l
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// liveEvidence lets a head's parallax stand in for non-rigid evidence: a
// turning head that neither blinks nor moves its lips still shows what no
// plane can. Without either, the session cannot pass (a picture held still
// in front of a still room shows neither).
func liveEvidence(nr, motion LayerScore) LayerScore {
	if nr.Passed || !motion.Passed {
		return nr
	}
	r, ok := motion.Measures["parallax_ratio"]
	if !ok || r < liveRatio || motion.Measures["informative_pairs"] < minPairs {
		return nr
	}
	nr.Passed, nr.Score, nr.Reasons = true, math.Max(nr.Score, 0.8), nil
	nr.Detail += fmt.Sprintf("; the head's parallax (ratio %.2f) stands in for it", r)
	return nr
}

// stillWithDeformation clears a motion layer that only lacked 3-D motion to
// judge (a still user with a hand-held camera, or in front of a plain wall:
// no parallax and no background to compare with) when the face blinked or
// moved its lips: no flat picture does that. A decisive motion failure (a
// plane, a picture carried with its background, a face that does not move
// at all) stays.
func stillWithDeformation(motion, nr LayerScore) LayerScore {
	if motion.Passed || motion.hard || !nr.Passed {
		return motion
	}
	if len(motion.Reasons) != 1 || motion.Reasons[0] != ReasonInsufficientMotion {
		return motion
	}
	motion.Passed, motion.Score, motion.Reasons = true, stillScore, nil
	motion.Detail += "; a still face that deforms as only a live one does (" + nr.Detail + ")"
	return motion
}

// runningMedian is the median of each value and its r neighbours on each
// side.
func runningMedian(v []float64, r int) []float64 {
	out := make([]float64, len(v))
	for i := range v {
		out[i] = median(v[max(i-r, 0):min(i+r+1, len(v))])
	}
	return out
}
