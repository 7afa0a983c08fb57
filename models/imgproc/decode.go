package imgproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
)

// Limits for Decode. DefaultMaxPixels (40 MP) is above any camera or phone
// photo a verification flow sees. DefaultMaxDecodedBytes bounds what the
// decoder and the RGB copy hold at once, estimated from the header: a pixel
// count alone does not, since a 16-bit RGBA PNG holds 8 bytes a pixel where
// a phone's JPEG holds 1.5 (a 130 kB 4096×4096 16-bit PNG would take about
// 185 MB; a 25 MP 4:4:4 JPEG takes about 150 MB and is accepted).
const (
	DefaultMaxPixels       = 40_000_000
	DefaultMaxBytes        = 64 << 20
	DefaultMaxDecodedBytes = 160 << 20
)

// Decoding errors; the returned errors wrap one of these.
var (
	ErrNotImage = errors.New("imgproc: not a JPEG or PNG image")
	ErrEmpty    = errors.New("imgproc: image has no pixels")
	ErrTooLarge = errors.New("imgproc: image exceeds the size limit")
	ErrCorrupt  = errors.New("imgproc: corrupt or truncated image")
)

// DecodeOptions bounds what Decode accepts.
type DecodeOptions struct {
	// MaxPixels is the largest width×height accepted, checked from the header
	// before decoding. Optional. Default: DefaultMaxPixels.
	MaxPixels int
	// MaxBytes is the largest encoded size read. Optional. Default: DefaultMaxBytes.
	MaxBytes int64
	// MaxDecodedBytes is the largest memory the decoded image and its RGB
	// copy may take, estimated from the header (DecodedBytes) before
	// decoding. Optional. Default: DefaultMaxDecodedBytes.
	MaxDecodedBytes int64
}

func (o DecodeOptions) withDefaults() DecodeOptions {
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxDecodedBytes <= 0 {
		o.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	return o
}

// Decode reads a JPEG or PNG image into dst (reused when non-nil). The size
// in the header is checked against the limits before any pixel buffer is
// allocated. CMYK JPEGs (Adobe) are converted to RGB; transparent PNGs are
// composited onto black. It never panics on hostile input.
func Decode(r io.Reader, dst *RGB, opts DecodeOptions) (*RGB, error) {
	opts = opts.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("imgproc: read image: %w", err)
	}
	if int64(len(data)) > opts.MaxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, opts.MaxBytes)
	}
	return DecodeBytes(data, dst, opts)
}

// DecodeFile decodes the JPEG or PNG file at path with default limits.
func DecodeFile(path string) (*RGB, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("imgproc: open image: %w", err)
	}
	defer f.Close()
	m, err := Decode(f, nil, DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// DecodeBytes is Decode on an in-memory encoded image.
func DecodeBytes(data []byte, dst *RGB, opts DecodeOptions) (m *RGB, err error) {
	opts = opts.withDefaults()
	var format string
	switch {
	case len(data) >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff:
		format = "jpeg"
	case len(data) >= 8 && string(data[:8]) == "\x89PNG\r\n\x1a\n":
		format = "png"
	default:
		return nil, ErrNotImage
	}
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("%w: %s decoder failed: %v", ErrCorrupt, format, p)
		}
	}()
	if format == "png" && len(data) >= 24 && string(data[12:16]) == "IHDR" {
		w := uint32(data[16])<<24 | uint32(data[17])<<16 | uint32(data[18])<<8 | uint32(data[19])
		h := uint32(data[20])<<24 | uint32(data[21])<<16 | uint32(data[22])<<8 | uint32(data[23])
		if w == 0 || h == 0 {
			return nil, fmt.Errorf("%w: png is %dx%d", ErrEmpty, w, h)
		}
	}
	var cfg image.Config
	if format == "jpeg" {
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %v", ErrCorrupt, format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s is %dx%d", ErrEmpty, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(opts.MaxPixels) {
		return nil, fmt.Errorf("%w: %s is %dx%d, limit %d pixels", ErrTooLarge, format, cfg.Width, cfg.Height, opts.MaxPixels)
	}
	if need := DecodedBytes(cfg); need > opts.MaxDecodedBytes {
		return nil, fmt.Errorf("%w: %s is %dx%d at %d bytes a pixel decoded (%d MiB), limit %d MiB", ErrTooLarge, format,
			cfg.Width, cfg.Height, need/(int64(cfg.Width)*int64(cfg.Height)), need>>20, opts.MaxDecodedBytes>>20)
	}
	var img image.Image
	if format == "jpeg" {
		img, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		img, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, format, err)
	}
	return FromImage(img, dst), nil
}

// DecodedBytes estimates the memory decoding an image of this header takes:
// the decoder's own buffer (by its colour model: 1 byte a pixel for grey and
// paletted images, 2 for 16-bit grey, 4 for 8-bit RGBA and CMYK, 8 for
// 16-bit RGBA, 3 for YCbCr, whose subsampling the header does not tell)
// plus the RGB copy (3 bytes a pixel).
func DecodedBytes(cfg image.Config) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	per := int64(4)
	switch cfg.ColorModel {
	case color.GrayModel:
		per = 1
	case color.Gray16Model:
		per = 2
	case color.YCbCrModel, color.NYCbCrAModel:
		per = 3
	case color.RGBA64Model, color.NRGBA64Model:
		per = 8
	default:
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			per = 1
		}
	}
	return px * (per + 3)
}
