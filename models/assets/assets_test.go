package assets

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLocations(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	cases := []struct {
		name                 string
		env                  map[string]string
		cache, models, ortFn string
	}{
		{"defaults", nil,
			filepath.Join(home, ".cache/livegate"), filepath.Join(home, ".cache/livegate/models"),
			filepath.Join(home, ".cache/livegate/ort/linux-"+runtime.GOARCH+"/libonnxruntime.so.1")},
		{"cache moved", map[string]string{EnvCache: "/srv/lg"},
			"/srv/lg", "/srv/lg/models", "/srv/lg/ort/linux-" + runtime.GOARCH + "/libonnxruntime.so.1"},
		{"models moved", map[string]string{EnvCache: "/srv/lg", EnvModels: "/opt/models"},
			"/srv/lg", "/opt/models", "/srv/lg/ort/linux-" + runtime.GOARCH + "/libonnxruntime.so.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvCache, "")
			t.Setenv(EnvModels, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := CacheDir(); got != tc.cache {
				t.Errorf("CacheDir() = %s, want %s", got, tc.cache)
			}
			if got := ModelsDir(); got != tc.models {
				t.Errorf("ModelsDir() = %s, want %s", got, tc.models)
			}
			if got := ORTLibFor(runtime.GOARCH); got != tc.ortFn {
				t.Errorf("ORTLibFor() = %s, want %s", got, tc.ortFn)
			}
		})
	}
}

func TestLookups(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvCache, dir)
	t.Setenv(EnvModels, "")
	t.Setenv(EnvORTLib, "")
	write := func(rel string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	model := write("models/face_landmark.onnx")
	media := write("media/johns/John_Simm/a.jpg")
	lib := write("ort/linux-" + runtime.GOARCH + "/libonnxruntime.so.1")
	other := write("elsewhere/libonnxruntime.so.1")
	if err := os.MkdirAll(filepath.Join(dir, "models", "adir.onnx"), 0o755); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		env     string // LIVEGATE_ORT_LIB
		fn      func() (string, error)
		want    string
		wantErr string // "" for success
	}{
		{"model", "", func() (string, error) { return Model("face_landmark.onnx") }, model, ""},
		{"model missing", "", func() (string, error) { return Model("MobileFaceNet.onnx") }, "", "MobileFaceNet.onnx"},
		{"model is a dir", "", func() (string, error) { return Model("adir.onnx") }, "", "not a regular file"},
		{"model path", "", func() (string, error) { return Model("../media/x") }, "", "plain file name"},
		{"media", "", func() (string, error) { return Media("johns/John_Simm/a.jpg") }, media, ""},
		{"media missing", "", func() (string, error) { return Media("pigo/sample.jpg") }, "", "pigo/sample.jpg"},
		{"media escapes", "", func() (string, error) { return Media("../models/face_landmark.onnx") }, "", "relative to the media directory"},
		{"media absolute", "", func() (string, error) { return Media("/etc/passwd") }, "", "relative to the media directory"},
		{"ort lib", "", ORTLib, lib, ""},
		{"ort lib override", other, ORTLib, other, ""},
		{"ort lib override missing", filepath.Join(dir, "none.so"), ORTLib, "", "none.so"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvORTLib, tc.env)
			got, err := tc.fn()
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Errorf("= %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("= %q, want an error", got)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if strings.Contains(tc.name, "missing") {
				if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "make setup") {
					t.Errorf("error %q should wrap ErrMissing and say `make setup`", err)
				}
			}
		})
	}

	// A missing default library names the fix too.
	t.Setenv(EnvORTLib, "")
	if err := os.Remove(lib); err != nil {
		t.Fatal(err)
	}
	if _, err := ORTLib(); err == nil || !strings.Contains(err.Error(), "make setup") || !strings.Contains(err.Error(), EnvORTLib) {
		t.Errorf("ORTLib() with no library = %v, want an error naming `make setup` and %s", err, EnvORTLib)
	}
}

