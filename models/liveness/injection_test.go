package liveness

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestInjectionLayer(t *testing.T) {
	live := func() []frameRec { return synthRecs(false, 8, 75, 5) }
	for _, c := range []struct {
		name     string
		recs     func() []frameRec
		tsErrors int
		strict   bool
		passed   bool
		reason   string
	}{
		{"live stream", live, 0, false, true, ""},
		{"repeated still", func() []frameRec {
			r := live()
			for i := range r {
				r[i].thumb, r[i].hash, r[i].pts = r[0].thumb, r[0].hash, r[0].pts
			}
			return r
		}, 0, false, false, ReasonInjectionSuspected},
		{"every frame sent twice, as webcams do in low light", func() []frameRec {
			r := live()
			for i := 1; i < len(r); i += 2 {
				r[i].thumb, r[i].hash = r[i-1].thumb, r[i-1].hash
			}
			return r
		}, 0, false, true, ""},
		{"three frames of four repeated", func() []frameRec {
			r := live()
			for i := range r {
				if i%4 != 0 {
					r[i].thumb, r[i].hash = r[i-1].thumb, r[i-1].hash
				}
			}
			return r
		}, 0, false, false, ReasonRepeatedFrames},
		{"a loop of 15 frames", func() []frameRec {
			r := live()
			for i := 15; i < len(r); i++ {
				r[i].thumb, r[i].hash, r[i].pts = r[i%15].thumb, r[i%15].hash, r[i%15].pts
			}
			return r
		}, 0, false, false, ReasonInjectionSuspected},
		{"timestamps going backwards", live, 3, false, false, ReasonTimestampAnomaly},
		{"a 3 s gap", func() []frameRec {
			r := live()
			for i := 40; i < len(r); i++ {
				r[i].t += 3 * time.Second
			}
			return r
		}, 0, false, false, ReasonTimestampAnomaly},
		{"too perfect a clock on a live capture", live, 0, true, false, ReasonTimestampAnomaly},
		{"a spliced jump of the face", func() []frameRec {
			r := live()
			for _, k := range []int{30, 50} {
				for i := k; i < len(r); i++ {
					for j := range r[i].pts {
						r[i].pts[j][0] += 80
					}
				}
			}
			return r
		}, 0, false, false, ReasonInjectionSuspected},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := injectionLayer(c.recs(), c.tsErrors, 0, c.strict)
			if l.Passed != c.passed || (c.reason != "" && !slices.Contains(l.Reasons, c.reason)) {
				t.Errorf("passed %v reasons %v; want %v with %q: %s", l.Passed, l.Reasons, c.passed, c.reason, l.Detail)
			}
		})
	}
}

// skinResponse makes records whose face colour responds (or not) to a
// light sequence with the given lag, plus noise and a slow drift.
func skinResponse(plan []LightStep, step time.Duration, respond bool, lag time.Duration, gain float64, seed uint64) []frameRec {
	rng := rand.New(rand.NewPCG(seed, 3))
	at := func(t time.Duration) Light {
		i := min(max(int(t/step), 0), len(plan)-1)
		return plan[i].Light
	}
	recs := synthRecs(false, 6, 90, seed)
	for i := range recs {
		tt := recs[i].t
		l := at(tt)
		recs[i].light = &l
		base := [3]float64{0.35, 0.22, 0.17}
		var e [3]float64
		if respond {
			e = at(tt - lag).vec()
		}
		for c := range base {
			drift := 0.02 * float64(tt) / float64(time.Second)
			recs[i].skin[c] = base[c]*(1+drift) + gain*base[c]*e[c] + 0.004*rng.NormFloat64()
		}
	}
	return recs
}

func TestConsistencyLayer(t *testing.T) {
	recs := synthRecs(false, 6, 60, 8)
	same := []embSample{{5, 0.82}, {10, 0.79}, {15, 0.85}, {20, 0.77}}
	other := []embSample{{5, 0.82}, {10, 0.31}, {15, 0.28}, {20, 0.25}}
	oneBad := []embSample{{5, 0.82}, {10, 0.30}, {15, 0.80}, {20, 0.79}}
	multi := synthRecs(false, 6, 60, 8)
	for i := 10; i < 20; i++ {
		multi[i].faces, multi[i].ok = 2, false
	}
	none := synthRecs(false, 6, 60, 8)
	for i := range none {
		none[i].faces, none[i].ok = 0, i < 3
	}
	for _, c := range []struct {
		name   string
		recs   []frameRec
		emb    []embSample
		passed bool
		reason string
	}{
		{"one person", recs, same, true, ""},
		{"one glitch is not a second person", recs, oneBad, true, ""},
		{"identity changed", recs, other, false, ReasonIdentityChanged},
		{"a second face", multi, same, false, ReasonMultipleFaces},
		{"no face", none, nil, false, ReasonFaceNotDetected},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := consistencyLayer(c.recs, c.emb, 0.45)
			if l.Passed != c.passed || (c.reason != "" && !slices.Contains(l.Reasons, c.reason)) {
				t.Errorf("passed %v reasons %v; want %v %q: %s", l.Passed, l.Reasons, c.passed, c.reason, l.Detail)
			}
		})
	}
}

func TestFuse(t *testing.T) {
	ok := func(n string, s float64) LayerScore { return LayerScore{Name: n, Score: s, Passed: true} }
	for _, c := range []struct {
		name    string
		layers  []LayerScore
		verdict string
	}{
		{"all strong", []LayerScore{ok(LayerMotion, 1), ok(LayerInjection, 1), ok(LayerAntiSpoof, 0.9), ok(LayerConsistency, 1)}, VerdictPass},
		{"weak evidence", []LayerScore{ok(LayerMotion, 0.5), ok(LayerInjection, 0.6), ok(LayerAntiSpoof, 0.5), ok(LayerConsistency, 0.6)}, VerdictRetry},
		{"a soft failure caps at retry", []LayerScore{{Name: LayerMotion, Score: 0.5, Reasons: []string{ReasonInsufficientMotion}},
			ok(LayerInjection, 1), ok(LayerAntiSpoof, 1), ok(LayerConsistency, 1)}, VerdictRetry},
		{"a decisive failure fails", []LayerScore{{Name: LayerInjection, Score: 0, hard: true, Reasons: []string{ReasonInjectionSuspected}},
			ok(LayerMotion, 1), ok(LayerAntiSpoof, 1), ok(LayerConsistency, 1)}, VerdictFail},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf, v, _ := fuse(c.layers, 0.70, 0.45)
			if v != c.verdict || conf < 0 || conf > 1 {
				t.Errorf("verdict %s (%.2f), want %s", v, conf, c.verdict)
			}
		})
	}
}
