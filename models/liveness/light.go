package liveness

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Light response: the face's colour must follow THIS session's sequence.
const (
	lightMaxLag     = 300 * time.Millisecond // camera and display latency allowed
	lightMinCorr    = 0.45                   // pooled correlation at the best allowed lag
	lightNoCorr     = 0.2                    // below: no response at all (decisive)
	lightMargin     = 0.10                   // the true sequence must beat every null by this to pass
	lightHardMargin = 0.075                  // beating the nulls by less is decisive (fail)
	lightMinAmp     = 0.01                   // relative colour change per unit of light
	lightMinN       = 8
	// lightNulls is the number of other sequences (the session's step
	// colours redrawn) the true sequence is compared against.
	lightNulls = 200
	// lightNullSim: a redrawn sequence correlated above this with the true
	// one is not "another sequence" and is not used as a null.
	lightNullSim = 0.5
)

// lightLayer asks whether the face's colour follows the emitted sequence of
// this session, and not merely some sequence. Per frame it pairs the light
// the frame reports with the face's skin colour (per channel, detrended and
// normalised by its mean; what changes slower than the light's steps is
// taken out of both, highPass). The statistic is the pooled correlation of the
// two at the best lag within lightMaxLag. It is compared against a null:
// the same search with other sequences that have the same steps (the step
// colours redrawn from the colours this session used) and with the true
// sequence shifted in time outside the allowed lags (a face that lags by a
// second follows the shifted sequence better than the true one). The
// response must beat every null by lightMargin, reach lightMinCorr and a
// relative amplitude of lightMinAmp.
func lightLayer(recs []frameRec, plan []LightStep, start time.Duration, step time.Duration) LayerScore {
	l := LayerScore{Name: LayerLight, Measures: map[string]float64{}}
	g := good(recs)
	var em, ob [][3]float64
	var ts []time.Duration
	var lights []Light
	var relief [][][3]float64
	var reliefCos [][]float64
	follow, reported := 0, 0
	for _, r := range g {
		if r.light == nil {
			continue
		}
		reported++
		em = append(em, r.light.vec())
		lights = append(lights, *r.light)
		ob = append(ob, r.skin)
		ts = append(ts, r.t)
		relief, reliefCos = append(relief, r.relief), append(reliefCos, r.reliefCos)
		// Does the reported light follow the plan (within one step)?
		k := int((r.t - start) / step)
		for d := -1; d <= 1; d++ {
			if i := k + d; i >= 0 && i < len(plan) && plan[i].Light == *r.light {
				follow++
				break
			}
		}
	}
	l.Measures["frames"] = float64(reported)
	fail := func(detail string) LayerScore {
		l.Score, l.Detail = 0, detail
		l.Reasons, l.hard = []string{ReasonLightResponseMissing}, true
		return l
	}
	if reported < lightMinN {
		return fail(fmt.Sprintf("%d frames report the emitted light (need %d)", reported, lightMinN))
	}
	followShare := float64(follow) / float64(reported)
	l.Measures["follows_plan"] = followShare
	y := normaliseSkin(ob, ts)
	if lightChroma {
		for i := range y {
			y[i] = chroma(y[i])
			em[i] = chroma(em[i])
		}
	}
	maxLag := lagFrames(ts, lightMaxLag)
	hp := lightHighPassSteps * step
	y, em = highPass(y, ts, hp), highPass(em, ts, hp)

	best, bestLag, amp, perCh := bestLagCorr(em, y, maxLag)
	if math.IsInf(best, -1) {
		return fail("too few frames to correlate the light and the face colour")
	}
	null := lightNull(em, lights, y, ts, maxLag, step)
	bestLagT := ts[bestLag] - ts[0]
	l.Measures["correlation"] = best
	l.Measures["null_correlation"] = null
	l.Measures["lag_ms"] = float64(bestLagT.Milliseconds())
	l.Measures["amplitude"] = amp
	for c, name := range []string{"corr_r", "corr_g", "corr_b"} {
		l.Measures[name] = perCh[c]
	}
	if rs, ok := reliefSlope(relief, reliefCos, em, ts, hp, bestLag); ok {
		l.Measures["relief"] = rs.slope
		l.Measures["relief_corr"] = rs.corr
		l.Measures["relief_cos_spread"] = rs.cosSpread
	}
	// Score: how far the response is above the best null, on the scale of
	// the margin; and above the absolute floor.
	l.Score = clamp01(math.Min((best-lightNoCorr)/(lightMinCorr+0.15-lightNoCorr), (best-null)/(2*lightMargin)))
	beats := best >= null+lightMargin
	l.Passed = best >= lightMinCorr && beats && amp >= lightMinAmp && followShare >= 0.8
	l.Detail = fmt.Sprintf("face colour follows the emitted light with correlation %.2f at lag %v (best other sequence or lag %.2f), amplitude %.3f; %.0f%% of frames report the planned light",
		best, bestLagT, null, amp, 100*followShare)
	if !l.Passed {
		l.Reasons = []string{ReasonLightResponseMissing}
		// Decisive: no response, a response to another sequence or lag as
		// good as to this one, no amplitude, or a capture side not
		// emitting the plan. Otherwise (a weak but specific response):
		// retry.
		l.hard = best < lightNoCorr || best < null+lightHardMargin || amp < lightMinAmp/2 || followShare < 0.5
		if l.hard || followShare < 0.8 {
			l.Score = math.Min(l.Score, 0.2)
		}
	}
	return l
}

