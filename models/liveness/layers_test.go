package liveness

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"livegate.dev/models/face"
)

// synthHead returns 468 3-D points of a head-like surface (a dome with a
// nose), or a flat picture of it when flat is set, with the eye corners at
// the mesh indices face.Measure and iodOf use.
func synthHead(rng *rand.Rand, flat bool) [][3]float64 {
	pts := make([][3]float64, face.NumLandmarks)
	for i := range pts {
		a := rng.Float64() * 2 * math.Pi
		r := math.Sqrt(rng.Float64())
		x, y := 60*r*math.Cos(a), 80*r*math.Sin(a)
		pts[i] = [3]float64{x, y, 0}
	}
	pts[face.MeshRightEyeOuter] = [3]float64{-35, -20, 0}
	pts[face.MeshLeftEyeOuter] = [3]float64{35, -20, 0}
	pts[face.MeshNoseTip] = [3]float64{0, 10, 0}
	if !flat {
		for i, p := range pts {
			d := 45 * (1 - (p[0]*p[0])/(60*60) - (p[1]*p[1])/(80*80))
			d += 28 * math.Exp(-(p[0]*p[0]+(p[1]-5)*(p[1]-5))/(2*12*12))
			pts[i][2] = -d // towards the camera
		}
	}
	return pts
}

// project turns pts by yaw and pitch (degrees), shifts them and projects
// them with a pinhole camera 600 px away, adding landmark noise.
func project(pts [][3]float64, yaw, pitch, dx, dy, noise float64, rng *rand.Rand) []pt2 {
	ya, pa := yaw*math.Pi/180, pitch*math.Pi/180
	out := make([]pt2, len(pts))
	for i, p := range pts {
		x := math.Cos(ya)*p[0] + math.Sin(ya)*p[2]
		z := -math.Sin(ya)*p[0] + math.Cos(ya)*p[2]
		y := math.Cos(pa)*p[1] - math.Sin(pa)*z
		z = math.Sin(pa)*p[1] + math.Cos(pa)*z
		f := 600 / (600 + z)
		out[i] = pt2{200 + dx + x*f + noise*rng.NormFloat64(), 150 + dy + y*f + noise*rng.NormFloat64()}
	}
	return out
}

// synthRecs makes n frame records at 25 fps of a head (or a flat picture)
// swaying by ±amp degrees.
func synthRecs(flat bool, amp float64, n int, seed uint64) []frameRec {
	rng := rand.New(rand.NewPCG(seed, 1))
	head := synthHead(rng, flat)
	recs := make([]frameRec, n)
	for i := range recs {
		tt := float64(i) / 25
		pts := project(head, amp*math.Sin(2*math.Pi*tt/2), 0.6*amp*math.Sin(2*math.Pi*tt/2.7), 10*math.Sin(tt), 5*math.Cos(tt), 0.4, rng)
		r := frameRec{idx: i, t: time.Duration(tt * float64(time.Second)), ok: true, faces: 1, pts: subset(pts), iod: iodOf(pts), hash: rng.Uint64()}
		for k := range r.thumb {
			r.thumb[k] = float32(100 + 5*rng.NormFloat64())
		}
		recs[i] = r
	}
	return recs
}

func TestMotionLayer(t *testing.T) {
	for _, c := range []struct {
		name    string
		flat    bool
		amp     float64
		passed  bool
		reasons []string
	}{
		{"head turning", false, 12, true, nil},
		{"head, small sway", false, 5, true, nil},
		{"picture waved", true, 30, false, []string{ReasonPlanarMotion, ReasonSpoofSuspected}},
		{"picture, small tilt: nothing to judge", true, 5, false, []string{ReasonInsufficientMotion}},
		{"picture held still", true, 0, false, []string{ReasonInsufficientMotion}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := motionLayer(synthRecs(c.flat, c.amp, 75, 3), false)
			if l.Passed != c.passed {
				t.Errorf("passed %v, want %v: %s", l.Passed, c.passed, l.Detail)
			}
			for _, r := range c.reasons {
				if !slices.Contains(l.Reasons, r) {
					t.Errorf("reasons %v lack %s: %s", l.Reasons, r, l.Detail)
				}
			}
			t.Logf("%s: score %.2f %s", c.name, l.Score, l.Detail)
		})
	}
}

func TestFitResidualsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	head := synthHead(rng, true)
	a := project(head, 0, 0, 0, 0, 0, rng)
	b := project(head, 25, -15, 30, 10, 0, rng)
	rh, ok := fitResiduals(a, b, true)
	if !ok {
		t.Fatal("homography fit failed")
	}
	if m := trimmedRMS(rh, 0); m > 1e-6 {
		t.Errorf("a plane seen twice: homography residual %.2g px, want ~0", m)
	}
	rs, _ := fitResiduals(a, b, false)
	if m := trimmedRMS(rs, 0); m < 1 {
		t.Errorf("a tilted plane: similarity residual %.2g px, want > 1", m)
	}
	if _, ok := fitResiduals(a[:3], b[:3], true); ok {
		t.Error("3 points: fit should refuse")
	}
}
