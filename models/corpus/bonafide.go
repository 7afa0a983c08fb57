package corpus

import (
	"bytes"
	"math"
	"math/rand/v2"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// newKinds are the bona fide kinds made from real windows by transforming
// every frame (webcam windows are copied unchanged).
var newKinds = []string{KindHandheld, KindDim, KindBacklit, KindLowRes, KindFast}

// planBonaFideKinds adds n windows of 6–8 s of each new bona fide kind,
// spread over the clips (kind by kind, each next sample on the next clip)
// and over each clip's length.
func (g *generator) planBonaFideKinds(rng *rand.Rand, n int, add func(Label, runFunc)) {
	nc := len(g.clips)
	for ki, kind := range newKinds {
		for k := 0; k < n; k++ {
			c := g.clips[(k+ki)%nc]
			length := int((6 + 2*rng.Float64()) * c.FPS())
			span := length
			if kind == KindFast {
				span = 2 * length
			}
			avail := len(c.Frames) - span
			if avail <= 0 {
				continue
			}
			// The k/nc-th of this clip's share of samples, at a random
			// place within its slice of the clip.
			per := (n + nc - 1) / nc
			from := int((float64(k/nc) + rng.Float64()) / float64(per) * float64(avail))
			l := Label{Label: BonaFide, Mode: "passive", Kind: kind, Source: c.Name, SourceFrames: [2]int{from, from + span}}
			if kind == KindHandheld {
				l.Camera = CameraHandheld
			}
			add(l, g.bonaFideKind(c, kind))
		}
	}
}

// bonaFideKind returns the renderer of a new bona fide kind.
func (g *generator) bonaFideKind(c *Clip, kind string) runFunc {
	switch kind {
	case KindHandheld:
		return g.handheldWindow(c)
	case KindDim:
		return g.dimWindow(c)
	case KindBacklit:
		return g.backlitWindow(c)
	case KindLowRes:
		return g.lowResWindow(c)
	default:
		return g.fastWindow(c)
	}
}

// eachFrame decodes every step-th source frame of the window (capped) and
// hands it to fn with its index in the sample.
func (g *generator) eachFrame(j *job, c *Clip, step int, fn func(i int, m *imgproc.RGB) error) error {
	var frame imgproc.RGB
	from, to := j.label.SourceFrames[0], j.label.SourceFrames[1]
	n := g.frameCap((to - from + step - 1) / step)
	for i := 0; i < n; i++ {
		m, err := c.Frame(from+i*step, &frame)
		if err != nil {
			return err
		}
		if err := fn(i, m); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}

// handheldWindow: the whole real frame moves as a phone's camera held in a
// hand: a smooth random drift, hand shake, small rotations (a camera
// turning about its centre images the scene through a homography) and a
// zoom of 1.06–1.15, raised where needed so no border ever shows.
func (g *generator) handheldWindow(c *Clip) runFunc {
	return func(j *job, rng *rand.Rand, w *video.AVIWriter) error {
		zoom := 1.06 + 0.09*rng.Float64()
		amount := 0.3 + 0.7*rng.Float64()
		f := 300 + 150*rng.Float64()
		hand := NewHand(rng, Pose{CX: SampleW / 2, CY: SampleH / 2, Scale: zoom}, amount)
		// A phone turns by a degree or two, far less than a held photo tilts.
		for i := range hand.tiltAmp {
			hand.tiltAmp[i] *= 0.15
		}
		hand.scaleAmp *= 0.3
		j.label.Params = map[string]float64{"zoom": zoom, "motion": amount, "focal": f, "shake": hand.shake}
		dst := imgproc.NewRGB(SampleW, SampleH)
		return g.eachFrame(j, c, 1, func(i int, m *imgproc.RGB) error {
			pose := hand.At(float64(i) / c.FPS())
			pose.Scale *= CoverScale(pose, SampleW, SampleH, f, SampleW, SampleH)
			H, ok := FromQuad(float64(m.W), float64(m.H), pose.Quad(SampleW, SampleH, f))
			inv, ok2 := H.Invert()
			if !ok || !ok2 {
				copy(dst.Pix, m.Pix)
			} else {
				warpInto(dst, m, inv)
			}
			return w.WriteFrame(dst)
		})
	}
}

// warpInto samples src through inv (image point → source point) into dst.
func warpInto(dst, src *imgproc.RGB, inv Homography) {
	for y := 0; y < dst.H; y++ {
		for x := 0; x < dst.W; x++ {
			u, v := inv.Apply(float64(x)+0.5, float64(y)+0.5)
			p := bilinear(src, u-0.5, v-0.5)
			q := (y*dst.W + x) * 3
			dst.Pix[q], dst.Pix[q+1], dst.Pix[q+2] = u8(p[0]), u8(p[1]), u8(p[2])
		}
	}
}

// dimWindow: a dim room: exposure 0.25–0.5 in linear light, a steeper tone
// curve, a warm or cool cast, and the sensor noise of a high gain (read
// noise plus shot noise).
func (g *generator) dimWindow(c *Clip) runFunc {
	return func(j *job, rng *rand.Rand, w *video.AVIWriter) error {
		exposure := 0.25 + 0.25*rng.Float64()
		gamma := 1 + 0.3*rng.Float64()
		read := 2 + 3*rng.Float64()
		shot := 0.3 + 0.5*rng.Float64()
		cast := [3]float64{1 + 0.08*(rng.Float64()-0.5), 1, 1 + 0.12*(rng.Float64()-0.5)}
		j.label.Params = map[string]float64{"exposure": exposure, "gamma": gamma, "read_noise": read, "shot_noise": shot, "cast_r": cast[0], "cast_b": cast[2]}
		var lut [256]float64
		for i := range lut {
			lin := math.Pow(float64(i)/255, 2.2) * exposure
			lut[i] = 255 * math.Pow(math.Pow(lin, 1/2.2), gamma)
		}
		dst := imgproc.NewRGB(SampleW, SampleH)
		return g.eachFrame(j, c, 1, func(_ int, m *imgproc.RGB) error {
			for p, v := range m.Pix {
				o := lut[v] * cast[p%3]
				sigma := math.Sqrt(read*read + shot*shot*o)
				dst.Pix[p] = u8(o + rng.NormFloat64()*sigma)
			}
			return w.WriteFrame(dst)
		})
	}
}

// backlitWindow: a bright window behind the user: everything away from the
// person (a bust drawn around the detected face) is raised toward white, the
// person darkened.
func (g *generator) backlitWindow(c *Clip) runFunc {
	return func(j *job, rng *rand.Rand, w *video.AVIWriter) error {
		lift := 0.35 + 0.4*rng.Float64()
		dark := 0.45 + 0.35*rng.Float64()
		gamma := 1 + 0.25*rng.Float64()
		soft := 0.03 + 0.06*rng.Float64()
		j.label.Params = map[string]float64{"lift": lift, "dark": dark, "gamma": gamma, "softness": soft}
		// The person's position: the detector's box, smoothed; a centred box
		// until the first detection.
		box := [4]float64{SampleW*0.5 - 45, SampleH*0.42 - 45, 90, 90}
		first := true
		dst := imgproc.NewRGB(SampleW, SampleH)
		return g.eachFrame(j, c, 1, func(_ int, m *imgproc.RGB) error {
			boxes, err := g.faces.boxesOf(m)
			if err != nil {
				return err
			}
			if len(boxes) > 0 {
				a := 0.5
				if first {
					a, first = 1, false
				}
				for k := range box {
					box[k] += a * (boxes[0][k] - box[k])
				}
			}
			backlight(dst, m, box, lift, dark, gamma, soft)
			return w.WriteFrame(dst)
		})
	}
}

// backlight writes src lit from behind into dst: the person's weight (a
// webcam bust drawn around the face box: a head ellipse over hair and face,
// a neck widening into the shoulders down to the frame's bottom, edges soft
// over soft × the box width) scales the person by dark with a tone curve
// gamma; the rest is raised by lift toward white.
func backlight(dst, src *imgproc.RGB, box [4]float64, lift, dark, gamma, soft float64) {
	fcx, fcy, bw, bh := box[0]+box[2]/2, box[1]+box[3]/2, box[2], box[3]
	head := newEllipse(fcx, fcy-0.12*bh, 0.56*bw, 0.82*bh, 0, false)
	neckY := fcy + 0.45*bh
	var pl [256]float64
	for i := range pl {
		pl[i] = 255 * math.Pow(float64(i)/255*dark, gamma)
	}
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	for y := 0; y < dst.H; y++ {
		fy := float64(y)
		hw := -1.0 // the bust's half-width at this row
		if fy > neckY {
			r := math.Min((fy-neckY)/(0.9*bh), 1)
			hw = bw * (0.25 + 1.1*r*r*(3-2*r))
		}
		for x := 0; x < dst.W; x++ {
			d, _, _ := head.inside(float64(x), fy)
			wgt := sig((1 - d) / soft)
			if hw > 0 {
				wgt = math.Max(wgt, sig((hw-math.Abs(float64(x)-fcx))/(soft*bw)))
			}
			q := (y*dst.W + x) * 3
			for ch := 0; ch < 3; ch++ {
				v := float64(src.Pix[q+ch])
				dst.Pix[q+ch] = u8(wgt*pl[src.Pix[q+ch]] + (1-wgt)*(v+(255-v)*lift))
			}
		}
	}
}

// lowResWindow: a low-resolution camera: each frame area-downscaled to
// 160×120 or 120×90 and compressed at JPEG quality 45–80, delivered at that
// size — the capture page sends a camera's frames at their own resolution
// (it only ever scales down), and a kiosk's camera driver does the same.
// (An earlier version scaled the frames back up to 320×240: the imaging
// replicas of that interpolation made spectral peaks a real low-resolution
// camera does not, and the moiré cue read them as a screen.)
func (g *generator) lowResWindow(c *Clip) runFunc {
	return func(j *job, rng *rand.Rand, w *video.AVIWriter) error {
		small := imgproc.NewRGB(160, 120)
		if rng.IntN(2) == 0 {
			small = imgproc.NewRGB(120, 90)
		}
		quality := 45 + rng.IntN(36)
		j.label.Params = map[string]float64{"width": float64(small.W), "quality": float64(quality)}
		if err := w.SetSize(small.W, small.H); err != nil {
			return err
		}
		var buf bytes.Buffer
		return g.eachFrame(j, c, 1, func(_ int, m *imgproc.RGB) error {
			Resample(m, 0, 0, float64(m.W), float64(m.H), small)
			buf.Reset()
			if err := EncodeJPEG(&buf, small, quality); err != nil {
				return err
			}
			return w.WriteJPEG(buf.Bytes())
		})
	}
}

// fastWindow: a fast mover: every second frame of the window dropped, the
// rest written at the clip's rate (the motion at double speed).
func (g *generator) fastWindow(c *Clip) runFunc {
	return func(j *job, _ *rand.Rand, w *video.AVIWriter) error {
		j.label.Params = map[string]float64{"speed": 2}
		from, to := j.label.SourceFrames[0], j.label.SourceFrames[1]
		n := g.frameCap((to - from + 1) / 2)
		for i := 0; i < n; i++ {
			if err := w.WriteJPEG(c.Frames[from+2*i]); err != nil {
				return err
			}
			j.label.Frames++
		}
		return nil
	}
}
