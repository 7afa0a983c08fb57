package liveness

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"livegate.dev/models/imgproc"
)

// valueNoise is a smooth random texture: a coarse random grid
// interpolated bilinearly, so it has corners to track at every scale.
type valueNoise struct {
	w, h, cell int
	v          []float64
}

func newValueNoise(rng *rand.Rand, w, h, cell int, lo, hi float64) *valueNoise {
	n := &valueNoise{w: w/cell + 2, h: h/cell + 2, cell: cell}
	n.v = make([]float64, n.w*n.h)
	for i := range n.v {
		n.v[i] = lo + (hi-lo)*rng.Float64()
	}
	return n
}

func (n *valueNoise) at(x, y float64) float64 {
	gx, gy := x/float64(n.cell), y/float64(n.cell)
	gx = math.Min(math.Max(gx, 0), float64(n.w-2)-1e-9)
	gy = math.Min(math.Max(gy, 0), float64(n.h-2)-1e-9)
	ix, iy := int(gx), int(gy)
	fx, fy := gx-float64(ix), gy-float64(iy)
	v := n.v
	return (v[iy*n.w+ix]*(1-fx)+v[iy*n.w+ix+1]*fx)*(1-fy) + (v[(iy+1)*n.w+ix]*(1-fx)+v[(iy+1)*n.w+ix+1]*fx)*fy
}

// surroundScene renders 320×240 frames of a textured face box in front of
// a textured background. bg(t) and fc(t) are the background's and the
// face's offsets in pixels at frame t.
type surroundScene struct {
	bgTex, faceTex *valueNoise
	box            [4]float32 // the face box at offset 0
	noise          float64
	rng            *rand.Rand
}

func newSurroundScene(seed uint64) *surroundScene {
	rng := rand.New(rand.NewPCG(seed, 7))
	return &surroundScene{
		bgTex:   newValueNoise(rng, 400, 320, 5, 40, 200),
		faceTex: newValueNoise(rng, 200, 200, 7, 90, 210),
		box:     [4]float32{115, 55, 90, 110},
		noise:   1.5,
		rng:     rng,
	}
}

func (s *surroundScene) render(bg, fc pt2) *imgproc.RGB {
	img := imgproc.NewRGB(320, 240)
	bx, by := float64(s.box[0])+fc[0], float64(s.box[1])+fc[1]
	bw, bh := float64(s.box[2]), float64(s.box[3])
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			var v float64
			// The face is an ellipse in its box.
			ex, ey := (fx-bx-bw/2)/(bw/2), (fy-by-bh/2)/(bh/2)
			if ex*ex+ey*ey <= 1 {
				v = s.faceTex.at(fx-bx+20, fy-by+20)
			} else {
				v = s.bgTex.at(fx-bg[0]+40, fy-bg[1]+40)
			}
			v += s.noise * s.rng.NormFloat64()
			k := (y*320 + x) * 3
			img.Pix[k], img.Pix[k+1], img.Pix[k+2] = u8c(v), u8c(v), u8c(v)
		}
	}
	return img
}

func u8c(v float64) uint8 { return uint8(math.Min(math.Max(v+0.5, 0), 255)) }

// surroundRecs renders n frames at 25 fps and returns their records as the
// analyzer makes them: landmarks (a flat mesh riding with the face, with
// landmark noise), face box, crop and the surround tracker's
// displacements.
func surroundRecs(t *testing.T, s *surroundScene, n int, bg, fc func(i int) pt2) []frameRec {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 3))
	head := synthHead(rng, true)
	var tr surroundTracker
	recs := make([]frameRec, n)
	for i := range recs {
		b, f := bg(i), fc(i)
		img := s.render(b, f)
		// The mesh: synthHead's flat face scaled into the box.
		pts := project(head, 0, 0, 0, 0, 0, rng)
		for k := range pts {
			pts[k] = pt2{(pts[k][0]-200)*0.65 + 160 + f[0] + 0.2*rng.NormFloat64(), (pts[k][1]-150)*0.65 + 110 + f[1] + 0.2*rng.NormFloat64()}
		}
		box := s.box
		box[0] += float32(f[0])
		box[1] += float32(f[1])
		r := frameRec{idx: i, t: time.Duration(i) * 40 * time.Millisecond, ok: true, faces: 1, box: box,
			pts: subset(pts), iod: iodOf(pts), hash: rng.Uint64()}
		r.crop = makeCrop(img, box, cropScale(box[2]))
		tr.step(&r, img)
		recs[i] = r
	}
	return recs
}

// shake is a hand's smoothed random walk plus a slow drift (pixels).
func shake(seed uint64, amp float64) func(i int) pt2 {
	rng := rand.New(rand.NewPCG(seed, 5))
	var walk []pt2
	var v, p pt2
	return func(i int) pt2 {
		for len(walk) <= i {
			v = pt2{0.6*v[0] + amp*rng.NormFloat64(), 0.6*v[1] + amp*rng.NormFloat64()}
			p = pt2{0.85*p[0] + v[0], 0.85*p[1] + v[1]}
			t := float64(len(walk)) / 25
			walk = append(walk, pt2{p[0] + 4*amp*math.Sin(2*math.Pi*0.3*t), p[1] + 2*amp*math.Sin(2*math.Pi*0.2*t)})
		}
		return walk[i]
	}
}

