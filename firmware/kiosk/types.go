package kiosk

import (
	"context"
	"io"
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

// Recorder is implemented by Analyzers whose run can be recorded for a
// later replay (the engine's: livegate.dev/models/replay).
type Recorder interface {
	// Record writes the recording's header to w at once, then every frame
	// Feed is given, then, with Result, the verdict Result returns. A
	// failed write stops the recording (RecordErr says why), never the
	// session.
	Record(w io.Writer, info RecordingInfo) error
	// RecordErr is nil while the recording is whole.
	RecordErr() error
}

// RecordingInfo names what a recording belongs to.
type RecordingInfo struct {
	SessionID       string
	FirmwareVersion string
	// Started is when the session started (on the kiosk's clock).
	Started time.Time
}

// SessionRecorder keeps the recordings of sessions (RecordingDir keeps
// the last few on disk).
type SessionRecorder interface {
	// Begin starts the recording of one session.
	Begin(sessionID string) (RecordingSink, error)
}

// RecordingSink receives one session's recording as the session runs.
type RecordingSink interface {
	io.Writer
	// Keep stores the recording durably; Discard drops it (after Keep it
	// does nothing).
	Keep() error
	Discard() error
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
