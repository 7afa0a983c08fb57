package liveness

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// Errors returned by Feed (wrapped); the frame is ignored and the Guidance
// returned with them says bad_frame.
var (
	// ErrBadFrame: no image, an undecodable image, a pixel buffer that does
	// not match its size, or a size that changed during the session.
	ErrBadFrame = errors.New("liveness: bad frame")
	// ErrTimestamp: a timestamp not after the previous frame's.
	ErrTimestamp = errors.New("liveness: timestamp not increasing")
)

// Sampling of the costlier per-frame measures.
const (
	textureEvery   = 3  // spectrum of every 3rd good frame
	embedEvery     = 12 // an embedding every 12th good frame (about 2 a second)
	embedMaxYaw    = 25 // … of a face turned less than this
	maxRecords     = 3000
	lostFaceReset  = time.Second
	minFaceFrames  = 5
	secondFaceSize = 0.35 // a second face counts when its box is this wide relative to the main one
	// holdSlack lets the frame that ends a hold count its own exposure: 75
	// frames at 25 fps span 2.96 s between first and last timestamps.
	holdSlack = 50 * time.Millisecond
)

// Analyzer decides on one session. It is not safe for concurrent use; many
// Analyzers may share one Models.
type Analyzer struct {
	cfg    Config
	models *Models
	rng    *rand.Rand

	ch     challengeTracker
	lights []LightStep

	n        int // frames fed (indices)
	recs     []frameRec
	lastTS   time.Duration
	haveTS   bool
	t0       time.Duration
	tsErrors int
	badFrms  int
	sizeW    int
	sizeH    int

	firstFace  time.Duration
	haveFace   bool
	holdStart  time.Duration
	lastGood   time.Duration
	goodFrames int

	refEmb []float32
	refIdx int
	embCos []embSample
	emb    []float32

	cropScale float64
	full      []pt2   // the whole mesh of the current frame (scratch)
	reliefNb  [][]int // mesh neighbourhoods of reliefPoints (fillRelief)

	// env counts the one-face frames with each environment issue.
	env map[string]int

	// evidence is set once live evidence was seen (liveEvidenceSeen);
	// evidenceAt is the good-frame count at which to look again.
	evidence   bool
	evidenceAt int
	// lightUnclear: live evidence was seen, the light is emitted, and the
	// face's response to it is not yet clear of every other sequence.
	lightUnclear bool

	best     bestFrame
	done     bool
	verdict  *Verdict
	tex      *texScratch
	sur      surroundTracker
	decoded  imgproc.RGB
	lm       face.Landmarks
	lastLite *Light
}

type embSample struct {
	idx int
	cos float64
}

type bestFrame struct {
	idx   int
	score float64
	img   imgproc.RGB
	lm    face.Landmarks
}

// New returns an Analyzer for one session. rng draws the challenges and the
// light sequence; nil means a generator seeded from crypto/rand (use a seeded
// one only in tests: the draw must be unpredictable to an attacker).
func New(cfg Config, models *Models, rng *rand.Rand) *Analyzer {
	cfg = cfg.withDefaults()
	if rng == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:])
		rng = rand.New(rand.NewChaCha8(seed))
	}
	a := &Analyzer{cfg: cfg, models: models, rng: rng, tex: newTexScratch(), refIdx: -1, env: map[string]int{}}
	a.best.idx = -1
	if cfg.Mode == Active {
		if len(cfg.ChallengePlan) > 0 {
			a.ch.seq = append([]Challenge(nil), cfg.ChallengePlan...)
		} else {
			n := cfg.MinChallenges + rng.IntN(cfg.MaxChallenges-cfg.MinChallenges+1)
			a.ch.seq = drawChallenges(rng, cfg.ChallengeKinds, n)
		}
		a.ch.window = cfg.ChallengeWindow
		a.ch.mirrored = cfg.Mirrored
	}
	if cfg.MaxDuration <= 0 {
		if cfg.Mode == Active {
			cfg.MaxDuration = cfg.Hold + time.Duration(len(a.ch.seq))*cfg.ChallengeWindow + 3*time.Second
		} else {
			cfg.MaxDuration = 20 * time.Second
		}
		a.cfg.MaxDuration = cfg.MaxDuration
	}
	switch {
	case len(cfg.LightPlan) > 0:
		a.lights = append([]LightStep(nil), cfg.LightPlan...)
	case cfg.LightControlled:
		a.lights = drawLights(rng, cfg.MaxDuration, cfg.LightStep)
	}
	return a
}

