package assets_test

import (
	"fmt"
	"log"

	"livegate.dev/models/assets"
)

// Look a model up in the manifest and find its file in the cache.
func Example() {
	man, err := assets.Manifest()
	if err != nil {
		log.Fatal(err)
	}
	e, err := man.Model("face_detection_short_range")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Source, e.License, e.Inputs[0].Name, e.Inputs[0].Shape, e.Inputs[0].Range)
	if _, err := assets.Model(e.File); err != nil {
		log.Fatal(err) // says to run `make setup`
	}
	// Output: @mediapipe/face_detection@0.4.1657300184 Apache-2.0 input [1 128 128 3] [-1, 1]
}
