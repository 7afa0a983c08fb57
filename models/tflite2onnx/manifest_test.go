package tflite2onnx_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/ort"
	"livegate.dev/models/tflite2onnx"
)

// Every TFLite model of the manifest converts deterministically (the same
// bytes as the setup step's conversion) to the
// pinned onnx_sha256, and the converted model's inputs and outputs are the
// ones the manifest describes (TFLite names, NHWC shapes, float32).
func TestConvertedModelsMatchManifest(t *testing.T) {
	m, err := assets.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := 0
	for _, e := range m.Models {
		if e.Format != "tflite" {
			continue
		}
		n++
		t.Run(e.Name, func(t *testing.T) {
			src, err := assets.Model(e.File)
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			a, err := tflite2onnx.Convert(e.Name, data)
			if err != nil {
				t.Fatal(err)
			}
			// The setup step converted the same source in another process.
			cached, err := assets.Model(e.ONNXFile)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(cached)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("conversion differs from %s made by `make setup`", cached)
			}
			sum := sha256.Sum256(a)
			if got := hex.EncodeToString(sum[:]); got != e.ONNXSHA256 {
				t.Errorf("converted sha256 %s, manifest onnx_sha256 %s: update the manifest after checking the golden test (docs/converter.md)", got, e.ONNXSHA256)
			}
			path := filepath.Join(dir, e.ONNXFile)
			if err := os.WriteFile(path, a, 0o644); err != nil {
				t.Fatal(err)
			}
			ins, outs, err := ort.Inspect(path)
			if err != nil {
				t.Fatal(err)
			}
			check := func(kind string, got []ort.TensorSpec, want []assets.TensorInfo) {
				if len(got) != len(want) {
					t.Fatalf("%d %ss, manifest lists %d", len(got), kind, len(want))
				}
				for i := range want {
					if got[i].Name != want[i].Name || !reflect.DeepEqual(got[i].Shape, want[i].Shape) || want[i].DType != "float32" {
						t.Errorf("%s %d: converted %v, manifest %s%v %s", kind, i, got[i], want[i].Name, want[i].Shape, want[i].DType)
					}
				}
			}
			check("input", ins, e.Inputs)
			check("output", outs, e.Outputs)
		})
	}
	if n != 5 {
		t.Errorf("manifest lists %d TFLite models, want 5", n)
	}
}
