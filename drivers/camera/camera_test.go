package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// next calls src.Next, advancing clk whenever the source waits on it.
func next(t *testing.T, clk *drivertest.Clock, src drivers.FrameSource, step time.Duration) (drivers.Frame, error) {
	t.Helper()
	type res struct {
		f   drivers.Frame
		err error
	}
	ch := make(chan res, 1)
	go func() {
		f, err := src.Next(context.Background())
		ch <- res{f, err}
	}()
	for {
		select {
		case r := <-ch:
			return r.f, r.err
		default:
		}
		if clk.WaitForWaiters(1, 10*time.Millisecond) {
			clk.Advance(step)
		}
	}
}

func writeY4M(t *testing.T, n int, fps float64) (string, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syn, err := NewSynthetic(SyntheticOpts{Width: 32, Height: 24, Format: drivers.FormatI420, Face: true, FPS: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewY4MWriter(f, drivers.FrameFormat{Format: drivers.FormatI420, Width: 32, Height: 24, FPS: fps})
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for i := 0; i < n; i++ {
		fr, err := syn.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, fr.Clone().Data)
	}
	return path, frames
}

func TestY4MPacedPlayback(t *testing.T) {
	path, want := writeY4M(t, 3, 10)
	clk := drivertest.NewClock(t0)
	src, err := OpenFile(path, FileOpts{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if got := src.Format(); got != (drivers.FrameFormat{Format: drivers.FormatI420, Width: 32, Height: 24, FPS: 10}) {
		t.Fatalf("format = %v", got)
	}
	for i := 0; i < 3; i++ {
		f, err := next(t, clk, src, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != uint64(i) || !f.Time.Equal(t0.Add(time.Duration(i)*100*time.Millisecond)) {
			t.Fatalf("frame %d: seq %d time %v", i, f.Seq, f.Time.Sub(t0))
		}
		if !bytes.Equal(f.Data, want[i]) {
			t.Fatalf("frame %d data differs", i)
		}
	}
	if _, err := src.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after last: %v", err)
	}
}

func TestY4MLoopAndDropLate(t *testing.T) {
	path, want := writeY4M(t, 2, 10)
	clk := drivertest.NewClock(t0)
	src, err := OpenFile(path, FileOpts{Clock: clk, Loop: true, DropLate: true, FPS: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	f, _ := next(t, clk, src, 0)
	if f.Seq != 0 {
		t.Fatal(f.Seq)
	}
	// The consumer stalls 120 ms: frame 1 (due at 50 ms) is a full period
	// late and dropped; frame 2 (due at 100 ms) is delivered at once.
	clk.Advance(120 * time.Millisecond)
	f, err = next(t, clk, src, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if f.Seq != 2 || !f.Time.Equal(t0.Add(120*time.Millisecond)) {
		t.Fatalf("seq %d at %v, want 2 at 120ms", f.Seq, f.Time.Sub(t0))
	}
	if !bytes.Equal(f.Data, want[0]) { // 2 = first frame of the second loop
		t.Fatal("looped frame differs")
	}
	// Back on time: frame 3 is due at 150 ms.
	f, err = next(t, clk, src, 30*time.Millisecond)
	if err != nil || f.Seq != 3 || !f.Time.Equal(t0.Add(150*time.Millisecond)) || !bytes.Equal(f.Data, want[1]) {
		t.Fatalf("seq %d at %v, %v", f.Seq, f.Time.Sub(t0), err)
	}
}

func TestY4MHeaderErrors(t *testing.T) {
	for _, h := range []string{
		"JUNK W2 H2\n",
		"YUV4MPEG2 W2 H2 C444\n",
		"YUV4MPEG2 W2 H2 It\n",
		"YUV4MPEG2 H2\n",
		"YUV4MPEG2 W2 H2 F0:1\n",
		"YUV4MPEG2 W2 H2 C420p10\n",
	} {
		if _, err := parseY4MHeader(bufio.NewReader(bytes.NewBufferString(h))); err == nil {
			t.Errorf("header %q accepted", h)
		}
	}
	hd, err := parseY4MHeader(bufio.NewReader(bytes.NewBufferString("YUV4MPEG2 W4 H2 F30000:1001 Ip Cmono XYSCSS=mono\n")))
	if err != nil || hd.format != drivers.FormatGray || hd.fpsNum != 30000 || !hd.limited {
		t.Fatalf("%+v %v", hd, err)
	}
}

func encodeJPEG(t *testing.T, shade uint8, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = shade
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withThumbnail inserts an APP1 segment holding a whole JPEG (with its own
// EOI) after the SOI of j, as EXIF thumbnails do.
func withThumbnail(j, thumb []byte) []byte {
	n := len(thumb) + 2
	seg := append([]byte{0xFF, 0xE1, byte(n >> 8), byte(n)}, thumb...)
	return append(append(append([]byte{}, j[:2]...), seg...), j[2:]...)
}

func TestMJPEGFile(t *testing.T) {
	a := encodeJPEG(t, 10, 16, 8)
	b := withThumbnail(encodeJPEG(t, 200, 16, 8), encodeJPEG(t, 99, 8, 8))
	c := encodeJPEG(t, 120, 16, 8)
	stream := bytes.Join([][]byte{a, []byte("--boundary\r\n"), b, c}, nil)
	path := filepath.Join(t.TempDir(), "clip.mjpeg")
	if err := os.WriteFile(path, stream, 0o600); err != nil {
		t.Fatal(err)
	}
	clk := drivertest.NewClock(t0)
	src, err := OpenFile(path, FileOpts{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if f := src.Format(); f.Format != drivers.FormatMJPEG || f.Width != 16 || f.Height != 8 || f.FPS != 25 {
		t.Fatalf("format %v", f)
	}
	for i, want := range [][]byte{a, b, c} {
		f, err := next(t, clk, src, 40*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Data, want) {
			t.Fatalf("frame %d: %d bytes, want %d", i, len(f.Data), len(want))
		}
	}
	if _, err := src.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v", err)
	}
	// A truncated image is an error, not EOF.
	if _, err := ReadJPEG(bufio.NewReader(bytes.NewReader(a[:len(a)-10])), nil); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("truncated: %v", err)
	}
}

func TestImageFolders(t *testing.T) {
	dir := t.TempDir()
	for i, shade := range []uint8{50, 150} {
		_ = os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".jpg"), encodeJPEG(t, shade, 8, 8), 0o600)
	}
	clk := drivertest.NewClock(t0)
	src, err := OpenFile(dir, FileOpts{Clock: clk, FPS: 5})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := next(t, clk, src, 200*time.Millisecond)
	f, err = next(t, clk, src, 200*time.Millisecond)
	if err != nil || f.Format != drivers.FormatMJPEG || !f.Time.Equal(t0.Add(200*time.Millisecond)) {
		t.Fatalf("%v %v", f.Time, err)
	}
	img, err := f.Image()
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := img.At(4, 4).RGBA(); r>>8 < 140 || r>>8 > 160 {
		t.Fatalf("second image shade %d, want ~150", r>>8)
	}

	pdir := t.TempDir()
	pimg := image.NewRGBA(image.Rect(0, 0, 4, 2))
	pimg.Set(1, 0, color.RGBA{R: 255, A: 255})
	var buf bytes.Buffer
	_ = png.Encode(&buf, pimg)
	_ = os.WriteFile(filepath.Join(pdir, "0001.png"), buf.Bytes(), 0o600)
	psrc, err := OpenFile(pdir, FileOpts{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := next(t, clk, psrc, 40*time.Millisecond)
	if err != nil || pf.Format != drivers.FormatRGB24 || pf.Data[3] != 255 || pf.Data[4] != 0 {
		t.Fatalf("png frame %v %v", pf.Data, err)
	}

	for name, setup := range map[string]func(string){
		"empty": func(string) {},
		"mixed": func(d string) {
			_ = os.WriteFile(filepath.Join(d, "a.jpg"), encodeJPEG(t, 1, 8, 8), 0o600)
			_ = os.WriteFile(filepath.Join(d, "b.png"), buf.Bytes(), 0o600)
		},
	} {
		d := t.TempDir()
		setup(d)
		if _, err := OpenFile(d, FileOpts{}); err == nil {
			t.Errorf("%s folder accepted", name)
		}
	}
	if _, err := OpenFile(filepath.Join(dir, "a.jpg"), FileOpts{}); err == nil {
		t.Error("single .jpg accepted as a recording")
	}
}

func TestSynthetic(t *testing.T) {
	clk := drivertest.NewClock(t0)
	mk := func(light func(time.Time) [3]float64) *Synthetic {
		s, err := NewSynthetic(SyntheticOpts{Width: 64, Height: 48, FPS: 10, Face: true, Frames: 3, Clock: clk, Light: light})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := mk(nil), mk(nil)
	var prev []byte
	for i := 0; i < 3; i++ {
		fa, err := next(t, clk, a, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		fb, _ := next(t, clk, b, 100*time.Millisecond)
		if !bytes.Equal(fa.Data, fb.Data) {
			t.Fatalf("frame %d not deterministic", i)
		}
		if prev != nil && bytes.Equal(prev, fa.Data) {
			t.Fatalf("frame %d did not move", i)
		}
		prev = fa.Clone().Data
		// The face centre is skin coloured.
		cx, cy, _, ay := FaceBox(64, 48, fa.Seq)
		x, y := int(cx), int(cy+ay*0.1)
		p := fa.Data[(y*64+x)*3:]
		if p[0] < 140 || p[0] <= p[1] || p[1] <= p[2] {
			t.Fatalf("frame %d: face centre %v is not skin", i, p[:3])
		}
	}
	if _, err := a.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v", err)
	}

	// Red light reddens the face far more than the background.
	red := mk(func(time.Time) [3]float64 { return [3]float64{1, 0, 0} })
	dark := mk(nil)
	fr, _ := next(t, clk, red, 100*time.Millisecond)
	fd, _ := next(t, clk, dark, 100*time.Millisecond)
	cx, cy, _, ay := FaceBox(64, 48, 0)
	face := (int(cy+ay*0.1)*64 + int(cx)) * 3
	bg := (2*64 + 2) * 3
	if dFace, dBg := int(fr.Data[face])-int(fd.Data[face]), int(fr.Data[bg])-int(fd.Data[bg]); dFace < 40 || dBg > dFace/2 {
		t.Fatalf("red response: face +%d, background +%d", dFace, dBg)
	}
}

func TestSyntheticFormats(t *testing.T) {
	for _, f := range []drivers.PixelFormat{drivers.FormatYUYV, drivers.FormatI420} {
		s, err := NewSynthetic(SyntheticOpts{Width: 32, Height: 16, Format: f, Face: true, Clock: drivertest.NewClock(t0), FPS: 1e9})
		if err != nil {
			t.Fatal(err)
		}
		fr, err := s.Next(context.Background())
		if err != nil || len(fr.Data) != f.FrameSize(32, 16) {
			t.Fatalf("%s: %d bytes, %v", f, len(fr.Data), err)
		}
		img, err := fr.Image()
		if err != nil {
			t.Fatal(err)
		}
		rgb := make([]byte, 32*16*3)
		Render(rgb, 32, 16, 0, true, [3]float64{})
		r, g, b, _ := img.At(16, 8).RGBA()
		want := rgb[(8*32+16)*3:]
		if d := int(r>>8) - int(want[0]); d < -6 || d > 6 || int(g>>8)-int(want[1]) > 6 || int(b>>8)-int(want[2]) > 6 {
			t.Fatalf("%s: pixel %d,%d,%d want %v", f, r>>8, g>>8, b>>8, want[:3])
		}
	}
	for _, o := range []SyntheticOpts{{Width: 15, Height: 16}, {Format: drivers.FormatMJPEG}, {FPS: -1}} {
		if _, err := NewSynthetic(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
