package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"

	"livegate.dev/firmware/kiosk"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// Engine starts liveness Analyzers sharing one Models bundle.
type Engine struct {
	models  *liveness.Models
	cfg     liveness.Config
	version string

	mu  sync.Mutex
	rng *rand.Rand // nil: crypto/rand per session
}

var _ kiosk.Engine = (*Engine)(nil)

// Options configures New.
type Options struct {
	// Config is the liveness configuration; LightControlled is forced on
	// (the kiosk drives its LEDs). Optional.
	Config liveness.Config
	// Models configures LoadModels. Optional. Default: the model cache.
	Models liveness.ModelOptions
	// Version names the model pack in stored results. Optional. Default:
	// "cache".
	Version string
	// Seed, when non-zero, draws challenges and light sequences from a
	// seeded generator (replays and tests only: a kiosk must leave it 0 so
	// the draw is unpredictable). Optional. Default: 0 (crypto/rand).
	Seed uint64
}

// New loads the models.
func New(opts Options) (*Engine, error) {
	cfg := opts.Config
	cfg.LightControlled = true
	cfg.StrictTiming = false
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("engine: liveness config: %w", err)
	}
	m, err := liveness.LoadModels(opts.Models)
	if err != nil {
		return nil, fmt.Errorf("engine: load models: %w", err)
	}
	if opts.Version == "" {
		opts.Version = "cache"
	}
	e := &Engine{models: m, cfg: cfg, version: opts.Version}
	if opts.Seed != 0 {
		e.rng = rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	}
	return e, nil
}

// NewAnalyzer starts one session (challenges and light sequence drawn from
// crypto/rand).
func (e *Engine) NewAnalyzer() kiosk.Analyzer {
	var rng *rand.Rand
	if e.rng != nil {
		e.mu.Lock()
		rng = rand.New(rand.NewPCG(e.rng.Uint64(), e.rng.Uint64()))
		e.mu.Unlock()
	}
	return &analyzer{a: liveness.New(e.cfg, e.models, rng), models: e.version}
}

// Mode is the configured mode.
func (e *Engine) Mode() string {
	if e.cfg.Mode == liveness.Passive {
		return "passive"
	}
	return "active"
}

// ModelsVersion names the model pack.
func (e *Engine) ModelsVersion() string { return e.version }

// Close releases the models.
func (e *Engine) Close() error { return e.models.Close() }

// analyzer adapts a liveness.Analyzer; it records its run on request
// (kiosk.Recorder).
type analyzer struct {
	a      *liveness.Analyzer
	models string

	rec       *replay.Writer
	recErr    error
	recClosed bool
}

var _ kiosk.Recorder = (*analyzer)(nil)

// Record writes the recording's header (the configuration and the plans
// drawn) to w; Feed then records each frame exactly as it is fed, and
// Result the verdict.
func (a *analyzer) Record(w io.Writer, info kiosk.RecordingInfo) error {
	if a.rec != nil {
		return errors.New("engine: already recording")
	}
	rw, err := replay.NewWriter(w, replay.Header{Producer: replay.ProducerKiosk, ProducerVersion: info.FirmwareVersion,
		Models: a.models, SessionID: info.SessionID, Started: info.Started.UTC(), Config: replay.ConfigOf(a.a)})
	if err != nil {
		return fmt.Errorf("engine: recording %s: %w", info.SessionID, err)
	}
	a.rec = rw
	return nil
}

// RecordErr says why the recording is not whole (nil once Result wrote
// the verdict after every frame).
func (a *analyzer) RecordErr() error {
	switch {
	case a.rec == nil:
		return errors.New("engine: not recording")
	case a.recErr != nil:
		return a.recErr
	case !a.recClosed:
		return errors.New("engine: the recording has no verdict yet")
	}
	return nil
}

func (a *analyzer) Feed(ctx context.Context, f kiosk.Frame) (kiosk.Guidance, error) {
	lf := liveness.Frame{Image: f.Image, Timestamp: f.Timestamp}
	if f.Light != nil {
		lf.Light = &liveness.Light{R: f.Light.R, G: f.Light.G, B: f.Light.B, Intensity: f.Light.Intensity}
	}
	if a.rec != nil && a.recErr == nil && !a.recClosed {
		a.recErr = a.rec.WriteFrame(lf)
	}
	g, err := a.a.Feed(ctx, lf)
	if err != nil {
		if errors.Is(err, liveness.ErrBadFrame) || errors.Is(err, liveness.ErrTimestamp) {
			return kiosk.Guidance{Status: g.Status}, fmt.Errorf("%w: %w", kiosk.ErrBadFrame, err)
		}
		return kiosk.Guidance{}, err
	}
	out := kiosk.Guidance{
		Status: g.Status, Challenge: string(g.Challenge), Progress: g.Progress, Done: g.Done,
		FaceFound: g.Status != liveness.StatusNoFace && g.Status != liveness.StatusBadFrame,
	}
	if g.Light != nil {
		out.Light = &kiosk.Light{R: g.Light.R, G: g.Light.G, B: g.Light.B, Intensity: g.Light.Intensity}
	}
	return out, nil
}

func (a *analyzer) LightSequence() []kiosk.LightStep {
	var out []kiosk.LightStep
	for _, s := range a.a.LightSequence() {
		out = append(out, kiosk.LightStep{Light: kiosk.Light{R: s.R, G: s.G, B: s.B, Intensity: s.Intensity}, Start: s.Start})
	}
	return out
}

func (a *analyzer) Result() kiosk.Result {
	v := a.a.Verdict()
	if a.rec != nil && a.recErr == nil && !a.recClosed {
		a.recClosed = true
		a.recErr = a.rec.Close(v)
	}
	r := kiosk.Result{Verdict: v.Verdict, Confidence: v.Confidence, Reasons: v.Reasons, Frames: v.Frames, FaceFrames: v.FaceFrames}
	for _, l := range v.Layers {
		r.Layers = append(r.Layers, kiosk.Layer{Name: l.Name, Score: l.Score, Passed: l.Passed, Detail: l.Detail})
	}
	for _, au := range v.Audit {
		r.Audit = append(r.Audit, au.Index)
	}
	return r
}

// Locator finds the largest-score face with BlazeFace. It is safe for
// concurrent use (one detector behind a mutex).
type Locator struct {
	mu  sync.Mutex
	det *face.Detector
}

var _ kiosk.FaceLocator = (*Locator)(nil)

// NewLocator loads the short-range detector.
func NewLocator(opts face.DetectorOptions) (*Locator, error) {
	d, err := face.NewDetector(opts)
	if err != nil {
		return nil, fmt.Errorf("engine: face detector: %w", err)
	}
	return &Locator{det: d}, nil
}

// Locate returns the best face's box.
func (l *Locator) Locate(img *imgproc.RGB) ([4]float64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs, err := l.det.Detect(img)
	if err != nil || len(fs) == 0 {
		return [4]float64{}, false
	}
	b := fs[0].Box
	return [4]float64{float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])}, true
}

// Close releases the detector.
func (l *Locator) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.det.Close()
}
