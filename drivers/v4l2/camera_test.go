package v4l2

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
)

func TestNegotiate(t *testing.T) {
	iv := func(w, h int) ([]Interval, error) { return []Interval{{1, 30}, {1, 15}, {1001, 30000}}, nil }
	offers := []FormatInfo{
		{FourCC: FourCCMJPEG, Sizes: []SizeRange{{MinW: 1920, MaxW: 1920, MinH: 1080, MaxH: 1080}, {MinW: 640, MaxW: 640, MinH: 480, MaxH: 480}}, Intervals: iv},
		{FourCC: FourCCYUYV, Sizes: []SizeRange{{MinW: 640, MaxW: 640, MinH: 480, MaxH: 480}, {MinW: 320, MaxW: 320, MinH: 240, MaxH: 240}}, Intervals: iv},
		{FourCC: fourcc('N', 'V', '1', '2'), Sizes: []SizeRange{{MinW: 800, MaxW: 800, MinH: 600, MaxH: 600}}},
	}
	step := []FormatInfo{{FourCC: FourCCYUYV, Sizes: []SizeRange{{MinW: 160, MaxW: 1280, StepW: 16, MinH: 120, MaxH: 960, StepH: 8}}}}
	tests := []struct {
		name   string
		offers []FormatInfo
		want   Want
		mode   Mode
		err    error
	}{
		{"defaults prefer YUYV 640x480@30", offers, Want{}, Mode{FourCCYUYV, 640, 480, Interval{1, 30}}, nil},
		{"MJPEG asked", offers, Want{Format: drivers.FormatMJPEG, Width: 1920, Height: 1080, FPS: 15}, Mode{FourCCMJPEG, 1920, 1080, Interval{1, 15}}, nil},
		{"nearest size in any format", offers, Want{Width: 1600, Height: 900}, Mode{FourCCMJPEG, 1920, 1080, Interval{1, 30}}, nil},
		{"nearest rate", offers, Want{Width: 320, Height: 240, FPS: 29}, Mode{FourCCYUYV, 320, 240, Interval{1001, 30000}}, nil},
		{"stepwise snaps to grid", step, Want{Width: 650, Height: 485}, Mode{FourCCYUYV, 656, 488, Interval{}}, nil},
		{"stepwise clamps", step, Want{Width: 4000, Height: 50}, Mode{FourCCYUYV, 1280, 120, Interval{}}, nil},
		{"unsupported format only", offers[2:], Want{}, Mode{}, ErrNoMode},
		{"format not offered", offers[1:2], Want{Format: drivers.FormatMJPEG}, Mode{}, ErrNoMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Negotiate(tt.offers, tt.want)
			if !errors.Is(err, tt.err) || m != tt.mode {
				t.Fatalf("got %v, %v; want %v, %v", m, err, tt.mode, tt.err)
			}
		})
	}
}

func TestCaptureYUYV(t *testing.T) {
	dev := newFake()
	dev.tsLag = 100 * time.Millisecond
	dev.spurious = 2
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cam, err := New(dev, "/dev/video9", Opts{Want: Want{Format: drivers.FormatYUYV, FPS: 15}, Clock: drivertest.NewClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if got := cam.Format(); got != (drivers.FrameFormat{Format: drivers.FormatYUYV, Width: 640, Height: 480, FPS: 15, LimitedRange: true}) {
		t.Fatalf("format = %v", got)
	}
	want := []string{"S_FMT YUYV 640x480", "S_PARM 1/15", "REQBUFS 4", "STREAMON"}
	if !reflect.DeepEqual(dev.calls, want) {
		t.Fatalf("calls = %v, want %v", dev.calls, want)
	}
	seen := map[uintptr]int{}
	for i := 0; i < 10; i++ {
		f, err := cam.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != uint64(i) || len(f.Data) != 640*480*2 || f.Data[0] != byte(i) || !f.LimitedRange {
			t.Fatalf("frame %d: seq %d len %d first %d", i, f.Seq, len(f.Data), f.Data[0])
		}
		if !f.Time.Equal(t0.Add(-100 * time.Millisecond)) {
			t.Fatalf("time = %v", f.Time.Sub(t0))
		}
		seen[uintptr(unsafe.Pointer(&f.Data[0]))]++
	}
	// Ten frames through four mapped buffers: each buffer reused.
	if len(seen) != 4 {
		t.Fatalf("%d distinct buffers, want 4", len(seen))
	}
	if err := cam.Close(); err != nil {
		t.Fatal(err)
	}
	if !dev.closed || dev.unmapped != 4 || dev.streaming {
		t.Fatalf("close: closed %v unmapped %d streaming %v", dev.closed, dev.unmapped, dev.streaming)
	}
	if _, err := cam.Next(context.Background()); err == nil {
		t.Fatal("Next after Close succeeded")
	}
}

func TestCaptureMJPEGWithoutRateControl(t *testing.T) {
	dev := newFake()
	dev.timePerFrame = false // driver without frame-rate control
	cam, err := New(dev, "/dev/video9", Opts{Want: Want{Format: drivers.FormatMJPEG, Width: 1280, Height: 720}, Buffers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	// Without TIMEPERFRAME the rate is the driver's current one (1/30).
	if m := cam.Mode(); m.Width != 1280 || m.Height != 720 || m.Interval != (Interval{1, 30}) {
		t.Fatalf("mode = %v", m)
	}
	for _, c := range dev.calls {
		if c[:6] == "S_PARM" {
			t.Fatal("S_PARM sent to a driver without TIMEPERFRAME")
		}
	}
	f, err := cam.Next(context.Background())
	if err != nil || f.Format != drivers.FormatMJPEG || len(f.Data) != 1280*720/10 || f.LimitedRange {
		t.Fatalf("frame: %v len %d", err, len(f.Data))
	}
}

func TestDriverAdjustsSize(t *testing.T) {
	dev := newFake()
	dev.formats = []fakeFormat{{fourcc: FourCCYUYV, stepwise: &SizeRange{MinW: 16, MaxW: 4096, StepW: 2, MinH: 16, MaxH: 4096, StepH: 2}}}
	dev.padding = 64
	cam, err := New(dev, "/dev/video9", Opts{Want: Want{Width: 100, Height: 50}})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	f, err := cam.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Padding removed: rows packed at width×2.
	if len(f.Data) != 100*50*2 || f.Data[200] != dev.bufs[0][200+64] {
		t.Fatalf("len %d", len(f.Data))
	}
}

func TestCaptureErrors(t *testing.T) {
	dev := newFake()
	dev.caps = capVideoCapture // no streaming
	if _, err := New(dev, "/dev/video9", Opts{}); err == nil || !dev.closed {
		t.Fatalf("non-streaming device: %v, closed %v", err, dev.closed)
	}
	dev = newFake()
	dev.maxBufs = 1
	if _, err := New(dev, "/dev/video9", Opts{}); err == nil {
		t.Fatal("one buffer accepted")
	}
	dev = newFake()
	cam, err := New(dev, "/dev/video9", Opts{Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dev.streaming = false // the device stops delivering
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := cam.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