// drawChallenges draws n challenges with no kind twice in a row.
func drawChallenges(rng *rand.Rand, kinds []Challenge, n int) []Challenge {
	out := make([]Challenge, 0, n)
	for len(out) < n {
		k := kinds[rng.IntN(len(kinds))]
		if len(kinds) > 1 && len(out) > 0 && out[len(out)-1] == k {
			continue
		}
		out = append(out, k)
	}
	return out
}

// lightPalette are the colours a light sequence is drawn from: each channel
// is on in some and off in others, so every channel varies.
var lightPalette = []Light{
	{R: 1, G: 0, B: 0}, {R: 0, G: 1, B: 0}, {R: 0, G: 0, B: 1},
	{R: 1, G: 1, B: 0}, {R: 0, G: 1, B: 1}, {R: 1, G: 0, B: 1}, {R: 1, G: 1, B: 1},
}

func drawLights(rng *rand.Rand, total, step time.Duration) []LightStep {
	n := int(total/step) + 1
	out := make([]LightStep, 0, n)
	prev := -1
	for i := 0; i < n; i++ {
		k := rng.IntN(len(lightPalette))
		if k == prev {
			k = (k + 1 + rng.IntN(len(lightPalette)-1)) % len(lightPalette)
		}
		prev = k
		l := lightPalette[k]
		// Two intensities double the alphabet: with full intensity only,
		// a replay recorded under another random sequence matched this
		// one by chance (a seed-1 light_ignored sample) more often than
		// dimmer steps cost in signal.
		l.Intensity = 0.6 + 0.4*float64(rng.IntN(2))
		out = append(out, LightStep{Light: l, Start: time.Duration(i) * step})
	}
	return out
}

// Challenges returns the challenge sequence drawn at the start (empty in
// passive mode).
func (a *Analyzer) Challenges() []Challenge { return append([]Challenge(nil), a.ch.seq...) }

// LightSequence returns the light sequence drawn at the start (empty when
// the capture side does not control light). Step times count from the first
// frame in which a face was found; Guidance.Light says which step is due.
func (a *Analyzer) LightSequence() []LightStep { return append([]LightStep(nil), a.lights...) }

// Config returns the configuration in effect (defaults applied).
func (a *Analyzer) Config() Config { return a.cfg }

// Done reports that the session has enough evidence for a verdict (or ran
// out of time).
func (a *Analyzer) Done() bool { return a.done }

// lightAt is the planned light at session time t (since the first face).
func (a *Analyzer) lightAt(t time.Duration) *Light {
	if len(a.lights) == 0 {
		return nil
	}
	i := int(t / a.cfg.LightStep)
	i = min(max(i, 0), len(a.lights)-1)
	l := a.lights[i].Light
	return &l
}

