package drivers

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// Image converts f to an image.Image. Full-range I420 and Gray frames are
// wrapped without copying (valid only as long as f.Data); every other frame
// is converted into new memory. Limited-range samples (f.LimitedRange) are
// expanded to the full range image/color expects.
func (f Frame) Image() (image.Image, error) {
	if f.Width <= 0 || f.Height <= 0 {
		return nil, fmt.Errorf("frame %d: invalid size %dx%d", f.Seq, f.Width, f.Height)
	}
	if n := f.Format.FrameSize(f.Width, f.Height); n > 0 && len(f.Data) < n {
		return nil, fmt.Errorf("frame %d: %s %dx%d needs %d bytes, have %d", f.Seq, f.Format, f.Width, f.Height, n, len(f.Data))
	}
	r := image.Rect(0, 0, f.Width, f.Height)
	switch f.Format {
	case FormatI420:
		ys := f.Width * f.Height
		cw, ch := (f.Width+1)/2, (f.Height+1)/2
		cs := cw * ch
		img := &image.YCbCr{
			Y: f.Data[:ys], Cb: f.Data[ys : ys+cs], Cr: f.Data[ys+cs : ys+2*cs],
			YStride: f.Width, CStride: cw, SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: r,
		}
		if f.LimitedRange {
			img.Y, img.Cb, img.Cr = expand(img.Y, &lumaLUT), expand(img.Cb, &chromaLUT), expand(img.Cr, &chromaLUT)
		}
		return img, nil
	case FormatGray:
		pix := f.Data[:f.Width*f.Height]
		if f.LimitedRange {
			pix = expand(pix, &lumaLUT)
		}
		return &image.Gray{Pix: pix, Stride: f.Width, Rect: r}, nil
	case FormatYUYV:
		img := image.NewYCbCr(r, image.YCbCrSubsampleRatio422)
		for y := 0; y < f.Height; y++ {
			row := f.Data[y*f.Width*2:]
			for x := 0; x+1 < f.Width; x += 2 {
				i := x * 2
				img.Y[y*img.YStride+x] = row[i]
				img.Y[y*img.YStride+x+1] = row[i+2]
				img.Cb[y*img.CStride+x/2] = row[i+1]
				img.Cr[y*img.CStride+x/2] = row[i+3]
			}
			if f.Width%2 == 1 { // odd width: last pixel keeps its pair's chroma
				x := f.Width - 1
				img.Y[y*img.YStride+x] = row[x*2]
				img.Cb[y*img.CStride+x/2] = row[x*2+1]
				img.Cr[y*img.CStride+x/2] = 128
			}
		}
		if f.LimitedRange {
			expandInPlace(img.Y, &lumaLUT)
			expandInPlace(img.Cb, &chromaLUT)
			expandInPlace(img.Cr, &chromaLUT)
		}
		return img, nil
	case FormatRGB24:
		img := image.NewRGBA(r)
		for i, j := 0, 0; i < f.Width*f.Height*3; i, j = i+3, j+4 {
			img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = f.Data[i], f.Data[i+1], f.Data[i+2], 0xFF
		}
		return img, nil
	case FormatMJPEG:
		img, err := jpeg.Decode(bytes.NewReader(f.Data))
		if err != nil {
			return nil, fmt.Errorf("frame %d: decode JPEG: %w", f.Seq, err)
		}
		return img, nil
	}
	return nil, fmt.Errorf("frame %d: cannot convert %s", f.Seq, f.Format)
}

// Video-range to full-range tables: Y' 16–235 → 0–255, Cb/Cr 16–240 →
// 0–255 around 128.
var lumaLUT, chromaLUT = rangeLUTs()

func rangeLUTs() (l, c [256]byte) {
	for i := range 256 {
		y := (float64(i) - 16) * 255 / 219
		ch := (float64(i)-128)*255/224 + 128
		l[i], c[i] = clampByte(y), clampByte(ch)
	}
	return l, c
}

func clampByte(v float64) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}

func expand(src []byte, lut *[256]byte) []byte {
	out := make([]byte, len(src))
	for i, v := range src {
		out[i] = lut[v]
	}
	return out
}

func expandInPlace(b []byte, lut *[256]byte) {
	for i, v := range b {
		b[i] = lut[v]
	}
}