// lightChroma removes the common mode of the three channels from the face's
// response and from the light before correlating them: head motion (shading),
// the camera's auto-exposure and ambient flicker change every channel of the
// skin together, while the emitted colours differ in their balance.
const lightChroma = true

// lightHighPassSteps is the window, in light steps, of the moving mean
// highPass takes out of the face colour and the light before they are
// correlated. A head turning through the room's light changes the skin's
// colour over seconds, more than the screen does in one step: over a whole
// session that drift reached the correlation's floor on genuine faces
// turning (tuning seed 2: 7 of 100 bona fide refused for the light, none
// with a 3-step window). The steps themselves stay.
const lightHighPassSteps = 3

// chroma removes the mean of the three channels.
func chroma(v [3]float64) [3]float64 {
	m := (v[0] + v[1] + v[2]) / 3
	return [3]float64{v[0] - m, v[1] - m, v[2] - m}
}

// normaliseSkin returns the face colour per channel, linearly detrended
// against time and divided by its mean (a dim channel weighs as much as a
// bright one).
func normaliseSkin(ob [][3]float64, ts []time.Duration) [][3]float64 {
	n := len(ob)
	y := make([][3]float64, n)
	var mt float64
	for i := range ts {
		mt += float64(ts[i]) / float64(n)
	}
	for c := 0; c < 3; c++ {
		var mo float64
		for i := range ob {
			mo += ob[i][c] / float64(n)
		}
		var stt, sto float64
		for i := range ob {
			dt := float64(ts[i]) - mt
			stt += dt * dt
			sto += dt * (ob[i][c] - mo)
		}
		slope := 0.0
		if stt > 0 {
			slope = sto / stt
		}
		norm := math.Max(mo, 1e-4)
		for i := range ob {
			y[i][c] = (ob[i][c] - mo - slope*(float64(ts[i])-mt)) / norm
		}
	}
	return y
}

// lagFrames is the largest frame lag whose time offset stays within max
// (plus half a frame interval, so frame timing jitter does not cut it).
func lagFrames(ts []time.Duration, max time.Duration) int {
	if len(ts) < 2 {
		return 0
	}
	dt := (ts[len(ts)-1] - ts[0]) / time.Duration(len(ts)-1)
	k := 0
	for k+1 < len(ts) && ts[k+1]-ts[0] <= max+dt/2 {
		k++
	}
	return k
}