// Feed analyses one frame. A bad frame (no or corrupt image, wrong size,
// timestamp not increasing) returns bad_frame guidance and an error wrapping
// ErrBadFrame or ErrTimestamp, and changes nothing but the injection
// evidence. Errors of the models or the context are returned as is.
func (a *Analyzer) Feed(ctx context.Context, f Frame) (g Guidance, err error) {
	g = a.baseGuidance()
	if a.done {
		g.Status = StatusDone
		return g, nil
	}
	idx := a.n
	a.n++
	if a.haveTS && f.Timestamp <= a.lastTS {
		a.tsErrors++
		g.Status = StatusBadFrame
		return g, fmt.Errorf("%w: frame %d at %v after %v", ErrTimestamp, idx, f.Timestamp, a.lastTS)
	}
	img, err := a.frameImage(f, idx)
	if err != nil {
		a.badFrms++
		g.Status = StatusBadFrame
		return g, err
	}
	if a.models == nil {
		return g, fmt.Errorf("liveness: analyzer has no models")
	}
	set, err := a.models.acquire(ctx)
	if err != nil {
		return g, err
	}
	rec, err := a.measure(set, img, f, idx)
	a.models.release(set)
	if err != nil {
		return g, err
	}
	if !a.haveTS {
		a.t0 = f.Timestamp
	}
	a.haveTS, a.lastTS = true, f.Timestamp
	if len(a.recs) < maxRecords {
		a.recs = append(a.recs, rec)
	}
	return a.advance(&a.recs[len(a.recs)-1], img), nil
}

func (a *Analyzer) frameImage(f Frame, idx int) (*imgproc.RGB, error) {
	img := f.Image
	if img == nil {
		if len(f.JPEG) == 0 {
			return nil, fmt.Errorf("%w: frame %d has no image", ErrBadFrame, idx)
		}
		side := a.cfg.MaxFrameSide
		m, err := imgproc.DecodeBytes(f.JPEG, &a.decoded, imgproc.DecodeOptions{MaxPixels: side * side})
		if err != nil {
			return nil, fmt.Errorf("%w: frame %d: %w", ErrBadFrame, idx, err)
		}
		img = m
	}
	if img.W < 32 || img.H < 32 || img.W > a.cfg.MaxFrameSide || img.H > a.cfg.MaxFrameSide || len(img.Pix) != img.W*img.H*3 {
		return nil, fmt.Errorf("%w: frame %d is %d×%d with %d bytes (want 32…%d px a side, 3 bytes a pixel)",
			ErrBadFrame, idx, img.W, img.H, len(img.Pix), a.cfg.MaxFrameSide)
	}
	if a.sizeW != 0 && (img.W != a.sizeW || img.H != a.sizeH) {
		return nil, fmt.Errorf("%w: frame %d is %d×%d, the session's frames are %d×%d", ErrBadFrame, idx, img.W, img.H, a.sizeW, a.sizeH)
	}
	a.sizeW, a.sizeH = img.W, img.H
	return img, nil
}

