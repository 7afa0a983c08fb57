package video_test

import (
	"context"
	"fmt"
	"os"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// Read a clip (y4m, MJPEG AVI, a frame folder, or anything ffmpeg reads)
// frame by frame with its timestamps.
func ExampleOpen() {
	ctx := context.Background()
	r, err := video.Open(ctx, "clip.y4m", video.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	info := r.Info()
	fmt.Println(info.Width, info.Height, info.FPS())
	_ = video.ReadAll(ctx, r, func(f video.Frame) error {
		fmt.Println(f.Index, f.Timestamp, f.Image.W)
		return nil
	})
}

// Write a photo as a 2-second y4m clip, e.g. for Chromium's fake camera.
func ExampleNewY4MWriter() {
	photo, err := imgproc.DecodeFile("face.jpg")
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := os.Create("face.y4m")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	w, err := video.NewY4MWriter(f, photo.W, photo.H, 30, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 60; i++ {
		if err := w.WriteFrame(photo); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
}
