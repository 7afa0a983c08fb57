package corpus

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// runFunc renders one sample.
type runFunc = func(*job, *rand.Rand, *video.AVIWriter) error

// planCueAttacks adds n samples of each attack made against one cue of the
// analyzer: cut-outs over a still room (background cue), full-frame screen
// replays (parallax and background cues), noisy loops (repeat detector) and
// prints on a stand (own-motion cue).
func (g *generator) planCueAttacks(rng *rand.Rand, n int, add func(Label, runFunc)) {
	for k := 0; k < n; k++ {
		add(Label{Label: Attack, Species: SpeciesCutout, Mode: "passive", Source: g.pickFaceSource(rng)}, g.cutoutAttack)
	}
	for k := 0; k < n; k++ {
		c := g.clips[k%len(g.clips)]
		length := int((6 + 2*rng.Float64()) * c.FPS())
		from := rng.IntN(max(len(c.Frames)-length, 1))
		add(Label{Label: Attack, Species: SpeciesScreenFullFrame, Mode: "passive", Source: c.Name,
			SourceFrames: [2]int{from, min(from+length, len(c.Frames))}}, g.fullScreenAttack)
	}
	for k := 0; k < n; k++ {
		c := g.clips[(k+1)%len(g.clips)]
		loop := int((0.5 + 1.5*rng.Float64()) * c.FPS())
		from := rng.IntN(len(c.Frames) - loop)
		add(Label{Label: Attack, Species: SpeciesInjectionLoopNoisy, Mode: "passive", Source: c.Name,
			SourceFrames: [2]int{from, from + loop}}, g.noisyLoopInjection)
	}
	for k := 0; k < n; k++ {
		add(Label{Label: Attack, Species: SpeciesPrintStand, Mode: "passive", Source: g.pickStill(rng)}, g.printStandAttack)
	}
}

