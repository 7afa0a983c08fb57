package face

import (
	"fmt"
	"math"
	"os"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

// Embedding constants.
const (
	EmbedModel    = "MobileFaceNet.onnx"
	EmbeddingSize = 192
	EmbedInput    = 112
)

// DefaultMatchThreshold is the cosine similarity at or above which two
// embeddings count as the same person. Calibrated on the johns same-person
// set (5 people × 11 photos, mesh-aligned crops): different people reach at
// most 0.45 and FMR 1 % sits at 0.35, the same person scores at least 0.67;
// 0.60 sits in that gap towards the same-person side, because a false match
// costs more than a retry (docs/face.md).
const DefaultMatchThreshold = 0.60

// arcface is the 5-point 112×112 alignment template (eye centres, nose tip,
// mouth corners; image-left first) MobileFaceNet's training crops follow.
var arcface = [5][2]float64{
	{38.2946, 51.6963}, {73.5318, 51.5014}, {56.0252, 71.7366}, {41.5493, 92.3655}, {70.7299, 92.2041},
}

// AlignScale shrinks (<1) or grows (>1) the face inside the 112² crop
// relative to the template; the default was chosen on the johns set.
const AlignScale = 1.0

// AlignLandmarks returns the 112×112 crop mapping (tensor → image) that puts
// the mesh's eye centres, nose tip and mouth corners on the template.
func AlignLandmarks(l *Landmarks) imgproc.Affine {
	mean := func(idx ...int) [2]float64 {
		var s [2]float64
		for _, i := range idx {
			s[0] += float64(l.Points[i][0])
			s[1] += float64(l.Points[i][1])
		}
		return [2]float64{s[0] / float64(len(idx)), s[1] / float64(len(idx))}
	}
	src := [][2]float64{
		mean(33, 133, 159, 145), mean(263, 362, 386, 374), mean(MeshNoseTip),
		mean(MeshMouthRight), mean(MeshMouthLeft),
	}
	return alignTo(src, arcface[:], AlignScale)
}

// AlignKeypoints is AlignLandmarks from the detector's eyes, nose tip and
// mouth centre (less precise than the mesh).
func AlignKeypoints(f Face) imgproc.Affine {
	k := f.Keypoints
	src := [][2]float64{
		{float64(k[KeyRightEye][0]), float64(k[KeyRightEye][1])},
		{float64(k[KeyLeftEye][0]), float64(k[KeyLeftEye][1])},
		{float64(k[KeyNoseTip][0]), float64(k[KeyNoseTip][1])},
		{float64(k[KeyMouth][0]), float64(k[KeyMouth][1])},
	}
	dst := [][2]float64{arcface[0], arcface[1], arcface[2],
		{(arcface[3][0] + arcface[4][0]) / 2, (arcface[3][1] + arcface[4][1]) / 2}}
	return alignTo(src, dst, AlignScale)
}

// alignTo fits the similarity transform (rotation, uniform scale,
// translation; least squares) taking src image points to dst template points
// (scaled by s about the crop centre) and returns its inverse, the tensor →
// image mapping.
func alignTo(src, dst [][2]float64, s float64) imgproc.Affine {
	n := float64(len(src))
	var sx, sy, dx, dy float64
	for i := range src {
		sx += src[i][0]
		sy += src[i][1]
		d0 := (dst[i][0]-EmbedInput/2)*s + EmbedInput/2
		d1 := (dst[i][1]-EmbedInput/2)*s + EmbedInput/2
		dx += d0
		dy += d1
	}
	sx, sy, dx, dy = sx/n, sy/n, dx/n, dy/n
	var a, b, ss float64
	for i := range src {
		px, py := src[i][0]-sx, src[i][1]-sy
		qx := (dst[i][0]-EmbedInput/2)*s + EmbedInput/2 - dx
		qy := (dst[i][1]-EmbedInput/2)*s + EmbedInput/2 - dy
		a += px*qx + py*qy
		b += px*qy - py*qx
		ss += px*px + py*py
	}
	a, b = a/ss, b/ss
	// q = [a -b; b a] p + t
	fwd := imgproc.Affine{A: a, B: -b, C: dx - (a*sx - b*sy), D: b, E: a, F: dy - (b*sx + a*sy)}
	return fwd.Invert()
}

// EmbedderOptions configures an Embedder.
type EmbedderOptions struct {
	// Model is the ONNX file. Optional. Default: MobileFaceNet.onnx in the
	// model cache.
	Model string
	// ORT configures the runtime. Optional.
	ORT ort.Options
}

// Embedder computes L2-normalised 192-d MobileFaceNet embeddings. The model
// takes a fixed batch of two crops; EmbedPair fills both. Not safe for
// concurrent use.
type Embedder struct {
	m       session
	batch   int
	dim     int
	sampler imgproc.Sampler
}

// NewEmbedder loads MobileFaceNet.
func NewEmbedder(opts EmbedderOptions) (*Embedder, error) {
	p, err := modelPath(opts.Model, EmbedModel)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("face: embedding model: %w (run `make setup`)", err)
	}
	m, ins, outs, err := loadModel(p, opts.ORT)
	if err != nil {
		return nil, err
	}
	if len(ins) != 1 || len(ins[0].Shape) != 4 || ins[0].Shape[1] != EmbedInput || ins[0].Shape[2] != EmbedInput ||
		len(outs) != 1 || len(outs[0].Shape) != 2 || outs[0].Shape[1] != EmbeddingSize {
		m.Close()
		return nil, fmt.Errorf("face: embedding model %s: want N×112×112×3 → N×192, have %v → %v", p, ins, outs)
	}
	return &Embedder{m: m, batch: int(ins[0].Shape[0]), dim: EmbeddingSize}, nil
}