// bestLagCorr searches lags 0..maxLag (the face colour at frame i+lag
// against the light at frame i) for the best pooled correlation; it returns
// it, its lag, the response amplitude there (the pooled regression slope of
// the relative colour change on the light) and the per-channel
// correlations.
func bestLagCorr(em, y [][3]float64, maxLag int) (best float64, lag int, amp float64, perCh [3]float64) {
	best = math.Inf(-1)
	for k := 0; k <= maxLag; k++ {
		c, a, pc := lagCorr(em, y, k)
		if c > best {
			best, lag, amp, perCh = c, k, a, pc
		}
	}
	return best, lag, amp, perCh
}

// lagCorr is the Pearson correlation, pooled over the three channels (each
// mean-removed), of the light at frame i and the normalised face colour at
// frame i+lag; with the regression slope and the per-channel correlations.
func lagCorr(em, y [][3]float64, lag int) (float64, float64, [3]float64) {
	var pc [3]float64
	n := len(em) - lag
	if n < lightMinN {
		return math.Inf(-1), 0, pc
	}
	var sxy, sxx, syy float64
	for c := 0; c < 3; c++ {
		var me, my float64
		for i := 0; i < n; i++ {
			me += em[i][c]
			my += y[i+lag][c]
		}
		me /= float64(n)
		my /= float64(n)
		var cxy, cxx, cyy float64
		for i := 0; i < n; i++ {
			x, v := em[i][c]-me, y[i+lag][c]-my
			cxy += x * v
			cxx += x * x
			cyy += v * v
		}
		if cxx > 0 && cyy > 0 {
			pc[c] = cxy / math.Sqrt(cxx*cyy)
		}
		sxy, sxx, syy = sxy+cxy, sxx+cxx, syy+cyy
	}
	if sxx == 0 || syy == 0 {
		return 0, 0, pc
	}
	return sxy / math.Sqrt(sxx*syy), sxy / sxx, pc
}

// lightNull is the best correlation the face colour reaches with sequences
// other than this session's: (a) the session's steps (runs of one reported
// light) with their colours redrawn from the colours used, adjacent steps
// differing, searched over the same lags; (b) the true sequence shifted
// circularly by offsets at least one step outside the allowed lags.
// Redrawn or shifted sequences that correlate with the true one above
// lightNullSim are skipped: they are not other sequences. The draws are
// seeded from the frame count so a verdict is reproducible.
func lightNull(em [][3]float64, lights []Light, y [][3]float64, ts []time.Duration, maxLag int, step time.Duration) float64 {
	n := len(em)
	null := math.Inf(-1)
	// Runs of one reported light: the steps as the capture side emitted them.
	var runs [][2]int
	for i := 0; i < n; i++ {
		if i == 0 || lights[i] != lights[i-1] {
			runs = append(runs, [2]int{i, i + 1})
		} else {
			runs[len(runs)-1][1] = i + 1
		}
	}
	var palette []Light
	for _, li := range lights {
		if !slices.Contains(palette, li) {
			palette = append(palette, li)
		}
	}
	alt := make([][3]float64, n)
	if len(palette) >= 2 {
		rng := rand.New(rand.NewPCG(uint64(n), uint64(len(runs))))
		for k := 0; k < lightNulls; k++ {
			prev := -1
			for _, r := range runs {
				j := rng.IntN(len(palette))
				if j == prev {
					j = (j + 1 + rng.IntN(len(palette)-1)) % len(palette)
				}
				prev = j
				v := palette[j].vec()
				if lightChroma {
					v = chroma(v)
				}
				for i := r[0]; i < r[1]; i++ {
					alt[i] = v
				}
			}
			a := highPass(alt, ts, lightHighPassSteps*step)
			if sim, _, _ := lagCorr(em, a, 0); sim > lightNullSim {
				continue
			}
			if c, _, _, _ := bestLagCorr(a, y, maxLag); c > null {
				null = c
			}
		}
	}
	// Circular shifts by offsets outside (−step, maxLag + step).
	if n >= 2 {
		dt := float64(ts[n-1]-ts[0]) / float64(n-1)
		span := dt * float64(n)
		for s := 1; s < n; s++ {
			off := float64(s) * dt // light at frame i−s against face at frame i
			if off < float64(lightMaxLag+step) || span-off < float64(step) {
				continue
			}
			for i := range alt {
				alt[i] = em[(i-s+n)%n]
			}
			if sim, _, _ := lagCorr(em, alt, 0); sim > lightNullSim {
				continue
			}
			if c, _, _ := lagCorr(alt, y, 0); c > null {
				null = c
			}
		}
	}
	return null
}

