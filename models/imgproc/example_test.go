package imgproc_test

import (
	"fmt"

	"livegate.dev/models/imgproc"
)

// Letterbox a camera frame into a 128×128 model input and map a point found
// in the tensor back to frame pixels. The buffers are reused frame after
// frame, so the loop allocates nothing.
func ExampleSampler_Letterbox() {
	yuyv := make([]byte, 640*480*2) // from the camera
	var rgb imgproc.RGB
	var s imgproc.Sampler
	tensor := make([]float32, 128*128*3)

	if err := imgproc.YUYVToRGB(&rgb, yuyv, 640, 480); err != nil {
		panic(err)
	}
	lb := s.Letterbox(tensor, 128, 128, &rgb, imgproc.NormSigned)
	x, y := lb.ToSource(64, 64)
	fmt.Printf("scale %.1f, pad %.0f/%.0f, tensor centre = frame (%.0f, %.0f)\n", lb.Scale, lb.PadX, lb.PadY, x, y)
	// Output: scale 0.2, pad 0/16, tensor centre = frame (320, 240)
}
