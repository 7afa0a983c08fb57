package face

import (
	"os"
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

func newTestDetector(t testing.TB, r Range, model string) *Detector {
	t.Helper()
	d, err := NewDetector(DetectorOptions{Range: r, Model: needModel(t, model)})
	if err != nil {
		t.Fatalf("detector %s: %v", model, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
