package corpus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"livegate.dev/models/imgproc"
)

// Background kinds behind a cut-out or a print on a stand (Params
// "bg_kind").
const (
	// BGOwnFace is a real clip frame whose face the instrument is held over
	// (an attacker holding a cut-out in front of their own face).
	BGOwnFace = 0
	// BGRoom is a region of a clip frame or photo without a face, scaled up
	// to the frame (a still room).
	BGRoom = 1
	// BGBusy is a crop of a busy photo (group photos, the astronaut's
	// studio, the cameraman's field) beside its people, without a
	// detectable face or much skin (a textured, sharp background).
	BGBusy = 2
	// BGBlurred is the blurred, darkened room of the print and screen
	// species (Background).
	BGBlurred = 3
)

// sharpBackground returns a 320×240 real background of the asked kind (or,
// when the media give none, of the next kind in own face → room → busy →
// room → blurred), the kind made, and for BGOwnFace the face it shows. It
// records where it came from in params.
func (g *generator) sharpBackground(rng *rand.Rand, kind int, params map[string]float64) (*imgproc.RGB, int, *FaceShape, error) {
	order := map[int][]int{BGOwnFace: {BGOwnFace, BGRoom, BGBusy}, BGRoom: {BGRoom, BGBusy}, BGBusy: {BGBusy, BGRoom}}[kind]
	for _, k := range order {
		var bg *imgproc.RGB
		var own *FaceShape
		var err error
		switch k {
		case BGOwnFace:
			bg, own, err = g.ownFaceBackground(rng, params)
		case BGRoom:
			bg, err = g.roomBackground(rng, params)
		default:
			bg, err = g.busyBackground(rng, params)
		}
		if err != nil || bg != nil {
			return bg, k, own, err
		}
	}
	src, err := g.bgSource(rng)
	if err != nil {
		return nil, 0, nil, err
	}
	return Background(src, rng), BGBlurred, nil, nil
}

// ownFaceBackground is a clip frame with a face found in it (nil when five
// draws found none).
func (g *generator) ownFaceBackground(rng *rand.Rand, params map[string]float64) (*imgproc.RGB, *FaceShape, error) {
	for try := 0; try < 5; try++ {
		ci := rng.IntN(len(g.clips))
		c := g.clips[ci]
		idx := rng.IntN(len(c.Frames))
		img, err := c.Frame(idx, nil)
		if err != nil {
			return nil, nil, err
		}
		shapes, err := g.faces.shapesOf(img, 1)
		if err != nil {
			return nil, nil, fmt.Errorf("corpus: %s frame %d: %w", c.Name, idx, err)
		}
		if len(shapes) > 0 {
			params["bg_clip"], params["bg_frame"] = float64(ci), float64(idx)
			return img, &shapes[0], nil
		}
	}
	return nil, nil, nil
}

// roomBackground scales up a region beside and above the person of a clip
// frame filmed in a room (franck's backdrop is a plain blue screen, so his
// clip serves only when it is the only one) (nil when four frames gave no
// region without a face).
func (g *generator) roomBackground(rng *rand.Rand, params map[string]float64) (*imgproc.RGB, error) {
	var rooms []int
	for i, c := range g.clips {
		if !strings.Contains(c.Name, "franck") {
			rooms = append(rooms, i)
		}
	}
	if len(rooms) == 0 {
		for i := range g.clips {
			rooms = append(rooms, i)
		}
	}
	for try := 0; try < 4; try++ {
		ci := rooms[rng.IntN(len(rooms))]
		idx := rng.IntN(len(g.clips[ci].Frames))
		img, err := g.clips[ci].Frame(idx, nil)
		if err != nil {
			return nil, err
		}
		params["bg_clip"], params["bg_frame"] = float64(ci), float64(idx)
		out, err := g.faceFreeCrop(rng, img, cropRule{lo: 0.2, hi: 0.45, side: 0.3, maxSkin: 1})
		if err != nil || out != nil {
			return out, err
		}
	}
	return nil, nil
}

// busyBackground is a crop of a busy photo beside its people (at about the
// photo's own resolution: sharp and textured), with no face and almost no
// skin in it (nil when there is no such photo or no such crop was found).
func (g *generator) busyBackground(rng *rand.Rand, params map[string]float64) (*imgproc.RGB, error) {
	if len(g.media.Busy) == 0 {
		return nil, nil
	}
	for try := 0; try < 4; try++ {
		pi := rng.IntN(len(g.media.Busy))
		img, err := g.faces.photo(g.media.Busy[pi])
		if err != nil {
			return nil, err
		}
		params["bg_busy"] = float64(pi)
		W := float64(img.W)
		out, err := g.faceFreeCrop(rng, img, cropRule{lo: math.Min(180, 0.35*W) / W, hi: math.Min(420, 0.45*W) / W, side: 0.2, maxSkin: 0.03, minTexture: 3})
		if err != nil || out != nil {
			return out, err
		}
	}
	return nil, nil
}