// measure runs the models and computes the frame's record.
func (a *Analyzer) measure(s *modelSet, img *imgproc.RGB, f Frame, idx int) (frameRec, error) {
	rec := frameRec{idx: idx, t: f.Timestamp, light: f.Light, hash: frameHash(img)}
	faces, err := s.det.Detect(img)
	if err != nil {
		return rec, fmt.Errorf("liveness: frame %d: %w", idx, err)
	}
	if len(faces) == 0 {
		return rec, nil
	}
	main := faces[0]
	for _, fc := range faces[1:] {
		if fc.Box[2]*fc.Box[3] > main.Box[2]*main.Box[3] {
			main = fc
		}
	}
	for _, fc := range faces {
		if fc.Box[2] >= secondFaceSize*main.Box[2] {
			rec.faces++
		}
	}
	rec.box = main.Box
	if rec.faces > 1 {
		return rec, nil
	}
	if err := s.lm.Detect(img, main, &a.lm); err != nil {
		return rec, fmt.Errorf("liveness: frame %d: %w", idx, err)
	}
	if a.lm.Presence < 0.5 {
		rec.faces = 0
		return rec, nil
	}
	rec.ok = true
	full := a.full[:0]
	for _, p := range a.lm.Points {
		full = append(full, pt2{float64(p[0]), float64(p[1])})
	}
	a.full = full
	rec.iod = iodOf(full)
	rec.pts = subset(full)
	rec.m = face.Measure(&a.lm)
	rec.fillPatches(img)
	rec.fillSkin(img, full)
	if f.Light != nil {
		rec.fillRelief(img, &a.lm, &a.reliefNb)
	}
	rec.fillScene(img)
	if a.cropScale == 0 {
		a.cropScale = cropScale(rec.box[2])
	}
	rec.crop = makeCrop(img, rec.box, a.cropScale)
	a.sur.step(&rec, img)
	if a.goodFrames%textureEvery == 0 {
		c := rec.centre()
		rec.tex, rec.hasTx = a.tex.analyse(img, int(c[0]), int(c[1]))
	}
	frontal := math.Abs(rec.m.Yaw) < embedMaxYaw && math.Abs(rec.m.Pitch) < embedMaxYaw
	if frontal && (a.refEmb == nil || a.goodFrames%embedEvery == 0) {
		if a.emb == nil {
			a.emb = make([]float32, face.EmbeddingSize)
		}
		if err := s.emb.Embed(img, face.AlignLandmarks(&a.lm), a.emb); err != nil {
			return rec, fmt.Errorf("liveness: frame %d: %w", idx, err)
		}
		if a.refEmb == nil {
			a.refEmb = append([]float32(nil), a.emb...)
			a.refIdx = rec.idx
		} else {
			a.embCos = append(a.embCos, embSample{rec.idx, float64(face.Cosine(a.refEmb, a.emb))})
		}
	}
	return rec, nil
}

// frame quality limits for guidance.
const (
	minFaceWidth = 0.25 // of the frame's shorter side: too far below
	maxFaceWidth = 0.75 // … too close above
	maxOffCentre = 0.22 // face centre off the frame centre, in frame widths/heights
	minLuma      = 55.0
	minSharpness = 6.0 // real webcam clips: 8–13.5
	// backlitRatio: the face is this much darker than the scene around it
	// (a window or a lamp behind the user), with the scene bright.
	backlitRatio  = 0.55
	backlitScene  = 110.0
	maxGlare      = 0.08 // share of face pixels with a clipped channel
	holdStillMove = 0.08 // face centre moved this share of the IOD since the previous frame
)

// issues lists the quality problems of a one-face frame.
func (a *Analyzer) issues(r *frameRec, img *imgproc.RGB) []string {
	var out []string
	side := float64(min(img.W, img.H))
	w := float64(r.box[2])
	switch {
	case w < minFaceWidth*side:
		out = append(out, StatusTooFar)
	case w > maxFaceWidth*side:
		out = append(out, StatusTooClose)
	}
	cx := (float64(r.box[0]) + float64(r.box[2])/2) / float64(img.W)
	cy := (float64(r.box[1]) + float64(r.box[3])/2) / float64(img.H)
	if math.Abs(cx-0.5) > maxOffCentre || math.Abs(cy-0.5) > maxOffCentre {
		out = append(out, StatusOffCentre)
	}
	if r.luma < minLuma {
		out = append(out, StatusTooDark)
	}
	if r.sharp < minSharpness {
		out = append(out, StatusBlurred)
	}
	if r.scene >= backlitScene && r.luma < backlitRatio*r.scene {
		out = append(out, StatusBacklit)
	}
	if r.glare > maxGlare {
		out = append(out, StatusGlare)
	}
	return out
}

func (a *Analyzer) baseGuidance() Guidance {
	g := Guidance{ChallengeCount: len(a.ch.seq), ChallengeIndex: min(a.ch.cur, max(len(a.ch.seq)-1, 0)), Done: a.done}
	if a.haveFace {
		g.Light = a.lightAt(a.lastTS - a.firstFace + a.cfg.LightStep/4)
	} else if a.cfg.LightControlled {
		g.Light = a.lightAt(0)
	}
	return g
}

