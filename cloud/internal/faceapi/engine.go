package faceapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig
	_ "image/png"
	"math"
	"runtime"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// Documented upload limits.
const (
	// DefaultMaxBytes is the largest image file accepted (5 MiB).
	DefaultMaxBytes = 5 << 20
	// DefaultMaxPixels is the largest width×height accepted (25 MP), read
	// from the header before decoding: a zip-bomb PNG or a 65535×65535 JPEG
	// header is refused without allocating its pixels.
	DefaultMaxPixels = 25_000_000
	// DefaultMaxSide is the largest width or height accepted.
	DefaultMaxSide = 8192
	// MinSide is the smallest width or height accepted.
	MinSide = 32
	// DefaultThreshold is the default match threshold of compare: the
	// engine's calibrated face.DefaultMatchThreshold, the same the
	// livegate-face CLI uses, so one pair gets one answer everywhere.
	// Callers may pass their own (seed 002's example sends 0.45; on the
	// calibration set different people reach 0.45).
	DefaultThreshold = face.DefaultMatchThreshold
)

// Config configures an Engine. Every field is optional.
type Config struct {
	// Sets is the number of model sets, i.e. images analysed at once.
	// Optional. Default: runtime.GOMAXPROCS(0).
	Sets int
	// MaxBytes, MaxPixels and MaxSide bound uploads. Optional. Defaults:
	// DefaultMaxBytes, DefaultMaxPixels, DefaultMaxSide.
	MaxBytes  int64
	MaxPixels int
	MaxSide   int
	// Detector, Landmarker and Embedder configure the models. Optional.
	// Default: the models in the model cache.
	Detector   face.DetectorOptions
	Landmarker face.LandmarkerOptions
	Embedder   face.EmbedderOptions
}

func (c Config) withDefaults() Config {
	if c.Sets <= 0 {
		c.Sets = runtime.GOMAXPROCS(0)
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = DefaultMaxPixels
	}
	if c.MaxSide <= 0 {
		c.MaxSide = DefaultMaxSide
	}
	return c
}

// set is one detector, landmarker and embedder; it serves one image at a time.
type set struct {
	det *face.Detector
	lm  *face.Landmarker
	emb *face.Embedder
	buf imgproc.RGB
}

func (s *set) close() error {
	var errs []error
	if s.det != nil {
		errs = append(errs, s.det.Close())
	}
	if s.lm != nil {
		errs = append(errs, s.lm.Close())
	}
	if s.emb != nil {
		errs = append(errs, s.emb.Close())
	}
	return errors.Join(errs...)
}

// Engine detects, measures and embeds faces with a pool of model sets. It is
// safe for concurrent use.
type Engine struct {
	cfg  Config
	sets chan *set
	all  []*set
}

// New loads cfg.Sets model sets.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	e := &Engine{cfg: cfg, sets: make(chan *set, cfg.Sets)}
	for i := 0; i < cfg.Sets; i++ {
		s := &set{}
		var err error
		if s.det, err = face.NewDetector(cfg.Detector); err == nil {
			if s.lm, err = face.NewLandmarker(cfg.Landmarker); err == nil {
				s.emb, err = face.NewEmbedder(cfg.Embedder)
			}
		}
		if err != nil {
			s.close()
			e.Close()
			return nil, fmt.Errorf("faceapi: loading model set %d: %w", i, err)
		}
		e.all = append(e.all, s)
		e.sets <- s
	}
	return e, nil
}

// Config returns the configuration in effect.
func (e *Engine) Config() Config { return e.cfg }

// Close releases the models; it waits for requests in progress.
func (e *Engine) Close() error {
	var errs []error
	for range e.all {
		s := <-e.sets
		errs = append(errs, s.close())
	}
	e.all = nil
	return errors.Join(errs...)
}

func (e *Engine) acquire(ctx context.Context) (*set, error) {
	select {
	case s := <-e.sets:
		return s, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("faceapi: waiting for a model set: %w", ctx.Err())
	}
}

func (e *Engine) release(s *set) { e.sets <- s }

// Quality are measures of one face that tell whether it is usable.
type Quality struct {
	// Yaw, Pitch and Roll are the head pose in degrees (mesh-based).
	Yaw   float64 `json:"yaw"`
	Pitch float64 `json:"pitch"`
	Roll  float64 `json:"roll"`
	// Sharpness is the variance of the Laplacian over the face box (grey
	// levels²; below about 20 is blurred).
	Sharpness float64 `json:"sharpness"`
	// Brightness is the mean grey level of the face box in [0, 255].
	Brightness float64 `json:"brightness"`
	// FaceSize is the box width over the image width.
	FaceSize float64 `json:"face_size"`
	// EyesOpen is the mean eye aspect ratio (about 0.27–0.31 open, 0.17–0.19 closed).
	EyesOpen float64 `json:"eyes_open"`
	// MouthOpen is the inner-lip gap over the mouth width (0 closed).
	MouthOpen float64 `json:"mouth_open"`
	// Frontal says |yaw|, |pitch| ≤ 20° and |roll| ≤ 15°.
	Frontal bool `json:"frontal"`
}

