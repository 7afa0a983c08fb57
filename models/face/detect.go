package face

import (
	"errors"
	"fmt"
	"math"
	"os"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

// Keypoint indices of a Face (the subject's right and left).
const (
	KeyRightEye = iota
	KeyLeftEye
	KeyNoseTip
	KeyMouth
	KeyRightEar
	KeyLeftEar
	NumKeypoints
)

// Face is one detected face in source-image pixels.
type Face struct {
	Box       [4]float32               `json:"box"` // x, y, w, h
	Score     float32                  `json:"score"`
	Keypoints [NumKeypoints][2]float32 `json:"keypoints"`
}

// Range selects the BlazeFace variant.
type Range int

const (
	// ShortRange is BlazeFace 128×128 for faces within ~2 m (selfie, kiosk).
	ShortRange Range = iota
	// FullRange is BlazeFace 192×192 for smaller faces up to ~5 m.
	FullRange
)

func (r Range) String() string {
	if r == FullRange {
		return "full-range"
	}
	return "short-range"
}

// Model file names in the model cache.
const (
	ShortRangeModel = "face_detection_short_range.onnx"
	FullRangeModel  = "face_detection_full_range.onnx"
	KeijiroModel    = "blazeface_keijiro.onnx"
)

// DetectorOptions configures a Detector.
type DetectorOptions struct {
	// Range picks the model variant. Optional. Default: ShortRange.
	Range Range
	// Model is the ONNX file. Optional. Default: the converted model of Range
	// in the model cache; for ShortRange, keijiro's ONNX export of the same
	// network when the converted file is absent.
	Model string
	// MinScore drops detections below it. Optional. Default: 0.5 (short
	// range) or 0.6 (full range), MediaPipe's values.
	MinScore float32
	// NMSThreshold is the IoU above which detections are merged. Optional.
	// Default: 0.3.
	NMSThreshold float32
	// ORT configures the runtime. Optional.
	ORT ort.Options
}

func (o DetectorOptions) withDefaults() (DetectorOptions, error) {
	if o.MinScore <= 0 {
		o.MinScore = 0.5
		if o.Range == FullRange {
			o.MinScore = 0.6
		}
	}
	if o.NMSThreshold <= 0 {
		o.NMSThreshold = 0.3
	}
	if o.Model == "" {
		name := ShortRangeModel
		if o.Range == FullRange {
			name = FullRangeModel
		}
		p, err := assets.Model(name)
		if err != nil && o.Range == ShortRange {
			if k, kerr := assets.Model(KeijiroModel); kerr == nil {
				p, err = k, nil
			}
		}
		if err != nil {
			return o, fmt.Errorf("face: detector model: %w", err)
		}
		o.Model = p
	}
	return o, nil
}

// Detector runs BlazeFace on images of any size (letterboxed, not
// stretched). Not safe for concurrent use.
type Detector struct {
	opts    DetectorOptions
	m       session
	size    int
	anchors []Anchor
	// Output tensors holding boxes (16 values per anchor) and scores, in
	// anchor order.
	boxOuts, scoreOuts []int

	sampler imgproc.Sampler
	cands   []cand
	order   []int
	rest    []int
	faces   []Face
}

type cand struct {
	score float32
	box   [4]float32 // xmin, ymin, xmax, ymax in tensor pixels
	kp    [NumKeypoints][2]float32
}

// NewDetector loads the detector model.
func NewDetector(opts DetectorOptions) (*Detector, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(opts.Model); err != nil {
		return nil, fmt.Errorf("face: detector model: %w (run `make setup`)", err)
	}
	m, ins, outs, err := loadModel(opts.Model, opts.ORT)
	if err != nil {
		return nil, err
	}
	d, err := newDetector(m, ins, outs, opts)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("face: detector %s: %w", opts.Model, err)
	}
	return d, nil
}

