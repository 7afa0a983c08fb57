package ort

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"

	"livegate.dev/models/assets"
)

// Errors of Init with a bad library, taken in TestMain before the real
// library is loaded (a process loads one library once).
var (
	errMissingLib error
	errBogusLib   error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ort-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	errMissingLib = Init(Options{LibPath: filepath.Join(dir, "no", "libonnxruntime.so.1")})
	bogus := filepath.Join(dir, "libonnxruntime.so.1")
	if err := os.WriteFile(bogus, []byte("not a shared library"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	errBogusLib = Init(Options{LibPath: bogus})
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestInitBadLibrary(t *testing.T) {
	for name, err := range map[string]error{"missing": errMissingLib, "not a library": errBogusLib} {
		if err == nil {
			t.Errorf("%s: Init succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), "make setup") || !strings.Contains(err.Error(), "libonnxruntime.so.1") {
			t.Errorf("%s: error %q should name the library and say `make setup`", name, err)
		}
	}
}

// keijiro loads keijiro's BlazeFace ONNX with all its tensors.
func keijiro(t testing.TB, opts Options) *Model {
	t.Helper()
	p, err := assets.Model("blazeface_keijiro.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(p, nil, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// fillImage writes img resized to 128×128 into dst as NHWC RGB in [-1, 1].
func fillImage(t testing.TB, dst []float32, img image.Image) {
	t.Helper()
	small := image.NewRGBA(image.Rect(0, 0, 128, 128))
	xdraw.BiLinear.Scale(small, small.Bounds(), img, img.Bounds(), xdraw.Src, nil)
	if len(dst) != 128*128*3 {
		t.Fatalf("input has %d values, want %d", len(dst), 128*128*3)
	}
	for i := 0; i < 128*128; i++ {
		for c := 0; c < 3; c++ {
			dst[3*i+c] = float32(small.Pix[4*i+c])/127.5 - 1
		}
	}
}

func loadMedia(t testing.TB, rel string) image.Image {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", p, err)
	}
	return img
}

func flat(v uint8) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func sigmoid(x float32) float32 { return 1 / (1 + float32(math.Exp(float64(-x)))) }

// maxScore is the best face score over both of keijiro's classifier outputs.
func maxScore(m *Model) float32 {
	best := float32(0)
	for _, i := range []int{0, 1} {
		for _, v := range m.Output(i) {
			best = max(best, sigmoid(v))
		}
	}
	return best
}

func TestInspectKeijiro(t *testing.T) {
	p, err := assets.Model("blazeface_keijiro.onnx")
	if err != nil {
		t.Fatal(err)
	}
	in, out, err := Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(in, out)
	want := "[input:0[1 128 128 3]] [Identity:0[1 512 1] Identity_1:0[1 384 1] Identity_2:0[1 512 16] Identity_3:0[1 384 16]]"
	if got != want {
		t.Errorf("Inspect = %s, want %s", got, want)
	}
	// The manifest describes the same tensors.
	man, err := assets.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	e, err := man.Model("blazeface_keijiro")
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if e.Outputs[i].Name != o.Name || fmt.Sprint(e.Outputs[i].Shape) != fmt.Sprint(o.Shape) {
			t.Errorf("manifest output %d = %s%v, model has %s", i, e.Outputs[i].Name, e.Outputs[i].Shape, o)
		}
	}
	if v := Version(); v != "1.30.0" {
		t.Errorf("Version() = %q, want 1.30.0", v)
	}
}

func TestBlazeFaceFindsFace(t *testing.T) {
	cases := []struct {
		name     string
		img      func(t testing.TB) image.Image
		wantFace bool
	}{
		{"grace hopper", func(t testing.TB) image.Image { return loadMedia(t, "grace_hopper_512x512.jpg") }, true},
		{"astronaut", func(t testing.TB) image.Image { return loadMedia(t, "skimage/astronaut.png") }, true},
		{"flat grey", func(testing.TB) image.Image { return flat(128) }, false},
	}
	m := keijiro(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fillImage(t, m.Input(0), tc.img(t))
			if err := m.Run(); err != nil {
				t.Fatal(err)
			}
			s := maxScore(m)
			if got := s > 0.5; got != tc.wantFace {
				t.Errorf("max face score %.3f, want face=%v", s, tc.wantFace)
			}
			t.Logf("max face score %.3f", s)
		})
	}
}

func TestThreadsGiveSameOutput(t *testing.T) {
	img := loadMedia(t, "grace_hopper_512x512.jpg")
	var outs [][]float32
	for _, threads := range []int{1, 2} {
		m := keijiro(t, Options{IntraOpThreads: threads, InterOpThreads: threads})
		fillImage(t, m.Input(0), img)
		if err := m.Run(); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, append([]float32(nil), m.Output(2)...))
	}
	for i := range outs[0] {
		if d := math.Abs(float64(outs[0][i] - outs[1][i])); d > 1e-3 {
			t.Fatalf("output %d differs by %g between 1 and 2 threads", i, d)
		}
	}
}

func TestRunAllocatesNothing(t *testing.T) {
	m := keijiro(t, Options{})
	fillImage(t, m.Input(0), loadMedia(t, "grace_hopper_512x512.jpg"))
	if err := m.Run(); err != nil { // warm up
		t.Fatal(err)
	}
	runs := 20
	if testing.Short() { // about 1.5 s per run under qemu
		runs = 3
	}
	var runErr error
	allocs := testing.AllocsPerRun(runs, func() {
		if err := m.Run(); err != nil {
			runErr = err
		}
	})
	if runErr != nil {
		t.Fatal(runErr)
	}
	if allocs != 0 {
		t.Errorf("Run allocates %.1f times per call, want 0", allocs)
	}
}

func TestLoadErrors(t *testing.T) {
	p, err := assets.Model("blazeface_keijiro.onnx")
	if err != nil {
		t.Fatal(err)
	}
	notModel := filepath.Join(t.TempDir(), "garbage.onnx")
	if err := os.WriteFile(notModel, []byte("not an onnx model"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := []TensorSpec{{Name: "input:0", Shape: []int64{1, 128, 128, 3}}}
	out := []TensorSpec{{Name: "Identity:0", Shape: []int64{1, 512, 1}}}
	cases := []struct {
		name    string
		path    string
		in, out []TensorSpec
		opts    Options
		want    string
	}{
		{"missing model", filepath.Join(t.TempDir(), "none.onnx"), in, out, Options{}, "none.onnx"},
		{"not a model", notModel, in, out, Options{}, "garbage.onnx"},
		{"unknown input", p, []TensorSpec{{Name: "image", Shape: []int64{1, 128, 128, 3}}}, out, Options{}, `no input "image"`},
		{"unknown output", p, in, []TensorSpec{{Name: "boxes", Shape: []int64{1}}}, Options{}, `no output "boxes"`},
		{"wrong shape", p, []TensorSpec{{Name: "input:0", Shape: []int64{1, 3, 128, 128}}}, out, Options{}, "declares [1 128 128 3]"},
		{"wrong rank", p, []TensorSpec{{Name: "input:0", Shape: []int64{128, 128, 3}}}, out, Options{}, "declares"},
		{"unknown provider", p, in, out, Options{Provider: "tpu"}, `unknown execution provider "tpu"`},
		{"negative threads", p, in, out, Options{IntraOpThreads: -2}, "thread counts"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.path, tc.in, tc.out, tc.opts)
			if err == nil {
				m.Close()
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestProviderUnavailable(t *testing.T) {
	// The npm build of ONNX Runtime has no XNNPACK: asking for it must fail
	// clearly rather than silently fall back to the CPU.
	p, err := assets.Model("blazeface_keijiro.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(p, nil, nil, Options{Provider: ProviderXNNPACK})
	if err == nil {
		m.Close()
		t.Skip("this ONNX Runtime build has XNNPACK")
	}
	if !strings.Contains(err.Error(), `execution provider "xnnpack" is not available`) {
		t.Errorf("error %q should say the provider is not available", err)
	}
}

func TestInitOtherLibrary(t *testing.T) {
	if err := Init(Options{}); err != nil {
		t.Fatal(err)
	}
	lib, err := assets.ORTLib()
	if err != nil {
		t.Fatal(err)
	}
	if err := Init(Options{LibPath: lib}); err != nil {
		t.Errorf("second Init with the same library: %v", err)
	}
	other := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := Init(Options{LibPath: other}); !errors.Is(err, ErrOtherLibrary) {
		t.Errorf("Init with another library = %v, want ErrOtherLibrary", err)
	}
}

func TestCloseTwiceAndRunAfterClose(t *testing.T) {
	p, err := assets.Model("blazeface_keijiro.onnx")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(p, nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := m.Run(); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Run after Close = %v", err)
	}
}