// renderSeconds writes lo–hi seconds (drawn) of frames drawn by draw at the
// sample's rate (the source clip's, else 25 fps).
func (g *generator) renderSeconds(j *job, rng *rand.Rand, w *video.AVIWriter, lo, hi float64, draw func(dst *imgproc.RGB, t float64) error) error {
	fps := 25.0
	if c := g.clipByName(j.label.Source); c != nil {
		fps = c.FPS()
	}
	n := g.frameCap(int((lo + (hi-lo)*rng.Float64()) * fps))
	dst := imgproc.NewRGB(SampleW, SampleH)
	for i := 0; i < n; i++ {
		if err := draw(dst, float64(i)/fps); err != nil {
			return err
		}
		if err := w.WriteFrame(dst); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}

// frameCap limits a sample's frame count when the generator is capped
// (tests).
func (g *generator) frameCap(n int) int {
	if g.maxFrames > 0 {
		return min(n, g.maxFrames)
	}
	return n
}

func deg(rad float64) float64 { return rad * 180 / math.Pi }

// cutoutAttack: a face cut out of a printed photo (an oval or a hand-cut
// polygon, with or without the holding hand showing), moved as a rigid plane
// over a real, sharp, still background: the attacker's own room with the
// cut-out over their face, a face-free region of a room, or a busy photo.
func (g *generator) cutoutAttack(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	img, f, faceIdx, err := g.cutoutFace(j, rng)
	if err != nil {
		return err
	}
	cp := RandomCut(rng)
	pp := RandomPrint(rng)
	cut := NewCutout(img, f, cp, pp, rng)
	params := map[string]float64{}
	bg, kind, own, err := g.sharpBackground(rng, rng.IntN(3), params)
	if err != nil {
		return err
	}
	sc := sharpScene(rng, bg)
	base, faceW := cutoutPlacement(rng, f, own)
	amount := 0.02 + 0.08*rng.Float64() // on a stand
	if rng.IntN(3) > 0 {
		amount = 0.2 + 0.7*rng.Float64()
		if own != nil {
			amount = 0.2 + 0.3*rng.Float64() // keeps the own face covered
		}
	}
	hand := NewHand(rng, base, amount)
	side := float64(cut.Print.W) * faceW / cut.FaceWidth
	for k, v := range map[string]float64{"shape": b2f(cp.Polygon), "hand": b2f(cp.Hand), "bg_kind": float64(kind), "motion": amount,
		"face_w": faceW, "margin": cp.Margin, "top": cp.Top, "vertices": float64(cp.Vertices), "yaw": base.Yaw, "pitch": base.Pitch,
		"face_index": float64(faceIdx), "grain": pp.Grain, "halftone": pp.Halftone, "noise": sc.Noise, "gain": sc.Gain} {
		params[k] = v
	}
	j.label.Params = params
	return g.renderSeconds(j, rng, w, 6, 8, func(dst *imgproc.RGB, t float64) error {
		sc.RenderCutout(dst, cut, side, side, hand.At(t), rng)
		return nil
	})
}

// cutoutFace finds the face to cut out of the sample's source; a clip frame
// without a face moves on through the clip (the label follows).
func (g *generator) cutoutFace(j *job, rng *rand.Rand) (*imgproc.RGB, FaceShape, int, error) {
	img, f, idx, src, err := g.faceToCut(j.label.Source, rng)
	if err == nil {
		j.label.Source = src
	}
	return img, f, idx, err
}

// faceToCut finds a face in src (a photo or "clip#frame"); a clip frame
// without a face moves on through the clip, and the source used is
// returned.
func (g *generator) faceToCut(src string, rng *rand.Rand) (*imgproc.RGB, FaceShape, int, string, error) {
	first := src
	for try := 0; try < 12; try++ {
		img, f, idx, ok, err := g.sourceFace(src, rng)
		if err != nil {
			return nil, f, 0, src, err
		}
		if ok {
			return img, f, idx, src, nil
		}
		c, fi, isClip := g.clipFrameRef(src)
		if !isClip {
			break
		}
		src = fmt.Sprintf("%s#%d", c.Name, (fi+37)%len(c.Frames))
	}
	return nil, FaceShape{}, 0, first, fmt.Errorf("corpus: %s: no face to cut out", first)
}

// cutoutPlacement is where the cut-out's face goes and how wide it is:
// over the background's own face (slightly larger, so it covers it, at its
// roll) or near the frame's upper centre at a webcam user's size; the plane
// is rolled so the printed face ends up near upright.
func cutoutPlacement(rng *rand.Rand, f FaceShape, own *FaceShape) (Pose, float64) {
	p := Pose{Scale: 1, Yaw: 16 * (rng.Float64() - 0.5), Pitch: 12 * (rng.Float64() - 0.5)}
	if own != nil {
		p.CX, p.CY = own.CX, own.CY
		p.Roll = deg(own.Roll - f.Roll)
		return p, own.Width * (1.2 + 0.25*rng.Float64())
	}
	p.CX, p.CY = SampleW/2+25*(rng.Float64()-0.5)*2, SampleH*0.45+15*(rng.Float64()-0.5)*2
	p.Roll = -deg(f.Roll) + 6*(rng.Float64()-0.5)
	return p, 75 + 65*rng.Float64()
}

// fullScreenAttack: a clip window replayed on a screen that fills the
// camera's view (no bezel, overfilled so no edge shows), on a stand or held
// with little motion, with or without moiré and refresh banding, tone and
// colour shifts, defocus and a mild keystone.
func (g *generator) fullScreenAttack(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	c := g.clipByName(j.label.Source)
	p := RandomFullScreen(rng)
	bgSrc, err := g.bgSource(rng)
	if err != nil {
		return err
	}
	sc := newScene(rng, bgSrc)
	sc.F = 330 + 150*rng.Float64()
	stand := rng.IntN(2) == 0
	amount := 0.12 + 0.23*rng.Float64()
	if stand {
		amount = 0.01 + 0.06*rng.Float64()
	}
	base := Pose{CX: SampleW/2 + 3*rng.NormFloat64(), CY: SampleH/2 + 3*rng.NormFloat64(), Scale: 1,
		Yaw: 10 * (rng.Float64() - 0.5), Pitch: 10 * (rng.Float64() - 0.5), Roll: 3 * (rng.Float64() - 0.5)}
	hand := NewHand(rng, base, amount)
	j.label.Params = map[string]float64{"over": p.Over, "moire": b2f(p.Moire), "pitch": p.Screen.Pitch, "grid": p.Screen.Grid,
		"band": p.Screen.Band, "gamma": p.Screen.Gamma, "black": p.Screen.Black, "blur": p.Blur, "glare": p.Screen.Glare,
		"stand": b2f(stand), "motion": amount, "yaw": base.Yaw, "pitch_deg": base.Pitch, "noise": sc.Noise}
	var frame imgproc.RGB
	var buf []float64
	dst := imgproc.NewRGB(SampleW, SampleH)
	from, to := j.label.SourceFrames[0], j.label.SourceFrames[1]
	to = from + g.frameCap(to-from)
	for i := from; i < to; i++ {
		src, err := c.Frame(i, &frame)
		if err != nil {
			return err
		}
		t := float64(i-from) / c.FPS()
		pose := hand.At(t)
		pose.Scale *= CoverScale(pose, SampleW*p.Over, SampleH*p.Over, sc.F, SampleW, SampleH)
		buf = sc.RenderFullScreen(dst, src, p, pose, t, rng, buf)
		if err := w.WriteFrame(dst); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}

// noisyLoopInjection: a 0.5–2 s segment injected in a loop for 6–8 s,
// back and forth or forward with a cross-fade at the seam, each frame with
// fresh sensor noise, a sub-pixel shift, a slight brightness flicker and
// its own JPEG quality, so no two frames are identical.
func (g *generator) noisyLoopInjection(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	c := g.clipByName(j.label.Source)
	from, to := j.label.SourceFrames[0], j.label.SourceFrames[1]
	L := to - from
	seg := make([]*imgproc.RGB, L)
	for i := range seg {
		m, err := c.Frame(from+i, nil)
		if err != nil {
			return err
		}
		seg[i] = m
	}
	pingPong := rng.IntN(2) == 0
	fade := 0
	if !pingPong {
		fade = min(3+rng.IntN(6), L/3)
	}
	noise := 0.8 + 2.2*rng.Float64()
	jitter := 0.15 + 0.6*rng.Float64()
	flicker := 0.004 + 0.026*rng.Float64()
	qlo := 60 + rng.IntN(26)
	qhi := min(qlo+5+rng.IntN(11), 97)
	j.label.Params = map[string]float64{"loop_frames": float64(L), "ping_pong": b2f(pingPong), "fade_frames": float64(fade),
		"noise": noise, "jitter": jitter, "flicker": flicker, "q_min": float64(qlo), "q_max": float64(qhi)}
	n := g.frameCap(int((6 + 2*rng.Float64()) * c.FPS()))
	base := imgproc.NewRGB(SampleW, SampleH)
	out := imgproc.NewRGB(SampleW, SampleH)
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		loopFrame(seg, i, pingPong, fade, base)
		gain := 1 + flicker*rng.NormFloat64()
		shiftNoisy(base, out, jitter*(2*rng.Float64()-1), jitter*(2*rng.Float64()-1), gain, noise, rng)
		buf.Reset()
		if err := EncodeJPEG(&buf, out, qlo+rng.IntN(qhi-qlo+1)); err != nil {
			return err
		}
		if err := w.WriteJPEG(buf.Bytes()); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}

// loopFrame writes output frame i of a loop of seg into dst: back and
// forth (no frame shown twice at the turns), or forward with the last fade
// frames of each pass cross-faded into the first ones.
func loopFrame(seg []*imgproc.RGB, i int, pingPong bool, fade int, dst *imgproc.RGB) {
	L := len(seg)
	if L == 1 {
		copy(dst.Pix, seg[0].Pix)
		return
	}
	if pingPong {
		period := 2*L - 2
		k := i % period
		if k >= L {
			k = period - k
		}
		copy(dst.Pix, seg[k].Pix)
		return
	}
	period := L - fade
	q := i % period
	if q >= fade || i < period {
		copy(dst.Pix, seg[q].Pix)
		return
	}
	// Frames q and q+period are blended: the end of the last pass fades
	// into the start of this one.
	a := float64(q+1) / float64(fade+1)
	for p := range dst.Pix {
		dst.Pix[p] = u8(float64(seg[q].Pix[p])*a + float64(seg[q+period].Pix[p])*(1-a))
	}
}

// shiftNoisy writes src shifted by (dx, dy) pixels (bilinear), times gain,
// plus Gaussian noise of sigma levels into dst.
func shiftNoisy(src, dst *imgproc.RGB, dx, dy, gain, sigma float64, rng *rand.Rand) {
	for y := 0; y < dst.H; y++ {
		for x := 0; x < dst.W; x++ {
			p := bilinear(src, float64(x)-dx, float64(y)-dy)
			q := (y*dst.W + x) * 3
			for ch := 0; ch < 3; ch++ {
				dst.Pix[q+ch] = u8(p[ch]*gain + rng.NormFloat64()*sigma)
			}
		}
	}
}

// printStandAttack: a print propped on a stand (only a tiny vibration), at
// a fixed tilt, over a real background; one in three fills most of the
// frame.
func (g *generator) printStandAttack(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	still, err := g.loadStill(j.label.Source)
	if err != nil {
		return err
	}
	pp := RandomPrint(rng)
	pr := Print(still, pp, rng)
	params := map[string]float64{}
	bg, kind, _, err := g.sharpBackground(rng, BGRoom+rng.IntN(3), params)
	if err != nil {
		return err
	}
	sc := sharpScene(rng, bg)
	fill := rng.IntN(3) == 0
	size := 0.55 + 0.4*rng.Float64()
	spread := 1.0
	if fill {
		size, spread = 0.95+0.35*rng.Float64(), 0.3
	}
	base := Pose{CX: SampleW/2 + 14*spread*rng.NormFloat64(), CY: SampleH/2 + 8*spread*rng.NormFloat64(), Scale: 1,
		Yaw: 24 * (rng.Float64() - 0.5), Pitch: 20 * (rng.Float64() - 0.5), Roll: 6 * (rng.Float64() - 0.5)}
	amount := 0.01 + 0.05*rng.Float64()
	hand := NewHand(rng, base, amount)
	for k, v := range map[string]float64{"size": size, "fill": b2f(fill), "bg_kind": float64(kind), "motion": amount, "yaw": base.Yaw,
		"pitch": base.Pitch, "grain": pp.Grain, "saturation": pp.Saturation, "gamma": pp.Gamma, "halftone": pp.Halftone, "noise": sc.Noise} {
		params[k] = v
	}
	j.label.Params = params
	return g.renderSeconds(j, rng, w, 6, 8, func(dst *imgproc.RGB, t float64) error {
		sc.RenderPrint(dst, pr, SampleW*size, SampleH*size, hand.At(t), rng)
		return nil
	})
}
