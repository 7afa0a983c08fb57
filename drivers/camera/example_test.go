package camera_test

import (
	"context"
	"fmt"

	"livegate.dev/drivers/camera"
)

func ExampleNewSynthetic() {
	src, err := camera.NewSynthetic(camera.SyntheticOpts{Width: 320, Height: 240, FPS: 1000, Face: true, Frames: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	for {
		f, err := src.Next(context.Background())
		if err != nil {
			fmt.Println(err) // io.EOF after Frames
			return
		}
		fmt.Println(f.Seq, f.Format, f.Width, f.Height, len(f.Data))
	}
	// Output:
	// 0 RGB24 320 240 230400
	// 1 RGB24 320 240 230400
	// EOF
}