// Close releases the session.
func (e *Embedder) Close() error { return e.m.Close() }

// Embed writes the embedding of the aligned crop a of img into out
// (len ≥ EmbeddingSize).
func (e *Embedder) Embed(img *imgproc.RGB, a imgproc.Affine, out []float32) error {
	return e.EmbedPair(img, a, img, a, out, nil)
}

// EmbedPair embeds two crops in one model call; outB may be nil.
func (e *Embedder) EmbedPair(imgA *imgproc.RGB, a imgproc.Affine, imgB *imgproc.RGB, b imgproc.Affine, outA, outB []float32) error {
	if imgA == nil || imgA.W == 0 || (outB != nil && (imgB == nil || imgB.W == 0)) {
		return ErrNoImage
	}
	if len(outA) < e.dim || (outB != nil && len(outB) < e.dim) {
		return fmt.Errorf("face: embedding buffer shorter than %d", e.dim)
	}
	if outB != nil && e.batch < 2 {
		if err := e.EmbedPair(imgA, a, nil, a, outA, nil); err != nil {
			return err
		}
		return e.EmbedPair(imgB, b, nil, b, outB, nil)
	}
	if outB == nil {
		imgB = nil
	}
	e.Prepare(imgA, a, imgB, b)
	if err := e.m.Run(); err != nil {
		return fmt.Errorf("face: run embedder: %w", err)
	}
	e.Result(outA, outB)
	return nil
}

// Prepare writes the crops into the model input: a into the first batch
// slot and b (or a again when imgB is nil) into the second. Prepare,
// RunModel and Result are what EmbedPair does, split for benchmarks.
func (e *Embedder) Prepare(imgA *imgproc.RGB, a imgproc.Affine, imgB *imgproc.RGB, b imgproc.Affine) {
	in := e.m.Input(0)
	n := EmbedInput * EmbedInput * 3
	e.sampler.Warp(in[:n], EmbedInput, EmbedInput, imgA, a, imgproc.NormFaceNet)
	if e.batch > 1 {
		if imgB != nil {
			e.sampler.Warp(in[n:2*n], EmbedInput, EmbedInput, imgB, b, imgproc.NormFaceNet)
		} else {
			copy(in[n:2*n], in[:n])
		}
	}
}

// RunModel runs the session on the prepared input.
func (e *Embedder) RunModel() error { return e.m.Run() }

// Result writes the L2-normalised embeddings of the last run; outB may be
// nil.
func (e *Embedder) Result(outA, outB []float32) {
	o := e.m.Output(0)
	l2norm(outA[:e.dim], o[:e.dim])
	if outB != nil && e.batch > 1 {
		l2norm(outB[:e.dim], o[e.dim:2*e.dim])
	}
}

func l2norm(dst, src []float32) {
	var s float64
	for _, v := range src {
		s += float64(v) * float64(v)
	}
	k := float32(1 / math.Sqrt(s+1e-10))
	for i, v := range src {
		dst[i] = v * k
	}
}

// Cosine returns the cosine similarity of two embeddings (their dot product
// when both are L2-normalised, as Embedder's are).
func Cosine(a, b []float32) float32 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return float32(d / math.Sqrt(na*nb))
}