// advance updates the session state with a measured frame.
func (a *Analyzer) advance(r *frameRec, img *imgproc.RGB) Guidance {
	t := r.t
	var iss []string
	if r.ok {
		iss = a.issues(r, img)
		for _, is := range iss {
			if slices.Contains(envIssues, is) {
				a.env[is]++
			}
		}
		if !a.haveFace {
			a.haveFace, a.firstFace, a.holdStart = true, t, t
		}
		if t-a.lastGood > lostFaceReset && a.goodFrames > 0 {
			a.holdStart = t // the face was lost: hold again
		}
		a.lastGood = t
		a.goodFrames++
		a.considerBest(r, img, iss)
	}
	if a.cfg.Mode == Active && a.haveFace {
		a.ch.update(r, t)
	}
	elapsed := t - a.t0
	switch {
	case elapsed >= a.cfg.MaxDuration:
		a.done = true
	case a.cfg.Mode == Active && a.ch.timedOut:
		a.done = true
	case a.cfg.Mode == Active && a.ch.finished() && a.haveFace && t-a.firstFace >= a.cfg.Hold-holdSlack:
		a.done = true
	case a.cfg.Mode == Passive && a.haveFace && r.ok && t-a.holdStart >= a.cfg.Hold-holdSlack && a.goodFrames >= minFaceFrames:
		a.done = t-a.holdStart >= a.cfg.Hold+a.cfg.EvidenceWait-holdSlack || a.liveEvidenceSeen()
	}

	g := a.baseGuidance()
	g.Issues = iss
	if r.ok {
		g.Face = &[4]float64{float64(r.box[0]), float64(r.box[1]), float64(r.box[2]), float64(r.box[3])}
	}
	switch {
	case a.done:
		g.Status = StatusDone
	case r.faces == 0:
		g.Status = StatusNoFace
	case r.faces > 1:
		g.Status = StatusMultipleFaces
	case len(iss) > 0:
		g.Status = iss[0]
	case a.cfg.Mode == Active && a.ch.started && !a.ch.finished():
		g.Status = StatusChallenge
	case a.cfg.Mode == Passive && a.haveFace && r.ok && t-a.holdStart >= a.cfg.Hold+blinkPromptAfter && !a.evidence:
		// The hold is over and nothing a picture cannot do was seen yet:
		// ask for a natural blink (people blink less in front of a
		// screen). Not a challenge: any blink from now on counts.
		g.Status = StatusBlinkPrompt
	case a.cfg.Mode == Passive && a.haveFace && r.ok && t-a.holdStart >= a.cfg.Hold+lightWeakAfter && a.evidence && a.lightUnclear:
		// A live face, but the screen's light barely shows on it (a
		// bright room, a dim or distant screen): the reflection grows
		// with the inverse square of the distance and against less
		// ambient light.
		g.Status = StatusLightWeak
	default:
		g.Status = StatusHoldStill
		if prev := a.prevGood(r); prev != nil && r.iod > 0 {
			pc, c := prev.centre(), r.centre()
			if math.Hypot(c[0]-pc[0], c[1]-pc[1]) > holdStillMove*r.iod && a.cfg.Mode == Passive {
				g.Issues = append(g.Issues, StatusHoldStill)
			}
		}
	}
	if a.cfg.Mode == Active && a.ch.started && !a.ch.finished() {
		g.Challenge = a.ch.seq[a.ch.cur]
		g.ChallengeIndex = a.ch.cur
		g.ChallengeProgress = a.ch.progress
		g.ChallengeRemaining = max(a.cfg.ChallengeWindow-(t-a.ch.curStart), 0)
	}
	g.Progress = a.progress(t)
	return g
}

// blinkPromptAfter is how long after the hold a passive session without
// live evidence waits before it asks the user to blink.
const blinkPromptAfter = time.Second

// lightWeakAfter is how long after the hold a passive session whose face
// does not yet clearly follow the emitted light asks the user to come
// closer to the screen or dim the room.
const lightWeakAfter = 2 * time.Second

