package liveness

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestLightLayer(t *testing.T) {
	step := 400 * time.Millisecond
	plan := drawLights(rand.New(rand.NewPCG(4, 4)), 4*time.Second, step)
	other := func(seed uint64) []LightStep {
		return drawLights(rand.New(rand.NewPCG(seed, seed)), 4*time.Second, step)
	}
	// tinted: the face follows seq (another session's, drawn with its
	// steps offset from this one's) while the frames report plan.
	tinted := func(seq []LightStep, offset time.Duration, seed uint64) []frameRec {
		r := skinResponse(seq, step, true, offset, 0.06, seed)
		for i := range r {
			l := plan[min(max(int(r[i].t/step), 0), len(plan)-1)].Light
			r[i].light = &l
		}
		return r
	}
	type tc struct {
		name    string
		recs    []frameRec
		passed  bool
		hard    bool
		wantLag time.Duration
	}
	cases := []tc{
		{"face follows the light", skinResponse(plan, step, true, 0, 0.06, 1), true, false, 0},
		{"face follows with camera latency", skinResponse(plan, step, true, 120*time.Millisecond, 0.06, 2), true, false, 120 * time.Millisecond},
		{"face follows 280 ms late (within the allowed 300 ms)", skinResponse(plan, step, true, 280*time.Millisecond, 0.06, 6), true, false, 280 * time.Millisecond},
		{"face follows with a faint response", skinResponse(plan, step, true, 0, 0.035, 7), true, false, 0},
		{"face follows while the head turns through the room's light", turning(skinResponse(plan, step, true, 0, 0.06, 11)), true, false, 0},
		{"a replay ignores the light", skinResponse(plan, step, false, 0, 0.06, 3), false, true, -1},
		{"a replay ignores the light while the head turns", turning(skinResponse(plan, step, false, 0, 0.06, 12)), false, true, -1},
		{"face follows 600 ms late", skinResponse(plan, step, true, 600*time.Millisecond, 0.06, 8), false, true, -1},
		{"face follows 1 s late", skinResponse(plan, step, true, time.Second, 0.06, 9), false, true, -1},
		{"no light reported", func() []frameRec {
			r := skinResponse(plan, step, true, 0, 0.06, 5)
			for i := range r {
				r[i].light = nil
			}
			return r
		}(), false, true, -1},
		{"response too small to be a reflection", skinResponse(plan, step, true, 0, 0.004, 10), false, true, -1},
	}
	// Unrelated random sequences: a recording of another session. Every
	// one must fail, aligned with this session's steps or not.
	for k := uint64(0); k < 30; k++ {
		cases = append(cases, tc{fmt.Sprintf("another sequence %d", k),
			tinted(other(100+k), time.Duration(k%4)*100*time.Millisecond, 200+k), false, true, -1})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := lightLayer(c.recs, plan, 0, step)
			if l.Passed != c.passed || l.hard != c.hard {
				t.Errorf("passed %v hard %v; want %v %v: %s", l.Passed, l.hard, c.passed, c.hard, l.Detail)
			}
			if c.wantLag >= 0 {
				if got := time.Duration(l.Measures["lag_ms"]) * time.Millisecond; math.Abs(float64(got-c.wantLag)) > float64(50*time.Millisecond) {
					t.Errorf("lag %v, want %v", got, c.wantLag)
				}
			}
			t.Logf("score %.2f: %s", l.Score, l.Detail)
		})
	}
}

// turning adds what a head turning through a room's uneven, coloured light
// does to the skin: a slow colour swing (period 5 s) larger than the
// screen's reflection, different in each channel.
func turning(recs []frameRec) []frameRec {
	for i := range recs {
		ph := 2 * math.Pi * recs[i].t.Seconds() / 5
		recs[i].skin[0] *= 1 + 0.10*math.Sin(ph)
		recs[i].skin[2] *= 1 - 0.08*math.Sin(ph+0.6)
	}
	return recs
}

