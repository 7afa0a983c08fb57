package face

import (
	"math"
	"testing"

	"livegate.dev/models/imgproc"
)

func TestGenerateAnchors(t *testing.T) {
	tests := []struct {
		name   string
		opts   AnchorOptions
		n      int
		checks map[int]Anchor
	}{
		{"short range", ShortRangeAnchors, 896, map[int]Anchor{
			0:   {XCenter: 0.5 / 16, YCenter: 0.5 / 16, W: 1, H: 1},
			1:   {XCenter: 0.5 / 16, YCenter: 0.5 / 16, W: 1, H: 1}, // two anchors per cell at stride 8
			2:   {XCenter: 1.5 / 16, YCenter: 0.5 / 16, W: 1, H: 1},
			511: {XCenter: 15.5 / 16, YCenter: 15.5 / 16, W: 1, H: 1},
			512: {XCenter: 0.5 / 8, YCenter: 0.5 / 8, W: 1, H: 1}, // six per cell at stride 16
			518: {XCenter: 1.5 / 8, YCenter: 0.5 / 8, W: 1, H: 1},
			895: {XCenter: 7.5 / 8, YCenter: 7.5 / 8, W: 1, H: 1},
		}},
		{"full range", FullRangeAnchors, 2304, map[int]Anchor{
			0:    {XCenter: 0.5 / 48, YCenter: 0.5 / 48, W: 1, H: 1},
			1:    {XCenter: 1.5 / 48, YCenter: 0.5 / 48, W: 1, H: 1},
			2303: {XCenter: 47.5 / 48, YCenter: 47.5 / 48, W: 1, H: 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := GenerateAnchors(tc.opts)
			if len(a) != tc.n {
				t.Fatalf("%d anchors, want %d", len(a), tc.n)
			}
			for i, want := range tc.checks {
				g := a[i]
				if math.Abs(g.XCenter-want.XCenter) > 1e-9 || math.Abs(g.YCenter-want.YCenter) > 1e-9 || g.W != want.W || g.H != want.H {
					t.Errorf("anchor %d = %+v, want %+v", i, g, want)
				}
			}
		})
	}
	// Without fixed size the interpolated anchor is sqrt(s_i s_{i+1}).
	o := ShortRangeAnchors
	o.FixedAnchorSize = false
	a := GenerateAnchors(o)
	if math.Abs(a[0].W-0.1484375) > 1e-9 || math.Abs(a[1].W-math.Sqrt(0.1484375*(0.1484375+(0.75-0.1484375)/3))) > 1e-9 {
		t.Fatalf("anchor sizes %+v %+v", a[0], a[1])
	}
}

func TestDecodeAnchor(t *testing.T) {
	raw := make([]float32, 16)
	raw[0], raw[1], raw[2], raw[3] = 12.8, -6.4, 64, 32 // centre offset (+0.1, -0.05), size (0.5, 0.25)
	raw[4], raw[5] = 0, 0
	c := decodeAnchor(0, raw, Anchor{XCenter: 0.5, YCenter: 0.5, W: 1, H: 1}, 128)
	want := [4]float32{(0.6 - 0.25) * 128, (0.45 - 0.125) * 128, (0.6 + 0.25) * 128, (0.45 + 0.125) * 128}
	for i := range want {
		if math.Abs(float64(c.box[i]-want[i])) > 1e-3 {
			t.Fatalf("box %v, want %v", c.box, want)
		}
	}
	if c.score != 0.5 || c.kp[0] != [2]float32{64, 64} {
		t.Fatalf("score %v kp %v", c.score, c.kp[0])
	}
	for _, r := range []float32{1e30, -1e30, float32(math.Inf(1))} {
		if s := decodeAnchor(r, raw, Anchor{W: 1, H: 1}, 128).score; math.IsNaN(float64(s)) || s < 0 || s > 1 {
			t.Fatalf("raw %v: score %v", r, s)
		}
	}
}

func TestWeightedNMS(t *testing.T) {
	d := &Detector{opts: DetectorOptions{NMSThreshold: 0.3}}
	mk := func(s, x0 float32) cand {
		c := cand{score: s, box: [4]float32{x0, 0, x0 + 10, 10}}
		c.kp[0] = [2]float32{x0, 5}
		return c
	}
	// Two overlapping boxes (IoU 0.82) and a distant one.
	d.cands = []cand{mk(0.6, 1), mk(0.9, 0), mk(0.7, 50)}
	d.nms()
	if len(d.faces) != 2 {
		t.Fatalf("%d faces, want 2", len(d.faces))
	}
	f := d.faces[0]
	if f.Score != 0.9 {
		t.Fatalf("merged score %v, want the best 0.9", f.Score)
	}
	wantX := (0.9*0 + 0.6*1) / 1.5
	if math.Abs(float64(f.Box[0])-wantX) > 1e-5 || math.Abs(float64(f.Keypoints[0][0])-wantX) > 1e-5 {
		t.Fatalf("weighted box %v kp %v, want x0 %v", f.Box, f.Keypoints[0], wantX)
	}
	if d.faces[1].Score != 0.7 || d.faces[1].Box[0] != 50 {
		t.Fatalf("second face %+v", d.faces[1])
	}
}

// Golden boxes measured with this code and checked by eye; BlazeFace on
// grace_hopper matches the TFLite reference (docs/models-setup.md) (score 0.91, box
// 201 px).
func TestDetectGolden(t *testing.T) {
	d := newTestDetector(t, ShortRange, ShortRangeModel)
	tests := []struct {
		img   string
		box   [4]float32
		score float32
		eyes  [2][2]float32
	}{
		{"grace_hopper_512x512.jpg", [4]float32{164.5, 125.0, 201.4, 201.4}, 0.906, [2][2]float32{{220.7, 175.8}, {306.2, 171.2}}},
		{"skimage/astronaut.png", [4]float32{177.9, 80.8, 94.2, 94.2}, 0.922, [2][2]float32{{203.8, 100.8}, {248.0, 108.4}}},
	}
	for _, tc := range tests {
		t.Run(tc.img, func(t *testing.T) {
			faces, err := d.Detect(loadImage(t, tc.img))
			if err != nil {
				t.Fatal(err)
			}
			if len(faces) != 1 {
				t.Fatalf("%d faces, want 1", len(faces))
			}
			f := faces[0]
			tol := tc.box[2] * 0.03
			for i := range tc.box {
				if math.Abs(float64(f.Box[i]-tc.box[i])) > float64(tol) {
					t.Errorf("box %v, want %v ±%.1f", f.Box, tc.box, tol)
					break
				}
			}
			for k, e := range tc.eyes {
				if math.Hypot(float64(f.Keypoints[k][0]-e[0]), float64(f.Keypoints[k][1]-e[1])) > float64(tol) {
					t.Errorf("eye %d at %v, want %v", k, f.Keypoints[k], e)
				}
			}
			if math.Abs(float64(f.Score-tc.score)) > 0.03 {
				t.Errorf("score %v, want %v", f.Score, tc.score)
			}
			// The subject's right eye is on the image's left.
			if f.Keypoints[KeyRightEye][0] >= f.Keypoints[KeyLeftEye][0] {
				t.Errorf("eye order %v", f.Keypoints[:2])
			}
		})
	}
}

// Face counts on the group photos (counted by eye: 3, 3, 3, 4, 5, 4 people;
// sample2's profile face is missed by BlazeFace full range).
func TestDetectGroupPhotos(t *testing.T) {
	d := newTestDetector(t, FullRange, FullRangeModel)
	want := []int{3, 2, 3, 4, 5, 4}
	if testing.Short() {
		want = want[:1]
	}
	for i, n := range want {
		name := "face-api/sample" + string(rune('1'+i)) + ".jpg"
		faces, err := d.Detect(loadImage(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(faces) != n {
			t.Errorf("%s: %d faces, want %d", name, len(faces), n)
		}
		for _, f := range faces {
			if f.Box[2] < 100 || f.Box[2] > 400 {
				t.Errorf("%s: implausible face size %v", name, f.Box)
			}
		}
	}
	// Short range is for near faces: on a 1920 px group photo it still finds
	// some, letterboxed rather than stretched.
	s := newTestDetector(t, ShortRange, ShortRangeModel)
	faces, err := s.Detect(loadImage(t, "face-api/sample1.jpg"))
	if err != nil || len(faces) < 2 {
		t.Fatalf("short range on sample1: %d faces, %v", len(faces), err)
	}
}

// keijiro's independent ONNX export and our conversion of the same
// BlazeFace must agree: IoU ≥ 0.9 and keypoints within 2 px at 128².
func TestKeijiroAgreesWithConverted(t *testing.T) {
	conv := newTestDetector(t, ShortRange, ShortRangeModel)
	kei := newTestDetector(t, ShortRange, KeijiroModel)
	imgs := []string{"grace_hopper_512x512.jpg", "skimage/astronaut.png", "face-api/sample1.jpg", "face-api/sample3.jpg", "face-api/sample6.jpg"}
	if testing.Short() {
		imgs = imgs[:1]
	}
	total := 0
	for _, name := range imgs {
		img := loadImage(t, name)
		a, err := conv.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		a = append([]Face(nil), a...)
		b, err := kei.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("%s: converted finds %d faces, keijiro %d", name, len(a), len(b))
		}
		to128 := 128 / float64(max(img.W, img.H))
		for i := range a {
			if iou := IoU(a[i].Box, b[i].Box); iou < 0.9 {
				t.Errorf("%s face %d: IoU %.3f", name, i, iou)
			}
			for k := range a[i].Keypoints {
				dx := float64(a[i].Keypoints[k][0]-b[i].Keypoints[k][0]) * to128
				dy := float64(a[i].Keypoints[k][1]-b[i].Keypoints[k][1]) * to128
				if math.Hypot(dx, dy) > 2 {
					t.Errorf("%s face %d keypoint %d differs by %.2f px at 128²", name, i, k, math.Hypot(dx, dy))
				}
			}
			total++
		}
	}
	if total == 0 {
		t.Fatal("no faces compared")
	}
}

func TestDetectBadInput(t *testing.T) {
	d := newTestDetector(t, ShortRange, ShortRangeModel)
	if _, err := d.Detect(nil); err == nil {
		t.Fatal("nil image accepted")
	}
	if _, err := d.Detect(&imgproc.RGB{}); err == nil {
		t.Fatal("empty image accepted")
	}
	// A flat grey frame has no face.
	g := imgproc.NewRGB(640, 480)
	for i := range g.Pix {
		g.Pix[i] = 128
	}
	faces, err := d.Detect(g)
	if err != nil || len(faces) != 0 {
		t.Fatalf("grey frame: %d faces, %v", len(faces), err)
	}
	if _, err := NewDetector(DetectorOptions{Model: "/nonexistent/model.onnx"}); err == nil {
		t.Fatal("missing model accepted")
	}
}

func TestDetectSteadyStateAllocations(t *testing.T) {
	d := newTestDetector(t, ShortRange, ShortRangeModel)
	img := loadImage(t, "grace_hopper_512x512.jpg")
	if _, err := d.Detect(img); err != nil {
		t.Fatal(err)
	}
	runs := 5
	if testing.Short() {
		runs = 1
	}
	n := testing.AllocsPerRun(runs, func() {
		if _, err := d.Detect(img); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per Detect, want 0", n)
	}
}
