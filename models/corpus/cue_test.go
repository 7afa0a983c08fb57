package corpus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// fakeGenerator has clips of the small corpus's lengths with no frame data:
// enough for plan, which decodes nothing.
func fakeGenerator(size string, seed uint64) *generator {
	g := &generator{opts: Options{Size: size, Seed: seed}, blinks: map[string][]int{}}
	for i, rel := range RealClips {
		fps, secs := 25, 30
		if i == 0 {
			fps, secs = 24, 45
		}
		g.clips = append(g.clips, &Clip{Name: rel, FPSNum: fps, FPSDen: 1, Frames: make([][]byte, fps*secs)})
	}
	g.blinks[g.clips[0].Name] = []int{120, -300, 420, 700, 980}
	g.stills = []string{"skimage/astronaut.png"}
	return g
}

func TestPlanCoversSpeciesAndKinds(t *testing.T) {
	for _, tc := range []struct {
		size      string
		cue, kind int
	}{{Small, 3, 2}, {Medium, 10, 8}} {
		jobs := fakeGenerator(tc.size, 1).plan()
		species, kinds := map[string]int{}, map[string]int{}
		paths := map[string]bool{}
		for _, j := range jobs {
			l := j.label
			if paths[l.Path] {
				t.Errorf("%s: path %s twice", tc.size, l.Path)
			}
			paths[l.Path] = true
			switch l.Label {
			case Attack:
				species[l.Species]++
				if l.Kind != "" {
					t.Errorf("%s: attack %s has kind %q", tc.size, l.Path, l.Kind)
				}
			case BonaFide:
				kinds[l.Kind]++
				if (l.Camera == CameraHandheld) != (l.Kind == KindHandheld) {
					t.Errorf("%s: %s kind %q camera %q", tc.size, l.Path, l.Kind, l.Camera)
				}
			}
		}
		for _, s := range Species {
			if species[s] == 0 {
				t.Errorf("%s: no %s sample", tc.size, s)
			}
		}
		for _, s := range []string{SpeciesCutout, SpeciesScreenFullFrame, SpeciesInjectionLoopNoisy, SpeciesPrintStand, SpeciesEyeholeMask} {
			if species[s] != tc.cue {
				t.Errorf("%s: %d %s samples, want %d", tc.size, species[s], s, tc.cue)
			}
		}
		for _, k := range BonaFideKinds {
			want := tc.kind
			if k == KindWebcam {
				want = kinds[k] // every other bona fide sample
			}
			if kinds[k] == 0 || kinds[k] != want {
				t.Errorf("%s: %d %q bona fide samples, want %d", tc.size, kinds[k], k, want)
			}
		}
		if kinds[""] != 0 {
			t.Errorf("%s: %d bona fide samples without a kind", tc.size, kinds[""])
		}
	}
}

func TestPlanDeterministic(t *testing.T) {
	a, b, c := fakeGenerator(Small, 7).plan(), fakeGenerator(Small, 7).plan(), fakeGenerator(Small, 8).plan()
	same := func(x, y []*job) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i].seed != y[i].seed || x[i].label.Path != y[i].label.Path || x[i].label.Source != y[i].label.Source ||
				x[i].label.SourceFrames != y[i].label.SourceFrames {
				return false
			}
		}
		return true
	}
	if !same(a, b) {
		t.Error("same seed, different plans")
	}
	if same(a, c) {
		t.Error("different seeds, same plan")
	}
	// The new samples come after the existing ones (which so stay as they
	// were for a seed).
	isNew := func(l Label) bool {
		switch l.Species {
		case SpeciesCutout, SpeciesScreenFullFrame, SpeciesInjectionLoopNoisy, SpeciesPrintStand, SpeciesEyeholeMask:
			return true
		}
		return l.Kind != "" && l.Kind != KindWebcam
	}
	seenNew := false
	for i, j := range a {
		if seenNew && !isNew(j.label) {
			t.Fatalf("job %d (%s %s) comes after a new species or kind", i, j.label.Species, j.label.Kind)
		}
		seenNew = seenNew || isNew(j.label)
	}
	// Then the eyehole masks, then the glasses: each added after the rest.
	seenMask, seenGlasses := false, false
	for i, j := range a {
		mask, glasses := j.label.Species == SpeciesEyeholeMask, j.label.Kind == KindGlasses
		if seenMask && !mask && !glasses || seenGlasses && !glasses {
			t.Fatalf("job %d (%s %s) comes after an eyehole mask or glasses", i, j.label.Species, j.label.Kind)
		}
		seenMask, seenGlasses = seenMask || mask, seenGlasses || glasses
	}
}

func TestCoverScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for i := 0; i < 200; i++ {
		p := Pose{CX: 160 + 20*rng.NormFloat64(), CY: 120 + 15*rng.NormFloat64(), Scale: 1 + 0.1*rng.Float64(),
			Yaw: 8 * rng.NormFloat64(), Pitch: 8 * rng.NormFloat64(), Roll: 4 * rng.NormFloat64()}
		m := CoverScale(p, 320, 240, 400, 320, 240)
		p.Scale *= m
		H, _ := FromQuad(320, 240, p.Quad(320, 240, 400))
		inv, ok := H.Invert()
		if !ok {
			t.Fatalf("pose %+v: singular", p)
		}
		for _, c := range [4][2]float64{{0, 0}, {320, 0}, {320, 240}, {0, 240}} {
			if u, v := inv.Apply(c[0], c[1]); u < 0 || v < 0 || u > 320 || v > 240 {
				t.Errorf("pose %+v ×%.3f: corner %v shows (%.1f, %.1f) outside the plane", p, m, c, u, v)
			}
		}
		// Not much more than needed: 2 % less would not cover.
		if m > 1 {
			q := p
			q.Scale /= 1.02
			if CoverScale(q, 320, 240, 400, 320, 240) <= 1 {
				t.Errorf("pose %+v: cover scale %.3f not minimal", p, m)
			}
		}
	}
}

func TestLoopFrame(t *testing.T) {
	seg := make([]*imgproc.RGB, 5)
	for i := range seg {
		seg[i] = imgproc.NewRGB(1, 1)
		seg[i].Pix[0] = uint8(10 * i)
	}
	dst := imgproc.NewRGB(1, 1)
	var got []uint8
	for i := 0; i < 12; i++ {
		loopFrame(seg, i, true, 0, dst)
		got = append(got, dst.Pix[0])
	}
	want := []uint8{0, 10, 20, 30, 40, 30, 20, 10, 0, 10, 20, 30}
	if !bytes.Equal(got, want) {
		t.Errorf("ping-pong %v, want %v", got, want)
	}
	// Forward with a 2-frame fade: period 3; the seam blends frames 3 and 4
	// into 0 and 1.
	for i, v := range []uint8{0, 50, 10, 80, 30} {
		seg[i].Pix[0] = v
	}
	got = got[:0]
	for i := 0; i < 8; i++ {
		loopFrame(seg, i, false, 2, dst)
		got = append(got, dst.Pix[0])
	}
	want = []uint8{0, 50, 10, 53, 43, 10, 53, 43}
	if !bytes.Equal(got, want) {
		t.Errorf("cross-faded loop %v, want %v", got, want)
	}
}

func TestFillPolygon(t *testing.T) {
	for _, tc := range []struct {
		poly [][2]float64
		area float64
	}{
		{[][2]float64{{2, 2}, {12, 2}, {12, 8}, {2, 8}}, 60},
		{[][2]float64{{1.5, 1.25}, {9.5, 1.25}, {5.5, 9.25}}, 32},
	} {
		m := fillPolygon(tc.poly, 16, 12)
		var sum float64
		for _, v := range m {
			if v < 0 || v > 1.0001 {
				t.Fatalf("coverage %v out of range", v)
			}
			sum += float64(v)
		}
		if math.Abs(sum-tc.area) > 0.05*tc.area {
			t.Errorf("%v: area %.2f, want %.2f", tc.poly, sum, tc.area)
		}
	}
}

// syntheticFace is an upright face outline (an ellipse) centred in a w×h
// image.
func syntheticFace(w, h int) FaceShape {
	f := FaceShape{CX: float64(w) / 2, CY: float64(h) / 2, Width: 0.3 * float64(w), Height: 0.4 * float64(w)}
	for i := 0; i < len(FaceOval); i++ {
		a := -math.Pi/2 + 2*math.Pi*float64(i)/float64(len(FaceOval))
		f.Outline = append(f.Outline, [2]float64{f.CX + f.Width/2*math.Cos(a), f.CY + f.Height/2*math.Sin(a)})
	}
	return f
}