func TestManifest(t *testing.T) {
	m, err := Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wantModels := map[string]string{
		"face_detection_short_range": "Apache-2.0",
		"face_detection_full_range":  "Apache-2.0",
		"face_landmark":              "Apache-2.0",
		"FaceAntiSpoofing":           "MIT",
		"MobileFaceNet":              "MIT",
		"blazeface_keijiro":          "Apache-2.0",
	}
	if len(m.Models) != len(wantModels) {
		t.Errorf("manifest has %d models, want %d", len(m.Models), len(wantModels))
	}
	for name, lic := range wantModels {
		e, err := m.Model(name)
		if err != nil {
			t.Error(err)
			continue
		}
		if e.License != lic {
			t.Errorf("%s: license %q, want %q", name, e.License, lic)
		}
		if e.Format == "tflite" && e.ONNXFile != strings.TrimSuffix(e.File, ".tflite")+".onnx" {
			t.Errorf("%s: onnx_file %q does not follow the source name %q", name, e.ONNXFile, e.File)
		}
	}
	if _, err := m.Model("yunet"); err == nil {
		t.Error("Model(yunet) found a model the manifest does not list")
	}
	lm, _ := m.Model("face_landmark")
	if lm.Range == nil || lm.Range.End-lm.Range.Start != 1241896 {
		t.Errorf("face_landmark byte range %+v, want 1241896 bytes", lm.Range)
	}
	arches := map[string]bool{}
	for _, r := range m.Runtime {
		arches[r.GOARCH] = true
	}
	if !arches["amd64"] || !arches["arm64"] {
		t.Errorf("runtime libraries for %v, want amd64 and arm64", arches)
	}
	johns := 0
	for _, g := range m.Media {
		if g.Name == "johns" {
			johns = len(g.Files)
		}
	}
	if johns != 55 {
		t.Errorf("johns media: %d files, want 5 people × 11", johns)
	}
}

func TestParseManifestRejects(t *testing.T) {
	good := `{"schema":1,"runtime":[],"models":[],"media":[]}`
	if _, err := ParseManifest([]byte(good)); err != nil {
		t.Fatalf("minimal manifest: %v", err)
	}
	sha := strings.Repeat("ab", 32)
	model := func(extra string) string {
		return `{"schema":1,"runtime":[],"media":[],"models":[{"name":"m","format":"tflite",` +
			`"source":{"kind":"npm","package":"p","version":"1","tarball_sha256":"` + sha + `"},` +
			`"path":"package/m.tflite","file":"m.tflite","sha256":"` + sha + `","onnx_file":"m.onnx","onnx_sha256":"",` +
			`"license":"MIT","inputs":[{"name":"i","shape":[1],"dtype":"float32","layout":"N","range":"x"}],` +
			`"outputs":[{"name":"o","shape":[1],"dtype":"float32","layout":"N","range":"x"}]` + extra + `}]}`
	}
	if _, err := ParseManifest([]byte(model(""))); err != nil {
		t.Fatalf("one-model manifest: %v", err)
	}
	cases := map[string]string{
		"schema 2":       `{"schema":2,"runtime":[],"models":[],"media":[]}`,
		"unknown field":  `{"schema":1,"runtime":[],"models":[],"media":[],"extra":1}`,
		"not json":       `{"schema":`,
		"short sha":      strings.Replace(model(""), `"sha256":"`+sha, `"sha256":"abc`, 1),
		"bad onnx sha":   strings.Replace(model(""), `"onnx_sha256":""`, `"onnx_sha256":"xyz"`, 1),
		"bad range":      model(`,"range":{"start":10,"end":5}`),
		"unknown kind":   strings.Replace(model(""), `"kind":"npm"`, `"kind":"curl"`, 1),
		"no tarball sha": strings.Replace(model(""), `"tarball_sha256":"`+sha+`"`, `"tarball_sha256":""`, 1),
	}
	for name, doc := range cases {
		if _, err := ParseManifest([]byte(doc)); err == nil {
			t.Errorf("%s: ParseManifest accepted it", name)
		}
	}
}

// TestCacheMatchesManifest checks every fetched file against its pinned
// sha256, as `make setup` left them.
func TestCacheMatchesManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes about 100 MB")
	}
	m, err := Manifest()
	if err != nil {
		t.Fatal(err)
	}
	check := func(p, want string) {
		f, err := os.Open(p)
		if err != nil {
			t.Errorf("%v (run `make setup`)", err)
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			t.Error(err)
			return
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			t.Errorf("%s: sha256 %s, manifest pins %s", p, got, want)
		}
	}
	for _, r := range m.Runtime {
		check(filepath.Join(CacheDir(), r.File), r.SHA256)
	}
	for _, e := range m.Models {
		check(filepath.Join(ModelsDir(), e.File), e.SHA256)
		if e.ONNXSHA256 != "" && e.ONNXFile != e.File {
			if _, err := os.Stat(filepath.Join(ModelsDir(), e.ONNXFile)); err == nil {
				check(filepath.Join(ModelsDir(), e.ONNXFile), e.ONNXSHA256)
			}
		}
	}
	for _, g := range m.Media {
		for _, f := range g.Files {
			check(filepath.Join(CacheDir(), "media", f.File), f.SHA256)
		}
	}
}
