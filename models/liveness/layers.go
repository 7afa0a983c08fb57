package liveness

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Layer thresholds (calibrated on real clips against made attacks:
// docs/liveness.md and calibrate_test.go).
const (
	// Motion: pairs of frames 300 ms–1 s apart; a pair informs when its
	// non-similarity motion is at least minNonSim (IOD units). The parallax
	// ratio (homography residual over non-similarity residual) of a plane
	// stays near planarRatio; a head's stays above liveRatio.
	pairMinGap   = 300 * time.Millisecond
	pairMaxGap   = time.Second
	minNonSim    = 0.012
	minPairs     = 3
	motionStride = 2 // judge every 2nd frame against its pair (cost)
	planarRatio  = 0.35
	liveRatio    = 0.55
	staticDrift  = 0.004 // smoothed landmark drift (IOD) below which the face is a still

	// Background against face (surround.go), RMS displacements over surLag
	// frames in IOD units. A fixed camera's background moved at most 0.001
	// on the real clips (0.005 with the light layer's tint on the face); a
	// held print or screen moved it 0.03–0.16, mostly together with the
	// face (docs/liveness.md).
	surMove      = 0.015 // the background moves … (real windows: ≤ 0.0093; held instruments: ≥ 0.029)
	surCo        = 0.2   // … correlated with the face (a replayed head moving on a moving screen: 0.3–0.9) …
	surShare     = 0.3   // … by at least this share of the face's motion: carried on one instrument
	surMoveAny   = 0.025 // the background moves this much, with the face or not: no pass
	surStatic    = 0.005
	surOwn       = 0.0025 // a still user's own motion against a static background (a static picture with camera noise: ≤ 0.0012)
	stillScore   = 0.7    // motion score of a still user (no parallax to judge, no sign of a picture)
	minDriftSpan = 1500 * time.Millisecond

	// Injection.
	repeatMAD     = 0.35 // grey levels: consecutive face thumbnails this close are repeats
	repeatShare   = 0.8  // share of repeated consecutive pairs that is decisive
	repeatWarn    = 0.6  // webcams repeat frames in low light (cap12: 27 %)
	minInterval   = 4 * time.Millisecond
	maxInterval   = 2 * time.Second
	perfectCV     = 0.002 // interval coefficient of variation of a synthetic clock
	jumpIOD       = 0.6   // face centre jump between consecutive frames < 100 ms apart
	jumpMaxGap    = 100 * time.Millisecond
	loopMinFrames = 3

	// Anti-spoof texture.
	moireLive  = 2.6
	moireSpoof = 4.0

	// Identity: score scale above the threshold.
	identitySpan = 0.3
)

func good(recs []frameRec) []*frameRec {
	out := make([]*frameRec, 0, len(recs))
	for i := range recs {
		if recs[i].ok {
			out = append(out, &recs[i])
		}
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// challengeLayer scores the active challenges.
func challengeLayer(c *challengeTracker, sawFace bool) LayerScore {
	n := len(c.seq)
	done := len(c.doneAt)
	l := LayerScore{Name: LayerChallenges, Measures: map[string]float64{"completed": float64(done), "count": float64(n)}}
	if n == 0 {
		l.Score, l.Passed, l.Detail = 1, true, "no challenges"
		return l
	}
	l.Score = float64(done) / float64(n)
	l.Passed = done == n
	switch {
	case l.Passed:
		l.Detail = fmt.Sprintf("%d of %d challenges completed in order", done, n)
	case !sawFace:
		l.Detail = "no face seen"
		l.Reasons, l.hard = []string{ReasonFaceNotDetected}, true
	default:
		l.Detail = fmt.Sprintf("%d of %d challenges completed; %s not done within its window", done, n, c.seq[done])
		l.Reasons, l.hard = []string{ReasonChallengeTimeout}, true
	}
	return l
}

// antiSpoofLayer scores texture evidence of screens and prints.
func antiSpoofLayer(recs []frameRec) LayerScore {
	l := LayerScore{Name: LayerAntiSpoof, Measures: map[string]float64{}}
	var moire, hf []float64
	for i := range recs {
		r := &recs[i]
		if r.hasTx {
			moire = append(moire, r.tex.Moire)
			hf = append(hf, r.tex.HF)
		}
	}
	if len(moire) == 0 {
		l.Score, l.Passed, l.Detail = 0.5, false, "no face patch to analyse"
		l.Reasons = []string{ReasonLowQuality}
		return l
	}
	m := median(moire)
	l.Measures["moire"] = m
	l.Measures["hf"] = median(hf)
	l.Measures["frames"] = float64(len(moire))
	l.Score = 1 - clamp01((m-moireLive)/(moireSpoof-moireLive))
	l.Passed = m < moireSpoof
	l.Detail = fmt.Sprintf("spectral peak %.2f (screen ≥ %.1f), high-frequency share %.3f over %d patches", m, moireSpoof, l.Measures["hf"], len(moire))
	if !l.Passed {
		l.Reasons, l.hard = []string{ReasonSpoofSuspected}, true
	}
	return l
}

// injectionLayer scores the stream's own integrity.
func injectionLayer(recs []frameRec, tsErrors, badFrames int, strict bool) LayerScore {
	l := LayerScore{Name: LayerInjection, Measures: map[string]float64{}}
	var reasons []string
	hard := false
	score := 1.0
	// Timestamps.
	var iv []float64
	badIv := tsErrors
	for i := 1; i < len(recs); i++ {
		d := recs[i].t - recs[i-1].t
		if d < minInterval || d > maxInterval {
			badIv++
		}
		iv = append(iv, float64(d))
	}
	cv := math.NaN()
	if len(iv) >= 2 {
		var m, s float64
		for _, v := range iv {
			m += v
		}
		m /= float64(len(iv))
		for _, v := range iv {
			s += (v - m) * (v - m)
		}
		cv = math.Sqrt(s/float64(len(iv))) / math.Max(m, 1)
	}
	l.Measures["interval_cv"] = cv
	l.Measures["bad_intervals"] = float64(badIv)
	if badIv > 0 {
		reasons = append(reasons, ReasonTimestampAnomaly)
		score -= math.Min(0.5, 0.1*float64(badIv))
		if badIv >= 3 {
			hard = true
		}
	}
	if strict && len(iv) >= 20 && cv < perfectCV {
		reasons = append(reasons, ReasonTimestampAnomaly)
		score -= 0.3
	}
	if badFrames > 0 {
		l.Measures["bad_frames"] = float64(badFrames)
		reasons = append(reasons, ReasonBadFrames)
		score -= math.Min(0.3, 0.05*float64(badFrames))
	}
	// Repeats, loops and jumps among consecutive one-face frames.
	g := good(recs)
	pairs, reps, jumps := 0, 0, 0
	for i := 1; i < len(g); i++ {
		a, b := g[i-1], g[i]
		if b.idx != a.idx+1 {
			continue
		}
		pairs++
		if a.hash == b.hash || thumbMAD(a, b) < repeatMAD {
			reps++
		}
		if b.t-a.t <= jumpMaxGap {
			ca, cb := a.centre(), b.centre()
			if math.Hypot(ca[0]-cb[0], ca[1]-cb[1]) > jumpIOD*math.Max(a.iod, b.iod) {
				jumps++
			}
		}
	}
	loops := loopFrames(g)
	tl, rev := trajectoryLoop(g)
	l.Measures["trajectory_loop"] = float64(tl)
	l.Measures["trajectory_loop_reversed"] = b2f(rev)
	share := 0.0
	if pairs > 0 {
		share = float64(reps) / float64(pairs)
	}
	l.Measures["repeat_share"] = share
	l.Measures["loop_frames"] = float64(loops)
	l.Measures["jumps"] = float64(jumps)
	l.Measures["jitter"] = jitter(g)
	switch {
	case pairs >= 4 && share >= repeatShare:
		reasons = append(reasons, ReasonRepeatedFrames, ReasonInjectionSuspected)
		hard = true
		score = 0
	case pairs >= 4 && share >= repeatWarn:
		reasons = append(reasons, ReasonRepeatedFrames)
		score -= 0.3
	}
	if loops >= loopMinFrames {
		reasons = append(reasons, ReasonInjectionSuspected)
		hard = true
		score = 0
	}
	if tl >= loopMinRun {
		// The mesh retraces earlier frames, forward or reversed: a
		// recorded stretch played again, whatever was done to its pixels.
		reasons = append(reasons, ReasonRepeatedFrames, ReasonInjectionSuspected)
		hard = true
		score = 0
	}
	if jumps > 0 {
		reasons = append(reasons, ReasonInjectionSuspected)
		score -= 0.25 * float64(jumps)
		if jumps >= 2 {
			hard = true
		}
	}
	l.Score = clamp01(score)
	l.Reasons = dedup(reasons)
	l.hard = hard
	l.Passed = !hard && len(l.Reasons) == 0
	l.Detail = fmt.Sprintf("%d/%d consecutive frames repeated, %d loop frames, mesh retracing %d frames, %d jumps, %d bad intervals, interval CV %.4f",
		reps, pairs, loops, tl, jumps, badIv, cv)
	return l
}

// loopFrames counts frames that repeat a non-adjacent earlier frame while
// the frames in between differ: a stream played in a loop.
func loopFrames(g []*frameRec) int {
	n := 0
	for i := 2; i < len(g); i++ {
		for j := 0; j < i-1; j++ {
			if g[i].hash != g[j].hash && thumbMAD(g[i], g[j]) >= repeatMAD/2 {
				continue
			}
			// Something different happened in between?
			moved := false
			for k := j + 1; k < i; k++ {
				if thumbMAD(g[k], g[i]) > 4*repeatMAD {
					moved = true
					break
				}
			}
			if moved {
				n++
				break
			}
		}
	}
	return n
}

// jitter is the median second difference of the landmark centroid over
// the IOD: landmark tremor frame to frame.
func jitter(g []*frameRec) float64 {
	var v []float64
	for i := 2; i < len(g); i++ {
		a, b, c := g[i-2].centre(), g[i-1].centre(), g[i].centre()
		d := math.Hypot(a[0]-2*b[0]+c[0], a[1]-2*b[1]+c[1])
		v = append(v, d/math.Max(g[i].iod, 1))
	}
	if len(v) == 0 {
		return math.NaN()
	}
	return median(v)
}

// consistencyLayer checks one face and one identity throughout.
func consistencyLayer(recs []frameRec, emb []embSample, thr float64) LayerScore {
	l := LayerScore{Name: LayerConsistency, Measures: map[string]float64{}}
	multi, ok, none := 0, 0, 0
	for i := range recs {
		switch {
		case recs[i].faces > 1:
			multi++
		case recs[i].ok:
			ok++
		default:
			none++
		}
	}
	l.Measures["face_frames"] = float64(ok)
	l.Measures["multi_face_frames"] = float64(multi)
	l.Measures["no_face_frames"] = float64(none)
	var reasons []string
	score := 1.0
	if ok < minFaceFrames {
		reasons = append(reasons, ReasonFaceNotDetected)
		l.hard = true
		score = 0
	}
	if multi >= 2 && float64(multi) >= 0.05*float64(len(recs)) {
		reasons = append(reasons, ReasonMultipleFaces)
		l.hard = true
		score = 0
	}
	minCos := math.NaN()
	if len(emb) > 0 {
		c := make([]float64, len(emb))
		for i, e := range emb {
			c[i] = e.cos
		}
		sort.Float64s(c)
		// The second lowest when there are several: one bad crop is not a
		// second person.
		minCos = c[0]
		if len(c) >= 4 {
			minCos = c[1]
		}
		l.Measures["min_cosine"] = minCos
		l.Measures["median_cosine"] = median(c)
		if minCos < thr {
			reasons = append(reasons, ReasonIdentityChanged)
			l.hard = true
		}
		score = math.Min(score, clamp01(0.5+(minCos-thr)/(2*identitySpan)+0.25))
		if minCos < thr {
			score = math.Min(score, 0.2)
		}
	}
	l.Score = score
	l.Reasons = reasons
	l.Passed = len(reasons) == 0
	l.Detail = fmt.Sprintf("%d frames with one face, %d with several, %d without; identity cosine min %.2f over %d samples (threshold %.2f)",
		ok, multi, none, minCos, len(emb), thr)
	return l
}

// motionPoints are the mesh points the motion layer fits: features the
// landmark model places by appearance (eye corners and lids, brows, nose
// tip and wings, lips, chin) and the face contour, which slides over a
// turning head but is painted on a picture.
var motionPoints = []int{
	33, 133, 362, 263, 159, 145, 386, 374, // eyes
	70, 105, 107, 336, 334, 300, // brows
	1, 2, 98, 327, 168, 6, // nose
	61, 291, 0, 17, 13, 14, // mouth
	152, 234, 454, 132, 361, 58, 288, 172, 397, 10, 109, 338, // chin, contour, forehead
}

// innerPoints is the number of leading motionPoints strictly inside the
// face (eyes, brows, nose, lips): the parallax is fitted on these alone.
// Tracking windows on the contour straddle the background, and a face cut
// out of a photo and moved over a still room drags them between the two:
// residuals no plane explains, from a plane.
const innerPoints = 26

// subset keeps the motionPoints of a whole mesh.
func subset(pts []pt2) []pt2 {
	out := make([]pt2, len(motionPoints))
	for i, k := range motionPoints {
		out[i] = pts[k]
	}
	return out
}

// motionLayer looks for 3-D evidence: parallax a moving plane cannot make.
//
// For pairs of frames 300 ms–1 s apart it fits a similarity and a
// homography to the landmarks. Landmark noise gives both a floor, measured
// on consecutive frames; above it, a plane's homography residual stays at
// the floor however much it tilts, while a head's grows with its turn. The
// parallax ratio is the homography residual over the similarity residual,
// both above their floors.
func motionLayer(recs []frameRec, handheld bool) (l LayerScore) {
	l = LayerScore{Name: LayerMotion, Measures: map[string]float64{}}
	g := good(recs)
	sub := make([][]pt2, len(g))
	for i, r := range g {
		sub[i] = r.pts[:innerPoints]
	}
	// Noise floors from consecutive frames.
	var fs, fh []float64
	for i := 1; i < len(g); i += motionStride {
		if g[i].idx != g[i-1].idx+1 {
			continue
		}
		pm, ok := trackedMotion(g[i-1], g[i], sub[i-1], sub[i])
		if ok {
			fs = append(fs, pm.NonSim)
			fh = append(fh, pm.Parallax)
		}
	}
	floorS, floorH := 0.0, 0.0
	if len(fs) > 0 {
		floorS, floorH = median(fs), median(fh)
	}
	excess := func(v, floor float64) float64 { return math.Sqrt(math.Max(v*v-floor*floor, 0)) }
	var ratios, nonSims []float64
	j := 0
	for i := 0; i < len(g); i += motionStride {
		for j+1 < i && g[i].t-g[j+1].t >= pairMinGap {
			j++
		}
		if j >= i || g[i].t-g[j].t < pairMinGap || g[i].t-g[j].t > pairMaxGap {
			continue
		}
		pm, ok := trackedMotion(g[j], g[i], sub[j], sub[i])
		if !ok {
			continue
		}
		es := excess(pm.NonSim, floorS)
		nonSims = append(nonSims, es)
		if es >= minNonSim {
			ratios = append(ratios, excess(pm.Parallax, floorH)/es)
		}
	}
	drift, span := driftOf(g)
	l.Measures["drift"] = drift
	l.Measures["floor_similarity"] = floorS
	l.Measures["floor_homography"] = floorH
	l.Measures["pairs"] = float64(len(nonSims))
	l.Measures["informative_pairs"] = float64(len(ratios))
	if len(nonSims) > 0 {
		l.Measures["nonsim_median"] = median(nonSims)
	}
	if len(ratios) > 0 {
		l.Measures["parallax_ratio"] = median(ratios)
	}
	ev, haveSur := surroundMotion(g)
	l.Measures["surround_frames"] = float64(ev.Frames)
	haveSur = haveSur && 2*ev.Frames >= len(g)
	if haveSur {
		l.Measures["surround_motion"] = ev.Surround
		l.Measures["face_motion"] = ev.Face
		l.Measures["relative_motion"] = ev.Relative
		l.Measures["co_motion"] = ev.Co
	}
	// The background beside the face moves with it: the face is carried by
	// a picture or a screen (a fixed camera's background stays put).
	coMoving := haveSur && ev.Surround >= surMove && ev.Co >= surCo && ev.Surround >= surShare*ev.Face
	// A background that moves a lot but not with the face (a replayed head
	// moving much more than the screen carrying it, or something passing
	// behind a live user): not decisive, but no pass.
	if haveSur && !handheld && !coMoving && ev.Surround >= surMoveAny {
		defer func() {
			if l.hard {
				return
			}
			l.Passed = false
			l.Score = math.Min(l.Score, 0.5)
			l.Reasons = append(l.Reasons, ReasonMovesWithBackground)
			l.Detail += fmt.Sprintf("; the background moves (%.3f IOD, correlation with the face %.2f): the camera or the scene is not still", ev.Surround, ev.Co)
		}()
	}
	switch {
	case len(g) < minFaceFrames:
		l.Score, l.Detail = 0, "too few face frames"
		l.Reasons = []string{ReasonInsufficientMotion}
		return l
	case coMoving && !handheld:
		l.Score = 0
		l.Detail = fmt.Sprintf("the background moves with the face (%.3f IOD, correlation %.2f; a fixed camera's stays under %.3f): a picture or screen held in front of the camera",
			ev.Surround, ev.Co, surMove)
		l.Reasons, l.hard = []string{ReasonMovesWithBackground, ReasonSpoofSuspected}, true
		if len(ratios) >= minPairs && median(ratios) < planarRatio {
			l.Reasons = append(l.Reasons, ReasonPlanarMotion)
			l.Detail += fmt.Sprintf("; parallax ratio %.2f: a plane", median(ratios))
		}
		return l
	case len(ratios) < minPairs && !handheld && haveSur && ev.Surround < surStatic && ev.Relative >= surOwn:
		// A user holding still, as passive mode asks: too little turn for
		// parallax, but the face moves on its own (sway, breathing, blinks)
		// against a background that does not move at all. Before the
		// still test: the landmarks of a very still user drift less than
		// staticDrift, but an image tracked against its background does not
		// lie (a static picture with camera noise: ≤ 0.0012).
		l.Score, l.Passed = stillScore, true
		l.Detail = fmt.Sprintf("a still user: too little 3-D motion to judge parallax (%d informative pairs), the face moves on its own (%.3f IOD) against a static background (%.4f IOD)",
			len(ratios), ev.Relative, ev.Surround)
		return l
	case span >= minDriftSpan && drift < staticDrift && len(ratios) < minPairs:
		l.Score = 0
		l.Detail = fmt.Sprintf("the face does not move at all (drift %.4f IOD over %v): a still", drift, span.Round(time.Millisecond))
		l.Reasons, l.hard = []string{ReasonInsufficientMotion, ReasonSpoofSuspected}, true
		return l
	case len(ratios) < minPairs:
		l.Score = 0.5
		l.Detail = fmt.Sprintf("too little 3-D motion to judge (%d informative pairs of %d)", len(ratios), len(nonSims))
		l.Reasons = []string{ReasonInsufficientMotion}
		return l
	}
	r := median(ratios)
	l.Score = clamp01((r - planarRatio) / (liveRatio - planarRatio))
	l.Passed = r >= (planarRatio+liveRatio)/2
	l.Detail = fmt.Sprintf("parallax ratio %.2f over %d informative pairs (plane < %.2f, head > %.2f)", r, len(ratios), planarRatio, liveRatio)
	if r < planarRatio {
		l.Reasons, l.hard = []string{ReasonPlanarMotion, ReasonSpoofSuspected}, true
	} else if !l.Passed {
		l.Reasons = []string{ReasonPlanarMotion}
	}
	return l
}

// driftOf is the RMS distance of the smoothed landmark centroid from its
// mean over the IOD, and the time it spans.
func driftOf(g []*frameRec) (float64, time.Duration) {
	if len(g) < 5 {
		return math.NaN(), 0
	}
	var cs []pt2
	var iod float64
	for i := 2; i < len(g)-2; i++ {
		var c pt2
		for k := i - 2; k <= i+2; k++ {
			ck := g[k].centre()
			c[0] += ck[0] / 5
			c[1] += ck[1] / 5
		}
		cs = append(cs, c)
		iod += g[i].iod
	}
	iod /= float64(len(cs))
	var m pt2
	for _, c := range cs {
		m[0] += c[0] / float64(len(cs))
		m[1] += c[1] / float64(len(cs))
	}
	var s float64
	for _, c := range cs {
		s += (c[0]-m[0])*(c[0]-m[0]) + (c[1]-m[1])*(c[1]-m[1])
	}
	return math.Sqrt(s/float64(len(cs))) / math.Max(iod, 1), g[len(g)-1].t - g[0].t
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