// highPass subtracts from each sample the mean of the samples within w/2 of
// it in time: what changes slower than the light's steps (the skin's colour
// drifting as the head turns through the room's light, auto white balance)
// leaves the correlation; the steps stay.
func highPass(v [][3]float64, ts []time.Duration, w time.Duration) [][3]float64 {
	out := make([][3]float64, len(v))
	lo, hi := 0, 0
	var sum [3]float64
	for i := range v {
		for hi < len(v) && ts[hi]-ts[i] <= w/2 {
			for c := range 3 {
				sum[c] += v[hi][c]
			}
			hi++
		}
		for ts[i]-ts[lo] > w/2 {
			for c := range 3 {
				sum[c] -= v[lo][c]
			}
			lo++
		}
		n := float64(hi - lo)
		for c := range 3 {
			out[i][c] = v[i][c] - sum[c]/n
		}
	}
	return out
}

// reliefFit is how the light's response is spread over the face
// (reliefSlope).
type reliefFit struct {
	// slope is the regression slope of each point's relative response
	// amplitude on its relative cosine (both divided by their means over
	// the points): 1 for a matte surface of the mesh's shape, 0 for a
	// surface whose response is even (a print held flat).
	slope float64
	// corr is the correlation of the two over the points.
	corr float64
	// cosSpread is the standard deviation of the relative cosines: how
	// much the mesh's shape turns away from the camera over the points.
	cosSpread float64
}

// reliefSlope measures, for each of reliefPoints, the amplitude of its
// colour's response to the emitted light em (its colour normalised as the
// face's, its chroma high-passed, the regression slope on em at lag) and
// its mean cosine, and fits one on the other. ok is false when a frame
// lacks the points.
func reliefSlope(relief [][][3]float64, cosines [][]float64, em [][3]float64, ts []time.Duration, hp time.Duration, lag int) (reliefFit, bool) {
	var f reliefFit
	if len(relief) == 0 {
		return f, false
	}
	for i := range relief {
		if len(relief[i]) != len(reliefPoints) || len(cosines[i]) != len(reliefPoints) {
			return f, false
		}
	}
	n := len(reliefPoints)
	amp, cs := make([]float64, n), make([]float64, n)
	ob := make([][3]float64, len(relief))
	for k := 0; k < n; k++ {
		for i := range relief {
			ob[i] = relief[i][k]
			cs[k] += cosines[i][k] / float64(len(relief))
		}
		y := normaliseSkin(ob, ts)
		if lightChroma {
			for i := range y {
				y[i] = chroma(y[i])
			}
		}
		y = highPass(y, ts, hp)
		_, amp[k], _ = lagCorr(em, y, lag)
	}
	var ma, mc float64
	for k := range amp {
		ma, mc = ma+amp[k]/float64(n), mc+cs[k]/float64(n)
	}
	if ma <= 0 || mc <= 0 {
		return f, true
	}
	var sac, scc, saa float64
	for k := range amp {
		a, c := amp[k]/ma-1, cs[k]/mc-1
		sac, scc, saa = sac+a*c, scc+c*c, saa+a*a
	}
	f.cosSpread = math.Sqrt(scc / float64(n))
	if scc > 0 {
		f.slope = sac / scc
		if saa > 0 {
			f.corr = sac / math.Sqrt(saa*scc)
		}
	}
	return f, true
}