// evidenceEvery is how often (good frames) a passive session past its hold
// looks again for live evidence.
const evidenceEvery = 5

// liveEvidenceSeen reports, every evidenceEvery good frames, whether the
// frames so far show what a picture cannot — a blink, lip movement or a
// head's parallax — and, when the capture side emits light, a face that
// follows it. A weak reflection (a bright room, a dim screen) needs more
// light steps to stand out from every other sequence, so the session runs
// on while the user holds still.
func (a *Analyzer) liveEvidenceSeen() bool {
	if a.goodFrames < a.evidenceAt {
		return false
	}
	a.evidenceAt = a.goodFrames + evidenceEvery
	if !a.evidence {
		nr := nonRigidLayer(a.recs)
		if !nr.Passed {
			nr = liveEvidence(nr, motionLayer(a.recs, a.cfg.HandheldCamera))
		}
		a.evidence = nr.Passed
	}
	if !a.evidence {
		return false
	}
	if a.cfg.LightControlled {
		// Stopping as soon as the light passes would give a replay many
		// looks at a chance alignment with this session's sequence: stop
		// early only on a response well clear of every other sequence;
		// otherwise watch on, and the verdict judges all the frames.
		l := lightLayer(a.recs, a.lights, a.firstFace, a.cfg.LightStep)
		clear := l.Passed && l.Measures["correlation"] >= l.Measures["null_correlation"]+lightEarlyMargin
		a.lightUnclear = !clear
		return clear
	}
	return true
}

// lightEarlyMargin is how far above the best other sequence the face's
// response must be for a passive session to stop before EvidenceWait.
const lightEarlyMargin = 2 * lightMargin

func (a *Analyzer) prevGood(r *frameRec) *frameRec {
	for i := len(a.recs) - 2; i >= 0 && i >= len(a.recs)-4; i-- {
		if a.recs[i].ok {
			return &a.recs[i]
		}
	}
	return nil
}

func (a *Analyzer) progress(t time.Duration) float64 {
	if a.done {
		return 1
	}
	if !a.haveFace {
		return 0
	}
	// Below 1 until done: a passive session may watch on for evidence.
	hold := min(clamp01(float64(t-a.holdStart)/float64(a.cfg.Hold)), 0.95)
	if a.cfg.Mode == Passive || len(a.ch.seq) == 0 {
		return hold
	}
	return clamp01((float64(a.ch.cur) + a.ch.progress) / float64(len(a.ch.seq)))
}

// considerBest keeps a copy of the best frame for the ICAO photo: sharp,
// frontal, eyes open, mouth closed, no quality issue.
func (a *Analyzer) considerBest(r *frameRec, img *imgproc.RGB, iss []string) {
	m := r.m
	score := math.Exp(-(m.Yaw*m.Yaw)/(2*8*8)-(m.Pitch*m.Pitch)/(2*8*8)-(m.Roll*m.Roll)/(2*12*12)) * math.Min(r.sharp/10, 1)
	if ear(m) < 0.22 {
		score *= 0.3
	}
	if m.MouthOpen > 0.08 {
		score *= 0.5
	}
	if len(iss) > 0 {
		score *= 0.5
	}
	if score <= a.best.score {
		return
	}
	a.best.score, a.best.idx = score, r.idx
	a.best.img.Reshape(img.W, img.H)
	copy(a.best.img.Pix, img.Pix)
	a.best.lm = a.lm
}

// BestFrame returns the frame chosen for the ICAO photo (a copy the
// Analyzer owns: do not modify it), its mesh and its index among the frames
// fed; ok is false when no frame had a face.
func (a *Analyzer) BestFrame() (idx int, img *imgproc.RGB, lm *face.Landmarks, ok bool) {
	if a.best.idx < 0 {
		return -1, nil, nil, false
	}
	return a.best.idx, &a.best.img, &a.best.lm, true
}