func newDetector(m session, ins, outs []ort.TensorSpec, opts DetectorOptions) (*Detector, error) {
	ao := ShortRangeAnchors
	if opts.Range == FullRange {
		ao = FullRangeAnchors
	}
	if len(ins) != 1 || len(ins[0].Shape) != 4 || ins[0].Shape[1] != int64(ao.InputH) ||
		ins[0].Shape[2] != int64(ao.InputW) || ins[0].Shape[3] != 3 {
		return nil, fmt.Errorf("want one NHWC input 1×%d×%d×3, model has %v", ao.InputH, ao.InputW, ins)
	}
	d := &Detector{opts: opts, m: m, size: ao.InputW, anchors: GenerateAnchors(ao)}
	nb, ns := 0, 0
	for i, o := range outs {
		last := o.Shape[len(o.Shape)-1]
		switch {
		case last == 16 && len(o.Shape) >= 2:
			d.boxOuts = append(d.boxOuts, i)
			nb += numel(o.Shape) / 16
		case last == 1 && len(o.Shape) >= 2:
			d.scoreOuts = append(d.scoreOuts, i)
			ns += numel(o.Shape)
		}
	}
	if nb != len(d.anchors) || ns != len(d.anchors) {
		return nil, fmt.Errorf("outputs %v give %d boxes and %d scores, want %d anchors", outs, nb, ns, len(d.anchors))
	}
	d.cands = make([]cand, 0, 64)
	d.order = make([]int, 0, 64)
	d.rest = make([]int, 0, 64)
	d.faces = make([]Face, 0, 16)
	return d, nil
}

// InputSize is the model's square input side (128 or 192).
func (d *Detector) InputSize() int { return d.size }

// Close releases the session.
func (d *Detector) Close() error { return d.m.Close() }

// ErrNoImage reports an empty image.
var ErrNoImage = errors.New("face: empty image")

// Detect finds faces in img, best first. The returned slice is reused by the
// next call: copy what you keep.
func (d *Detector) Detect(img *imgproc.RGB) ([]Face, error) {
	if img == nil || img.W <= 0 || img.H <= 0 {
		return nil, ErrNoImage
	}
	lb := d.Prepare(img)
	if err := d.m.Run(); err != nil {
		return nil, fmt.Errorf("face: run detector: %w", err)
	}
	return d.Decode(lb), nil
}

// Prepare writes img into the model input (letterboxed, RGB in [-1,1]).
// Prepare, Run on the session and Decode are what Detect does; they are
// separate for benchmarks that time the model alone.
func (d *Detector) Prepare(img *imgproc.RGB) imgproc.Letterbox {
	return d.sampler.Letterbox(d.m.Input(0), d.size, d.size, img, imgproc.NormSigned)
}

// RunModel runs the session on the prepared input.
func (d *Detector) RunModel() error { return d.m.Run() }

// Decode turns the model outputs into faces in source pixels.
func (d *Detector) Decode(lb imgproc.Letterbox) []Face {
	d.cands = d.cands[:0]
	s := float32(d.size)
	// Scores are compared as logits: sigmoid(x) ≥ t ⇔ x ≥ logit(t).
	minLogit := float32(math.Log(float64(d.opts.MinScore) / (1 - float64(d.opts.MinScore))))
	a := 0
	for k, si := range d.scoreOuts {
		scores := d.m.Output(si)
		boxes := d.m.Output(d.boxOuts[k])
		for j, raw := range scores {
			if raw >= minLogit {
				d.cands = append(d.cands, decodeAnchor(raw, boxes[j*16:j*16+16], d.anchors[a+j], s))
			}
		}
		a += len(scores)
	}
	d.nms()
	for i := range d.faces {
		f := &d.faces[i]
		x0, y0 := lb.ToSource(float64(f.Box[0]), float64(f.Box[1]))
		x1, y1 := lb.ToSource(float64(f.Box[2]), float64(f.Box[3]))
		f.Box = [4]float32{float32(x0), float32(y0), float32(x1 - x0), float32(y1 - y0)}
		for k := range f.Keypoints {
			x, y := lb.ToSource(float64(f.Keypoints[k][0]), float64(f.Keypoints[k][1]))
			f.Keypoints[k] = [2]float32{float32(x), float32(y)}
		}
	}
	return d.faces
}

