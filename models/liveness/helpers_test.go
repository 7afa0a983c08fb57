package liveness

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// skipMissing is whether missing media skip tests instead of failing them.
func skipMissing() bool { return os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" }

func needMedia(t testing.TB, rel string) string {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		if skipMissing() {
			t.Skipf("media %s missing (LIVEGATE_SKIP_MEDIA=1): %v", rel, err)
		}
		t.Fatalf("test media %s missing: %v — run `make setup`", rel, err)
	}
	return p
}

// skipShortModels skips a test that loads the models under -short: the
// -short run is also the one under qemu-aarch64, where creating four ONNX
// Runtime sessions alone takes minutes (the face package's tests cover ONNX
// Runtime on arm64). The full run on amd64 runs them.
func skipShortModels(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("loads the models: skipped with -short")
	}
}

var (
	modelsOnce sync.Once
	testModels *Models
	modelsErr  error
)

// sharedModels loads one model set for the whole test binary.
func sharedModels(t testing.TB) *Models {
	t.Helper()
	modelsOnce.Do(func() { testModels, modelsErr = LoadModels(ModelOptions{}) })
	if modelsErr != nil {
		if skipMissing() {
			t.Skipf("models missing (LIVEGATE_SKIP_MEDIA=1): %v", modelsErr)
		}
		t.Fatalf("load models: %v — run `make setup`", modelsErr)
	}
	return testModels
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testModels != nil {
		testModels.Close()
	}
	if clipDir != "" {
		os.RemoveAll(clipDir)
	}
	os.Exit(code)
}

var (
	clipMu    sync.Mutex
	clipDir   string
	clipCache = map[string][]*imgproc.RGB{}
)

