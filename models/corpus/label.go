package corpus

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Label values.
const (
	BonaFide = "bona_fide"
	Attack   = "attack"
)

// Attack species.
const (
	SpeciesPrint             = "print"
	SpeciesScreenReplay      = "screen_replay"
	SpeciesInjectionStill    = "injection_still"
	SpeciesInjectionLoop     = "injection_loop"
	SpeciesChallengeMistimed = "challenge_mistimed"
	SpeciesLightIgnored      = "light_ignored"
	// SpeciesCutout is a face cut out of a printed photo (no paper border)
	// moved as a rigid plane over a real, sharp, still background.
	SpeciesCutout = "cutout"
	// SpeciesScreenFullFrame is a clip replayed on a screen that fills the
	// camera frame (no bezel), on a stand or hand-held.
	SpeciesScreenFullFrame = "screen_fullframe"
	// SpeciesInjectionLoopNoisy is a short real segment injected in a loop
	// with per-frame noise, jitter, flicker and re-encoding (no two frames
	// identical).
	SpeciesInjectionLoopNoisy = "injection_loop_noisy"
	// SpeciesPrintStand is a print on a stand (almost still) over a real
	// background.
	SpeciesPrintStand = "print_stand"
	// SpeciesEyeholeMask is a printed face of another person, cut out, with
	// holes at its eyes (and in half the samples at its mouth), worn over a
	// real person's face in a real clip: the wearer's eyes blink and move
	// through the holes.
	SpeciesEyeholeMask = "eyehole_mask"
)

// Species lists every attack species the generator makes, in report order.
var Species = []string{SpeciesPrint, SpeciesScreenReplay, SpeciesInjectionStill, SpeciesInjectionLoop, SpeciesChallengeMistimed, SpeciesLightIgnored,
	SpeciesCutout, SpeciesScreenFullFrame, SpeciesInjectionLoopNoisy, SpeciesPrintStand, SpeciesEyeholeMask}

// Bona fide kinds (Label.Kind).
const (
	// KindWebcam is a real clip window as filmed by a fixed webcam (passive,
	// active and light samples).
	KindWebcam = "webcam"
	// KindHandheld is a real window moved as a phone's camera moves in a
	// hand (Label.Camera is CameraHandheld).
	KindHandheld = "handheld"
	// KindDim is a real window darkened, with raised sensor noise.
	KindDim = "dim"
	// KindBacklit is a real window with a bright background and a darker
	// face and body.
	KindBacklit = "backlit"
	// KindLowRes is a real window from a low-resolution camera (160×120 or
	// 120×90 frames, compressed harder).
	KindLowRes = "lowres"
	// KindFast is a real window at double speed (every second frame
	// dropped, timestamps at the clip's rate).
	KindFast = "fast"
	// KindGlasses is a real window with glasses drawn on the face
	// (synthetic glasses on a real face: the clips have none).
	KindGlasses = "glasses"
)

// BonaFideKinds lists every bona fide kind, in report order.
var BonaFideKinds = []string{KindWebcam, KindHandheld, KindDim, KindBacklit, KindLowRes, KindFast, KindGlasses}

// CameraHandheld is Label.Camera for a camera that moves with the hand
// holding it (a phone); "" is a fixed camera.
const CameraHandheld = "handheld"

// Light-response kinds of a sample (Label.Light).
const (
	// LightFollow: the sample's frames carry no light; the evaluation tints
	// each frame with the light the analyzer asked for (what a live face in
	// front of the emitting screen shows).
	LightFollow = "follow"
	// LightRecorded: the frames were tinted at generation time with another
	// sequence (a replay of a session that was asked for other colours).
	LightRecorded = "recorded"
	// LightNone: the frames show no reflection at all while light was asked
	// for (a replay or injection of an ordinary recording).
	LightNone = "none"
)

// Label is one line of labels.jsonl.
type Label struct {
	// Path is the sample file (MJPEG AVI) relative to the corpus folder.
	Path string `json:"path"`
	// Label is bona_fide or attack; Species the attack species ("" for
	// bona fide).
	Label   string `json:"label"`
	Species string `json:"species,omitempty"`
	// Kind is the bona fide kind (KindWebcam, KindHandheld, …; "" for
	// attacks).
	Kind string `json:"kind,omitempty"`
	// Camera is CameraHandheld when the capturing camera moves with a hand,
	// "" for a fixed camera.
	Camera string `json:"camera,omitempty"`
	// Source is the real medium the sample was made from and SourceFrames
	// the frame range used ([from, to), clips only).
	Source       string `json:"source"`
	SourceFrames [2]int `json:"source_frames,omitempty"`
	// Photo is the photo an instrument worn over a real clip was printed
	// from (eyehole_mask: the mask's face; Source is then the clip of the
	// person wearing it).
	Photo string `json:"photo,omitempty"`
	// Mode is passive or active (the analyzer's mode for this sample).
	Mode string `json:"mode"`
	// Challenges are the challenges the analyzer must ask (active mode),
	// ChallengeWindowMS each one's window, and EventMS when the matching
	// action happens in the sample (ms from its first frame).
	Challenges        []string `json:"challenges,omitempty"`
	ChallengeWindowMS int      `json:"challenge_window_ms,omitempty"`
	EventMS           int      `json:"event_ms,omitempty"`
	// Light is "" (the capture side controls no light), follow, recorded or
	// none; LightStepMS is the light sequence's step. LightStrength,
	// LightSigma, LightCX and LightCY are the reflection model (Tint) used
	// for follow and recorded samples.
	Light         string  `json:"light,omitempty"`
	LightStepMS   int     `json:"light_step_ms,omitempty"`
	LightStrength float64 `json:"light_strength,omitempty"`
	LightSigma    float64 `json:"light_sigma,omitempty"`
	LightCX       float64 `json:"light_cx,omitempty"`
	LightCY       float64 `json:"light_cy,omitempty"`
	// Seed seeds the analyzer's random draws (challenges, light sequence)
	// for this sample, so an evaluation is reproducible.
	Seed uint64 `json:"seed"`
	// Frames and FPS describe the sample.
	Frames int     `json:"frames"`
	FPS    float64 `json:"fps"`
	// Params are the sample's drawn parameters (attack or bona fide kind;
	// for the record).
	Params map[string]float64 `json:"params,omitempty"`
}

// LabelsFile is the label file's name inside a corpus folder.
const LabelsFile = "labels.jsonl"

// WriteLabels writes one JSON object per line.
func WriteLabels(w io.Writer, labels []Label) error {
	enc := json.NewEncoder(w)
	for i := range labels {
		if err := enc.Encode(&labels[i]); err != nil {
			return fmt.Errorf("corpus: write label %d: %w", i, err)
		}
	}
	return nil
}

// ReadLabels reads a labels.jsonl file; blank lines are skipped and a bad
// line is an error naming it.
func ReadLabels(path string) ([]Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: labels: %w", err)
	}
	defer f.Close()
	var out []Label
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var l Label
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("corpus: %s line %d: %w", path, n, err)
		}
		if l.Path == "" || (l.Label != BonaFide && l.Label != Attack) {
			return nil, fmt.Errorf("corpus: %s line %d: want a path and label bona_fide or attack", path, n)
		}
		if l.Label == Attack && l.Species == "" {
			return nil, fmt.Errorf("corpus: %s line %d: attack without species", path, n)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus: read %s: %w", path, err)
	}
	return out, nil
}