// decodeAnchor decodes one anchor as MediaPipe's TensorsToDetections does with
// reverse_output_order (x, y, w, h), scales equal to the input size and
// score clipping at ±100; coordinates come out in tensor pixels.
func decodeAnchor(raw float32, r []float32, an Anchor, s float32) cand {
	if raw > 100 {
		raw = 100
	} else if raw < -100 {
		raw = -100
	}
	ax, ay, aw, ah := float32(an.XCenter), float32(an.YCenter), float32(an.W), float32(an.H)
	xc := r[0]/s*aw + ax
	yc := r[1]/s*ah + ay
	w := r[2] / s * aw
	h := r[3] / s * ah
	c := cand{score: float32(1 / (1 + math.Exp(-float64(raw))))}
	c.box = [4]float32{(xc - w/2) * s, (yc - h/2) * s, (xc + w/2) * s, (yc + h/2) * s}
	for k := 0; k < NumKeypoints; k++ {
		c.kp[k] = [2]float32{(r[4+2*k]/s*aw + ax) * s, (r[5+2*k]/s*ah + ay) * s}
	}
	return c
}

// nms is MediaPipe's weighted non-maximum suppression: the best remaining
// detection absorbs every detection overlapping it by more than the
// threshold; box and keypoints become the score-weighted mean of the group
// and the score stays the best one's.
func (d *Detector) nms() {
	d.faces = d.faces[:0]
	d.order = d.order[:0]
	for i := range d.cands {
		d.order = append(d.order, i)
	}
	c := d.cands
	// Insertion sort by score, best first: stable, allocation-free, and the
	// candidate list is short.
	for i := 1; i < len(d.order); i++ {
		for j := i; j > 0 && c[d.order[j]].score > c[d.order[j-1]].score; j-- {
			d.order[j], d.order[j-1] = d.order[j-1], d.order[j]
		}
	}
	for len(d.order) > 0 {
		top := c[d.order[0]]
		d.rest = d.rest[:0]
		var tw float32
		var box [4]float32
		var kp [NumKeypoints][2]float32
		for _, i := range d.order {
			if iou(c[i].box, top.box) > d.opts.NMSThreshold {
				w := c[i].score
				tw += w
				for k := range box {
					box[k] += c[i].box[k] * w
				}
				for k := range kp {
					kp[k][0] += c[i].kp[k][0] * w
					kp[k][1] += c[i].kp[k][1] * w
				}
			} else {
				d.rest = append(d.rest, i)
			}
		}
		f := Face{Score: top.score, Box: top.box, Keypoints: top.kp}
		if tw > 0 {
			for k := range box {
				f.Box[k] = box[k] / tw
			}
			for k := range kp {
				f.Keypoints[k] = [2]float32{kp[k][0] / tw, kp[k][1] / tw}
			}
		}
		d.faces = append(d.faces, f)
		if len(d.rest) == len(d.order) {
			break
		}
		d.order, d.rest = d.rest, d.order
	}
}

func iou(a, b [4]float32) float32 {
	ix := min(a[2], b[2]) - max(a[0], b[0])
	iy := min(a[3], b[3]) - max(a[1], b[1])
	if ix <= 0 || iy <= 0 {
		return 0
	}
	inter := ix * iy
	u := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// IoU returns the intersection over union of two [x, y, w, h] boxes.
func IoU(a, b [4]float32) float32 {
	return iou([4]float32{a[0], a[1], a[0] + a[2], a[1] + a[3]}, [4]float32{b[0], b[1], b[0] + b[2], b[1] + b[3]})
}