// Face is one detected face.
type Face struct {
	// Box is x, y, width, height in image pixels.
	Box [4]float64 `json:"box"`
	// Score is the detector's confidence in [0, 1].
	Score float64 `json:"score"`
	// Keypoints are the six detector keypoints by name (right_eye, left_eye,
	// nose_tip, mouth, right_ear, left_ear; the subject's right and left), x, y in pixels.
	Keypoints map[string][2]float64 `json:"keypoints"`
	Quality   Quality               `json:"quality"`

	embedding []float32
}

var keypointNames = [face.NumKeypoints]string{"right_eye", "left_eye", "nose_tip", "mouth", "right_ear", "left_ear"}

// Analysis is every face of one image.
type Analysis struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Faces  []Face `json:"faces"`
}

// Decode bounds-checks and decodes an uploaded image into a fresh buffer.
func (e *Engine) Decode(data []byte) (*imgproc.RGB, error) {
	return decode(data, nil, e.cfg)
}

func decode(data []byte, dst *imgproc.RGB, cfg Config) (*imgproc.RGB, error) {
	if int64(len(data)) > cfg.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), cfg.MaxBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrNotImage)
	}
	if !isJPEG(data) && !isPNG(data) {
		return nil, fmt.Errorf("%w: the file is neither JPEG nor PNG", ErrNotImage)
	}
	if hc, _, herr := image.DecodeConfig(bytes.NewReader(data)); herr == nil && (hc.Width > cfg.MaxSide || hc.Height > cfg.MaxSide) {
		return nil, fmt.Errorf("%w: %d×%d, the limit is %d a side", ErrTooLarge, hc.Width, hc.Height, cfg.MaxSide)
	}
	img, err := imgproc.DecodeBytes(data, dst, imgproc.DecodeOptions{MaxPixels: cfg.MaxPixels, MaxBytes: cfg.MaxBytes})
	switch {
	case errors.Is(err, imgproc.ErrTooLarge):
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, imgproc.ErrNotImage):
		return nil, fmt.Errorf("%w: %w", ErrNotImage, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if img.W > cfg.MaxSide || img.H > cfg.MaxSide {
		return nil, fmt.Errorf("%w: %d×%d, the limit is %d a side", ErrTooLarge, img.W, img.H, cfg.MaxSide)
	}
	if img.W < MinSide || img.H < MinSide {
		return nil, fmt.Errorf("%w: %d×%d, at least %d a side", ErrTooSmall, img.W, img.H, MinSide)
	}
	return img, nil
}

func isJPEG(b []byte) bool { return len(b) >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF }
func isPNG(b []byte) bool {
	return len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n"
}

// Analyze decodes an image and returns every face with its measures; with
// embed, each face also gets its embedding (for Compare).
func (e *Engine) Analyze(ctx context.Context, data []byte, embed bool) (*Analysis, error) {
	s, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(s)
	img, err := decode(data, &s.buf, e.cfg)
	if err != nil {
		return nil, err
	}
	return s.analyze(img, embed)
}

// AnalyzeImage is Analyze on a decoded image.
func (e *Engine) AnalyzeImage(ctx context.Context, img *imgproc.RGB, embed bool) (*Analysis, error) {
	s, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(s)
	return s.analyze(img, embed)
}

func (s *set) analyze(img *imgproc.RGB, embed bool) (*Analysis, error) {
	dets, err := s.det.Detect(img)
	if err != nil {
		return nil, fmt.Errorf("faceapi: detecting faces in %d×%d image: %w", img.W, img.H, err)
	}
	out := &Analysis{Width: img.W, Height: img.H, Faces: make([]Face, 0, len(dets))}
	var lm face.Landmarks
	for _, d := range dets {
		f := Face{
			Box:       [4]float64{float64(d.Box[0]), float64(d.Box[1]), float64(d.Box[2]), float64(d.Box[3])},
			Score:     round(float64(d.Score), 4),
			Keypoints: make(map[string][2]float64, face.NumKeypoints),
		}
		for i, k := range d.Keypoints {
			f.Keypoints[keypointNames[i]] = [2]float64{round(float64(k[0]), 1), round(float64(k[1]), 1)}
		}
		for i := range f.Box {
			f.Box[i] = round(f.Box[i], 1)
		}
		if err := s.lm.Detect(img, d, &lm); err != nil {
			return nil, fmt.Errorf("faceapi: landmarks of face at %v: %w", d.Box, err)
		}
		m := face.Measure(&lm)
		q := Quality{
			Yaw: round(m.Yaw, 1), Pitch: round(m.Pitch, 1), Roll: round(m.Roll, 1),
			EyesOpen: round((m.LeftEye+m.RightEye)/2, 3), MouthOpen: round(m.MouthOpen, 3),
			FaceSize: round(float64(d.Box[2])/float64(img.W), 3),
		}
		q.Frontal = math.Abs(m.Yaw) <= 20 && math.Abs(m.Pitch) <= 20 && math.Abs(m.Roll) <= 15
		q.Sharpness, q.Brightness = boxStats(img, d.Box)
		f.Quality = q
		if embed {
			f.embedding = make([]float32, face.EmbeddingSize)
			if err := s.emb.Embed(img, face.AlignLandmarks(&lm), f.embedding); err != nil {
				return nil, fmt.Errorf("faceapi: embedding face at %v: %w", d.Box, err)
			}
		}
		out.Faces = append(out.Faces, f)
	}
	return out, nil
}

