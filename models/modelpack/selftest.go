package modelpack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

// VectorFormat is the format of the selftest.json that NewVector and Build
// write. Format 2 has no anti_spoof expectation: packs no longer carry the
// FaceAntiSpoofing model, which the engine does not run. A device reads
// format 1 too (packs built before), ignoring its anti_spoof member; a
// device that knows format 1 only refuses format 2 and rolls the pack
// back, instead of looking for a model the pack no longer has.
const VectorFormat = 2

// OldestVectorFormat is the oldest selftest.json format SelfTest accepts.
const OldestVectorFormat = 1

// VectorFile is the self-test vector's name in a pack.
const VectorFile = "selftest.json"

// Vector is a self-test vector: a reference image in the pack and the
// outputs the pack's models must give on it.
type Vector struct {
	Format int `json:"format"`
	// Image is the reference image's file name in the pack.
	Image     string         `json:"image"`
	Detector  DetectorWant   `json:"detector"`
	Landmarks LandmarksWant  `json:"landmarks"`
	Embedding *EmbeddingWant `json:"embedding,omitempty"`
}

// DetectorWant is the best face's expected box (x, y, w, h in image
// pixels) and score.
type DetectorWant struct {
	Box            [4]float32 `json:"box"`
	BoxTolerance   float32    `json:"box_tolerance_px"`
	Score          float32    `json:"score"`
	ScoreTolerance float32    `json:"score_tolerance"`
}

// LandmarksWant is the expected face mesh: its number of points, a minimum
// presence, and the mean of its points (x, y in image pixels).
type LandmarksWant struct {
	Count             int        `json:"count"`
	MinPresence       float32    `json:"min_presence"`
	Centroid          [2]float32 `json:"centroid"`
	CentroidTolerance float32    `json:"centroid_tolerance_px"`
}

// EmbeddingWant is the expected embedding of the mesh-aligned face; the
// measured one must have at least MinCosine cosine similarity with it.
type EmbeddingWant struct {
	Vector    []float32 `json:"vector"`
	MinCosine float32   `json:"min_cosine"`
}

// Outputs are what the models gave on the reference image.
type Outputs struct {
	Box       [4]float32 `json:"box"`
	Score     float32    `json:"score"`
	Landmarks int        `json:"landmarks"`
	Presence  float32    `json:"presence"`
	Centroid  [2]float32 `json:"centroid"`
	Embedding []float32  `json:"embedding"`
}

// ErrSelfTest: the models' outputs differ from the self-test vector.
var ErrSelfTest = errors.New("models self-test failed")

// Engine is the engine's three models (ModelFiles) loaded from one
// directory.
type Engine struct {
	det *face.Detector
	lm  *face.Landmarker
	emb *face.Embedder
}

// Load loads the engine's models from dir (a models slot or the model
// cache), under their names in models/manifest.json. Other files in dir
// are not read: a pack built before format 2 also holds
// FaceAntiSpoofing.onnx, which the slot's installer verified against the
// pack's index like every file, and which nothing loads.
func Load(dir string, o ort.Options) (*Engine, error) {
	e := &Engine{}
	var err error
	if e.det, err = face.NewDetector(face.DetectorOptions{Model: filepath.Join(dir, face.ShortRangeModel), ORT: o}); err != nil {
		return nil, fmt.Errorf("modelpack: %w", err)
	}
	if e.lm, err = face.NewLandmarker(face.LandmarkerOptions{Model: filepath.Join(dir, face.LandmarkModel), ORT: o}); err != nil {
		e.Close()
		return nil, fmt.Errorf("modelpack: %w", err)
	}
	if e.emb, err = face.NewEmbedder(face.EmbedderOptions{Model: filepath.Join(dir, face.EmbedModel), ORT: o}); err != nil {
		e.Close()
		return nil, fmt.Errorf("modelpack: %w", err)
	}
	return e, nil
}

// Close releases the models.
func (e *Engine) Close() error {
	var errs []error
	if e.det != nil {
		errs = append(errs, e.det.Close())
	}
	if e.lm != nil {
		errs = append(errs, e.lm.Close())
	}
	if e.emb != nil {
		errs = append(errs, e.emb.Close())
	}
	return errors.Join(errs...)
}

// Measure runs every model on img: detection, the mesh of the best face
// and its embedding.
func Measure(ctx context.Context, e *Engine, img *imgproc.RGB) (*Outputs, error) {
	faces, err := e.det.Detect(img)
	if err != nil {
		return nil, fmt.Errorf("modelpack: detector: %w", err)
	}
	if len(faces) == 0 {
		return nil, fmt.Errorf("%w: the detector found no face in the reference image", ErrSelfTest)
	}
	f := faces[0]
	out := &Outputs{Box: f.Box, Score: f.Score}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var m face.Landmarks
	if err := e.lm.Detect(img, f, &m); err != nil {
		return nil, fmt.Errorf("modelpack: landmarks: %w", err)
	}
	out.Landmarks, out.Presence = len(m.Points), m.Presence
	var sx, sy float64
	for _, p := range m.Points {
		sx += float64(p[0])
		sy += float64(p[1])
	}
	out.Centroid = [2]float32{float32(sx / float64(len(m.Points))), float32(sy / float64(len(m.Points)))}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out.Embedding = make([]float32, face.EmbeddingSize)
	if err := e.emb.Embed(img, face.AlignLandmarks(&m), out.Embedding); err != nil {
		return nil, fmt.Errorf("modelpack: embedding: %w", err)
	}
	return out, nil
}

