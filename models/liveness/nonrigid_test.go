package liveness

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Mesh indices of the lids and inner lips (motionPoints 159, 145, 386, 374,
// 13, 14).
const (
	meshRightUpperLid = 159
	meshRightLowerLid = 145
	meshLeftUpperLid  = 386
	meshLeftLowerLid  = 374
	meshUpperLip      = 13
	meshLowerLip      = 14
)

// deformingRecs makes n records at 25 fps of a head (or a flat picture)
// swaying by ±amp degrees, shifted by drift px per second, whose mesh is
// changed per frame by deform (on the 3-D points, before projection).
func deformingRecs(flat bool, amp, noise float64, n int, seed uint64, deform func(i int, pts [][3]float64)) []frameRec {
	rng := rand.New(rand.NewPCG(seed, 1))
	head := synthHead(rng, flat)
	// Lids and lips where a face has them: 10 px apart when open.
	for _, p := range []struct {
		i    int
		x, y float64
	}{
		{meshRightUpperLid, -25, -25}, {meshRightLowerLid, -25, -15},
		{meshLeftUpperLid, 25, -25}, {meshLeftLowerLid, 25, -15},
		{meshUpperLip, 0, 35}, {meshLowerLip, 0, 37},
	} {
		head[p.i][0], head[p.i][1] = p.x, p.y
	}
	recs := make([]frameRec, n)
	pts := make([][3]float64, len(head))
	for i := range recs {
		copy(pts, head)
		if deform != nil {
			deform(i, pts)
		}
		tt := float64(i) / 25
		p2 := project(pts, amp*math.Sin(2*math.Pi*tt/2), 0.6*amp*math.Sin(2*math.Pi*tt/2.7), 10*math.Sin(tt), 5*math.Cos(tt), noise, rng)
		recs[i] = frameRec{idx: i, t: time.Duration(tt * float64(time.Second)), ok: true, faces: 1, pts: subset(p2), iod: iodOf(p2), hash: rng.Uint64()}
	}
	return recs
}

// blinkAt closes both eyes for 4 frames from frame k.
func blinkAt(k int) func(int, [][3]float64) {
	return func(i int, pts [][3]float64) {
		if i >= k && i < k+4 {
			pts[meshRightUpperLid][1] += 8
			pts[meshLeftUpperLid][1] += 8
		}
	}
}

// speaking opens and closes the mouth (0–9 px) at about 3 Hz.
func speaking(i int, pts [][3]float64) {
	pts[meshLowerLip][1] += 4.5 + 4.5*math.Sin(2*math.Pi*float64(i)/8)
}

// widening moves the mouth corners w px apart and back (a width spread of
// about 2w over the IOD of 70 px) at about 1 Hz, the lips shut.
func widening(w float64) func(int, [][3]float64) {
	return func(i int, pts [][3]float64) {
		d := w * (0.5 + 0.5*math.Sin(2*math.Pi*float64(i)/25))
		pts[61][0], pts[61][1] = -20-d, 35
		pts[291][0], pts[291][1] = 20+d, 35
	}
}

func TestNonRigidLayer(t *testing.T) {
	for _, c := range []struct {
		name   string
		flat   bool
		amp    float64
		deform func(int, [][3]float64)
		passed bool
		blinks float64
	}{
		{"head still, blinks", false, 1, blinkAt(40), true, 1},
		{"head turning, blinks", false, 6, blinkAt(30), true, 1},
		{"head still, speaks", false, 1, speaking, true, 0},
		{"head still, no blink, lips shut", false, 1, nil, false, 0},
		{"head still, mouth widens a little, lips shut", false, 1, widening(3.2), false, 0},
		{"head still, smiles broadly, lips shut", false, 1, widening(6), true, 0},
		{"picture held still", true, 0, nil, false, 0},
		{"picture waved and tilted", true, 30, nil, false, 0},
		{"picture tilted a little", true, 8, nil, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := nonRigidLayer(deformingRecs(c.flat, c.amp, 0.4, 100, 5, c.deform))
			if l.Passed != c.passed {
				t.Errorf("passed %v, want %v: %s", l.Passed, c.passed, l.Detail)
			}
			if l.Measures["blinks"] != c.blinks {
				t.Errorf("blinks %v, want %v: %s", l.Measures["blinks"], c.blinks, l.Detail)
			}
			if !c.passed && !slices.Contains(l.Reasons, ReasonNoNonRigidMotion) {
				t.Errorf("reasons %v lack %s", l.Reasons, ReasonNoNonRigidMotion)
			}
			t.Logf("score %.2f %s", l.Score, l.Detail)
		})
	}
}

