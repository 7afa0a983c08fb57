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
	"livegate.dev/models/lightsim"
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
	// Conditions are the conditions every sample is evaluated under (a
	// sample counts in each condition it belongs to; figures are given
	// per condition). Optional. Default: ConditionLabelled, or none when
	// LightSweep is set (only the sweep runs).
	Conditions []Condition
	// Reflection is the reflection model of a live face (surface skin)
	// in front of the emitting screen or LEDs; attack instruments under
	// ConditionPassiveLight use the same emitter, room and camera with
	// their own surface (SurfaceFor). Optional. Default:
	// lightsim.DefaultParams() (a phone at 35 cm in a 300-lux office:
	// strength 0.092); labelled "follow" samples without it use their
	// label's strength (labelledLighting).
	Reflection *lightsim.Params
	// LegacyTint lights labelled "follow" samples with corpus.Tint and
	// their label's light_strength fields, as evaluations before lightsim
	// did (to reproduce earlier figures). Optional. Default: false.
	LegacyTint bool
	// LightSweep lists relative reflection strengths (lightsim
	// Params.Strength at full white) under which the bona fide passive
	// samples are evaluated in ConditionPassiveLight; Report.LightSweep
	// gives BPCER per strength. Optional.
	LightSweep []float64
	// SweepMaxBPCER is the BPCER the sweep's summary looks for (the
	// weakest strength from which on BPCER stays at or under it).
	// Optional. Default: 0.05.
	SweepMaxBPCER float64
	// Log receives progress. Optional. Default: slog.Default().
	Log *slog.Logger
}

// SampleResult is one sample's outcome.
type SampleResult struct {
	Path    string `json:"path"`
	Label   string `json:"label"`
	Species string `json:"species,omitempty"`
	// BonaFideKind is the label's bona fide kind (corpus.Label.Kind) and
	// Camera its camera ("handheld" or "" for a fixed one).
	BonaFideKind string `json:"kind,omitempty"`
	Camera       string `json:"camera,omitempty"`
	// Condition is the condition the sample ran under ("" as labelled).
	Condition Condition `json:"condition,omitempty"`
	Mode      string    `json:"mode"`
	Light     string    `json:"light,omitempty"`
	// Surface is what reflected the emitted light (lightsim surface, or
	// "tint" for the legacy tint) and LightStrength the relative
	// strength at full white; both empty when no light was simulated.
	Surface       string             `json:"surface,omitempty"`
	LightStrength float64            `json:"light_strength,omitempty"`
	Verdict       string             `json:"verdict"`
	Confidence    float64            `json:"confidence"`
	Reasons       []string           `json:"reasons"`
	Layers        map[string]float64 `json:"layers"`
	// Measures are each layer's figures behind its score (for analysis).
	Measures  map[string]map[string]float64 `json:"measures,omitempty"`
	Frames    int                           `json:"frames"`
	BadFrames int                           `json:"bad_frames,omitempty"`
	Error     string                        `json:"error,omitempty"`
}

// Kind is the sample's attack species or, for bona fide samples,
// "bona_fide/<kind>" when the label names a kind, else "bona_fide/<mode>"
// ("bona_fide/light" for light-response samples).
func (r SampleResult) Kind() string {
	if r.Label == corpus.Attack {
		return r.Species
	}
	if r.BonaFideKind != "" {
		return "bona_fide/" + r.BonaFideKind
	}
	if r.Light != "" {
		return "bona_fide/light"
	}
	return "bona_fide/" + r.Mode
}

// task is one sample in one condition (or at one sweep strength).
type task struct {
	label corpus.Label
	pr    presentation
	// sweep is the index of the sweep strength (−1: a condition's task).
	sweep int
}

