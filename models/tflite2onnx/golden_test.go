package tflite2onnx_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"livegate.dev/models/assets"
	"livegate.dev/models/ort"
)

// The golden test runs every project model twice on the same inputs: the
// original .tflite in the TFLite WebAssembly runtime (scripts/tflite-golden,
// packages extracted by `make setup`) and the converted ONNX in ONNX Runtime,
// and compares all outputs element by element.

// goldenModel describes one model's input for the test.
type goldenModel struct {
	name    string
	size    int                     // square input side
	batch   int                     // input batch
	pre     func(v float64) float32 // pixel value 0..255 → model input
	lo, hi  float32                 // random input range
	photos  []string                // media files (one per batch entry)
	outputs int                     // number of model outputs
}

var goldenModels = []goldenModel{
	{name: "face_detection_short_range", size: 128, batch: 1, pre: signed, lo: -1, hi: 1,
		photos: []string{"grace_hopper_512x512.jpg"}, outputs: 2},
	{name: "face_detection_full_range", size: 192, batch: 1, pre: signed, lo: -1, hi: 1,
		photos: []string{"skimage/astronaut.png"}, outputs: 2},
	{name: "face_landmark", size: 192, batch: 1, pre: unit, lo: 0, hi: 1,
		photos: []string{"grace_hopper_512x512.jpg"}, outputs: 2},
	{name: "FaceAntiSpoofing", size: 256, batch: 1, pre: unit, lo: 0, hi: 1,
		photos: []string{"grace_hopper_512x512.jpg"}, outputs: 2},
	{name: "MobileFaceNet", size: 112, batch: 2, pre: mfn, lo: -1, hi: 1,
		photos: []string{"johns/John_Salley/000179_02159509.jpg", "johns/John_Simm/000288_00470387.jpg"}, outputs: 1},
}

func signed(v float64) float32 { return float32(v/127.5 - 1) }
func unit(v float64) float32   { return float32(v / 255) }
func mfn(v float64) float32    { return float32((v - 127.5) / 128) }

// Tolerance: the TFLite runtime's own SIMD and plain builds differ by up to
// 2.7e-4 on BlazeFace (docs/converter.md). ORT's kernels sum in another order again,
// so allow a few times that, relative to the output's magnitude.
const (
	absTol = 2e-3
	relTol = 1e-3
)

// mustExist fails the test when a file fetched by `make setup` is missing.
func mustExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing (%v): run `make setup`", path, err)
	}
}

// photoInput loads a test image, resizes it
// to size² with bilinear filtering and maps it to the model's range, NHWC RGB.
func photoInput(t *testing.T, rel string, size int, pre func(float64) float32) []float32 {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s: %v", p, err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, size, size))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	out := make([]float32, 0, size*size*3)
	for i := 0; i < size*size; i++ {
		px := dst.Pix[4*i : 4*i+3]
		out = append(out, pre(float64(px[0])), pre(float64(px[1])), pre(float64(px[2])))
	}
	return out
}

func randomInput(n int, lo, hi float32, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]float32, n)
	for i := range out {
		out[i] = lo + (hi-lo)*r.Float32()
	}
	return out
}

func writeF32(t *testing.T, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

type goldenCase struct {
	Model  string `json:"model"`
	Input  string `json:"input"`
	Output string `json:"output"`
	name   string
	label  string
	data   []float32
}

// runTFLite runs the cases in the TFLite WebAssembly runtime.
func runTFLite(t *testing.T, dir string, cases []goldenCase) {
	t.Helper()
	nodeModules := filepath.Join(assets.CacheDir(), "tflite-golden", "node_modules")
	mustExist(t, filepath.Join(nodeModules, "@tensorflow", "tfjs-tflite", "package.json"))
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): run `make setup`", err)
	}
	job, err := json.Marshal(map[string]any{"cases": cases})
	if err != nil {
		t.Fatal(err)
	}
	jobPath := filepath.Join(dir, "job.json")
	if err := os.WriteFile(jobPath, job, 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "scripts", "tflite-golden", "golden.js"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), node, script, jobPath)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("golden.js: %v\n%s", err, out)
	}
}

func TestGoldenAgainstTFLite(t *testing.T) {
	if testing.Short() {
		t.Skip("golden comparison runs the TFLite WebAssembly runtime (seconds)")
	}
	dir := t.TempDir()
	var cases []goldenCase
	for mi, gm := range goldenModels {
		src, err := assets.Model(gm.name + ".tflite")
		if err != nil {
			t.Fatal(err)
		}
		per := gm.size * gm.size * 3
		var photo []float32
		for _, p := range gm.photos {
			photo = append(photo, photoInput(t, p, gm.size, gm.pre)...)
		}
		inputs := map[string][]float32{
			"photo":   photo,
			"random1": randomInput(gm.batch*per, gm.lo, gm.hi, uint64(100+mi)),
			"random2": randomInput(gm.batch*per, gm.lo, gm.hi, uint64(200+mi)),
		}
		for _, label := range []string{"photo", "random1", "random2"} {
			in := filepath.Join(dir, fmt.Sprintf("%s_%s.in", gm.name, label))
			writeF32(t, in, inputs[label])
			cases = append(cases, goldenCase{
				Model: src, Input: in, Output: filepath.Join(dir, fmt.Sprintf("%s_%s.out", gm.name, label)),
				name: gm.name, label: label, data: inputs[label],
			})
		}
	}
	runTFLite(t, dir, cases)

	// The converted models made by `make setup`, whose bytes
	// TestConvertedModelsMatchManifest checks against Convert's.
	sessions := map[string]*ort.Model{}
	for _, gm := range goldenModels {
		path, err := assets.Model(gm.name + ".onnx")
		if err != nil {
			t.Fatal(err)
		}
		m, err := ort.Load(path, nil, nil, ort.Options{})
		if err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		defer m.Close()
		sessions[gm.name] = m
	}
	worst := map[string]float64{}
	for _, c := range cases {
		want := readF32(t, c.Output)
		got := runONNX(t, sessions[c.name], c.data)
		if len(got) != len(want) {
			t.Fatalf("%s/%s: ONNX gave %d values, TFLite %d", c.name, c.label, len(got), len(want))
		}
		maxDiff, bad := 0.0, 0
		for i := range want {
			d := math.Abs(float64(got[i] - want[i]))
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			maxDiff = max(maxDiff, d)
			if d > absTol+relTol*math.Abs(float64(want[i])) {
				if bad < 3 {
					t.Errorf("%s/%s: value %d: ONNX %g, TFLite %g", c.name, c.label, i, got[i], want[i])
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s/%s: %d of %d values outside tolerance", c.name, c.label, bad, len(want))
		}
		worst[c.name] = max(worst[c.name], maxDiff)
		t.Logf("%-28s %-8s max |ONNX − TFLite| = %.3g over %d values", c.name, c.label, maxDiff, len(want))
	}
	for _, gm := range goldenModels {
		t.Logf("%-28s worst max abs diff %.3g", gm.name, worst[gm.name])
	}
}

// runONNX runs a converted model and returns all its outputs concatenated.
func runONNX(t *testing.T, m *ort.Model, input []float32) []float32 {
	t.Helper()
	if len(m.Inputs()) != 1 || len(m.Input(0)) != len(input) {
		t.Fatalf("%s: inputs %v, want one of %d values", m.Path(), m.Inputs(), len(input))
	}
	copy(m.Input(0), input)
	if err := m.Run(); err != nil {
		t.Fatalf("run %s: %v", m.Path(), err)
	}
	var all []float32
	for i := range m.Outputs() {
		all = append(all, m.Output(i)...)
	}
	return all
}
