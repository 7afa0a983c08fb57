package liveness

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"livegate.dev/models/face"
	"livegate.dev/models/ort"
)

// ModelOptions configures LoadModels.
type ModelOptions struct {
	// Sets is the number of model sets loaded; at most that many frames are
	// analysed at once across every Analyzer sharing the bundle. Optional.
	// Default: 1.
	Sets int
	// Detector, Landmarker and Embedder configure each model (file paths,
	// runtime options). Optional. Default: the models in the model cache.
	// The FaceAntiSpoofing model is not loaded: its output separated worse
	// than chance on our material, and no model runs whose output does not
	// weigh in the decision (docs/liveness.md).
	Detector   face.DetectorOptions
	Landmarker face.LandmarkerOptions
	Embedder   face.EmbedderOptions
	// ORT, when set, is used for every model whose own ORT options are zero.
	// Optional.
	ORT ort.Options
}

// modelSet is one detector, landmarker and embedder; none is safe for
// concurrent use, so a set serves one frame at a time.
type modelSet struct {
	det *face.Detector
	lm  *face.Landmarker
	emb *face.Embedder
}

func (s *modelSet) close() error {
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

// Models is a pool of model sets shared by Analyzers. An Analyzer borrows a
// set for the duration of one Feed call, so any number of Analyzers on any
// number of goroutines may share one Models: with Sets = n, n frames are
// analysed in parallel and the others wait (honouring their context).
type Models struct {
	sets      chan *modelSet
	all       []*modelSet
	closeOnce sync.Once
	closeErr  error
}

// ErrClosed is returned by Feed after the Models bundle was closed.
var ErrClosed = errors.New("liveness: models closed")

// LoadModels loads opts.Sets model sets.
func LoadModels(opts ModelOptions) (*Models, error) {
	n := max(opts.Sets, 1)
	if opts.ORT != (ort.Options{}) {
		if opts.Detector.ORT == (ort.Options{}) {
			opts.Detector.ORT = opts.ORT
		}
		if opts.Landmarker.ORT == (ort.Options{}) {
			opts.Landmarker.ORT = opts.ORT
		}
		if opts.Embedder.ORT == (ort.Options{}) {
			opts.Embedder.ORT = opts.ORT
		}
	}
	m := &Models{sets: make(chan *modelSet, n)}
	for i := 0; i < n; i++ {
		s, err := loadSet(opts)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("liveness: model set %d: %w", i, err)
		}
		m.all = append(m.all, s)
		m.sets <- s
	}
	return m, nil
}

func loadSet(opts ModelOptions) (*modelSet, error) {
	var s modelSet
	var err error
	if s.det, err = face.NewDetector(opts.Detector); err != nil {
		return nil, err
	}
	if s.lm, err = face.NewLandmarker(opts.Landmarker); err != nil {
		s.close()
		return nil, err
	}
	if s.emb, err = face.NewEmbedder(opts.Embedder); err != nil {
		s.close()
		return nil, err
	}
	return &s, nil
}

// acquire borrows a set, waiting for one to be free or ctx to end.
func (m *Models) acquire(ctx context.Context) (*modelSet, error) {
	select {
	case s, ok := <-m.sets:
		if !ok {
			return nil, ErrClosed
		}
		return s, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("liveness: waiting for a model set: %w", ctx.Err())
	}
}

func (m *Models) release(s *modelSet) { m.sets <- s }

// Close releases every model. It waits for sets lent to a Feed in progress;
// call it after the Analyzers using the bundle are finished.
func (m *Models) Close() error {
	m.closeOnce.Do(func() {
		var errs []error
		for range m.all {
			s := <-m.sets
			errs = append(errs, s.close())
		}
		m.all = nil
		close(m.sets)
		m.closeErr = errors.Join(errs...)
	})
	return m.closeErr
}
