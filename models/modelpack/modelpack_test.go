package modelpack_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/modelpack"
)

// needMedia returns a test medium's path, failing when it is missing unless
// LIVEGATE_SKIP_MEDIA=1.
func needMedia(t *testing.T, rel string) string {
	t.Helper()
	p, err := assets.Media(rel)
	if err == nil {
		for _, n := range modelpack.ModelFiles {
			if _, err = assets.Model(n); err != nil {
				break
			}
		}
	}
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media or models missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatalf("%v — run `make setup`", err)
	}
	return p
}

// unpack extracts a pack into a new directory (flat names only).
func unpack(t *testing.T, pack []byte) string {
	t.Helper()
	dir := t.TempDir()
	tr := tar.NewReader(bytes.NewReader(pack))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(h.Name)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPackSelfTest builds a pack from the model cache, checks its layout,
// passes its own self-test, and fails it with a swapped model or with
// expectations that do not match.
func TestPackSelfTest(t *testing.T) {
	img := needMedia(t, "grace_hopper_512x512.jpg")
	var pack bytes.Buffer
	start := time.Now()
	ix, v, err := modelpack.Build(t.Context(), &pack, modelpack.BuildOptions{ModelsDir: assets.ModelsDir(), SelfTestImage: img})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pack: %d bytes, %d files, built in %v; vector: box %v score %.3f, %d landmarks",
		pack.Len(), len(ix.Files), time.Since(start).Round(time.Millisecond), v.Detector.Box, v.Detector.Score, v.Landmarks.Count)
	var names []string
	for _, f := range ix.Files {
		names = append(names, f.Name)
	}
	want := append(append([]string{}, modelpack.ModelFiles...), modelpack.VectorFile, "selftest.jpg")
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("pack files %v, want %v", names, want)
	}
	if v.Format != modelpack.VectorFormat || v.Landmarks.Count != face.NumLandmarks || v.Detector.Score < 0.5 || v.Embedding == nil {
		t.Fatalf("vector %+v", v)
	}
	vb, err := os.ReadFile(filepath.Join(unpack(t, pack.Bytes()), modelpack.VectorFile))
	if err != nil || strings.Contains(string(vb), "anti_spoof") {
		t.Fatalf("selftest.json still has an anti_spoof expectation (%v): %s", err, vb)
	}
	first, err := tar.NewReader(bytes.NewReader(pack.Bytes())).Next()
	if err != nil || first.Name != modelpack.IndexName {
		t.Fatalf("first entry %v, %v", first, err)
	}

	dir := unpack(t, pack.Bytes())
	start = time.Now()
	if _, err := modelpack.CheckDir(t.Context(), dir, modelpackORT()); err != nil {
		t.Fatalf("the pack fails its own self-test: %v", err)
	}
	t.Logf("self-test (load %d models + run them once): %v", len(modelpack.ModelFiles), time.Since(start).Round(time.Millisecond))
	e, err := modelpack.Load(dir, modelpackORT())
	if err != nil {
		t.Fatal(err)
	}
	v2, err := modelpack.ReadVector(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := imgproc.DecodeFile(filepath.Join(dir, v2.Image))
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if _, err := modelpack.SelfTest(t.Context(), e, v2, ref); err != nil {
		t.Fatal(err)
	}
	t.Logf("self-test inference alone (models loaded): %v", time.Since(start).Round(time.Millisecond))
	e.Close()

	t.Run("expectations that do not match", func(t *testing.T) {
		w := *v
		w.Detector.Box[0] += 40
		w.Landmarks.Centroid[1] += 40
		b, _ := jsonMarshal(&w)
		if err := os.WriteFile(filepath.Join(dir, modelpack.VectorFile), b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := modelpack.CheckDir(t.Context(), dir, modelpackORT())
		if !errors.Is(err, modelpack.ErrSelfTest) || !strings.Contains(err.Error(), "detector box x") || !strings.Contains(err.Error(), "landmark centroid") {
			t.Fatalf("self-test with wrong expectations: %v", err)
		}
	})
	t.Run("swapped model", func(t *testing.T) {
		// The full-range detector under the short-range name: refused at
		// load (its input is 192², not 128²).
		d := unpack(t, pack.Bytes())
		full, err := assets.Model(face.FullRangeModel)
		if err != nil {
			t.Skipf("no full-range detector in the cache: %v", err)
		}
		b, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, face.ShortRangeModel), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := modelpack.CheckDir(t.Context(), d, modelpackORT()); err == nil {
			t.Fatal("a pack with the full-range detector under the short-range name passed its self-test")
		} else {
			t.Logf("swapped detector: %v", err)
		}
	})
	t.Run("altered weights", func(t *testing.T) {
		// A model that loads but computes something else (here: the
		// largest weight tensor of the embedder negated) fails the known
		// answer.
		d := unpack(t, pack.Bytes())
		p := filepath.Join(d, face.EmbedModel)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		off, n := largestRawData(t, b)
		for i := off + 3; i < off+n; i += 4 {
			b[i] ^= 0x80 // float32 sign bit, little-endian
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = modelpack.CheckDir(t.Context(), d, modelpackORT())
		if !errors.Is(err, modelpack.ErrSelfTest) {
			t.Fatalf("self-test with altered weights: %v, want ErrSelfTest", err)
		}
		t.Logf("altered weights: %v", err)
	})
	t.Run("pack built before vector format 2", func(t *testing.T) {
		// A pack of the previous layout: FaceAntiSpoofing.onnx beside the
		// engine's models and a format 1 vector with an anti_spoof
		// expectation (testdata/selftest-format1.json, written by the
		// previous builder from these models and grace_hopper_512x512.jpg).
		// The model is not loaded (here a stand-in that is not ONNX at all)
		// and the expectation is dropped: the pack passes its self-test.
		d := unpack(t, pack.Bytes())
		old, err := os.ReadFile(filepath.Join("testdata", "selftest-format1.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, modelpack.VectorFile), old, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "FaceAntiSpoofing.onnx"), []byte("not loaded"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := modelpack.CheckDir(t.Context(), d, modelpackORT()); err != nil {
			t.Fatalf("a format 1 pack fails its self-test: %v", err)
		}
	})
}

func TestVectorCheck(t *testing.T) {
	good := modelpack.Outputs{Box: [4]float32{100, 80, 200, 200}, Score: 0.9, Landmarks: 468, Presence: 0.99,
		Centroid: [2]float32{200, 180}, Embedding: []float32{1, 0, 0}}
	v := modelpack.NewVector("selftest.png", &good)
	tests := []struct {
		name string
		edit func(o *modelpack.Outputs)
		want string // "" passes
	}{
		{"same outputs", func(*modelpack.Outputs) {}, ""},
		{"within tolerance", func(o *modelpack.Outputs) { o.Box[0] += 3; o.Score -= 0.01 }, ""},
		{"box moved", func(o *modelpack.Outputs) { o.Box[1] += 10 }, "detector box y"},
		{"box smaller", func(o *modelpack.Outputs) { o.Box[2] -= 10 }, "detector box w"},
		{"score", func(o *modelpack.Outputs) { o.Score = 0.6 }, "detector score"},
		{"landmark count", func(o *modelpack.Outputs) { o.Landmarks = 68 }, "68 landmarks"},
		{"presence", func(o *modelpack.Outputs) { o.Presence = 0.1 }, "presence"},
		{"centroid", func(o *modelpack.Outputs) { o.Centroid[0] += 20 }, "centroid"},
		{"embedding", func(o *modelpack.Outputs) { o.Embedding = []float32{0, 1, 0} }, "embedding cosine"},
		{"embedding size", func(o *modelpack.Outputs) { o.Embedding = []float32{1} }, "embedding of 1 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			o.Embedding = append([]float32{}, good.Embedding...)
			tt.edit(&o)
			err := v.Check(&o)
			if (tt.want == "") != (err == nil) || (err != nil && (!errors.Is(err, modelpack.ErrSelfTest) || !strings.Contains(err.Error(), tt.want))) {
				t.Fatalf("Check = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseVector(t *testing.T) {
	v := modelpack.NewVector("selftest.png", &modelpack.Outputs{Landmarks: 468})
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modelpack.ParseVector(b); err != nil {
		t.Fatal(err)
	}
	antiSpoof := `"anti_spoof": {"score": 0.99, "tolerance": 0.07}, "format"`
	for name, bad := range map[string]string{
		"unknown field":        strings.Replace(string(b), `"format"`, `"extra": 1, "format"`, 1),
		"trailing data":        string(b) + "{}",
		"format 0":             strings.Replace(string(b), `"format": 2`, `"format": 0`, 1),
		"format 3":             strings.Replace(string(b), `"format": 2`, `"format": 3`, 1),
		"format 2, anti_spoof": strings.Replace(string(b), `"format"`, antiSpoof, 1),
		"format 2, null field": strings.Replace(string(b), `"format"`, `"anti_spoof": null, "format"`, 1),
		"format 1, bad field":  strings.Replace(strings.Replace(string(b), `"format": 2`, `"format": 1`, 1), `"format"`, `"extra": 1, "format"`, 1),
		"not json":             "selftest",
	} {
		if _, err := modelpack.ParseVector([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Format 1, as packs built before FaceAntiSpoofing left them wrote it:
	// read, its anti_spoof expectation dropped.
	for name, old := range map[string]string{
		"format 1":             strings.Replace(strings.Replace(string(b), `"format": 2`, `"format": 1`, 1), `"format"`, antiSpoof, 1),
		"format 1, as written": string(mustRead(t, filepath.Join("testdata", "selftest-format1.json"))),
	} {
		w, err := modelpack.ParseVector([]byte(old))
		if err != nil || w.Format != 1 || w.Landmarks.Count != 468 {
			t.Errorf("%s: %+v, %v", name, w, err)
		}
	}
	if b1, err := jsonMarshal(mustParse(t, mustRead(t, filepath.Join("testdata", "selftest-format1.json")))); err != nil || strings.Contains(string(b1), "anti_spoof") {
		t.Errorf("a format 1 vector read back keeps anti_spoof (%v): %s", err, b1)
	}

	dir := t.TempDir()
	v.Image = "../secret.png"
	b, _ = jsonMarshal(v)
	os.WriteFile(filepath.Join(dir, modelpack.VectorFile), b, 0o644)
	if _, err := modelpack.ReadVector(dir); err == nil {
		t.Error("a vector naming ../secret.png was accepted")
	}
	if _, err := modelpack.ReadVector(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no vector: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, b []byte) *modelpack.Vector {
	t.Helper()
	v, err := modelpack.ParseVector(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
