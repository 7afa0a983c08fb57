package v4l2_test

import (
	"fmt"

	"livegate.dev/drivers"
	"livegate.dev/drivers/v4l2"
)

// Negotiate is what Open does with the device's enumeration.
func ExampleNegotiate() {
	offers := []v4l2.FormatInfo{
		{FourCC: v4l2.FourCCMJPEG, Sizes: []v4l2.SizeRange{{MinW: 1280, MaxW: 1280, MinH: 720, MaxH: 720}},
			Intervals: func(w, h int) ([]v4l2.Interval, error) { return []v4l2.Interval{{Num: 1, Den: 30}}, nil }},
		{FourCC: v4l2.FourCCYUYV, Sizes: []v4l2.SizeRange{{MinW: 640, MaxW: 640, MinH: 480, MaxH: 480}},
			Intervals: func(w, h int) ([]v4l2.Interval, error) {
				return []v4l2.Interval{{Num: 1, Den: 30}, {Num: 1, Den: 10}}, nil
			}},
	}
	m, _ := v4l2.Negotiate(offers, v4l2.Want{Width: 640, Height: 480, FPS: 12})
	fmt.Println(m)
	m, _ = v4l2.Negotiate(offers, v4l2.Want{Format: drivers.FormatMJPEG})
	fmt.Println(m)
	// Output:
	// YUYV 640x480@10
	// MJPG 1280x720@30
}
