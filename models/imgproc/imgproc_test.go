package imgproc

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"runtime"
	"testing"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader returns a PNG signature and an IHDR chunk claiming w×h (no data).
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{0, 0, 0, 13, 'I', 'H', 'D', 'R',
		byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w),
		byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), 8, 2, 0, 0, 0}
	b.Write(ihdr)
	crc := crc32IEEE(ihdr[4:])
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}

func crc32IEEE(p []byte) uint32 {
	c := ^uint32(0)
	for _, v := range p {
		c ^= uint32(v)
		for k := 0; k < 8; k++ {
			if c&1 != 0 {
				c = c>>1 ^ 0xedb88320
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

func TestDecodeRejectsBadInput(t *testing.T) {
	var good bytes.Buffer
	src := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	if err := jpeg.Encode(&good, src, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotImage},
		{"text", []byte("hello, this is not an image"), ErrNotImage},
		{"gif", []byte("GIF89a\x01\x00\x01\x00"), ErrNotImage},
		{"truncated jpeg", good.Bytes()[:good.Len()/2], ErrCorrupt},
		{"jpeg header only", good.Bytes()[:20], ErrCorrupt},
		{"png 0x0", pngHeader(0, 0), ErrEmpty},
		{"png 20000x20000", pngHeader(20000, 20000), ErrTooLarge},
		{"jpeg 20000x20000", writeFlatJPEG(3, nil, 20000, 20000), ErrTooLarge},
		{"jpeg 0x0", writeFlatJPEG(3, nil, 0, 0), nil},
		{"truncated png", encodePNG(t, src)[:60], ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeBytes(tc.data, nil, DecodeOptions{})
			if err == nil {
				t.Fatalf("decoded %dx%d, want an error", m.W, m.H)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeLimitChecksHeaderFirst(t *testing.T) {
	for _, hdr := range [][]byte{pngHeader(20000, 20000), writeFlatJPEG(3, nil, 20000, 20000)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := DecodeBytes(hdr, nil, DecodeOptions{}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
		runtime.ReadMemStats(&after)
		// Decoding would allocate 1.2 GB; refusing from the header takes a few
		// small buffers.
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Fatalf("refusing a 20000×20000 header allocated %d bytes", d)
		}
	}
	_, err := DecodeBytes(encodePNG(t, image.NewRGBA(image.Rect(0, 0, 300, 200))), nil, DecodeOptions{MaxPixels: 100 * 100})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("custom limit: err = %v", err)
	}
	if _, err := Decode(bytes.NewReader(make([]byte, 2000)), nil, DecodeOptions{MaxBytes: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("byte limit: err = %v", err)
	}
}

func TestDecodeCMYK(t *testing.T) {
	// Adobe CMYK stores inverted samples: stored = 255 - ink.
	inv := func(c, m, y, k uint8) []uint8 { return []uint8{255 - c, 255 - m, 255 - y, 255 - k} }
	data := writeFlatJPEG(4, [][]uint8{inv(255, 0, 0, 0), inv(0, 255, 255, 0), inv(0, 0, 0, 255)}, 0, 0)
	m, err := DecodeBytes(data, nil, DecodeOptions{})
	if err != nil {
		t.Fatalf("decode CMYK: %v", err)
	}
	if m.W != 24 || m.H != 8 {
		t.Fatalf("size %dx%d", m.W, m.H)
	}
	want := [][3]uint8{{0, 255, 255}, {255, 0, 0}, {0, 0, 0}}
	for i, w := range want {
		r, g, b := m.At(i*8+4, 4)
		if absd(r, w[0]) > 3 || absd(g, w[1]) > 3 || absd(b, w[2]) > 3 {
			t.Errorf("block %d: got %d,%d,%d want %v", i, r, g, b, w)
		}
	}
	// The same writer in YCbCr mode decodes to the expected grey, proving the
	// writer itself is sound.
	g, err := DecodeBytes(writeFlatJPEG(3, [][]uint8{{200, 128, 128}}, 0, 0), nil, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := g.At(3, 3); absd(r, 200) > 2 {
		t.Fatalf("grey block decoded to %d", r)
	}
}

func absd(a, b uint8) int {
	d := int(a) - int(b)
	if d < 0 {
		return -d
	}
	return d
}

func TestDecodeFormats(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 5, 3))
	img.Set(1, 2, color.NRGBA{10, 20, 30, 255})
	img.Set(2, 2, color.NRGBA{200, 100, 50, 0}) // transparent → black
	m, err := DecodeBytes(encodePNG(t, img), nil, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b := m.At(1, 2); r != 10 || g != 20 || b != 30 {
		t.Fatalf("png pixel %d,%d,%d", r, g, b)
	}
	if r, g, b := m.At(2, 2); r|g|b != 0 {
		t.Fatalf("transparent pixel %d,%d,%d", r, g, b)
	}
}

func TestYUYV(t *testing.T) {
	tests := []struct {
		name    string
		y, u, v uint8
		want    [3]uint8
	}{
		{"black", 16, 128, 128, [3]uint8{0, 0, 0}},
		{"white", 235, 128, 128, [3]uint8{255, 255, 255}},
		{"red", 81, 90, 240, [3]uint8{255, 0, 0}},
		{"green", 145, 54, 34, [3]uint8{0, 255, 0}},
		{"blue", 41, 240, 110, [3]uint8{0, 0, 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte{tc.y, tc.u, tc.y, tc.v}
			var dst RGB
			if err := YUYVToRGB(&dst, src, 2, 1); err != nil {
				t.Fatal(err)
			}
			for px := 0; px < 2; px++ {
				r, g, b := dst.At(px, 0)
				if absd(r, tc.want[0]) > 2 || absd(g, tc.want[1]) > 2 || absd(b, tc.want[2]) > 2 {
					t.Fatalf("pixel %d = %d,%d,%d want %v", px, r, g, b, tc.want)
				}
			}
		})
	}
	var dst RGB
	if err := YUYVToRGB(&dst, make([]byte, 10), 4, 2); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("short frame: %v", err)
	}
	if err := YUYVToRGB(&dst, make([]byte, 100), 3, 2); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("odd width: %v", err)
	}
}

func TestCopyRGB24(t *testing.T) {
	src := []byte{1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0}
	var dst RGB
	if err := CopyRGB24(&dst, src, 2, 2, 8, true); err != nil {
		t.Fatal(err)
	}
	if r, g, b := dst.At(1, 1); r != 12 || g != 11 || b != 10 {
		t.Fatalf("bgr pixel %d,%d,%d", r, g, b)
	}
	if err := CopyRGB24(&dst, src[:10], 2, 2, 8, false); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("short: %v", err)
	}
}

func TestRotateFlip(t *testing.T) {
	src := NewRGB(3, 2)
	src.Pix[0] = 9 // (0,0) red
	var r1, r2 RGB
	Rotate(&r1, src, 1)
	if r1.W != 2 || r1.H != 3 {
		t.Fatalf("rotated size %dx%d", r1.W, r1.H)
	}
	if v, _, _ := r1.At(1, 0); v != 9 {
		t.Fatal("clockwise turn should move top-left to top-right")
	}
	FlipH(&r2, src)
	if v, _, _ := r2.At(2, 0); v != 9 {
		t.Fatal("mirror should move top-left to top-right")
	}
}

func TestLetterbox(t *testing.T) {
	// 200×100 grey image with a white 10×10 square at (150..160, 40..50).
	src := NewRGB(200, 100)
	for i := range src.Pix {
		src.Pix[i] = 100
	}
	for y := 40; y < 50; y++ {
		for x := 150; x < 160; x++ {
			i := (y*200 + x) * 3
			src.Pix[i], src.Pix[i+1], src.Pix[i+2] = 255, 255, 255
		}
	}
	for _, size := range []int{64, 400} {
		var s Sampler
		dst := make([]float32, size*size*3)
		lb := s.Letterbox(dst, size, size, src, NormUnit)
		if math.Abs(lb.Scale-float64(size)/200) > 1e-9 || math.Abs(lb.PadX) > 1e-9 || math.Abs(lb.PadY-float64(size)/4) > 1e-9 {
			t.Fatalf("size %d: letterbox %+v", size, lb)
		}
		at := func(u, v int) float32 { return dst[(v*size+u)*3] }
		if at(size/2, 1) != 0 {
			t.Errorf("size %d: top padding = %v, want black", size, at(size/2, 1))
		}
		if d := at(size/8, size/2) - 100.0/255; math.Abs(float64(d)) > 1e-5 {
			t.Errorf("size %d: grey = %v", size, at(size/8, size/2))
		}
		// Centre of the white square: source (155, 45).
		u := int(155*lb.Scale + lb.PadX)
		v := int(45*lb.Scale + lb.PadY)
		if at(u, v) < 0.9 {
			t.Errorf("size %d: white square not at (%d,%d): %v", size, u, v, at(u, v))
		}
		x, y := lb.ToSource(float64(u)+0.5, float64(v)+0.5)
		if math.Abs(x-155) > 2/lb.Scale+1 || math.Abs(y-45) > 2/lb.Scale+1 {
			t.Errorf("size %d: ToSource = %v,%v", size, x, y)
		}
	}
}

func TestWarpRotatedRect(t *testing.T) {
	src := NewRGB(100, 100)
	// Mark a pixel right of the centre.
	i := (50*100 + 70) * 3
	src.Pix[i], src.Pix[i+1], src.Pix[i+2] = 255, 255, 255
	var s Sampler
	dst := make([]float32, 40*40*3)
	// A 40×40 crop around (51,51) turned by +90°: tensor "right" points
	// down in the image, so tensor "up" (negative v) points right.
	a := RotatedRect(51, 51, 40, 40, math.Pi/2, 40, 40)
	s.Warp(dst, 40, 40, src, a, NormUnit)
	best, bu, bv := float32(-1), 0, 0
	for v := 0; v < 40; v++ {
		for u := 0; u < 40; u++ {
			if x := dst[(v*40+u)*3]; x > best {
				best, bu, bv = x, u, v
			}
		}
	}
	if bu != 19 || bv != 0 {
		t.Fatalf("marked pixel at tensor (%d,%d), want (19,0)", bu, bv)
	}
	x, y := a.Apply(float64(bu)+0.5, float64(bv)+0.5)
	if math.Abs(x-70.5) > 1 || math.Abs(y-50.5) > 1 {
		t.Fatalf("Apply = %v,%v", x, y)
	}
	ix, iy := a.Invert().Apply(x, y)
	if math.Abs(ix-float64(bu)-0.5) > 1e-9 || math.Abs(iy-float64(bv)-0.5) > 1e-9 {
		t.Fatalf("Invert round trip = %v,%v", ix, iy)
	}
}

func TestSteadyStateAllocations(t *testing.T) {
	frame := make([]byte, 640*480*2)
	for i := range frame {
		frame[i] = uint8(i)
	}
	var rgb RGB
	var s Sampler
	det := make([]float32, 128*128*3)
	crop := make([]float32, 192*192*3)
	a := RotatedRect(320, 240, 300, 300, 0.3, 192, 192)
	run := func() {
		if err := YUYVToRGB(&rgb, frame, 640, 480); err != nil {
			t.Fatal(err)
		}
		s.Letterbox(det, 128, 128, &rgb, NormSigned)
		s.Warp(crop, 192, 192, &rgb, a, NormUnit)
	}
	run()
	if n := testing.AllocsPerRun(5, run); n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
}

func TestYCbCrFastPathMatchesStdlib(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		full := image.NewYCbCr(image.Rect(0, 0, 37, 23), ratio)
		for i := range full.Y {
			full.Y[i] = uint8(i * 13)
		}
		for i := range full.Cb {
			full.Cb[i], full.Cr[i] = uint8(i*29), uint8(255-i*7)
		}
		// A sub-image with odd offsets exercises the chroma indexing.
		img := full.SubImage(image.Rect(3, 1, 37, 22)).(*image.YCbCr)
		m := FromImage(img, nil)
		b := img.Bounds()
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				c := img.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				gr, gg, gb := m.At(x, y)
				if gr != r || gg != g || gb != bb {
					t.Fatalf("%v (%d,%d): got %d,%d,%d want %d,%d,%d", ratio, x, y, gr, gg, gb, r, g, bb)
				}
			}
		}
	}
}

// The incremental single-sample path matches the generic sampler.
func TestWarpFastPathMatchesGeneric(t *testing.T) {
	src := NewRGB(61, 47)
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 31)
	}
	var s Sampler
	a := RotatedRect(30, 20, 70, 50, 0.7, 33, 29) // partly outside the image
	fast := make([]float32, 33*29*3)
	slow := make([]float32, 33*29*3)
	warp1(fast, 33, 29, src, a, NormSigned)
	for v := 0; v < 29; v++ {
		for u := 0; u < 33; u++ {
			x, y := a.Apply(float64(u)+0.5, float64(v)+0.5)
			r, g, b := bilinear(src, x-0.5, y-0.5)
			o := slow[(v*33+u)*3:]
			o[0], o[1], o[2] = r*NormSigned.Scale+NormSigned.Offset, g*NormSigned.Scale+NormSigned.Offset, b*NormSigned.Scale+NormSigned.Offset
		}
	}
	for i := range fast {
		if math.Abs(float64(fast[i]-slow[i])) > 1e-4 {
			t.Fatalf("value %d: fast %v generic %v", i, fast[i], slow[i])
		}
	}
	s.Warp(fast, 33, 29, src, a, NormSigned) // public entry takes the same path
}
