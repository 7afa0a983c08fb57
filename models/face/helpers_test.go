package face

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
)

// needMedia returns the path of a test medium, failing (not skipping) when it
// is missing unless LIVEGATE_SKIP_MEDIA=1.
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

// needModel is needMedia for model files.
func needModel(t testing.TB, name string) string {
	t.Helper()
	p, err := assets.Model(name)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("model %s missing (LIVEGATE_SKIP_MEDIA=1): %v", name, err)
		}
		t.Fatalf("model %s missing: %v — run `make setup`", name, err)
	}
	return p
}

// needMediaDir lists the regular files in a media folder, failing like
// needMedia when it is missing or empty.
func needMediaDir(t testing.TB, rel, glob string) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", rel, glob))
	if len(files) == 0 {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media %s missing (LIVEGATE_SKIP_MEDIA=1)", rel)
		}
		t.Fatalf("test media %s/%s missing under %s — run `make setup`", rel, glob, assets.CacheDir())
	}
	sort.Strings(files)
	return files
}

var imgCache sync.Map

// loadImage decodes a test medium once per test binary.
func loadImage(t testing.TB, rel string) *imgproc.RGB {
	t.Helper()
	if m, ok := imgCache.Load(rel); ok {
		return m.(*imgproc.RGB)
	}
	m, err := imgproc.DecodeFile(needMedia(t, rel))
	if err != nil {
		t.Fatalf("decode %s: %v", rel, err)
	}
	imgCache.Store(rel, m)
	return m
}

// Sessions are shared by the tests of one binary: creating them is the
// slow part under qemu-aarch64. TestMain closes them.
var (
	sharedMu sync.Mutex
	shared   = map[string]interface{ Close() error }{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range shared {
		s.Close()
	}
	os.Exit(code)
}

func sharedModel[T interface{ Close() error }](t testing.TB, key string, open func() (T, error)) T {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s, ok := shared[key]; ok {
		return s.(T)
	}
	s, err := open()
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	shared[key] = s
	return s
}

func newTestDetector(t testing.TB, r Range, model string) *Detector {
	t.Helper()
	p := needModel(t, model)
	return sharedModel(t, "detector "+model, func() (*Detector, error) {
		return NewDetector(DetectorOptions{Range: r, Model: p})
	})
}

func newTestLandmarker(t testing.TB) *Landmarker {
	t.Helper()
	p := needModel(t, LandmarkModel)
	return sharedModel(t, "landmarker", func() (*Landmarker, error) {
		return NewLandmarker(LandmarkerOptions{Model: p})
	})
}

func newTestEmbedder(t testing.TB) *Embedder {
	t.Helper()
	p := needModel(t, EmbedModel)
	return sharedModel(t, "embedder", func() (*Embedder, error) {
		return NewEmbedder(EmbedderOptions{Model: p})
	})
}

// videoFrame extracts frame n of a test clip as an image (ffmpeg, installed
// by `make setup`).
func videoFrame(t testing.TB, rel string, n int) *imgproc.RGB {
	t.Helper()
	src := needMedia(t, rel)
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found (%v) — run `make setup`", err)
	}
	out := filepath.Join(t.TempDir(), "frame.png")
	cmd := exec.Command(ff, "-loglevel", "error", "-y", "-i", src, "-vf", fmt.Sprintf("select=eq(n\\,%d)", n), "-frames:v", "1", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg frame %d of %s: %v: %s", n, rel, err, b)
	}
	m, err := imgproc.DecodeFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// firstFace detects and returns the best face, failing when there is none.
func firstFace(t testing.TB, d *Detector, img *imgproc.RGB) Face {
	t.Helper()
	faces, err := d.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) == 0 {
		t.Fatal("no face detected")
	}
	return faces[0]
}

// meshOf runs detection then the mesh on the best face.
func meshOf(t testing.TB, d *Detector, l *Landmarker, img *imgproc.RGB) *Landmarks {
	t.Helper()
	var out Landmarks
	if err := l.Detect(img, firstFace(t, d, img), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// rotated returns img turned clockwise by deg degrees about its centre.
func rotated(img *imgproc.RGB, deg float64) *imgproc.RGB {
	var s imgproc.Sampler
	buf := make([]float32, img.W*img.H*3)
	a := imgproc.RotatedRect(float64(img.W)/2, float64(img.H)/2, float64(img.W), float64(img.H), -deg*math.Pi/180, img.W, img.H)
	s.Warp(buf, img.W, img.H, img, a, imgproc.Norm{Scale: 1})
	out := imgproc.NewRGB(img.W, img.H)
	for i, v := range buf {
		out.Pix[i] = uint8(math.Max(0, math.Min(255, math.Round(float64(v)))))
	}
	return out
}

func mirrored(img *imgproc.RGB) *imgproc.RGB {
	var out imgproc.RGB
	imgproc.FlipH(&out, img)
	return &out
}