// Run evaluates the corpus under each condition and the light sweep and
// computes the report.
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
	if opts.SweepMaxBPCER <= 0 {
		opts.SweepMaxBPCER = 0.05
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	conds := opts.Conditions
	if len(conds) == 0 && len(opts.LightSweep) == 0 {
		conds = []Condition{ConditionLabelled}
	}
	if opts.Reflection != nil {
		if err := opts.Reflection.Validate(); err != nil {
			return nil, fmt.Errorf("eval: reflection: %w", err)
		}
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
	var tasks []task
	for _, c := range conds {
		for _, l := range labels {
			pr, ok, err := present(l, c, &opts)
			if err != nil {
				return nil, err
			}
			if ok {
				tasks = append(tasks, task{label: l, pr: pr, sweep: -1})
			}
		}
	}
	sweepParams := make([]lightsim.Params, len(opts.LightSweep))
	for i, s := range opts.LightSweep {
		p, err := opts.skin().WithStrength(s)
		if err != nil {
			return nil, fmt.Errorf("eval: light sweep: %w", err)
		}
		sweepParams[i] = p
		for _, l := range labels {
			if l.Label != corpus.BonaFide || l.Mode != string(liveness.Passive) {
				continue
			}
			pr, ok, err := present(l, ConditionPassiveLight, &opts)
			if err != nil {
				return nil, err
			}
			if ok {
				pr.lit = lighting{light: true, sim: &sweepParams[i]}
				tasks = append(tasks, task{label: l, pr: pr, sweep: i})
			}
		}
	}
	if len(tasks) == 0 {
		return nil, errors.New("eval: no sample belongs to the conditions asked for")
	}
	results, err := runTasks(ctx, &opts, tasks)
	if err != nil {
		return nil, err
	}
	var condResults []SampleResult
	sweepResults := make([][]SampleResult, len(opts.LightSweep))
	for i, t := range tasks {
		if t.sweep < 0 {
			condResults = append(condResults, results[i])
		} else {
			sweepResults[t.sweep] = append(sweepResults[t.sweep], results[i])
		}
	}
	rep := Compute(condResults, opts.Threshold)
	if len(opts.LightSweep) > 0 {
		rep.LightSweep = ComputeSweep(opts.LightSweep, sweepParams, sweepResults, opts.Threshold, opts.SweepMaxBPCER)
	}
	return rep, nil
}

// runTasks evaluates the tasks on opts.Workers workers.
func runTasks(ctx context.Context, opts *Options, tasks []task) ([]SampleResult, error) {
	results := make([]SampleResult, len(tasks))
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
	for w := 0; w < min(opts.Workers, len(tasks)); w++ {
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
				r, err := runSample(ctx, models, opts.Dir, tasks[i].label, tasks[i].pr)
				if err != nil {
					fail(err)
					continue
				}
				results[i] = r
				mu.Lock()
				done++
				if done%25 == 0 || done == len(tasks) {
					opts.Log.Info("eval: progress", "samples", done, "of", len(tasks), "elapsed", time.Since(start).Round(time.Second))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range tasks {
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
	return results, nil
}

// Config returns the analyzer configuration a label asks for.
func Config(l corpus.Label) (liveness.Config, error) {
	cfg := liveness.Config{Mode: liveness.Mode(l.Mode), HandheldCamera: l.Camera == corpus.CameraHandheld}
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
	}
	if l.LightStepMS > 0 {
		cfg.LightStep = time.Duration(l.LightStepMS) * time.Millisecond
	}
	return cfg, cfg.Validate()
}

// RunSample feeds one sample, as its label says (ConditionLabelled with
// default options), to a new analyzer and returns its outcome.
func RunSample(ctx context.Context, models *liveness.Models, dir string, l corpus.Label) (SampleResult, error) {
	return RunSampleIn(ctx, models, dir, l, ConditionLabelled, nil)
}

// RunSampleIn feeds one sample under condition c to a new analyzer; opts
// supplies the reflection model (nil: defaults). A sample that does not
// belong to c is an error. A frame the analyzer rejects as bad is counted
// and skipped; a failure to read the sample or of the models is an error.
func RunSampleIn(ctx context.Context, models *liveness.Models, dir string, l corpus.Label, c Condition, opts *Options) (SampleResult, error) {
	if opts == nil {
		opts = &Options{}
	}
	pr, ok, err := present(l, c, opts)
	if err != nil {
		return SampleResult{}, err
	}
	if !ok {
		return SampleResult{}, fmt.Errorf("eval: %s is not part of condition %s", l.Path, c.Name())
	}
	return runSample(ctx, models, dir, l, pr)
}

func runSample(ctx context.Context, models *liveness.Models, dir string, l corpus.Label, pr presentation) (SampleResult, error) {
	res := SampleResult{Path: l.Path, Label: l.Label, Species: l.Species, BonaFideKind: l.Kind, Camera: l.Camera,
		Condition: pr.cond, Mode: l.Mode, Light: l.Light}
	cfg := pr.cfg
	r, err := video.Open(ctx, filepath.Join(dir, l.Path), video.Options{FPS: l.FPS})
	if err != nil {
		return res, fmt.Errorf("eval: %w", err)
	}
	defer r.Close()
	a := liveness.New(cfg, models, rand.New(rand.NewPCG(l.Seed, l.Seed^0x9e3779b97f4a7c15)))
	var light *liveness.Light
	if cfg.LightControlled && pr.lit.light {
		if seq := a.LightSequence(); len(seq) > 0 {
			first := seq[0].Light
			light = &first
		}
	}
	// The light the capture side emitted, for lightsim: the first step
	// from before the first frame, then each light from the frame after
	// which the analyzer asked for it.
	var sched lightsim.Schedule
	var rend *lightsim.Renderer
	switch {
	case pr.lit.sim != nil:
		rend, err = lightsim.NewRenderer(*pr.lit.sim, sched.At, pr.lit.face)
		if err != nil {
			return res, fmt.Errorf("eval: %s: %w", l.Path, err)
		}
		res.Surface, res.LightStrength = string(pr.lit.sim.Surface), math.Round(pr.lit.sim.Strength()*10000)/10000
	case pr.lit.tint:
		res.Surface, res.LightStrength = "tint", l.LightStrength
	}
	var lit imgproc.RGB
	var prevT time.Duration
	first := true
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
			switch {
			case rend != nil:
				at := prevT
				if first {
					at = f.Timestamp - time.Second
				}
				sched.Set(at, emitted)
				if err := rend.Render(&lit, f.Image, f.Timestamp); err != nil {
					return res, fmt.Errorf("eval: %s frame %d: %w", l.Path, f.Index, err)
				}
				fr.Image = &lit
			case pr.lit.tint:
				lit.Reshape(f.Image.W, f.Image.H)
				copy(lit.Pix, f.Image.Pix)
				corpus.Tint(&lit, [3]float64{emitted.R * emitted.Intensity, emitted.G * emitted.Intensity, emitted.B * emitted.Intensity},
					l.LightStrength, l.LightCX, l.LightCY, l.LightSigma)
				fr.Image = &lit
			}
		}
		first, prevT = false, f.Timestamp
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
		if rend != nil && g.Face != nil {
			// The next frame's face is lit where this one's was found:
			// the emitter lights the face wherever it moves.
			rend.SetFace(lightsim.FaceFromBox(*g.Face))
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

// SpeciesFigure is one attack species' APCER (in one condition).
type SpeciesFigure struct {
	Species string `json:"species"`
	// Condition is the condition ("" as labelled).
	Condition Condition `json:"condition,omitempty"`
	Samples   int       `json:"samples"`
	Accepted  int       `json:"accepted"`
	APCER     float64   `json:"apcer"`
}

// KindFigure is one bona fide kind's BPCER (in one condition).
type KindFigure struct {
	Kind      string    `json:"kind"`
	Condition Condition `json:"condition,omitempty"`
	Samples   int       `json:"samples"`
	Rejected  int       `json:"rejected"`
	BPCER     float64   `json:"bpcer"`
}

// ConditionFigures are one condition's headline figures.
type ConditionFigures struct {
	Condition Condition `json:"condition"`
	Samples   int       `json:"samples"`
	BonaFide  int       `json:"bona_fide"`
	Attacks   int       `json:"attacks"`
	// APCER is the condition's worst species' APCER.
	APCER        float64 `json:"apcer"`
	WorstSpecies string  `json:"worst_species,omitempty"`
	BPCER        float64 `json:"bpcer"`
	BonaRejected int     `json:"bona_fide_rejected"`
	ACER         float64 `json:"acer"`
}

// DETPoint is the error pair at one threshold.
type DETPoint struct {
	Threshold float64 `json:"threshold"`
	APCER     float64 `json:"apcer"` // worst species
	BPCER     float64 `json:"bpcer"`
	// Species maps each species (condition/species when the report has
	// several conditions) to its APCER.
	Species map[string]float64 `json:"species,omitempty"`
}

// Report holds the figures of one evaluation.
type Report struct {
	Threshold float64 `json:"threshold"`
	Samples   int     `json:"samples"`
	BonaFide  int     `json:"bona_fide"`
	Attacks   int     `json:"attacks"`
	// Species are the APCER per species and condition, worst first (ties
	// in condition order, then the generator's species order).
	Species []SpeciesFigure `json:"species"`
	// APCER is the worst species' APCER (APCER_AP of ISO/IEC 30107-3)
	// over every condition.
	APCER float64 `json:"apcer"`
	// BPCER is over every bona fide presentation (a sample counts once
	// per condition); BonaFideKinds splits it by condition and kind.
	BPCER         float64      `json:"bpcer"`
	BonaRejected  int          `json:"bona_fide_rejected"`
	BonaFideKinds []KindFigure `json:"bona_fide_kinds"`
	ACER          float64      `json:"acer"`
	// Conditions are each condition's figures, in the order evaluated.
	Conditions []ConditionFigures `json:"conditions,omitempty"`
	DET        []DETPoint         `json:"det"`
	Results    []SampleResult     `json:"results"`
	// LightSweep is the light-strength sweep (Options.LightSweep).
	LightSweep *Sweep `json:"light_sweep,omitempty"`
	// Cues is how well each layer measure separates each attack species
	// from bona fide samples (CueSeparation).
	Cues []CueFigure `json:"cues,omitempty"`
}

// groupKey names a species or kind in a condition: the bare name when the
// report has one condition.
func groupKey(c Condition, name string, multi bool) string {
	if !multi {
		return name
	}
	return c.Name() + "/" + name
}

// conditionsOf lists the conditions of the results in first-seen order.
func conditionsOf(results []SampleResult) []Condition {
	var out []Condition
	seen := map[Condition]bool{}
	for _, r := range results {
		if !seen[r.Condition] {
			seen[r.Condition] = true
			out = append(out, r.Condition)
		}
	}
	return out
}

// Compute derives the figures from sample results at threshold thr.
func Compute(results []SampleResult, thr float64) *Report {
	rep := &Report{Threshold: thr, Samples: len(results), Results: results}
	conds := conditionsOf(results)
	multi := len(conds) > 1
	for _, r := range results {
		if r.Label == corpus.Attack {
			rep.Attacks++
		} else {
			rep.BonaFide++
		}
	}
	st := tally(results, thr)
	rep.BPCER = ratio(st.bonaRejected, st.bona)
	rep.BonaRejected = st.bonaRejected
	for _, c := range conds {
		cf := ConditionFigures{Condition: c}
		var sp []SpeciesFigure
		for _, s := range orderedNames(st.species[c], corpus.Species) {
			n := st.species[c][s]
			f := SpeciesFigure{Species: s, Condition: c, Samples: n[1], Accepted: n[0], APCER: ratio(n[0], n[1])}
			sp = append(sp, f)
			cf.Attacks += n[1]
		}
		for _, k := range orderedNames(st.kinds[c], bonaFideKindOrder()) {
			n := st.kinds[c][k]
			rep.BonaFideKinds = append(rep.BonaFideKinds, KindFigure{Kind: k, Condition: c, Samples: n[1], Rejected: n[0], BPCER: ratio(n[0], n[1])})
			cf.BonaFide += n[1]
			cf.BonaRejected += n[0]
		}
		SortWorstFirst(sp)
		if len(sp) > 0 {
			cf.APCER, cf.WorstSpecies = sp[0].APCER, sp[0].Species
		}
		cf.Samples = cf.Attacks + cf.BonaFide
		cf.BPCER = ratio(cf.BonaRejected, cf.BonaFide)
		cf.ACER = (cf.APCER + cf.BPCER) / 2
		rep.Conditions = append(rep.Conditions, cf)
		rep.Species = append(rep.Species, sp...)
	}
	SortWorstFirst(rep.Species)
	if len(rep.Species) > 0 {
		rep.APCER = rep.Species[0].APCER
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
		st := tally(results, t)
		p := DETPoint{Threshold: t, BPCER: ratio(st.bonaRejected, st.bona), Species: map[string]float64{}}
		for c, m := range st.species {
			for s, n := range m {
				a := ratio(n[0], n[1])
				p.Species[groupKey(c, s, multi)] = a
				p.APCER = math.Max(p.APCER, a)
			}
		}
		rep.DET = append(rep.DET, p)
	}
	rep.Cues = CueSeparation(results)
	return rep
}

// speciesKey is a species figure's name in the DET curve: the species,
// prefixed by its condition when the report has several.
func (r *Report) speciesKey(s SpeciesFigure) string {
	return groupKey(s.Condition, s.Species, len(r.Conditions) > 1)
}

// SortWorstFirst orders species figures by APCER, highest first; ties keep
// their order (sort the input by condition and generator order first).
func SortWorstFirst(f []SpeciesFigure) {
	sort.SliceStable(f, func(i, j int) bool { return f[i].APCER > f[j].APCER })
}

// tallies are per condition the [accepted, total] of each species and the
// [rejected, total] of each bona fide kind, and the bona fide totals.
type tallies struct {
	species, kinds     map[Condition]map[string][2]int
	bona, bonaRejected int
}

func tally(results []SampleResult, thr float64) tallies {
	t := tallies{species: map[Condition]map[string][2]int{}, kinds: map[Condition]map[string][2]int{}}
	add := func(m map[Condition]map[string][2]int, c Condition, k string, hit bool) {
		if m[c] == nil {
			m[c] = map[string][2]int{}
		}
		n := m[c][k]
		n[1]++
		if hit {
			n[0]++
		}
		m[c][k] = n
	}
	for _, r := range results {
		accepted := r.Error == "" && r.Confidence >= thr
		if r.Label == corpus.Attack {
			add(t.species, r.Condition, r.Species, accepted)
			continue
		}
		t.bona++
		if !accepted {
			t.bonaRejected++
		}
		add(t.kinds, r.Condition, r.Kind(), !accepted)
	}
	return t
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// bonaFideKindOrder is the report order of bona fide kinds: the
// generator's kinds, then the mode-named kinds of labels without one.
func bonaFideKindOrder() []string {
	var out []string
	for _, k := range corpus.BonaFideKinds {
		out = append(out, "bona_fide/"+k)
	}
	return append(out, "bona_fide/passive", "bona_fide/active", "bona_fide/light")
}

// orderedNames are m's keys in the given order first, the rest by name.
func orderedNames(m map[string][2]int, order []string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	rank := map[string]int{}
	for i, s := range order {
		rank[s] = i + 1
	}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := rank[out[i]], rank[out[j]]
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

// Gate lists the figures that fail the evaluation gate: every species
// (in any condition) with APCER above maxAPCER and every condition with
// BPCER above maxBPCER. Empty means the gate passes.
func (r *Report) Gate(maxAPCER, maxBPCER float64) []string {
	var bad []string
	multi := len(r.Conditions) > 1
	for _, s := range r.Species {
		if s.APCER > maxAPCER {
			bad = append(bad, fmt.Sprintf("%s: APCER %.1f%% (%d of %d accepted) above %.1f%%",
				groupKey(s.Condition, s.Species, multi), 100*s.APCER, s.Accepted, s.Samples, 100*maxAPCER))
		}
	}
	conds := r.Conditions
	if len(conds) == 0 && r.BonaFide > 0 {
		conds = []ConditionFigures{{BonaFide: r.BonaFide, BonaRejected: r.BonaRejected, BPCER: r.BPCER}}
	}
	for _, c := range conds {
		if c.BonaFide > 0 && c.BPCER > maxBPCER {
			name := "BPCER"
			if multi {
				name = c.Condition.Name() + ": BPCER"
			}
			bad = append(bad, fmt.Sprintf("%s %.1f%% (%d of %d rejected) above %.1f%%", name, 100*c.BPCER, c.BonaRejected, c.BonaFide, 100*maxBPCER))
		}
	}
	return bad
}

// WriteTable prints the figures as a text table: per condition, the
// species worst first and the bona fide kinds; then the light sweep.
func (r *Report) WriteTable(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	if r.Samples > 0 {
		p("ISO/IEC 30107-3 figures at threshold %.2f (%d samples: %d bona fide, %d attacks)\n", r.Threshold, r.Samples, r.BonaFide, r.Attacks)
	}
	multi := len(r.Conditions) > 1
	for _, c := range r.Conditions {
		if multi {
			p("\ncondition %s: %d samples (%d bona fide, %d attacks)\n", c.Condition.Name(), c.Samples, c.BonaFide, c.Attacks)
		}
		p("%-22s %8s %9s %8s\n", "attack species", "samples", "accepted", "APCER")
		for _, s := range r.Species {
			if s.Condition == c.Condition {
				p("%-22s %8d %9d %7.1f%%\n", s.Species, s.Samples, s.Accepted, 100*s.APCER)
			}
		}
		p("%-22s %8s %9s %8s\n", "bona fide", "samples", "rejected", "BPCER")
		for _, k := range r.BonaFideKinds {
			if k.Condition == c.Condition {
				p("%-22s %8d %9d %7.1f%%\n", k.Kind, k.Samples, k.Rejected, 100*k.BPCER)
			}
		}
		if multi {
			p("%s: APCER (worst species) %.1f%%  BPCER %.1f%%  ACER %.1f%%\n", c.Condition.Name(), 100*c.APCER, 100*c.BPCER, 100*c.ACER)
		}
	}
	if r.Samples > 0 {
		if multi {
			p("\nall conditions: ")
		}
		p("APCER (worst species) %.1f%%  BPCER %.1f%%  ACER %.1f%%\n", 100*r.APCER, 100*r.BPCER, 100*r.ACER)
	}
	if r.LightSweep != nil {
		if r.Samples > 0 {
			p("\n")
		}
		if e := r.LightSweep.WriteTable(w); e != nil && err == nil {
			err = e
		}
	}
	return err
}