// TestCutoutNoPaperBorder cuts a face out of a mid-toned photo and renders
// it over a dark background under many poses, shapes and with or without a
// hand: no pixel shows the paper's blank white (the cut runs through the
// picture), and the cut-out does cover the face.
func TestCutoutNoPaperBorder(t *testing.T) {
	src := imgproc.NewRGB(200, 200)
	for i := 0; i < len(src.Pix); i += 3 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2] = 120, 95, 80
	}
	f := syntheticFace(200, 200)
	pp := PrintParams{Paper: [3]float64{242, 240, 232}, Ink: [3]float64{30, 28, 32}, Saturation: 0.8, Gamma: 1, Grain: 2}
	bg := imgproc.NewRGB(SampleW, SampleH)
	for i := 0; i < len(bg.Pix); i += 3 {
		bg.Pix[i], bg.Pix[i+1], bg.Pix[i+2] = 30, 60, 30
	}
	sc := &Scene{BG: bg, Gain: 1, F: 400}
	rng := rand.New(rand.NewPCG(9, 9))
	dst := imgproc.NewRGB(SampleW, SampleH)
	for i := 0; i < 12; i++ {
		cp := RandomCut(rng)
		cut := NewCutout(src, f, cp, pp, rng)
		side := float64(cut.Print.W) * (80 + 60*rng.Float64()) / cut.FaceWidth
		pose := Pose{CX: 160, CY: 110, Scale: 1, Yaw: 20 * (rng.Float64() - 0.5), Pitch: 16 * (rng.Float64() - 0.5), Roll: 10 * (rng.Float64() - 0.5)}
		sc.RenderCutout(dst, cut, side, side, pose, rng)
		paper, covered := 0, 0
		for p := 0; p < len(dst.Pix); p += 3 {
			r, g, b := float64(dst.Pix[p]), float64(dst.Pix[p+1]), float64(dst.Pix[p+2])
			if math.Abs(r-pp.Paper[0]) < 40 && math.Abs(g-pp.Paper[1]) < 40 && math.Abs(b-pp.Paper[2]) < 40 {
				paper++
			}
			if g > 75 {
				covered++
			}
		}
		if paper > 0 {
			t.Errorf("cut %+v: %d paper-white pixels", cp, paper)
		}
		if faceArea := math.Pi / 4 * 80 * 100; float64(covered) < faceArea {
			t.Errorf("cut %+v: only %d pixels covered", cp, covered)
		}
	}
}

// Real clips and faces: loaded once per test binary.
var (
	realOnce sync.Once
	realGen  *generator
	realErr  error
)

// needRealGenerator returns a generator over the first 12 s of cap13 and
// the media's photos, with a face service; frames are capped at 12 per
// sample. Missing media or models fail the test (as in models/face), or
// skip it with LIVEGATE_SKIP_MEDIA=1.
func needRealGenerator(t *testing.T) *generator {
	t.Helper()
	need := func(what string, err error) {
		if err == nil {
			return
		}
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("%s missing (LIVEGATE_SKIP_MEDIA=1): %v", what, err)
		}
		t.Fatalf("%s missing: %v — run `make setup`", what, err)
	}
	for _, rel := range []string{RealClips[2], "skimage/astronaut.png"} {
		_, err := assets.Media(rel)
		need("test media "+rel, err)
	}
	for _, name := range []string{face.ShortRangeModel, face.LandmarkModel} {
		_, err := assets.Model(name)
		need("model "+name, err)
	}
	realOnce.Do(func() {
		c, err := LoadClip(context.Background(), RealClips[2], 12*time.Second)
		if err != nil {
			realErr = err
			return
		}
		a, err := NewAnnotator()
		if err != nil {
			realErr = err
			return
		}
		realGen = &generator{opts: Options{Seed: 1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, clips: []*Clip{c},
			stills: []string{"skimage/astronaut.png"}, blinks: map[string][]int{}, media: findFaceMedia(), faces: newFaceService(a), maxFrames: 12}
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realGen
}

// renderJob renders a copy of l with run into dir and returns the file's
// bytes and the label as rendered.
func renderJob(t *testing.T, g *generator, dir string, l Label, seed uint64, run runFunc) ([]byte, Label) {
	t.Helper()
	j := &job{label: l, seed: seed, run: run}
	g.opts.Out = dir
	if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(l.Path)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := g.render(j); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, l.Path))
	if err != nil {
		t.Fatal(err)
	}
	return b, j.label
}

