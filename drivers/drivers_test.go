package drivers

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
	"time"
)

func TestPixelFormat(t *testing.T) {
	for _, f := range []PixelFormat{FormatYUYV, FormatRGB24, FormatMJPEG, FormatI420, FormatGray} {
		got, err := ParsePixelFormat(f.String())
		if err != nil || got != f {
			t.Errorf("round trip %s: %v, %v", f, got, err)
		}
	}
	if _, err := ParsePixelFormat("NV12"); err == nil {
		t.Error("unknown format parsed")
	}
	sizes := []struct {
		f    PixelFormat
		w, h int
		want int
	}{{FormatYUYV, 640, 480, 614400}, {FormatRGB24, 2, 2, 12}, {FormatI420, 3, 3, 9 + 2*4}, {FormatMJPEG, 640, 480, 0}}
	for _, s := range sizes {
		if got := s.f.FrameSize(s.w, s.h); got != s.want {
			t.Errorf("%s %dx%d size = %d, want %d", s.f, s.w, s.h, got, s.want)
		}
	}
}

func TestCheckBrightness(t *testing.T) {
	if b, err := CheckBrightness(0.9, 0.4); err != nil || b != 0.4 {
		t.Errorf("clamp: %v %v", b, err)
	}
	if _, err := CheckBrightness(1.1, 1); !errors.Is(err, ErrBrightness) {
		t.Errorf("err = %v", err)
	}
}

func TestFrameImage(t *testing.T) {
	// One 2×1 YUYV frame: Y0=0 (black), Y1=255 (white), neutral chroma
	// (converted full-range, as image/color does).
	f := Frame{Data: []byte{0, 128, 255, 128}, Format: FormatYUYV, Width: 2, Height: 1}
	img, err := f.Image()
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(0, 0).RGBA(); r>>8 > 2 {
		t.Errorf("black pixel r = %d", r>>8)
	}
	if r, _, _, _ := img.At(1, 0).RGBA(); r>>8 < 253 {
		t.Errorf("white pixel r = %d", r>>8)
	}
	rgb := Frame{Data: []byte{255, 0, 0, 0, 0, 255}, Format: FormatRGB24, Width: 2, Height: 1}
	img, _ = rgb.Image()
	if c := color.RGBAModel.Convert(img.At(1, 0)).(color.RGBA); c.B != 255 || c.R != 0 {
		t.Errorf("rgb pixel = %v", c)
	}
	var buf bytes.Buffer
	src := image.NewGray(image.Rect(0, 0, 8, 8))
	_ = jpeg.Encode(&buf, src, nil)
	img, err = Frame{Data: buf.Bytes(), Format: FormatMJPEG, Width: 8, Height: 8}.Image()
	if err != nil || img.Bounds().Dx() != 8 {
		t.Fatalf("jpeg: %v", err)
	}
	if _, err := (Frame{Data: []byte{1}, Format: FormatRGB24, Width: 2, Height: 2}).Image(); err == nil {
		t.Error("short frame accepted")
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, RealClock{}, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if err := Sleep(context.Background(), RealClock{}, 0); err != nil {
		t.Error(err)
	}
}

func TestLimitedRange(t *testing.T) {
	// Video black (16) and white (235) become 0 and 255; neutral chroma stays.
	for _, f := range []Frame{
		{Data: []byte{16, 128, 235, 128}, Format: FormatYUYV, Width: 2, Height: 1, LimitedRange: true},
		{Data: []byte{16, 235, 16, 235, 128, 128}, Format: FormatI420, Width: 2, Height: 2, LimitedRange: true},
		{Data: []byte{16, 235}, Format: FormatGray, Width: 2, Height: 1, LimitedRange: true},
	} {
		data := append([]byte(nil), f.Data...)
		img, err := f.Image()
		if err != nil {
			t.Fatal(err)
		}
		r0, _, _, _ := img.At(0, 0).RGBA()
		r1, _, _, _ := img.At(1, 0).RGBA()
		if r0>>8 != 0 || r1>>8 != 255 {
			t.Errorf("%s: black %d white %d", f.Format, r0>>8, r1>>8)
		}
		if string(data) != string(f.Data) {
			t.Errorf("%s: Image modified the frame's data", f.Format)
		}
	}
}