// boxStats returns the Laplacian variance and mean grey of the face box.
func boxStats(img *imgproc.RGB, box [4]float32) (sharp, bright float64) {
	x0, y0 := max(int(box[0]), 1), max(int(box[1]), 1)
	x1, y1 := min(int(box[0]+box[2]), img.W-1), min(int(box[1]+box[3]), img.H-1)
	if x1-x0 < 3 || y1-y0 < 3 {
		return 0, 0
	}
	grey := func(x, y int) float64 {
		i := (y*img.W + x) * 3
		p := img.Pix[i : i+3 : i+3]
		return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
	}
	// Subsample large boxes to at most ~160 px a side.
	step := max(1, (x1-x0)/160)
	var n, sum, sumL, sumL2 float64
	for y := y0; y < y1; y += step {
		for x := x0; x < x1; x += step {
			g := grey(x, y)
			l := 4*g - grey(x-1, y) - grey(x+1, y) - grey(x, y-1) - grey(x, y+1)
			n++
			sum += g
			sumL += l
			sumL2 += l * l
		}
	}
	mean := sumL / n
	return round(sumL2/n-mean*mean, 1), round(sum/n, 1)
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// one analyses data and requires exactly one face (with its embedding);
// errors are *Error naming field.
func (e *Engine) one(ctx context.Context, field string, data []byte) (*Face, error) {
	a, err := e.Analyze(ctx, data, true)
	if err != nil {
		return nil, analyzeErr(field, err)
	}
	switch len(a.Faces) {
	case 0:
		return nil, newErr(CodeNoFace, nil, field+": no face found in the image")
	case 1:
		return &a.Faces[0], nil
	}
	return nil, newErr(CodeMultipleFaces, nil, fmt.Sprintf("%s: %d faces found, exactly one is needed", field, len(a.Faces)))
}

// EmbedOne returns the embedding of the one face of an uploaded JPEG or
// PNG (mesh-aligned MobileFaceNet, as compare). Errors are *Error naming
// field: image.* for a bad image, face.not_detected or face.multiple_faces
// unless it shows exactly one face, server.busy.
func (e *Engine) EmbedOne(ctx context.Context, field string, data []byte) ([]float32, error) {
	f, err := e.one(ctx, field, data)
	if err != nil {
		return nil, err
	}
	return f.embedding, nil
}

// EmbedLandmarks returns the embedding of the face of img whose mesh is lm
// (a capture's best frame).
func (e *Engine) EmbedLandmarks(ctx context.Context, img *imgproc.RGB, lm *face.Landmarks) ([]float32, error) {
	s, err := e.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.release(s)
	out := make([]float32, face.EmbeddingSize)
	if err := s.emb.Embed(img, face.AlignLandmarks(lm), out); err != nil {
		return nil, fmt.Errorf("faceapi: embedding a %d×%d frame: %w", img.W, img.H, err)
	}
	return out, nil
}

// Similarity is the cosine similarity of the two faces' embeddings, clamped to [0, 1].
func Similarity(a, b *Face) float64 {
	if a.embedding == nil || b.embedding == nil {
		return 0
	}
	return round(math.Max(0, float64(face.Cosine(a.embedding, b.embedding))), 4)
}

// One analyses an uploaded image and returns its one face with quality
// measures and embedding (Face.Embedding). Errors are *Error naming field,
// as EmbedOne's.
func (e *Engine) One(ctx context.Context, field string, data []byte) (*Face, error) {
	return e.one(ctx, field, data)
}

// Embedding is the face's embedding when it was analysed with one (nil otherwise).
func (f *Face) Embedding() []float32 { return f.embedding }

// AnalyzeErr maps an error of Analyze on field to the face routes' *Error
// (server.busy for a wait past the deadline, image.* for a bad image).
func AnalyzeErr(field string, err error) error { return analyzeErr(field, err) }