// clipFrames decodes n frames of a test clip from frame start (ffmpeg,
// installed by `make setup`), cached per test binary.
func clipFrames(t testing.TB, rel string, start, n int) []*imgproc.RGB {
	t.Helper()
	key := fmt.Sprintf("%s@%d+%d", rel, start, n)
	clipMu.Lock()
	defer clipMu.Unlock()
	if f, ok := clipCache[key]; ok {
		return f
	}
	src := needMedia(t, rel)
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found (%v) — run `make setup`", err)
	}
	if clipDir == "" {
		if clipDir, err = os.MkdirTemp("", "liveness-clips-"); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(clipDir, fmt.Sprintf("%d", len(clipCache)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fps := 25.0
	if strings.Contains(rel, "franck") {
		fps = 24
	}
	// Seek to the frame's time (accurate seek: ffmpeg decodes from the
	// previous key frame and drops frames before it).
	cmd := exec.Command(ff, "-loglevel", "error", "-y", "-ss", fmt.Sprintf("%.4f", float64(start)/fps), "-i", src,
		"-vsync", "0", "-frames:v", fmt.Sprint(n), filepath.Join(dir, "%05d.png"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v: %s", rel, err, b)
	}
	var out []*imgproc.RGB
	for i := 1; i <= n; i++ {
		m, err := imgproc.DecodeFile(filepath.Join(dir, fmt.Sprintf("%05d.png", i)))
		if err != nil {
			break
		}
		out = append(out, m)
	}
	if len(out) < n {
		t.Fatalf("%s: got %d of %d frames from %d", rel, len(out), n, start)
	}
	clipCache[key] = out
	return out
}

func loadImage(t testing.TB, rel string) *imgproc.RGB {
	t.Helper()
	m, err := imgproc.DecodeFile(needMedia(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// runFrames feeds frames at fps through a new Analyzer and returns it.
func runFrames(t testing.TB, cfg Config, frames []*imgproc.RGB, fps float64, lights func(i int, t time.Duration, a *Analyzer) *Light) *Analyzer {
	t.Helper()
	a := New(cfg, sharedModels(t), rand.New(rand.NewPCG(1, 2)))
	for i, f := range frames {
		ts := time.Duration(float64(i) / fps * float64(time.Second))
		fr := Frame{Image: f, Timestamp: ts}
		if lights != nil {
			fr.Light = lights(i, ts, a)
		}
		if _, err := a.Feed(context.Background(), fr); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	return a
}

func layer(v Verdict, name string) LayerScore {
	for _, l := range v.Layers {
		if l.Name == name {
			return l
		}
	}
	return LayerScore{Name: name, Score: math.NaN()}
}

// --- made attacks ---

// homography is a 3×3 matrix mapping output pixels to source pixels.
type homography [9]float64

func (h homography) apply(x, y float64) (float64, float64) {
	w := h[6]*x + h[7]*y + h[8]
	return (h[0]*x + h[1]*y + h[2]) / w, (h[3]*x + h[4]*y + h[5]) / w
}

// planeView is the homography (output → source) of a picture of size
// sw×sh held as a plane rotated by yaw and pitch (degrees), shifted by
// (dx, dy) pixels and scaled by s, seen by a pinhole camera (focal f px)
// into a w×h frame.
func planeView(sw, sh, w, h int, yaw, pitch, dx, dy, s, f float64) homography {
	ya, pa := yaw*math.Pi/180, pitch*math.Pi/180
	// Rotation R = Ry(yaw)·Rx(pitch).
	cy, sy, cp, sp := math.Cos(ya), math.Sin(ya), math.Cos(pa), math.Sin(pa)
	r := [9]float64{cy, sy * sp, sy * cp, 0, cp, -sp, -sy, cy * sp, cy * cp}
	// Plane point (X, Y, 0) in picture pixels centred → camera (R·[X Y 0] + [0 0 f]).
	// Projection: x = f·Xc/Zc + w/2. Forward H maps (X, Y, 1) to (x, y, 1).
	fw := [9]float64{
		f * s * r[0], f * s * r[1], f*dx + float64(w)/2*f,
		f * s * r[3], f * s * r[4], f*dy + float64(h)/2*f,
		s * r[6], s * r[7], f,
	}
	// Include the picture's centring: X = u − sw/2.
	c := [9]float64{1, 0, -float64(sw) / 2, 0, 1, -float64(sh) / 2, 0, 0, 1}
	m := mul3(fw, c)
	return homography(inv3(m))
}

func mul3(a, b [9]float64) [9]float64 {
	var o [9]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				o[i*3+j] += a[i*3+k] * b[k*3+j]
			}
		}
	}
	return o
}

func inv3(m [9]float64) [9]float64 {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	A, B, C := e*i-f*h, -(d*i - f*g), d*h-e*g
	det := a*A + b*B + c*C
	return [9]float64{
		A / det, -(b*i - c*h) / det, (b*f - c*e) / det,
		B / det, (a*i - c*g) / det, -(a*f - c*d) / det,
		C / det, -(a*h - b*g) / det, (a*e - b*d) / det,
	}
}

func bilin(src *imgproc.RGB, x, y float64) (r, g, b float64, ok bool) {
	x -= 0.5
	y -= 0.5
	if x < 0 || y < 0 || x >= float64(src.W-1) || y >= float64(src.H-1) {
		return 0, 0, 0, false
	}
	x0, y0 := int(x), int(y)
	fx, fy := x-float64(x0), y-float64(y0)
	w00, w10, w01, w11 := (1-fx)*(1-fy), fx*(1-fy), (1-fx)*fy, fx*fy
	i := (y0*src.W + x0) * 3
	j := i + src.W*3
	p := src.Pix
	var out [3]float64
	for c := 0; c < 3; c++ {
		out[c] = float64(p[i+c])*w00 + float64(p[i+3+c])*w10 + float64(p[j+c])*w01 + float64(p[j+3+c])*w11
	}
	return out[0], out[1], out[2], true
}

func clampByte(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

// printAttack renders n frames of src printed on paper and moved by hand as
// a flat plane in front of the camera: a slow tilt and sway, hand shake,
// paper grain, lower contrast and camera noise.
func printAttack(src *imgproc.RGB, n, w, h int, seed uint64) []*imgproc.RGB {
	rng := rand.New(rand.NewPCG(seed, 7))
	grain := make([]float64, src.W*src.H)
	for i := range grain {
		grain[i] = 1 + 0.04*rng.NormFloat64()
	}
	s := 0.9 * math.Min(float64(w)/float64(src.W), float64(h)/float64(src.H))
	out := make([]*imgproc.RGB, n)
	ph := rng.Float64() * 6
	for i := range out {
		tt := float64(i) / 25
		yaw := 14 * math.Sin(2*math.Pi*tt/2.5+ph)
		pitch := 9 * math.Sin(2*math.Pi*tt/3.3+ph*0.7)
		dx := 12*math.Sin(2*math.Pi*tt/2.1) + 1.5*rng.NormFloat64()
		dy := 8*math.Sin(2*math.Pi*tt/2.9) + 1.5*rng.NormFloat64()
		hm := planeView(src.W, src.H, w, h, yaw, pitch, dx, dy, s*(1+0.03*math.Sin(tt)), 500)
		img := imgproc.NewRGB(w, h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				u, v := hm.apply(float64(x)+0.5, float64(y)+0.5)
				k := (y*w + x) * 3
				r, g, b, ok := bilin(src, u, v)
				if !ok {
					img.Pix[k], img.Pix[k+1], img.Pix[k+2] = 70, 65, 60
					continue
				}
				gr := grain[min(max(int(v), 0), src.H-1)*src.W+min(max(int(u), 0), src.W-1)]
				for c, val := range [3]float64{r, g, b} {
					val = (val*0.8+30)*gr + 2*rng.NormFloat64()
					img.Pix[k+c] = clampByte(val)
				}
			}
		}
		out[i] = img
	}
	return out
}

// screenAttack renders frames shown on a screen and re-filmed: each screen
// pixel is three vertical RGB stripes, about 1.4 camera pixels wide, the
// screen slightly turned, with display gamma and camera noise; the camera's
// pixels integrate the stripe grid and alias it into moiré.
//
// The camera integrates each pixel over 2×2 samples.
func screenAttack(frames []*imgproc.RGB, seed uint64) []*imgproc.RGB {
	rng := rand.New(rand.NewPCG(seed, 9))
	out := make([]*imgproc.RGB, len(frames))
	const pitch = 1.4 // camera pixels per screen pixel
	ang := (2 + 3*rng.Float64()) * math.Pi / 180
	ca, sa := math.Cos(ang), math.Sin(ang)
	for i, src0 := range frames {
		// Display gamma, applied to the source once.
		src := imgproc.NewRGB(src0.W, src0.H)
		for k, p := range src0.Pix {
			src.Pix[k] = gamma12[p]
		}
		w, h := src.W, src.H
		img := imgproc.NewRGB(w, h)
		zoom := 1.08
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var acc [3]float64
				for sy := 0; sy < 2; sy++ {
					for sx := 0; sx < 2; sx++ {
						px := float64(x) + (float64(sx)+0.5)/2 - float64(w)/2
						py := float64(y) + (float64(sy)+0.5)/2 - float64(h)/2
						// Screen coordinates in screen pixels.
						u := (ca*px + sa*py) / pitch
						v := (-sa*px + ca*py) / pitch
						// Gap between pixel rows.
						if v-math.Floor(v) > 0.85 {
							continue
						}
						// Source pixel shown there.
						r, g, b, ok := bilin(src, u*pitch/zoom+float64(w)/2, v*pitch/zoom+float64(h)/2)
						if !ok {
							continue
						}
						ch := min(int((u-math.Floor(u))*3), 2)
						acc[ch] += 3 * [3]float64{r, g, b}[ch] * 9 / 4
					}
				}
				k := (y*w + x) * 3
				for c := 0; c < 3; c++ {
					img.Pix[k+c] = clampByte(acc[c]/9*0.9 + 10 + 2*rng.NormFloat64())
				}
			}
		}
		out[i] = img
	}
	return out
}

var gamma12 = func() (t [256]uint8) {
	for i := range t {
		t[i] = clampByte(255 * math.Pow(float64(i)/255, 1.2))
	}
	return t
}()

// repeated returns n copies of img.
func repeated(img *imgproc.RGB, n int) []*imgproc.RGB {
	out := make([]*imgproc.RGB, n)
	for i := range out {
		out[i] = img
	}
	return out
}

// landmarksOf runs the detector and mesh on one image (for pure-geometry
// tests that start from a real mesh).
func landmarksOf(t testing.TB, img *imgproc.RGB) *face.Landmarks {
	t.Helper()
	m := sharedModels(t)
	s, err := m.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer m.release(s)
	faces, err := s.det.Detect(img)
	if err != nil || len(faces) == 0 {
		t.Fatalf("no face: %v", err)
	}
	var l face.Landmarks
	if err := s.lm.Detect(img, faces[0], &l); err != nil {
		t.Fatal(err)
	}
	return &l
}
