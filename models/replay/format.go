package replay

import (
	"errors"
	"hash/crc32"
	"math"
	"slices"
	"time"

	"livegate.dev/models/liveness"
)

// Version is the format version this package writes and reads.
const Version = 1

// Limits of a record's payload.
const (
	// MaxFrameBytes is the default limit of one frame record's payload and
	// of one frame's decoded pixels: 64 MiB (a 4096×4096 RGB frame is
	// 48 MiB; the cloud takes JPEG frames of at most 1.5 MB).
	MaxFrameBytes = 64 << 20
	// maxMetaBytes bounds the header and the trailer.
	maxMetaBytes = 1 << 20
	// maxSide bounds a pixel frame's width and height.
	maxSide = 1 << 15
)

// ConfidenceTolerance is how far a replayed confidence may be from the
// stored one for Summary.Matches (the printed precision; a replay on the
// same architecture gives the same bits).
const ConfidenceTolerance = 1e-9

var magic = [8]byte{'L', 'G', 'R', 'E', 'P', 'L', 'A', 'Y'}

// Record kinds.
const (
	kindHeader  = 'H'
	kindFrame   = 'F'
	kindTrailer = 'T'
)

// Frame encodings.
const (
	encNone   = 0
	encBytes  = 1
	encPixels = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Sentinel errors of Reader and Writer (wrapped with what failed).
var (
	// ErrNotRecording: the input does not start with the recording magic.
	ErrNotRecording = errors.New("replay: not a livegate recording")
	// ErrVersion: the recording has a format version this package does not
	// read.
	ErrVersion = errors.New("replay: unsupported recording version")
	// ErrTruncated: the input ends before the trailer's end (a recording
	// cut short, or one whose producer stopped before a verdict).
	ErrTruncated = errors.New("replay: recording truncated")
	// ErrFrameTooLarge: a record is larger than its limit (MaxFrameBytes
	// or ReaderOptions.MaxFrameBytes for frames, 1 MiB for the header and
	// the trailer), or a frame to write is.
	ErrFrameTooLarge = errors.New("replay: frame too large")
	// ErrCorrupt: a checksum, a record kind, a field or the frame count
	// does not add up.
	ErrCorrupt = errors.New("replay: recording corrupt")
	// ErrClosed: a Writer was used after Close.
	ErrClosed = errors.New("replay: writer closed")
)

// Producers of recordings (Header.Producer).
const (
	ProducerCloud = "cloud"
	ProducerKiosk = "kiosk"
	ProducerCLI   = "cli"
)

// Header describes a recording: who made it and the analyzer configuration
// that decides its verdict.
type Header struct {
	// Version is the format version; NewWriter sets it.
	Version int `json:"version"`
	// Producer is what ran the session: cloud, kiosk or cli.
	Producer string `json:"producer"`
	// ProducerVersion is the producer's build or firmware version.
	// Optional.
	ProducerVersion string `json:"producer_version,omitempty"`
	// Models names the model pack in use (a kiosk's models version).
	// Optional.
	Models string `json:"models,omitempty"`
	// SessionID is the session the recording belongs to.
	SessionID string `json:"session_id"`
	// Arch is the producer's CPU architecture (GOARCH); NewWriter sets it
	// when empty. ONNX Runtime's floats differ slightly across
	// architectures (package documentation).
	Arch string `json:"arch"`
	// Started is when the recording started (informational). Optional.
	Started time.Time `json:"started,omitzero"`
	// Config is the analyzer configuration.
	Config Config `json:"config"`
}

// Config is the part of a liveness.Config that decides a verdict, with the
// plans the analyzer actually used. Durations are in nanoseconds.
type Config struct {
	Mode liveness.Mode `json:"mode"`
	// HandheldCamera, LightControlled, Mirrored and StrictTiming are the
	// liveness.Config fields of the same names.
	HandheldCamera  bool `json:"handheld_camera"`
	LightControlled bool `json:"light_controlled"`
	Mirrored        bool `json:"mirrored"`
	StrictTiming    bool `json:"strict_timing"`
	// LightStep is the duration of one light step.
	LightStep time.Duration `json:"light_step_ns"`
	// LightPlan is the light sequence used (Analyzer.LightSequence); empty
	// when light was not controlled.
	LightPlan []PlanStep `json:"light_plan"`
	// ChallengePlan is the challenge sequence used (Analyzer.Challenges);
	// empty in passive mode.
	ChallengePlan []liveness.Challenge `json:"challenge_plan"`
	// ChallengeWindow, Hold, EvidenceWait and MaxDuration are the
	// liveness.Config durations, with defaults applied.
	ChallengeWindow time.Duration `json:"challenge_window_ns"`
	Hold            time.Duration `json:"hold_ns"`
	EvidenceWait    time.Duration `json:"evidence_wait_ns"`
	MaxDuration     time.Duration `json:"max_duration_ns"`
	// PassThreshold, RetryThreshold and IdentityThreshold are the
	// liveness.Config thresholds.
	PassThreshold     float64 `json:"pass_threshold"`
	RetryThreshold    float64 `json:"retry_threshold"`
	IdentityThreshold float64 `json:"identity_threshold"`
	// MaxFrameSide is the largest frame side the analyzer accepted.
	MaxFrameSide int `json:"max_frame_side"`
}

// PlanStep is one step of a light plan.
type PlanStep struct {
	Start     time.Duration `json:"start_ns"`
	R         float64       `json:"r"`
	G         float64       `json:"g"`
	B         float64       `json:"b"`
	Intensity float64       `json:"intensity"`
}

// ConfigOf returns the configuration a live Analyzer runs with (defaults
// applied) and the plans it drew.
func ConfigOf(a *liveness.Analyzer) Config {
	c := a.Config()
	out := Config{
		Mode: c.Mode, HandheldCamera: c.HandheldCamera, LightControlled: c.LightControlled, Mirrored: c.Mirrored,
		StrictTiming: c.StrictTiming, LightStep: c.LightStep, ChallengePlan: a.Challenges(),
		ChallengeWindow: c.ChallengeWindow, Hold: c.Hold, EvidenceWait: c.EvidenceWait, MaxDuration: c.MaxDuration,
		PassThreshold: c.PassThreshold, RetryThreshold: c.RetryThreshold, IdentityThreshold: c.IdentityThreshold,
		MaxFrameSide: c.MaxFrameSide,
	}
	for _, s := range a.LightSequence() {
		out.LightPlan = append(out.LightPlan, PlanStep{Start: s.Start, R: s.R, G: s.G, B: s.B, Intensity: s.Intensity})
	}
	if out.ChallengePlan == nil {
		out.ChallengePlan = []liveness.Challenge{}
	}
	if out.LightPlan == nil {
		out.LightPlan = []PlanStep{}
	}
	return out
}

// Liveness returns the liveness.Config that reproduces the recorded run:
// the plans replace the random draws.
func (c Config) Liveness() liveness.Config {
	out := liveness.Config{
		Mode: c.Mode, HandheldCamera: c.HandheldCamera, LightControlled: c.LightControlled, Mirrored: c.Mirrored,
		StrictTiming: c.StrictTiming, LightStep: c.LightStep, ChallengePlan: slices.Clone(c.ChallengePlan),
		ChallengeWindow: c.ChallengeWindow, Hold: c.Hold, EvidenceWait: c.EvidenceWait, MaxDuration: c.MaxDuration,
		PassThreshold: c.PassThreshold, RetryThreshold: c.RetryThreshold, IdentityThreshold: c.IdentityThreshold,
		MaxFrameSide: c.MaxFrameSide,
	}
	for _, s := range c.LightPlan {
		out.LightPlan = append(out.LightPlan, liveness.LightStep{Start: s.Start,
			Light: liveness.Light{R: s.R, G: s.G, B: s.B, Intensity: s.Intensity}})
	}
	return out
}

// Trailer ends a recording.
type Trailer struct {
	// Frames is the number of frame records written.
	Frames int `json:"frames"`
	// Verdict is the verdict the producer got.
	Verdict Summary `json:"verdict"`
}

// Summary is what a verdict says: the decision, its reasons and each
// layer's score (a liveness.Verdict without its audit hints).
type Summary struct {
	Verdict    string   `json:"verdict"`
	Confidence float64  `json:"confidence"`
	Reasons    []string `json:"reasons"`
	Layers     []Layer  `json:"layers"`
	// Frames and FaceFrames are the liveness.Verdict counts: frames fed,
	// and those with exactly one face.
	Frames     int `json:"frames"`
	FaceFrames int `json:"face_frames"`
	// BestFrame is the index of the frame chosen for the ICAO photo (−1:
	// none).
	BestFrame int `json:"best_frame"`
}

// Layer is one layer's result in a Summary.
type Layer struct {
	Name    string   `json:"name"`
	Score   float64  `json:"score"`
	Passed  bool     `json:"passed"`
	Detail  string   `json:"detail"`
	Reasons []string `json:"reasons"`
}

// Summarize returns the Summary of a verdict.
func Summarize(v liveness.Verdict) Summary {
	s := Summary{Verdict: v.Verdict, Confidence: v.Confidence, Reasons: nonNil(v.Reasons), Layers: []Layer{},
		Frames: v.Frames, FaceFrames: v.FaceFrames, BestFrame: v.BestFrame}
	for _, l := range v.Layers {
		s.Layers = append(s.Layers, Layer{Name: l.Name, Score: l.Score, Passed: l.Passed, Detail: l.Detail, Reasons: nonNil(l.Reasons)})
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// Matches reports whether o is the same decision as s: the same verdict,
// the same reason codes in the same order, and a confidence within
// ConfidenceTolerance. Layer scores are for reading, not compared.
func (s Summary) Matches(o Summary) bool {
	return s.Verdict == o.Verdict && slices.Equal(s.Reasons, o.Reasons) &&
		math.Abs(s.Confidence-o.Confidence) <= ConfidenceTolerance
}
