package modelpack_test

import (
	"fmt"

	"livegate.dev/models/modelpack"
)

// A self-test vector is made from the outputs measured when a pack is built
// (Build does this with the pack's own models); on the device, SelfTest
// measures again and Check compares.
func ExampleVector_Check() {
	built := &modelpack.Outputs{Box: [4]float32{164.5, 125.0, 201.4, 201.4}, Score: 0.906, Landmarks: 468, Presence: 0.99,
		Centroid: [2]float32{265, 230}, Embedding: []float32{0.6, 0.8}}
	v := modelpack.NewVector("selftest.jpg", built)
	fmt.Printf("box tolerance %.1f px\n", v.Detector.BoxTolerance)

	same := *built
	same.Box[0] += 1.5 // another CPU, another rounding
	fmt.Println("same models:", v.Check(&same))

	other := *built
	other.Box[0] += 60 // another detector, or a broken one
	fmt.Println("other models:", v.Check(&other))
	// Output:
	// box tolerance 5.0 px
	// same models: <nil>
	// other models: models self-test failed: detector box x 224.50, want 164.50 ± 5.03 px
}
