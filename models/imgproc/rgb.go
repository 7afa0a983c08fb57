package imgproc

import (
	"errors"
	"fmt"
	"image"
	"image/color"
)

// RGB is a packed 8-bit RGB image: the sample of channel c at (x, y) is
// Pix[(y*W+x)*3+c].
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w×h image.
func NewRGB(w, h int) *RGB {
	return &RGB{W: w, H: h, Pix: make([]uint8, w*h*3)}
}

// Reshape sets the size to w×h, reusing the pixel buffer when it is large
// enough. Pixel contents are unspecified afterwards.
func (m *RGB) Reshape(w, h int) {
	n := w * h * 3
	if cap(m.Pix) < n {
		m.Pix = make([]uint8, n)
	}
	m.Pix = m.Pix[:n]
	m.W, m.H = w, h
}

// At returns the pixel at (x, y); coordinates outside the image give black.
func (m *RGB) At(x, y int) (r, g, b uint8) {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return 0, 0, 0
	}
	i := (y*m.W + x) * 3
	return m.Pix[i], m.Pix[i+1], m.Pix[i+2]
}

// ToImage returns a copy as an *image.RGBA (for drawing and encoding).
func (m *RGB) ToImage() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i, j := 0, 0; i < len(m.Pix); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 0xff
	}
	return out
}

// FromImage converts any image.Image into dst (reused when non-nil) and
// returns it. YCbCr, RGBA, NRGBA, Gray and CMYK have fast paths.
func FromImage(img image.Image, dst *RGB) *RGB {
	if dst == nil {
		dst = &RGB{}
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	dst.Reshape(w, h)
	p := dst.Pix
	switch src := img.(type) {
	case *image.YCbCr:
		ycbcrToRGB(p, src, w, h)
	case *image.RGBA:
		for y := 0; y < h; y++ {
			s := src.Pix[(y)*src.Stride:]
			o := y * w * 3
			for x := 0; x < w; x++ {
				p[o], p[o+1], p[o+2] = s[x*4], s[x*4+1], s[x*4+2]
				o += 3
			}
		}
	case *image.NRGBA:
		// Composite onto black like the premultiplied path does.
		for y := 0; y < h; y++ {
			s := src.Pix[y*src.Stride:]
			o := y * w * 3
			for x := 0; x < w; x++ {
				a := uint32(s[x*4+3])
				p[o] = uint8(uint32(s[x*4]) * a / 255)
				p[o+1] = uint8(uint32(s[x*4+1]) * a / 255)
				p[o+2] = uint8(uint32(s[x*4+2]) * a / 255)
				o += 3
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			s := src.Pix[y*src.Stride:]
			o := y * w * 3
			for x := 0; x < w; x++ {
				p[o], p[o+1], p[o+2] = s[x], s[x], s[x]
				o += 3
			}
		}
	case *image.CMYK:
		for y := 0; y < h; y++ {
			s := src.Pix[y*src.Stride:]
			o := y * w * 3
			for x := 0; x < w; x++ {
				r, g, bb := color.CMYKToRGB(s[x*4], s[x*4+1], s[x*4+2], s[x*4+3])
				p[o], p[o+1], p[o+2] = r, g, bb
				o += 3
			}
		}
	default:
		o := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bb, _ := img.At(x, y).RGBA()
				p[o], p[o+1], p[o+2] = uint8(r>>8), uint8(g>>8), uint8(bb>>8)
				o += 3
			}
		}
	}
	return dst
}

// ErrFrameSize reports a raw frame whose byte length does not match its size.
var ErrFrameSize = errors.New("imgproc: frame size mismatch")

// YUYVToRGB converts a packed YUYV 4:2:2 frame (Y0 U Y1 V per two pixels, the
// usual V4L2 webcam format) of w×h pixels into dst using BT.601 limited-range
// coefficients. w must be even. dst is reshaped; no allocation happens once
// dst is large enough.
func YUYVToRGB(dst *RGB, src []byte, w, h int) error {
	if w <= 0 || h <= 0 || w%2 != 0 {
		return fmt.Errorf("%w: YUYV frame %dx%d (width must be even and positive)", ErrFrameSize, w, h)
	}
	if len(src) < w*h*2 {
		return fmt.Errorf("%w: YUYV %dx%d needs %d bytes, got %d", ErrFrameSize, w, h, w*h*2, len(src))
	}
	dst.Reshape(w, h)
	p := dst.Pix
	n := w * h / 2
	for i := 0; i < n; i++ {
		s := src[i*4 : i*4+4 : i*4+4]
		u, v := int32(s[1])-128, int32(s[3])-128
		// Fixed point BT.601 (limited range), 16-bit fraction.
		rv := 104597 * v
		guv := -25675*u - 53279*v
		bu := 132201 * u
		o := p[i*6 : i*6+6 : i*6+6]
		y0 := (int32(s[0]) - 16) * 76309
		y1 := (int32(s[2]) - 16) * 76309
		o[0], o[1], o[2] = clamp8((y0+rv)>>16), clamp8((y0+guv)>>16), clamp8((y0+bu)>>16)
		o[3], o[4], o[5] = clamp8((y1+rv)>>16), clamp8((y1+guv)>>16), clamp8((y1+bu)>>16)
	}
	return nil
}