// SelfTest runs the engine on the vector's reference image and checks every
// output against the vector. The error wraps ErrSelfTest and names each
// output that left its tolerance.
func SelfTest(ctx context.Context, e *Engine, v *Vector, img *imgproc.RGB) (*Outputs, error) {
	if v.Format < OldestVectorFormat || v.Format > VectorFormat {
		return nil, fmt.Errorf("%w: vector format %d, want %d…%d", ErrSelfTest, v.Format, OldestVectorFormat, VectorFormat)
	}
	out, err := Measure(ctx, e, img)
	if err != nil {
		return nil, err
	}
	return out, v.Check(out)
}

// Check compares outputs with the vector.
func (v *Vector) Check(out *Outputs) error {
	var bad []string
	for i, name := range []string{"x", "y", "w", "h"} {
		if d := abs(out.Box[i] - v.Detector.Box[i]); d > v.Detector.BoxTolerance {
			bad = append(bad, fmt.Sprintf("detector box %s %.2f, want %.2f ± %.2f px", name, out.Box[i], v.Detector.Box[i], v.Detector.BoxTolerance))
		}
	}
	if d := abs(out.Score - v.Detector.Score); d > v.Detector.ScoreTolerance {
		bad = append(bad, fmt.Sprintf("detector score %.4f, want %.4f ± %.4f", out.Score, v.Detector.Score, v.Detector.ScoreTolerance))
	}
	if out.Landmarks != v.Landmarks.Count {
		bad = append(bad, fmt.Sprintf("%d landmarks, want %d", out.Landmarks, v.Landmarks.Count))
	}
	if out.Presence < v.Landmarks.MinPresence {
		bad = append(bad, fmt.Sprintf("landmark presence %.3f, want ≥ %.3f", out.Presence, v.Landmarks.MinPresence))
	}
	if d := float32(math.Hypot(float64(out.Centroid[0]-v.Landmarks.Centroid[0]), float64(out.Centroid[1]-v.Landmarks.Centroid[1]))); d > v.Landmarks.CentroidTolerance {
		bad = append(bad, fmt.Sprintf("landmark centroid (%.1f, %.1f) is %.2f px from (%.1f, %.1f), tolerance %.2f", out.Centroid[0], out.Centroid[1], d,
			v.Landmarks.Centroid[0], v.Landmarks.Centroid[1], v.Landmarks.CentroidTolerance))
	}
	if w := v.Embedding; w != nil {
		if len(w.Vector) != len(out.Embedding) {
			bad = append(bad, fmt.Sprintf("embedding of %d values, want %d", len(out.Embedding), len(w.Vector)))
		} else if c := face.Cosine(out.Embedding, w.Vector); c < w.MinCosine {
			bad = append(bad, fmt.Sprintf("embedding cosine %.4f to the expected one, want ≥ %.4f", c, w.MinCosine))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrSelfTest, strings.Join(bad, "; "))
	}
	return nil
}

// NewVector makes a self-test vector from the outputs measured on the
// reference image named image, with the default tolerances: box 2 % of
// the face side + 1 px, detector score ± 0.02, landmark centroid 2 % of
// the face side + 1 px, presence at least half the measured one,
// embedding cosine ≥ 0.98. Converted models on x64 and arm64 differ by
// about 1e-4, far inside these; another model, or a wrong one, lands far
// outside.
func NewVector(image string, out *Outputs) *Vector {
	side := max(out.Box[2], out.Box[3])
	v := &Vector{Format: VectorFormat, Image: image,
		Detector:  DetectorWant{Box: out.Box, BoxTolerance: 0.02*side + 1, Score: out.Score, ScoreTolerance: 0.02},
		Landmarks: LandmarksWant{Count: out.Landmarks, MinPresence: out.Presence / 2, Centroid: out.Centroid, CentroidTolerance: 0.02*side + 1},
	}
	if len(out.Embedding) > 0 {
		v.Embedding = &EmbeddingWant{Vector: out.Embedding, MinCosine: 0.98}
	}
	return v
}

// CheckDir is the models health check: it loads the engine from dir (an
// unpacked pack), reads the pack's self-test vector and image, and runs
// SelfTest.
func CheckDir(ctx context.Context, dir string, o ort.Options) (*Outputs, error) {
	v, err := ReadVector(dir)
	if err != nil {
		return nil, err
	}
	img, err := imgproc.DecodeFile(filepath.Join(dir, v.Image))
	if err != nil {
		return nil, fmt.Errorf("modelpack: self-test image: %w", err)
	}
	e, err := Load(dir, o)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return SelfTest(ctx, e, v, img)
}

// ReadVector reads dir/selftest.json strictly. A directory without one
// gives an error wrapping os.ErrNotExist.
func ReadVector(dir string) (*Vector, error) {
	b, err := os.ReadFile(filepath.Join(dir, VectorFile))
	if err != nil {
		return nil, fmt.Errorf("modelpack: self-test vector: %w", err)
	}
	v, err := ParseVector(b)
	if err != nil {
		return nil, err
	}
	if filepath.Base(v.Image) != v.Image || v.Image == "" || v.Image == "." || v.Image == ".." {
		return nil, fmt.Errorf("modelpack: self-test vector: image %q is not a file name", v.Image)
	}
	return v, nil
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
