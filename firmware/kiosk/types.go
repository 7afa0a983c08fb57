package kiosk

import (
	"context"
	"time"

	"livegate.dev/models/imgproc"
	"livegate.dev/proto"
)

// Light is a colour and intensity the kiosk emits towards the face, as the
// liveness engine plans it.
type Light struct {
	R         float64 `json:"r"`
	G         float64 `json:"g"`
	B         float64 `json:"b"`
	Intensity float64 `json:"intensity"`
}

// LightStep is one step of the illumination challenge; Start counts from
// the first frame with a face.
type LightStep struct {
	Light
	Start time.Duration `json:"start"`
}

// Frame is one frame fed to an Analyzer.
type Frame struct {
	Image *imgproc.RGB
	// Timestamp is the capture time from the session's start.
	Timestamp time.Duration
	// Light is what the LEDs emitted while the frame was captured (nil when
	// no challenge light was on).
	Light *Light
}

// Guidance is the Analyzer's answer to a frame.
type Guidance struct {
	// Status is the engine's instruction code ("ok", "no_face", …).
	Status string `json:"status"`
	// Challenge is the current active challenge ("" in passive mode).
	Challenge string `json:"challenge,omitempty"`
	// FaceFound says a face was seen in this frame.
	FaceFound bool `json:"face_found"`
	// Progress of the session in [0, 1].
	Progress float64 `json:"progress"`
	// Light to emit from now on (nil: no challenge light due).
	Light *Light `json:"light,omitempty"`
	// Done: the engine has enough evidence.
	Done bool `json:"done"`
}

// Layer is one liveness layer's score.
type Layer struct {
	Name   string  `json:"name"`
	Score  float64 `json:"score"`
	Passed bool    `json:"passed"`
	Detail string  `json:"detail,omitempty"`
}

// Result is an Analyzer's verdict.
type Result struct {
	Verdict    string   `json:"verdict"` // pass | fail | retry
	Confidence float64  `json:"confidence"`
	Reasons    []string `json:"reasons"`
	Layers     []Layer  `json:"layers"`
	// Audit lists frame indices (among the frames fed, from 0) worth
	// keeping, most important first.
	Audit      []int `json:"audit,omitempty"`
	Frames     int   `json:"frames"`
	FaceFrames int   `json:"face_frames"`
}

// Analyzer decides one session.
type Analyzer interface {
	// Feed analyses one frame. An error wrapping ErrBadFrame means the
	// frame was skipped; any other error ends the session.
	Feed(ctx context.Context, f Frame) (Guidance, error)
	// LightSequence is the illumination challenge drawn at the start.
	LightSequence() []LightStep
	// Result computes the verdict from the evidence so far.
	Result() Result
}

// Engine starts Analyzers.
type Engine interface {
	// NewAnalyzer starts one session's Analyzer.
	NewAnalyzer() Analyzer
	// Mode is "active" or "passive".
	Mode() string
	// ModelsVersion names the models in use.
	ModelsVersion() string
}

// FaceLocator finds the main face's box (x, y, w, h in pixels) for audit
// frames.
type FaceLocator interface {
	Locate(img *imgproc.RGB) (box [4]float64, ok bool)
}

// Store commits decided sessions durably. Commit returns only once the
// result is on disk.
type Store interface {
	Commit(ctx context.Context, r *proto.SessionResult) error
}