// cropRule bounds faceFreeCrop: crop widths lo–hi of the image's, the face
// box's growth each side, the most skin and the least texture allowed.
type cropRule struct {
	lo, hi, side, maxSkin, minTexture float64
}

// faceFreeCrop draws 4:3 crops of img within rule r beside the people
// (clear of every detected face grown by r.side of its width each side, the
// hair above it and the body below it), resamples them to 320×240 and keeps
// those within r's skin and texture bounds that show no face to the
// detector; of the first few kept it returns the most textured (nil when
// none was kept).
func (g *generator) faceFreeCrop(rng *rand.Rand, img *imgproc.RGB, r cropRule) (*imgproc.RGB, error) {
	boxes, err := g.faces.boxesOf(img)
	if err != nil {
		return nil, err
	}
	var best *imgproc.RGB
	bestTex := -1.0
	kept := 0
	W, H := float64(img.W), float64(img.H)
	for try := 0; try < 80 && kept < 5; try++ {
		cw := W * (r.lo + (r.hi-r.lo)*rng.Float64())
		ch := cw * 3 / 4
		if ch > H {
			continue
		}
		x, y := (W-cw)*rng.Float64(), (H-ch)*rng.Float64()
		if overlapsFace(x, y, cw, ch, boxes, H, r.side, 0.9, true) {
			continue
		}
		out := imgproc.NewRGB(SampleW, SampleH)
		Resample(img, x, y, cw, ch, out)
		if skinFraction(out) > r.maxSkin || texture(out) < r.minTexture {
			continue
		}
		found, err := g.faces.boxesOf(out)
		if err != nil {
			return nil, err
		}
		if len(found) > 0 {
			continue
		}
		kept++
		if tex := texture(out); tex > bestTex {
			best, bestTex = out, tex
		}
	}
	return best, nil
}

// skinFraction is the share of pixels in the usual skin range of YCbCr
// (Cb 77–127, Cr 140–173) that are not dark.
func skinFraction(m *imgproc.RGB) float64 {
	n := 0
	for i := 0; i < len(m.Pix); i += 3 {
		r, g, b := float64(m.Pix[i]), float64(m.Pix[i+1]), float64(m.Pix[i+2])
		cb := 128 - 0.1687*r - 0.3313*g + 0.5*b
		cr := 128 + 0.5*r - 0.4187*g - 0.0813*b
		if cb >= 77 && cb <= 127 && cr >= 140 && cr <= 173 && r > 60 {
			n++
		}
	}
	return float64(n) / float64(m.W*m.H)
}

// texture is the mean absolute difference between neighbouring pixels'
// green values (how much a tracker finds to hold on to).
func texture(m *imgproc.RGB) float64 {
	var sum float64
	for y := 0; y < m.H-1; y++ {
		for x := 0; x < m.W-1; x++ {
			q := (y*m.W+x)*3 + 1
			sum += math.Abs(float64(m.Pix[q])-float64(m.Pix[q+3])) + math.Abs(float64(m.Pix[q])-float64(m.Pix[q+3*m.W]))
		}
	}
	return sum / float64((m.W-1)*(m.H-1))
}

// overlapsFace reports whether the rectangle (x, y, w, h) meets a face box
// grown by side of its width each side and up of its height above (hair),
// or, with body, the column below it down to imgH (neck, chest, arms).
func overlapsFace(x, y, w, h float64, boxes [][4]float64, imgH, side, up float64, body bool) bool {
	meets := func(x0, y0, x1, y1 float64) bool { return x < x1 && x+w > x0 && y < y1 && y+h > y0 }
	for _, b := range boxes {
		x0, x1 := b[0]-side*b[2], b[0]+(1+side)*b[2]
		if meets(x0, b[1]-up*b[3], x1, b[1]+1.35*b[3]) || (body && meets(x0, b[1], x1, imgH)) {
			return true
		}
	}
	return false
}

// sharpScene is a camera in front of a sharp real background, with sensor
// noise and gain drawn as newScene draws them.
func sharpScene(rng *rand.Rand, bg *imgproc.RGB) *Scene {
	return &Scene{BG: bg, Noise: 1.5 + 1.5*rng.Float64(), Gain: 0.9 + 0.25*rng.Float64(), F: 380 + 80*rng.Float64()}
}