func TestLiveEvidenceFromParallax(t *testing.T) {
	turning := deformingRecs(false, 12, 0.4, 100, 7, nil)
	nr := nonRigidLayer(turning)
	if nr.Passed {
		t.Fatalf("no blink, no lips: the non-rigid layer passed: %s", nr.Detail)
	}
	if l := liveEvidence(nr, motionLayer(turning, false)); !l.Passed {
		t.Errorf("a turning head's parallax does not stand in: %s", l.Detail)
	}
	picture := deformingRecs(true, 30, 0.4, 100, 7, nil)
	if l := liveEvidence(nonRigidLayer(picture), motionLayer(picture, false)); l.Passed {
		t.Errorf("a waved picture passed: %s", l.Detail)
	}
}

func TestTrajectoryLoop(t *testing.T) {
	base := deformingRecs(false, 12, 0.2, 200, 9, speaking)
	// replay builds a stream from frame indices of base, with fresh
	// landmark noise on every frame (as a re-encoded, re-noised loop).
	replay := func(order []int, noise float64) []*frameRec {
		rng := rand.New(rand.NewPCG(11, 2))
		out := make([]*frameRec, len(order))
		for i, k := range order {
			r := base[k]
			r.idx, r.t = i, time.Duration(i)*40*time.Millisecond
			r.pts = slices.Clone(r.pts)
			for j := range r.pts {
				r.pts[j][0] += noise * rng.NormFloat64()
				r.pts[j][1] += noise * rng.NormFloat64()
			}
			out[i] = &r
		}
		return out
	}
	still := deformingRecs(false, 0, 0.2, 200, 10, blinkAt(30))
	stillReplay := func(order []int) []*frameRec {
		rng := rand.New(rand.NewPCG(12, 3))
		out := make([]*frameRec, len(order))
		for i, k := range order {
			r := still[k]
			r.idx, r.t = i, time.Duration(i)*40*time.Millisecond
			r.pts = slices.Clone(r.pts)
			for j := range r.pts {
				r.pts[j][0] += 0.2 * rng.NormFloat64()
				r.pts[j][1] += 0.2 * rng.NormFloat64()
			}
			out[i] = &r
		}
		return out
	}
	var forward, pingPong, natural, stillLoop, stillLive []int
	for i := 0; i < 110; i++ {
		stillLoop = append(stillLoop, 10+i%40)
		stillLive = append(stillLive, 10+i)
		forward = append(forward, 20+i%30)
		k := i % 50
		if (i/50)%2 == 1 {
			k = 49 - k
		}
		pingPong = append(pingPong, 20+k)
		natural = append(natural, i)
	}
	for _, c := range []struct {
		name     string
		order    []int
		still    bool
		loop     bool
		reversed bool
	}{
		{"forward loop of 1.2 s", forward, false, true, false},
		{"ping-pong loop of 2 s", pingPong, false, true, true},
		{"a live head swaying and speaking", natural, false, false, false},
		{"a still face whose blink comes back every 1.6 s", stillLoop, true, true, false},
		{"a still face that blinks once", stillLive, true, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs := replay(c.order, 0.2)
			if c.still {
				recs = stillReplay(c.order)
			}
			run, rev := trajectoryLoop(recs)
			if got := run >= loopMinRun; got != c.loop {
				t.Errorf("loop %v (run of %d frames), want %v", got, run, c.loop)
			}
			if c.loop && rev != c.reversed {
				t.Errorf("reversed %v, want %v", rev, c.reversed)
			}
			t.Logf("run %d reversed %v", run, rev)
		})
	}
}