// CopyRGB24 copies a packed RGB24 frame with the given row stride (bytes;
// 0 means w*3) into dst. With bgr set the source is BGR24.
func CopyRGB24(dst *RGB, src []byte, w, h, stride int, bgr bool) error {
	if stride == 0 {
		stride = w * 3
	}
	if w <= 0 || h <= 0 || stride < w*3 || len(src) < stride*(h-1)+w*3 {
		return fmt.Errorf("%w: RGB24 %dx%d stride %d with %d bytes", ErrFrameSize, w, h, stride, len(src))
	}
	dst.Reshape(w, h)
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+w*3]
		out := dst.Pix[y*w*3 : (y+1)*w*3]
		if !bgr {
			copy(out, row)
			continue
		}
		for x := 0; x < w*3; x += 3 {
			out[x], out[x+1], out[x+2] = row[x+2], row[x+1], row[x]
		}
	}
	return nil
}

// Rotate writes src turned clockwise by quarter×90° into dst (for cameras
// mounted sideways). dst must not alias src.
func Rotate(dst, src *RGB, quarter int) {
	q := ((quarter % 4) + 4) % 4
	w, h := src.W, src.H
	if q%2 == 1 {
		dst.Reshape(h, w)
	} else {
		dst.Reshape(w, h)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch q {
			case 0:
				dx, dy = x, y
			case 1:
				dx, dy = h-1-y, x
			case 2:
				dx, dy = w-1-x, h-1-y
			case 3:
				dx, dy = y, w-1-x
			}
			s := (y*w + x) * 3
			d := (dy*dst.W + dx) * 3
			dst.Pix[d], dst.Pix[d+1], dst.Pix[d+2] = src.Pix[s], src.Pix[s+1], src.Pix[s+2]
		}
	}
}

// FlipH writes the left–right mirror image of src into dst.
func FlipH(dst, src *RGB) {
	dst.Reshape(src.W, src.H)
	w := src.W
	for y := 0; y < src.H; y++ {
		for x := 0; x < w; x++ {
			s := (y*w + x) * 3
			d := (y*w + w - 1 - x) * 3
			dst.Pix[d], dst.Pix[d+1], dst.Pix[d+2] = src.Pix[s], src.Pix[s+1], src.Pix[s+2]
		}
	}
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// ycbcrToRGB converts with JFIF full-range coefficients in 16-bit fixed point
// (the same formula as color.YCbCrToRGB) without per-pixel method calls.
func ycbcrToRGB(p []uint8, src *image.YCbCr, w, h int) {
	b := src.Rect
	for y := 0; y < h; y++ {
		yrow := src.Y[src.YOffset(b.Min.X, b.Min.Y+y):]
		yrow = yrow[:w]
		c0 := src.COffset(b.Min.X, b.Min.Y+y)
		out := p[y*w*3 : (y+1)*w*3]
		var shift uint
		switch src.SubsampleRatio {
		case image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440:
			shift = 0
		case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
			shift = 1
		case image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410:
			shift = 2
		}
		x0 := b.Min.X
		for x := 0; x < w; x++ {
			ci := c0 + ((x0+x)>>shift - x0>>shift)
			yy := int32(yrow[x]) * 0x10101
			cb := int32(src.Cb[ci]) - 128
			cr := int32(src.Cr[ci]) - 128
			r := yy + 91881*cr
			g := yy - 22554*cb - 46802*cr
			bb := yy + 116130*cb
			o := out[x*3 : x*3+3 : x*3+3]
			o[0], o[1], o[2] = clamp16(r), clamp16(g), clamp16(bb)
		}
	}
}

func clamp16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	if v < 0 {
		return 0
	}
	return 255
}
