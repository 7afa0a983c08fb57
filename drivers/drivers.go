package drivers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Clock is the time source of every timed driver (relay pulses, pacing of
// file cameras, polling of distance sensors). Tests pass a fake clock
// (drivertest.Clock) and move time themselves instead of sleeping.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed on this clock.
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Sleep waits d on c, or returns ctx's error if ctx is done first.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.After(d):
		return nil
	}
}

// PixelFormat is the layout of Frame.Data.
type PixelFormat uint8

const (
	// FormatUnknown is the zero PixelFormat.
	FormatUnknown PixelFormat = iota
	// FormatYUYV is packed 4:2:2 Y0 U Y1 V, 2 bytes per pixel (V4L2 YUYV).
	FormatYUYV
	// FormatRGB24 is packed R G B, 3 bytes per pixel.
	FormatRGB24
	// FormatMJPEG is one complete JPEG image per frame.
	FormatMJPEG
	// FormatI420 is planar 4:2:0: the Y plane, then U, then V at half
	// resolution in both directions (the y4m "420" layouts).
	FormatI420
	// FormatGray is one byte of luma per pixel (y4m "mono").
	FormatGray
)

var formatNames = [...]string{"unknown", "YUYV", "RGB24", "MJPEG", "I420", "GRAY"}

func (f PixelFormat) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("PixelFormat(%d)", uint8(f))
}

// ParsePixelFormat parses the names String returns (case-sensitive, plus
// "RGB" for RGB24 and "JPEG" for MJPEG).
func ParsePixelFormat(s string) (PixelFormat, error) {
	switch s {
	case "RGB":
		return FormatRGB24, nil
	case "JPEG":
		return FormatMJPEG, nil
	}
	for i, n := range formatNames {
		if i > 0 && n == s {
			return PixelFormat(i), nil
		}
	}
	return FormatUnknown, fmt.Errorf("drivers: unknown pixel format %q", s)
}

// FrameSize returns the byte size of one uncompressed w×h frame in f, or 0
// for compressed or unknown formats.
func (f PixelFormat) FrameSize(w, h int) int {
	switch f {
	case FormatYUYV:
		return w * h * 2
	case FormatRGB24:
		return w * h * 3
	case FormatI420:
		cw, ch := (w+1)/2, (h+1)/2
		return w*h + 2*cw*ch
	case FormatGray:
		return w * h
	}
	return 0
}

// Frame is one captured image. Data belongs to the source and is reused:
// it is valid until the next call to Next or Close. Copy it (Clone) to keep
// it.
type Frame struct {
	Data   []byte
	Format PixelFormat
	Width  int
	Height int
	// Time is when the frame was captured (for file sources: when it was
	// delivered at the file's pace on the source's clock).
	Time time.Time
	// Seq counts frames from 0 on this source; a gap means dropped frames.
	Seq uint64
	// LimitedRange is set for Y'CbCr formats (YUYV, I420, Gray) whose
	// samples use the video range (Y' 16–235, Cb/Cr 16–240), as most
	// cameras and video files do; Image expands them to full range.
	LimitedRange bool
}

// Clone returns a copy of f that owns its Data.
func (f Frame) Clone() Frame {
	f.Data = append([]byte(nil), f.Data...)
	return f
}

// FrameFormat is what a source delivers: pixel format, size and rate.
type FrameFormat struct {
	Format PixelFormat
	Width  int
	Height int
	// FPS is the nominal frame rate (0 when unknown).
	FPS float64
	// LimitedRange: see Frame.LimitedRange.
	LimitedRange bool
}

func (f FrameFormat) String() string {
	r := ""
	if f.LimitedRange {
		r = " limited-range"
	}
	return fmt.Sprintf("%s %dx%d@%g%s", f.Format, f.Width, f.Height, f.FPS, r)
}

// FrameSource delivers camera frames one at a time.
type FrameSource interface {
	// Next blocks until the next frame is available or ctx is done. It
	// returns io.EOF when a finite source (a file) has no more frames.
	// The returned Frame's Data is valid until the next call to Next.
	Next(ctx context.Context) (Frame, error)
	// Format reports the negotiated format.
	Format() FrameFormat
	// Close releases the device or file.
	Close() error
}

// Light is one illumination channel (a white or near-infrared LED string, or
// one colour of an RGB LED). Brightness is a duty fraction in [0, 1]; a
// driver never drives a channel above its rated maximum duty: a higher
// request is clamped and Brightness reports what was applied.
type Light interface {
	// SetBrightness sets the duty fraction; 0 is off. Values outside
	// [0, 1] or NaN are rejected with ErrBrightness.
	SetBrightness(b float64) error
	// Brightness reports the duty fraction applied (after clamping).
	Brightness() float64
	// MaxBrightness reports the channel's rated maximum duty fraction.
	MaxBrightness() float64
	// Name names the channel ("white", "ir", "red", …).
	Name() string
}

// On drives l at its rated maximum.
func On(l Light) error { return l.SetBrightness(1) }

// Off switches l off.
func Off(l Light) error { return l.SetBrightness(0) }

// ErrBrightness reports a brightness outside [0, 1].
var ErrBrightness = errors.New("drivers: brightness must be within [0, 1]")

// CheckBrightness returns b clamped to max, or ErrBrightness when b is not
// in [0, 1]. Light implementations share it so they clamp the same way.
func CheckBrightness(b, max float64) (float64, error) {
	if !(b >= 0 && b <= 1) { // also rejects NaN
		return 0, fmt.Errorf("%w: %v", ErrBrightness, b)
	}
	if b > max {
		return max, nil
	}
	return b, nil
}

// PulseReport says what a relay pulse did.
type PulseReport struct {
	Requested time.Duration
	// Applied is the on-time the driver allowed: Requested clipped to the
	// relay's hard maximum.
	Applied time.Duration
	// Clipped is true when Applied < Requested because of the maximum.
	Clipped bool
	// Start and End are when the relay was energised and de-energised.
	Start, End time.Time
	// Cancelled is true when ctx ended the pulse early.
	Cancelled bool
}

// Relay opens the turnstile or door. It is de-energised except during a
// Pulse, and never longer than its hard maximum on-time.
type Relay interface {
	// Pulse energises the relay for d (clipped to the maximum on-time),
	// then de-energises it, and returns when it is off again. Cancelling
	// ctx de-energises it at once. The report is valid even with an error.
	Pulse(ctx context.Context, d time.Duration) (PulseReport, error)
	// Close de-energises the relay and releases it.
	Close() error
}

// PresenceEvent is a change of the presence state.
type PresenceEvent struct {
	Present bool
	Time    time.Time
	// DistanceMM is the measured distance when the sensor measures one
	// (time-of-flight), else 0.
	DistanceMM int
}

// Presence tells the kiosk when someone walks up or leaves.
type Presence interface {
	// Next blocks until the presence state changes (or, on the first call,
	// reports the current state) or ctx is done.
	Next(ctx context.Context) (PresenceEvent, error)
}

// DistanceSensor measures the distance to the nearest object.
type DistanceSensor interface {
	// DistanceMM runs one measurement; ErrOutOfRange when nothing is in
	// range.
	DistanceMM(ctx context.Context) (int, error)
}

// ErrOutOfRange reports that a distance sensor saw nothing within range.
var ErrOutOfRange = errors.New("drivers: nothing in range")

// Buzzer sounds feedback to the person at the kiosk.
type Buzzer interface {
	// Beep sounds for d (clipped to the buzzer's maximum) and returns when
	// it is silent again; cancelling ctx silences it at once.
	Beep(ctx context.Context, d time.Duration) error
}
