package document

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"golang.org/x/image/font/opentype"

	"livegate.dev/models/assets"
)

// needReadingKit returns the OCR-B font and the portrait files, failing
// (not skipping) when Tesseract, the font or the photo set is missing,
// unless LIVEGATE_SKIP_MEDIA=1.
func needReadingKit(t testing.TB) (*opentype.Font, []string) {
	t.Helper()
	fail := func(what string, err error) {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("%s missing (LIVEGATE_SKIP_MEDIA=1): %v", what, err)
		}
		t.Fatalf("%s missing: %v — run `make setup`", what, err)
	}
	if err := (Tesseract{}).Check(context.Background()); err != nil {
		fail("tesseract", err)
	}
	f, err := LoadOCRB()
	if err != nil {
		fail("OCR-B font", err)
	}
	files, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "johns", "*", "*.jpg"))
	if len(files) == 0 {
		fail("photo set johns", errors.New("no files"))
	}
	sort.Strings(files)
	return f, files
}

func TestHomography(t *testing.T) {
	src := [4]Point{{0, 0}, {100, 0}, {100, 60}, {0, 60}}
	dst := [4]Point{{12, 30}, {130, 18}, {142, 95}, {5, 88}}
	h, ok := homographyOf(src, dst)
	if !ok {
		t.Fatal("no homography")
	}
	for i := range src {
		x, y := h.apply(src[i].X, src[i].Y)
		if math.Hypot(x-dst[i].X, y-dst[i].Y) > 1e-6 {
			t.Errorf("corner %d → (%.3f, %.3f), want %v", i, x, y, dst[i])
		}
	}
	if _, ok := homographyOf(src, [4]Point{{0, 0}, {0, 0}, {0, 0}, {0, 0}}); ok {
		t.Error("a degenerate quadrilateral gave a homography")
	}
}

// TestLocate photographs plain cards and checks the corners found.
func TestLocate(t *testing.T) {
	card := image.NewRGBA(image.Rect(0, 0, 856, 540))
	draw.Draw(card, card.Rect, &image.Uniform{color.RGBA{230, 230, 220, 255}}, image.Point{}, draw.Src)
	draw.Draw(card, image.Rect(40, 100, 260, 380), &image.Uniform{color.RGBA{60, 40, 30, 255}}, image.Point{}, draw.Src)
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 4; i++ {
		s := RandomShot(rng, false)
		s.GlareStrength = 0
		photo, want, err := Photograph(card, s)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(photo))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Locate(img)
		if err != nil {
			t.Fatalf("shot %d (%+v): %v", i, s, err)
		}
		for k := range got {
			if d := dist(got[k], want[k]); d > 6 {
				t.Errorf("shot %d corner %d at %v, want %v (%.1f px off)", i, k, got[k], want[k], d)
			}
		}
		if a := got.Aspect(); math.Abs(a-856.0/540) > 0.12 {
			t.Errorf("shot %d aspect %.3f", i, a)
		}
	}
	blank := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(blank, blank.Rect, &image.Uniform{color.RGBA{50, 50, 50, 255}}, image.Point{}, draw.Src)
	if _, err := Locate(blank); !errors.Is(err, ErrNotFound) {
		t.Errorf("an empty desk: %v", err)
	}
}

func TestTesseractRejectsMissingCommand(t *testing.T) {
	_, err := Tesseract{Path: filepath.Join(t.TempDir(), "no-tesseract")}.Read(context.Background(), image.NewGray(image.Rect(0, 0, 8, 8)), ModeBlock)
	if !errors.Is(err, ErrNoTesseract) {
		t.Fatalf("err %v, want ErrNoTesseract", err)
	}
}

func TestReadBytesRejectsNonImages(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("not an image"), {0xff, 0xd8, 0xff, 0xe0, 0, 16}} {
		if _, err := (&Reader{}).ReadBytes(context.Background(), data); err == nil {
			t.Errorf("%q: no error", data)
		}
	}
}

func TestReadHonoursContext(t *testing.T) {
	ocrb, files := needReadingKit(t)
	samples, err := Generate(1, 1, files, testNow)
	if err != nil {
		t.Fatal(err)
	}
	photo, _, err := samples[0].Photo(ocrb)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := jpeg.Decode(bytes.NewReader(photo))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Reader{}).Read(ctx, img); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestReadingGate reads a handful of synthetic documents photographed like
// a phone with the real Tesseract and fails when reading breaks: every
// document found, a portrait cut out, the readable ones read in full but
// for one, and no tampered, expired or mismatched document accepted.
func TestReadingGate(t *testing.T) {
	ocrb, files := needReadingKit(t)
	now := testNow
	samples, err := Generate(6, 21, files, now)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), samples, &Reader{Now: func() time.Time { return now }}, ocrb, now, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Found != 1 {
		t.Errorf("found %.2f of the documents", rep.Found)
	}
	missed, wrong := 0, 0
	for _, s := range rep.Samples {
		if s.Defect != DefectLowQuality && !s.FullRead {
			missed++
			t.Logf("%s %s: truth %v, read %v", s.ID, s.Defect, s.Truth, s.Read)
		}
		if s.Decision.Outcome != s.Expected {
			wrong++
			t.Logf("%s %s: %v, expected %s", s.ID, s.Defect, s.Decision, s.Expected)
		}
		if s.Decision.Outcome == Accept && s.Expected != Accept {
			t.Errorf("%s (%s) accepted", s.ID, s.Defect)
		}
	}
	if missed > 1 || wrong > 1 {
		t.Errorf("%d documents not read in full, %d decided wrongly (at most 1 each)", missed, wrong)
	}
	// The portrait: the rectified zone holds the portrait, not the card.
	photo, _, err := samples[0].Photo(ocrb)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := jpeg.Decode(bytes.NewReader(photo))
	res, err := (&Reader{Now: func() time.Time { return now }}).Read(context.Background(), img)
	if err != nil || res.Portrait == nil {
		t.Fatalf("no portrait: %v", err)
	}
	if w, h := res.Portrait.Rect.Dx(), res.Portrait.Rect.Dy(); w < 200 || h < 250 {
		t.Errorf("portrait %d×%d", w, h)
	}
	if v := lumaVariance(res.Portrait); v < 300 {
		t.Errorf("portrait is flat (variance %.0f): not a face", v)
	}
}

func lumaVariance(m *image.RGBA) float64 {
	var s, s2, n float64
	for i := 0; i < len(m.Pix); i += 4 {
		v := 0.299*float64(m.Pix[i]) + 0.587*float64(m.Pix[i+1]) + 0.114*float64(m.Pix[i+2])
		s += v
		s2 += v * v
		n++
	}
	return s2/n - (s/n)*(s/n)
}
