package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
)

func media(t *testing.T, rel string) string {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatalf("test media %s missing: %v — run `make setup`", rel, err)
	}
	return p
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRoot(&out, &errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestDetectJSON(t *testing.T) {
	drawing := filepath.Join(t.TempDir(), "faces.png")
	out, err := run(t, "detect", "--json", "--draw", drawing, media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Faces []struct {
			Box           [4]float32   `json:"box"`
			Score         float32      `json:"score"`
			Keypoints     [][2]float32 `json:"keypoints"`
			KeypointNames []string     `json:"keypoint_names"`
		} `json:"faces"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(res.Faces) != 1 || len(res.Faces[0].Keypoints) != 6 || res.Faces[0].Score < 0.8 {
		t.Fatalf("unexpected result %+v", res)
	}
	if b := res.Faces[0].Box; b[0] < 150 || b[0] > 180 || b[2] < 180 || b[2] > 220 {
		t.Fatalf("box %v not in source pixels", b)
	}
	f := res.Faces[0]
	if len(f.KeypointNames) != 6 || f.KeypointNames[0] != "right_eye" || f.KeypointNames[2] != "nose_tip" {
		t.Fatalf("keypoint names %v", f.KeypointNames)
	}
	// The subject's right eye is on the image's left.
	if f.Keypoints[0][0] >= f.Keypoints[1][0] {
		t.Fatalf("right eye %v not left of left eye %v in the image", f.Keypoints[0], f.Keypoints[1])
	}
	fh, err := os.Open(drawing)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if cfg, err := png.DecodeConfig(fh); err != nil || cfg.Width != 512 {
		t.Fatalf("drawing: %+v %v", cfg, err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "notes.jpg")
	os.WriteFile(notImage, []byte("not an image at all"), 0o644)
	data, err := os.ReadFile(media(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "cut.jpg")
	os.WriteFile(truncated, data[:len(data)/3], 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not an image", []string{"detect", notImage}, "not a JPEG or PNG"},
		{"truncated", []string{"landmarks", truncated}, "corrupt or truncated"},
		{"missing file", []string{"detect", filepath.Join(dir, "nope.png")}, "no such file"},
		{"no args", []string{"compare", notImage}, "accepts 2 arg"},
		{"bad range", []string{"detect", "--range", "far", notImage}, "unknown --range"},
		{"compare bad", []string{"compare", notImage, truncated}, "not a JPEG or PNG"},
		{"convert bad", []string{"convert", notImage, filepath.Join(dir, "x.onnx")}, "tflite2onnx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestCompareJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (three models loaded twice): runs without -short")
	}
	a := media(t, "johns/John_Simm/000288_00470387.jpg")
	b := media(t, "johns/John_Simm/000297_00470170.jpg")
	c := media(t, "johns/John_Salley/000179_02159509.jpg")
	type result struct {
		Similarity float32 `json:"similarity"`
		Match      bool    `json:"match"`
		Threshold  float32 `json:"threshold"`
	}
	get := func(x, y string) result {
		out, err := run(t, "compare", "--json", x, y)
		if err != nil {
			t.Fatal(err)
		}
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return r
	}
	same, diff := get(a, b), get(a, c)
	if !same.Match || diff.Match || same.Similarity <= diff.Similarity || same.Threshold == 0 {
		t.Fatalf("same %+v, different %+v", same, diff)
	}
}

func TestLandmarksDraw(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mesh.png")
	text, err := run(t, "landmarks", "--draw", out, "--crop", media(t, "skimage/astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "yaw") {
		t.Fatalf("no pose in output:\n%s", text)
	}
	img, err := imgproc.DecodeFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if img.W != 480 {
		t.Fatalf("cropped drawing is %dx%d", img.W, img.H)
	}
}

func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (three models, warm-up frames): runs without -short")
	}
	out, err := run(t, "bench", "--json", "--frames", "3", "--embed-every", "2")
	if err != nil {
		t.Fatal(err)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r.Frames != 3 || r.FacesFound != 3 || r.FPS <= 0 || r.ModelMs <= 0 || r.Ratio < 1 || r.AllocsNoDec != 0 {
		t.Fatalf("bench result %+v", r)
	}
}
