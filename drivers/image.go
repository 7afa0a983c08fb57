package drivers

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// Image converts f to an image.Image. I420 and Gray frames are wrapped
// without copying (valid only as long as f.Data); YUYV, RGB24 and MJPEG are
// converted into new memory. Y'CbCr is interpreted full-range, as
// image/color does.
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
		return &image.YCbCr{
			Y: f.Data[:ys], Cb: f.Data[ys : ys+cs], Cr: f.Data[ys+cs : ys+2*cs],
			YStride: f.Width, CStride: cw, SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: r,
		}, nil
	case FormatGray:
		return &image.Gray{Pix: f.Data[:f.Width*f.Height], Stride: f.Width, Rect: r}, nil
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
