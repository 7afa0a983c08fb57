package ort_test

import (
	"fmt"
	"log"

	"livegate.dev/models/assets"
	"livegate.dev/models/ort"
)

// Load a model once, then per frame: write the input in place, Run, read the
// outputs. Run allocates nothing.
func Example() {
	path, err := assets.Model("blazeface_keijiro.onnx") // fetched by `make setup`
	if err != nil {
		log.Fatal(err)
	}
	m, err := ort.Load(path,
		[]ort.TensorSpec{{Name: "input:0", Shape: []int64{1, 128, 128, 3}}},
		[]ort.TensorSpec{{Name: "Identity:0", Shape: []int64{1, 512, 1}}, {Name: "Identity_2:0", Shape: []int64{1, 512, 16}}},
		ort.Options{IntraOpThreads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	in := m.Input(0) // 128×128 NHWC RGB in [-1, 1]
	for i := range in {
		in[i] = 0 // a flat mid-grey frame
	}
	if err := m.Run(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(m.Output(0)), "scores,", len(m.Output(1)), "box values")
	// Output: 512 scores, 8192 box values
}
