package kiosk

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/models/imgproc"
	"livegate.dev/proto"
)

// toRGB converts a camera frame into dst (reused when its size matches).
func toRGB(f drivers.Frame, dst *imgproc.RGB) (*imgproc.RGB, error) {
	if f.Format == drivers.FormatRGB24 && len(f.Data) >= f.Width*f.Height*3 {
		if dst == nil || dst.W != f.Width || dst.H != f.Height {
			dst = imgproc.NewRGB(f.Width, f.Height)
		}
		copy(dst.Pix, f.Data)
		return dst, nil
	}
	if f.Format == drivers.FormatMJPEG {
		return imgproc.DecodeBytes(f.Data, dst, imgproc.DecodeOptions{})
	}
	img, err := f.Image()
	if err != nil {
		return nil, fmt.Errorf("kiosk: frame %d: %w", f.Seq, err)
	}
	return imgproc.FromImage(img, dst), nil
}

// auditRing keeps a JPEG of every every-th frame fed (at most n, the first
// one always kept) so that the frames the engine names can be stored.
type auditRing struct {
	n, every int
	idx      []int
	jpg      [][]byte
}

func newAuditRing(n, every int) *auditRing { return &auditRing{n: n, every: every} }

func (a *auditRing) offer(i int, img *imgproc.RGB) {
	if i%a.every != 0 {
		return
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img.ToImage(), &jpeg.Options{Quality: 80}); err != nil {
		return
	}
	if len(a.idx) >= a.n { // drop the second oldest: keep the first frame
		a.idx = append(a.idx[:1], a.idx[2:]...)
		a.jpg = append(a.jpg[:1], a.jpg[2:]...)
	}
	a.idx = append(a.idx, i)
	a.jpg = append(a.jpg, b.Bytes())
}

// nearest returns the kept frame closest to index i.
func (a *auditRing) nearest(i int) (int, bool) {
	best, bd := -1, 1<<30
	for k, x := range a.idx {
		d := x - i
		if d < 0 {
			d = -d
		}
		if d < bd {
			best, bd = k, d
		}
	}
	return best, best >= 0
}

// pick returns up to max audit frames for the engine's indices (the
// first, middle and last kept frames when it names none), each with the
// face box found by loc.
func (a *auditRing) pick(want []int, max int, loc FaceLocator, started, firstFrame time.Time) []proto.AuditFrame {
	if max == 0 || len(a.idx) == 0 {
		return nil
	}
	if len(want) == 0 {
		want = []int{a.idx[0], a.idx[len(a.idx)/2], a.idx[len(a.idx)-1]}
	}
	seen := map[int]bool{}
	var out []proto.AuditFrame
	for _, i := range want {
		if len(out) >= max {
			break
		}
		k, ok := a.nearest(i)
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		af := proto.AuditFrame{JPEG: a.jpg[k], At: started.UTC()}
		if loc != nil {
			if img, err := imgproc.DecodeBytes(a.jpg[k], nil, imgproc.DecodeOptions{}); err == nil {
				if box, ok := loc.Locate(img); ok {
					af.Box = box
				}
			}
		}
		out = append(out, af)
	}
	return out
}