func TestSurroundTracker(t *testing.T) {
	still := func(int) pt2 { return pt2{} }
	sway := func(i int) pt2 { // a still user: 1 px sway, breathing
		tt := float64(i) / 25
		return pt2{math.Sin(2 * math.Pi * 0.4 * tt), 0.6 * math.Sin(2*math.Pi*0.25*tt+1)}
	}
	hand := shake(3, 0.5)
	for _, c := range []struct {
		name          string
		bg, fc        func(int) pt2
		surLo, surHi  float64 // surround motion bounds (IOD)
		coLo, coHi    float64
		relLo, relHi  float64
		coMoving      bool
		stillUserPass bool
		bgMoves       bool // not decisive, but no pass
	}{
		{"static scene (a propped picture)", still, still, 0, 0.002, -1, 1, 0, 0.003, false, false, false},
		{"still user: face sways, background static", still, sway, 0, 0.002, -1, 1, surOwn, 1, false, true, false},
		{"held picture: background and face shake together", hand, hand, surMove, 1, 0.9, 1, 0, 0.01, true, false, false},
		{"held screen replaying a swaying head", hand, func(i int) pt2 { h, s := hand(i), sway(i); return pt2{h[0] + 2*s[0], h[1] + 2*s[1]} }, surMove, 1, surCo, 1, 0, 1, true, false, false},
		{"background moving across the face's motion", func(i int) pt2 { return pt2{0, 5 * math.Sin(2*math.Pi*0.5*float64(i)/25)} },
			func(i int) pt2 { return pt2{4 * math.Sin(2*math.Pi*0.7*float64(i)/25), 0} }, surMoveAny, 1, -surCo, surCo, surMove, 1, false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			recs := surroundRecs(t, newSurroundScene(1), 60, c.bg, c.fc)
			g := good(recs)
			ev, ok := surroundMotion(g)
			if !ok {
				t.Fatalf("no surround evidence over %d frames", ev.Frames)
			}
			t.Logf("surround %.4f face %.4f relative %.4f co %.2f over %d pairs", ev.Surround, ev.Face, ev.Relative, ev.Co, ev.Frames)
			if ev.Frames < len(g)-2 {
				t.Errorf("surround tracked on %d of %d frames", ev.Frames, len(g))
			}
			if ev.Surround < c.surLo || ev.Surround > c.surHi {
				t.Errorf("surround motion %.4f outside [%g, %g]", ev.Surround, c.surLo, c.surHi)
			}
			if ev.Co < c.coLo || ev.Co > c.coHi {
				t.Errorf("co-motion %.2f outside [%g, %g]", ev.Co, c.coLo, c.coHi)
			}
			if ev.Relative < c.relLo || ev.Relative > c.relHi {
				t.Errorf("relative motion %.4f outside [%g, %g]", ev.Relative, c.relLo, c.relHi)
			}
			l := motionLayer(recs, false)
			t.Logf("motion layer: score %.2f passed %v %v: %s", l.Score, l.Passed, l.Reasons, l.Detail)
			if got := slices.Contains(l.Reasons, ReasonMovesWithBackground); got != (c.coMoving || c.bgMoves) {
				t.Errorf("moves_with_background %v, want %v", got, c.coMoving)
			}
			if c.bgMoves && (l.hard || l.Passed || !slices.Contains(l.Reasons, ReasonMovesWithBackground)) {
				t.Errorf("a moving background should fail the layer without being decisive: hard %v passed %v %v", l.hard, l.Passed, l.Reasons)
			}
			if c.coMoving && !l.hard {
				t.Error("a picture carried with its background should be a decisive failure")
			}
			if c.stillUserPass && (!l.Passed || l.Score < stillScore) {
				t.Errorf("a still user should pass the motion layer: %s", l.Detail)
			}
			if !c.stillUserPass && l.Passed {
				t.Errorf("passed: %s", l.Detail)
			}
			// A handheld camera moves the background itself: no evidence
			// either way from it.
			h := motionLayer(recs, true)
			if slices.Contains(h.Reasons, ReasonMovesWithBackground) {
				t.Errorf("handheld camera: %v", h.Reasons)
			}
			if c.stillUserPass && h.Passed {
				t.Errorf("handheld camera: a still user cannot pass on the background: %s", h.Detail)
			}
		})
	}
}

func TestSurroundTrackerGaps(t *testing.T) {
	// Frames without a face or out of sequence give no displacement; the
	// next consecutive pair does.
	s := newSurroundScene(2)
	var tr surroundTracker
	img := s.render(pt2{}, pt2{})
	r0 := frameRec{idx: 0, ok: true, box: s.box, pts: make([]pt2, len(motionPoints))}
	tr.step(&r0, img)
	if r0.hasSur {
		t.Error("first frame has a displacement")
	}
	r2 := frameRec{idx: 2, ok: true, box: s.box, pts: make([]pt2, len(motionPoints))}
	tr.step(&r2, img)
	if r2.hasSur {
		t.Error("a frame after a gap has a displacement")
	}
	r3 := frameRec{idx: 3, ok: true, box: s.box, pts: make([]pt2, len(motionPoints))}
	tr.step(&r3, s.render(pt2{1, 0}, pt2{}))
	if !r3.hasSur || math.Abs(r3.sur[0]-1) > 0.15 || math.Abs(r3.sur[1]) > 0.15 {
		t.Errorf("background shifted by (1, 0): got %v (ok %v)", r3.sur, r3.hasSur)
	}
	if _, ok := surroundMotion([]*frameRec{&r0, &r2, &r3}); ok {
		t.Error("surround evidence from 1 pair")
	}
}

// BenchmarkSurroundStep times the background and face tracking of one
// 320×240 frame (the analyzer's added per-frame cost).
func BenchmarkSurroundStep(b *testing.B) {
	s := newSurroundScene(3)
	frames := []*imgproc.RGB{s.render(pt2{}, pt2{}), s.render(pt2{0.7, -0.4}, pt2{1.2, 0.5})}
	var tr surroundTracker
	r := frameRec{ok: true, box: s.box, pts: make([]pt2, len(motionPoints))}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.idx = i
		tr.step(&r, frames[i%2])
	}
}
