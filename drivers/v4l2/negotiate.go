package v4l2

import (
	"errors"
	"fmt"
	"math"

	"livegate.dev/drivers"
)

// SizeRange is one entry of VIDIOC_ENUM_FRAMESIZES: a discrete size
// (Min == Max, Step zero) or a stepwise or continuous range.
type SizeRange struct {
	MinW, MaxW, StepW int
	MinH, MaxH, StepH int
}

// Interval is a frame interval in seconds, Num/Den.
type Interval struct{ Num, Den uint32 }

// FPS is 1/interval.
func (i Interval) FPS() float64 {
	if i.Num == 0 {
		return 0
	}
	return float64(i.Den) / float64(i.Num)
}

// FormatInfo is what a device offers for one pixel format.
type FormatInfo struct {
	FourCC uint32
	Sizes  []SizeRange
	// Intervals returns the frame intervals offered at w×h (discrete
	// values; a stepwise range is given as its min and max).
	Intervals func(w, h int) ([]Interval, error)
}

// Want is what the caller asks for. Zero fields mean "any".
type Want struct {
	// Format is drivers.FormatYUYV or drivers.FormatMJPEG. Optional.
	// Default: YUYV when offered at the size, else MJPEG.
	Format drivers.PixelFormat
	// Width and Height. Optional. Default: 640×480.
	Width, Height int
	// FPS. Optional. Default: 30.
	FPS float64
}

// Mode is a negotiated capture mode.
type Mode struct {
	FourCC   uint32
	Width    int
	Height   int
	Interval Interval // zero when the device offers none
}

func (m Mode) String() string {
	return fmt.Sprintf("%s %dx%d@%.4g", FourCCString(m.FourCC), m.Width, m.Height, m.Interval.FPS())
}

// ErrNoMode reports that the device offers nothing usable.
var ErrNoMode = errors.New("v4l2: no usable capture mode")

// PixelFormatOf maps a fourcc to a drivers.PixelFormat (FormatUnknown when
// not supported).
func PixelFormatOf(fourcc uint32) drivers.PixelFormat {
	switch fourcc {
	case FourCCYUYV:
		return drivers.FormatYUYV
	case FourCCMJPEG, FourCCJPEG:
		return drivers.FormatMJPEG
	}
	return drivers.FormatUnknown
}

// Negotiate picks the mode closest to want among offers: the requested
// pixel format if given (else YUYV before MJPEG), then the size nearest in
// area (ties to the larger), then the frame rate nearest to the request.
func Negotiate(offers []FormatInfo, want Want) (Mode, error) {
	if want.Width == 0 || want.Height == 0 {
		want.Width, want.Height = 640, 480
	}
	if want.FPS == 0 {
		want.FPS = 30
	}
	type cand struct {
		f    FormatInfo
		w, h int
		rank int
	}
	var best *cand
	score := func(c cand) float64 {
		return math.Abs(float64(c.w*c.h - want.Width*want.Height))
	}
	for _, f := range offers {
		pf := PixelFormatOf(f.FourCC)
		if pf == drivers.FormatUnknown || (want.Format != drivers.FormatUnknown && pf != want.Format) {
			continue
		}
		rank := 1 // MJPEG after YUYV when the caller has no preference
		if pf == drivers.FormatYUYV {
			rank = 0
		}
		for _, s := range f.Sizes {
			w, h := fit(want.Width, s.MinW, s.MaxW, s.StepW), fit(want.Height, s.MinH, s.MaxH, s.StepH)
			c := cand{f: f, w: w, h: h, rank: rank}
			if best == nil {
				best = &c
				continue
			}
			cs, bs := score(c), score(*best)
			if cs < bs || (cs == bs && (c.rank < best.rank || (c.rank == best.rank && c.w*c.h > best.w*best.h))) {
				best = &c
			}
		}
	}
	if best == nil {
		return Mode{}, fmt.Errorf("%w for %s", ErrNoMode, want.Format)
	}
	m := Mode{FourCC: best.f.FourCC, Width: best.w, Height: best.h}
	if best.f.Intervals != nil {
		ivs, err := best.f.Intervals(best.w, best.h)
		if err != nil {
			return Mode{}, fmt.Errorf("v4l2: frame intervals of %s: %w", m, err)
		}
		for _, iv := range ivs {
			if iv.Num == 0 || iv.Den == 0 {
				continue
			}
			if m.Interval.Num == 0 || math.Abs(iv.FPS()-want.FPS) < math.Abs(m.Interval.FPS()-want.FPS) {
				m.Interval = iv
			}
		}
	}
	return m, nil
}

// fit clamps v into [min, max] on the step grid from min.
func fit(v, min, max, step int) int {
	if v < min {
		return min
	}
	if v > max {
		return max
	}
	if step > 1 {
		v = min + (v-min+step/2)/step*step
		if v > max {
			v -= step
		}
	}
	return v
}
