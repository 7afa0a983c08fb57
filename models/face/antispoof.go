package face

import (
	"fmt"
	"math"
	"os"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

// AntiSpoofModel is the converted FaceAntiSpoofing model's file name.
const AntiSpoofModel = "FaceAntiSpoofing.onnx"

// AntiSpoof computes the FaceAntiSpoofing model's raw score. It is a weak
// signal only — on this project's real clips it tracked sharpness, not
// liveness (docs/face.md) — and makes no decision. Not safe for concurrent use.
type AntiSpoof struct {
	m          session
	size       int
	pred, leaf int
	sampler    imgproc.Sampler
}

// AntiSpoofOptions configures an AntiSpoof.
type AntiSpoofOptions struct {
	// Model is the ONNX file. Optional. Default: FaceAntiSpoofing.onnx in the
	// model cache.
	Model string
	// ORT configures the runtime. Optional.
	ORT ort.Options
}

// NewAntiSpoof loads the model.
func NewAntiSpoof(opts AntiSpoofOptions) (*AntiSpoof, error) {
	p, err := modelPath(opts.Model, AntiSpoofModel)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("face: anti-spoof model: %w (run `make setup`)", err)
	}
	m, ins, outs, err := loadModel(p, opts.ORT)
	if err != nil {
		return nil, err
	}
	a := &AntiSpoof{m: m, pred: -1, leaf: -1}
	for i, o := range outs {
		switch o.Name {
		case "Identity":
			a.pred = i
		case "Identity_1":
			a.leaf = i
		}
	}
	if len(ins) != 1 || len(ins[0].Shape) != 4 || a.pred < 0 || a.leaf < 0 ||
		numel(outs[a.pred].Shape) != 8 || numel(outs[a.leaf].Shape) != 8 {
		m.Close()
		return nil, fmt.Errorf("face: anti-spoof model %s: want NHWC input and outputs Identity, Identity_1 of 8, have %v → %v", p, ins, outs)
	}
	a.size = int(ins[0].Shape[1])
	return a, nil
}

// Close releases the session.
func (a *AntiSpoof) Close() error { return a.m.Close() }

// Score returns Σ|Identity[i]|·Identity_1[i] over the model's 8 tree
// leaves for the square face crop around the detection box (RGB/255 at
// 256²). Its package calls a score under 0.2 live; livegate treats it as a
// raw signal.
func (a *AntiSpoof) Score(img *imgproc.RGB, f Face) (float32, error) {
	if img == nil || img.W == 0 {
		return 0, ErrNoImage
	}
	side := math.Max(float64(f.Box[2]), float64(f.Box[3]))
	cx, cy := float64(f.Box[0]+f.Box[2]/2), float64(f.Box[1]+f.Box[3]/2)
	r := imgproc.RotatedRect(cx, cy, side, side, 0, a.size, a.size)
	a.sampler.Warp(a.m.Input(0), a.size, a.size, img, r, imgproc.NormUnit)
	if err := a.m.Run(); err != nil {
		return 0, fmt.Errorf("face: run anti-spoof: %w", err)
	}
	p, l := a.m.Output(a.pred), a.m.Output(a.leaf)
	var s float32
	for i := 0; i < 8; i++ {
		s += float32(math.Abs(float64(p[i]))) * l[i]
	}
	return s, nil
}
