package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"livegate.dev/models/corpus"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
	"livegate.dev/models/video"
)

// DefaultThreshold is the operating threshold: the analyzer's pass threshold.
const DefaultThreshold = 0.70

// Options configures Run.
type Options struct {
	// Dir is the corpus folder holding labels.jsonl. Required.
	Dir string
	// Workers evaluate samples in parallel, each with its own models.
	// Optional. Default: 2.
	Workers int
	// Threshold is the operating threshold. Optional. Default: 0.70.
	Threshold float64
	// Models configures the models each worker loads. Optional.
	Models liveness.ModelOptions
	// Filter keeps only the labels it returns true for. Optional.
	Filter func(corpus.Label) bool
	// Log receives progress. Optional. Default: slog.Default().
	Log *slog.Logger
}

// SampleResult is one sample's outcome.
type SampleResult struct {
	Path       string             `json:"path"`
	Label      string             `json:"label"`
	Species    string             `json:"species,omitempty"`
	Mode       string             `json:"mode"`
	Light      string             `json:"light,omitempty"`
	Verdict    string             `json:"verdict"`
	Confidence float64            `json:"confidence"`
	Reasons    []string           `json:"reasons"`
	Layers     map[string]float64 `json:"layers"`
	// Measures are each layer's figures behind its score (for analysis).
	Measures  map[string]map[string]float64 `json:"measures,omitempty"`
	Frames    int                           `json:"frames"`
	BadFrames int                           `json:"bad_frames,omitempty"`
	Error     string                        `json:"error,omitempty"`
}

// Kind is the sample's attack species or, for bona fide samples,
// "bona_fide/<mode>" ("bona_fide/light" for light-response samples).
func (r SampleResult) Kind() string {
	if r.Label == corpus.Attack {
		return r.Species
	}
	if r.Light != "" {
		return "bona_fide/light"
	}
	return "bona_fide/" + r.Mode
}

