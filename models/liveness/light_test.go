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
		{"a replay ignores the light", skinResponse(plan, step, false, 0, 0.06, 3), false, true, -1},
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