// decodeAll reads every frame of an AVI.
func decodeAll(t *testing.T, path string) []*imgproc.RGB {
	t.Helper()
	r, err := video.Open(context.Background(), path, video.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*imgproc.RGB
	err = video.ReadAll(context.Background(), r, func(f video.Frame) error {
		out = append(out, video.Clone(f.Image))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNewSamplesRender renders each new species and bona fide kind from
// real media (12 frames each): the frame count and size, recorded params,
// the same bytes from the same seed and other bytes from another seed.
func TestNewSamplesRender(t *testing.T) {
	g := needRealGenerator(t)
	c := g.clips[0]
	win := func(n int) [2]int { return [2]int{40, 40 + n} }
	cases := []struct {
		name string
		l    Label
		run  runFunc
	}{
		{"cutout_clip", Label{Label: Attack, Species: SpeciesCutout, Source: c.Name + "#30"}, g.cutoutAttack},
		{"cutout_photo", Label{Label: Attack, Species: SpeciesCutout, Source: "skimage/astronaut.png"}, g.cutoutAttack},
		{"screen_fullframe", Label{Label: Attack, Species: SpeciesScreenFullFrame, Source: c.Name, SourceFrames: win(150)}, g.fullScreenAttack},
		{"injection_loop_noisy", Label{Label: Attack, Species: SpeciesInjectionLoopNoisy, Source: c.Name, SourceFrames: win(15)}, g.noisyLoopInjection},
		{"print_stand", Label{Label: Attack, Species: SpeciesPrintStand, Source: "skimage/astronaut.png"}, g.printStandAttack},
		{"eyehole_mask", Label{Label: Attack, Species: SpeciesEyeholeMask, Source: c.Name, SourceFrames: win(150), Photo: "skimage/astronaut.png"}, g.eyeholeAttack},
		{"handheld", Label{Label: BonaFide, Kind: KindHandheld, Camera: CameraHandheld, Source: c.Name, SourceFrames: win(150)}, g.handheldWindow(c)},
		{"dim", Label{Label: BonaFide, Kind: KindDim, Source: c.Name, SourceFrames: win(150)}, g.dimWindow(c)},
		{"backlit", Label{Label: BonaFide, Kind: KindBacklit, Source: c.Name, SourceFrames: win(150)}, g.backlitWindow(c)},
		{"lowres", Label{Label: BonaFide, Kind: KindLowRes, Source: c.Name, SourceFrames: win(150)}, g.lowResWindow(c)},
		{"fast", Label{Label: BonaFide, Kind: KindFast, Source: c.Name, SourceFrames: win(300)}, g.fastWindow(c)},
		{"glasses", Label{Label: BonaFide, Kind: KindGlasses, Source: c.Name, SourceFrames: win(150)}, g.glassesWindow(c)},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.l.Mode = "passive"
			tc.l.Path = filepath.Join("a", tc.name+".avi")
			a, la := renderJob(t, g, dir, tc.l, 11, tc.run)
			tc.l.Path = filepath.Join("b", tc.name+".avi")
			b, _ := renderJob(t, g, dir, tc.l, 11, tc.run)
			tc.l.Path = filepath.Join("c", tc.name+".avi")
			c, _ := renderJob(t, g, dir, tc.l, 12, tc.run)
			if !bytes.Equal(a, b) {
				t.Error("same seed, different samples")
			}
			if tc.name != "fast" && bytes.Equal(a, c) {
				t.Error("different seeds, same sample")
			}
			frames := decodeAll(t, filepath.Join(dir, "a", tc.name+".avi"))
			if len(frames) != g.maxFrames || la.Frames != g.maxFrames {
				t.Errorf("%d frames decoded, label says %d, want %d", len(frames), la.Frames, g.maxFrames)
			}
			wantW, wantH := SampleW, SampleH
			if tc.name == "lowres" { // delivered at the camera's own size
				wantW, wantH = int(la.Params["width"]), int(la.Params["width"])*3/4
			}
			for _, f := range frames {
				if f.W != wantW || f.H != wantH {
					t.Fatalf("frame %d×%d, want %d×%d", f.W, f.H, wantW, wantH)
				}
			}
			if len(la.Params) == 0 {
				t.Error("no params recorded")
			}
		})
	}
}

// TestNoisyLoopNoRepeat: a 6-frame segment looped 60 frames (many passes)
// gives 60 different frames.
func TestNoisyLoopNoRepeat(t *testing.T) {
	g := needRealGenerator(t)
	c := g.clips[0]
	defer func(n int) { g.maxFrames = n }(g.maxFrames)
	g.maxFrames = 60
	dir := t.TempDir()
	for seed := uint64(1); seed <= 4; seed++ { // both loop styles
		l := Label{Label: Attack, Species: SpeciesInjectionLoopNoisy, Mode: "passive", Source: c.Name, SourceFrames: [2]int{100, 106}, Path: "loop.avi"}
		_, la := renderJob(t, g, dir, l, seed, g.noisyLoopInjection)
		frames := decodeAll(t, filepath.Join(dir, "loop.avi"))
		seen := map[[32]byte]int{}
		for i, f := range frames {
			h := sha256.Sum256(f.Pix)
			if k, ok := seen[h]; ok {
				t.Errorf("seed %d (ping-pong %v): frames %d and %d identical", seed, la.Params["ping_pong"], k, i)
			}
			seen[h] = i
		}
		if len(frames) != 60 {
			t.Errorf("seed %d: %d frames", seed, len(frames))
		}
	}
}

// TestCutoutSampleBackground: a rendered cut-out's frame border is the real
// background, not paper: few pixels near paper white on the outer ring, and
// the background differs between two frames by camera noise only.
func TestCutoutSampleBackground(t *testing.T) {
	g := needRealGenerator(t)
	dir := t.TempDir()
	for seed := uint64(20); seed < 23; seed++ {
		l := Label{Label: Attack, Species: SpeciesCutout, Mode: "passive", Source: "skimage/astronaut.png", Path: "cut.avi"}
		_, la := renderJob(t, g, dir, l, seed, g.cutoutAttack)
		frames := decodeAll(t, filepath.Join(dir, "cut.avi"))
		f := frames[0]
		paper, ring := 0, 0
		for y := 0; y < f.H; y++ {
			for x := 0; x < f.W; x++ {
				if x >= 3 && y >= 3 && x < f.W-3 && y < f.H-3 {
					continue
				}
				ring++
				r, gg, b := f.At(x, y)
				if r > 215 && gg > 215 && b > 205 && max(r, gg, b)-min(r, gg, b) < 25 {
					paper++
				}
			}
		}
		if paper > ring/10 {
			t.Errorf("seed %d (params %v): %d of %d border pixels paper-white", seed, la.Params, paper, ring)
		}
	}
}

// TestGlassesDrawn: the glasses cover the eyes' surroundings and leave the
// rest of the frame as it was; the lens lets the eye show through (tinted).
func TestGlassesDrawn(t *testing.T) {
	src := imgproc.NewRGB(SampleW, SampleH)
	for i := range src.Pix {
		src.Pix[i] = 150
	}
	s := &spectacles{halfW: 0.4, halfH: 0.25, p: 4, rim: 0.05, colour: [3]float64{20, 20, 20}, tint: 0.1}
	dst := imgproc.NewRGB(SampleW, SampleH)
	mid, axis := complex(160, 120), complex(60, 0) // eyes at (130, 120) and (190, 120)
	renderGlasses(dst, src, s, mid, axis, rand.New(rand.NewPCG(1, 2)), 0)
	at := func(x, y int) uint8 { return dst.Pix[(y*SampleW+x)*3] }
	tests := []struct {
		name   string
		x, y   int
		lo, hi uint8
	}{
		{"through the lens: tinted", 130, 120, 133, 137},
		{"on the rim", 130 + int(0.4*60) + 1, 120, 19, 40},
		{"the bridge", 160, 116, 19, 60},
		{"the cheek below", 130, 160, 150, 150},
		{"far away", 10, 10, 150, 150},
	}
	for _, tc := range tests {
		if v := at(tc.x, tc.y); v < tc.lo || v > tc.hi {
			t.Errorf("%s (%d, %d): %d, want %d–%d", tc.name, tc.x, tc.y, v, tc.lo, tc.hi)
		}
	}
}