// Run evaluates every sample of the corpus and computes the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Dir == "" {
		return nil, errors.New("eval: no corpus folder")
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	labels, err := corpus.ReadLabels(filepath.Join(opts.Dir, corpus.LabelsFile))
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	if opts.Filter != nil {
		kept := labels[:0]
		for _, l := range labels {
			if opts.Filter(l) {
				kept = append(kept, l)
			}
		}
		labels = kept
	}
	if len(labels) == 0 {
		return nil, errors.New("eval: no samples")
	}
	results := make([]SampleResult, len(labels))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	idx := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	start := time.Now()
	done := 0
	for w := 0; w < min(opts.Workers, len(labels)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mopts := opts.Models
			mopts.Sets = 1
			models, err := liveness.LoadModels(mopts)
			if err != nil {
				fail(fmt.Errorf("eval: %w", err))
				for range idx {
				}
				return
			}
			defer models.Close()
			for i := range idx {
				r, err := RunSample(ctx, models, opts.Dir, labels[i])
				if err != nil {
					fail(err)
					continue
				}
				results[i] = r
				mu.Lock()
				done++
				if done%25 == 0 || done == len(labels) {
					opts.Log.Info("eval: progress", "samples", done, "of", len(labels), "elapsed", time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range labels {
		select {
		case idx <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(idx)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return Compute(results, opts.Threshold), nil
}

// Config returns the analyzer configuration a label asks for.
func Config(l corpus.Label) (liveness.Config, error) {
	cfg := liveness.Config{Mode: liveness.Mode(l.Mode)}
	if l.Mode == string(liveness.Active) {
		if len(l.Challenges) == 0 {
			return cfg, fmt.Errorf("eval: %s: active sample without challenges", l.Path)
		}
		for _, c := range l.Challenges {
			cfg.ChallengeKinds = append(cfg.ChallengeKinds, liveness.Challenge(c))
		}
		cfg.MinChallenges, cfg.MaxChallenges = len(l.Challenges), len(l.Challenges)
		if l.ChallengeWindowMS > 0 {
			cfg.ChallengeWindow = time.Duration(l.ChallengeWindowMS) * time.Millisecond
		}
	}
	if l.Light != "" {
		cfg.LightControlled = true
		if l.LightStepMS > 0 {
			cfg.LightStep = time.Duration(l.LightStepMS) * time.Millisecond
		}
	}
	return cfg, cfg.Validate()
}

// RunSample feeds one sample to a new analyzer and returns its outcome. A
// frame the analyzer rejects as bad is counted and skipped; a failure to
// read the sample or of the models is an error.
func RunSample(ctx context.Context, models *liveness.Models, dir string, l corpus.Label) (SampleResult, error) {
	res := SampleResult{Path: l.Path, Label: l.Label, Species: l.Species, Mode: l.Mode, Light: l.Light}
	cfg, err := Config(l)
	if err != nil {
		return res, err
	}
	r, err := video.Open(ctx, filepath.Join(dir, l.Path), video.Options{FPS: l.FPS})
	if err != nil {
		return res, fmt.Errorf("eval: %w", err)
	}
	defer r.Close()
	a := liveness.New(cfg, models, rand.New(rand.NewPCG(l.Seed, l.Seed^0x9e3779b97f4a7c15)))
	var light *liveness.Light
	if cfg.LightControlled {
		if seq := a.LightSequence(); len(seq) > 0 {
			first := seq[0].Light
			light = &first
		}
	}
	var tinted imgproc.RGB
	for !a.Done() {
		f, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("eval: %s: %w", l.Path, err)
		}
		fr := liveness.Frame{Image: f.Image, Timestamp: f.Timestamp}
		if light != nil {
			emitted := *light
			fr.Light = &emitted
			if l.Light == corpus.LightFollow {
				tinted.Reshape(f.Image.W, f.Image.H)
				copy(tinted.Pix, f.Image.Pix)
				corpus.Tint(&tinted, [3]float64{emitted.R * emitted.Intensity, emitted.G * emitted.Intensity, emitted.B * emitted.Intensity},
					l.LightStrength, l.LightCX, l.LightCY, l.LightSigma)
				fr.Image = &tinted
			}
		}
		res.Frames++
		g, err := a.Feed(ctx, fr)
		if err != nil {
			if errors.Is(err, liveness.ErrBadFrame) || errors.Is(err, liveness.ErrTimestamp) {
				res.BadFrames++
				continue
			}
			return res, fmt.Errorf("eval: %s frame %d: %w", l.Path, f.Index, err)
		}
		if g.Light != nil {
			next := *g.Light
			light = &next
		}
	}
	v := a.Verdict()
	res.Verdict, res.Confidence, res.Reasons = v.Verdict, v.Confidence, v.Reasons
	res.Layers = map[string]float64{}
	res.Measures = map[string]map[string]float64{}
	for _, ly := range v.Layers {
		res.Layers[ly.Name] = math.Round(ly.Score*1000) / 1000
		m := map[string]float64{}
		for k, x := range ly.Measures {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				m[k] = math.Round(x*10000) / 10000
			}
		}
		res.Measures[ly.Name] = m
	}
	return res, nil
}

// SpeciesFigure is one attack species' APCER.
type SpeciesFigure struct {
	Species  string  `json:"species"`
	Samples  int     `json:"samples"`
	Accepted int     `json:"accepted"`
	APCER    float64 `json:"apcer"`
}

// KindFigure is one bona fide kind's BPCER.
type KindFigure struct {
	Kind     string  `json:"kind"`
	Samples  int     `json:"samples"`
	Rejected int     `json:"rejected"`
	BPCER    float64 `json:"bpcer"`
}

// DETPoint is the error pair at one threshold.
type DETPoint struct {
	Threshold float64            `json:"threshold"`
	APCER     float64            `json:"apcer"` // worst species
	BPCER     float64            `json:"bpcer"`
	Species   map[string]float64 `json:"species,omitempty"`
}

// Report holds the figures of one evaluation.
type Report struct {
	Threshold float64         `json:"threshold"`
	Samples   int             `json:"samples"`
	BonaFide  int             `json:"bona_fide"`
	Attacks   int             `json:"attacks"`
	Species   []SpeciesFigure `json:"species"`
	// APCER is the worst species' APCER (APCER_AP of ISO/IEC 30107-3).
	APCER float64 `json:"apcer"`
	// BPCER is over every bona fide sample; BonaFideKinds splits it.
	BPCER         float64        `json:"bpcer"`
	BonaRejected  int            `json:"bona_fide_rejected"`
	BonaFideKinds []KindFigure   `json:"bona_fide_kinds"`
	ACER          float64        `json:"acer"`
	DET           []DETPoint     `json:"det"`
	Results       []SampleResult `json:"results"`
}

// Compute derives the figures from sample results at threshold thr.
func Compute(results []SampleResult, thr float64) *Report {
	rep := &Report{Threshold: thr, Samples: len(results), Results: results}
	apcer, bpcer, perSpecies, perKind := rates(results, thr)
	rep.APCER, rep.BPCER = apcer, bpcer
	for _, r := range results {
		if r.Label == corpus.Attack {
			rep.Attacks++
		} else {
			rep.BonaFide++
		}
	}
	for _, s := range sortedKeys(perSpecies) {
		c := perSpecies[s]
		rep.Species = append(rep.Species, SpeciesFigure{Species: s, Samples: c[1], Accepted: c[0], APCER: ratio(c[0], c[1])})
	}
	for _, k := range sortedKeys(perKind) {
		c := perKind[k]
		rep.BonaRejected += c[0]
		rep.BonaFideKinds = append(rep.BonaFideKinds, KindFigure{Kind: k, Samples: c[1], Rejected: c[0], BPCER: ratio(c[0], c[1])})
	}
	rep.ACER = (rep.APCER + rep.BPCER) / 2
	// DET: every distinct confidence is a threshold worth plotting.
	ths := []float64{0, 1.000001}
	for _, r := range results {
		ths = append(ths, r.Confidence, math.Nextafter(r.Confidence, 2))
	}
	sort.Float64s(ths)
	prev := math.NaN()
	for _, t := range ths {
		if t == prev {
			continue
		}
		prev = t
		a, b, ps, _ := rates(results, t)
		p := DETPoint{Threshold: t, APCER: a, BPCER: b, Species: map[string]float64{}}
		for s, c := range ps {
			p.Species[s] = ratio(c[0], c[1])
		}
		rep.DET = append(rep.DET, p)
	}
	return rep
}

// rates returns the worst species' APCER, BPCER, and per species
// [accepted, total] and per bona fide kind [rejected, total].
func rates(results []SampleResult, thr float64) (float64, float64, map[string][2]int, map[string][2]int) {
	perSpecies := map[string][2]int{}
	perKind := map[string][2]int{}
	rej, bona := 0, 0
	for _, r := range results {
		accepted := r.Error == "" && r.Confidence >= thr
		if r.Label == corpus.Attack {
			c := perSpecies[r.Species]
			c[1]++
			if accepted {
				c[0]++
			}
			perSpecies[r.Species] = c
			continue
		}
		bona++
		c := perKind[r.Kind()]
		c[1]++
		if !accepted {
			c[0]++
			rej++
		}
		perKind[r.Kind()] = c
	}
	worst := 0.0
	for _, c := range perSpecies {
		worst = math.Max(worst, ratio(c[0], c[1]))
	}
	return worst, ratio(rej, bona), perSpecies, perKind
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func sortedKeys(m map[string][2]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	// Species in the generator's order first, the rest by name.
	order := map[string]int{}
	for i, s := range corpus.Species {
		order[s] = i + 1
	}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := order[out[i]], order[out[j]]
		if oi != oj {
			if oi == 0 {
				return false
			}
			if oj == 0 {
				return true
			}
			return oi < oj
		}
		return out[i] < out[j]
	})
	return out
}

// WriteTable prints the figures as a text table.
func (r *Report) WriteTable(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("ISO/IEC 30107-3 figures at threshold %.2f (%d samples: %d bona fide, %d attacks)\n", r.Threshold, r.Samples, r.BonaFide, r.Attacks)
	p("%-22s %8s %9s %8s\n", "attack species", "samples", "accepted", "APCER")
	for _, s := range r.Species {
		p("%-22s %8d %9d %7.1f%%\n", s.Species, s.Samples, s.Accepted, 100*s.APCER)
	}
	p("%-22s %8s %9s %8s\n", "bona fide", "samples", "rejected", "BPCER")
	for _, k := range r.BonaFideKinds {
		p("%-22s %8d %9d %7.1f%%\n", k.Kind, k.Samples, k.Rejected, 100*k.BPCER)
	}
	p("APCER (worst species) %.1f%%  BPCER %.1f%%  ACER %.1f%%\n", 100*r.APCER, 100*r.BPCER, 100*r.ACER)
	return err
}