func TestHighPass(t *testing.T) {
	// A slow ramp and swing with 400 ms steps on top: the steps stay, the
	// rest goes.
	step := 400 * time.Millisecond
	var v [][3]float64
	var ts []time.Duration
	for i := range 150 {
		tt := time.Duration(i) * 40 * time.Millisecond
		s := -1.0
		if int(tt/step)%2 == 0 {
			s = 1
		}
		slow := 3*tt.Seconds() + 2*math.Sin(2*math.Pi*tt.Seconds()/8)
		v = append(v, [3]float64{s + slow, s, slow})
		ts = append(ts, tt)
	}
	h := highPass(v, ts, 3*step)
	for i := 15; i < len(h)-15; i++ { // away from the ends
		if d := math.Abs(h[i][0] - h[i][1]); d > 0.15 {
			t.Fatalf("frame %d: the slow part left %.3f", i, d)
		}
		if math.Abs(h[i][1]) < 0.5 {
			t.Fatalf("frame %d: the step is gone (%.3f)", i, h[i][1])
		}
	}
}

// TestReliefSlope: points whose response to the light follows their
// surface's cosine give a slope near 1, an even response (a print held
// flat) near 0, and per-frame noise keeps them apart.
func TestReliefSlope(t *testing.T) {
	const frames = 75
	step := 400 * time.Millisecond
	n := len(reliefPoints)
	// The emitted light: a colour per 400 ms step, frames 40 ms apart.
	palette := [][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}, {1, 0, 1}}
	rng := rand.New(rand.NewPCG(3, 4))
	ts := make([]time.Duration, frames)
	em := make([][3]float64, frames)
	for i := range ts {
		ts[i] = time.Duration(i) * 40 * time.Millisecond
		em[i] = palette[(i*40/400+i/37)%len(palette)]
	}
	cos := make([]float64, n)
	for k := range cos {
		cos[k] = 0.35 + 0.65*float64(k)/float64(n-1)
	}
	hp := lightHighPassSteps * step
	emHP := highPass(func() [][3]float64 {
		out := make([][3]float64, frames)
		for i := range em {
			out[i] = chroma(em[i])
		}
		return out
	}(), ts, hp)
	// render: each point's colour under the light, its change scaled by
	// gain(k), with relative noise sigma.
	render := func(gain func(k int) float64, sigma float64) reliefFit {
		relief := make([][][3]float64, frames)
		cosines := make([][]float64, frames)
		for i := range relief {
			relief[i] = make([][3]float64, n)
			cosines[i] = cos
			for k := 0; k < n; k++ {
				for c := 0; c < 3; c++ {
					relief[i][k][c] = 0.2 * (1 + 0.1*gain(k)*em[i][c] + sigma*rng.NormFloat64())
				}
			}
		}
		f, ok := reliefSlope(relief, cosines, emHP, ts, hp, 0)
		if !ok {
			t.Fatal("reliefSlope: not ok")
		}
		return f
	}
	tests := []struct {
		name   string
		gain   func(k int) float64
		sigma  float64
		lo, hi float64
	}{
		{"Lambertian face", func(k int) float64 { return cos[k] }, 0, 0.95, 1.05},
		{"flat print", func(int) float64 { return 1 }, 0, -0.05, 0.05},
		{"face, noisy", func(k int) float64 { return cos[k] }, 0.004, 0.6, 1.4},
		{"print, noisy", func(int) float64 { return 1 }, 0.004, -0.4, 0.4},
	}
	for _, tc := range tests {
		if f := render(tc.gain, tc.sigma); f.slope < tc.lo || f.slope > tc.hi {
			t.Errorf("%s: slope %.3f (corr %.2f), want %.2f–%.2f", tc.name, f.slope, f.corr, tc.lo, tc.hi)
		}
	}
	if _, ok := reliefSlope([][][3]float64{{{1, 1, 1}}}, [][]float64{{1}}, emHP[:1], ts[:1], hp, 0); ok {
		t.Error("a frame without every relief point: ok")
	}
}
