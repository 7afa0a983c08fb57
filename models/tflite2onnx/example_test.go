package tflite2onnx_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"livegate.dev/models/assets"
	"livegate.dev/models/tflite2onnx"
)

// Convert a fetched TFLite model and write the ONNX file; ONNX Runtime (see
// livegate.dev/models/ort) loads it with the model's TFLite input and output
// names and NHWC shapes.
func ExampleConvert() {
	src, err := assets.Model("face_detection_short_range.tflite")
	if err != nil {
		log.Fatal(err) // names the file and says to run `make setup`
	}
	data, err := os.ReadFile(src)
	if err != nil {
		log.Fatal(err)
	}
	onnx, err := tflite2onnx.Convert("face_detection_short_range", data)
	if err != nil {
		log.Fatal(err) // e.g. an unsupported op, named with the model
	}
	out := filepath.Join(os.TempDir(), "face_detection_short_range.onnx")
	if err := os.WriteFile(out, onnx, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", out)
}

func ExampleSupportedOps() {
	fmt.Println(len(tflite2onnx.SupportedOps()) > 0)
	// Output: true
}
