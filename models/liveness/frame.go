package liveness

import (
	"time"

	"livegate.dev/models/imgproc"
)

// Frame is one captured frame of a session.
type Frame struct {
	// Image is the decoded frame. Either Image or JPEG must be set; Image
	// wins when both are. The Analyzer does not keep a reference to it.
	Image *imgproc.RGB
	// JPEG is the encoded frame (JPEG or PNG).
	JPEG []byte
	// Timestamp is the capture time on the capture side's monotonic clock
	// (any origin). It must increase from frame to frame.
	Timestamp time.Duration
	// Light is the light being emitted when the frame was captured; nil when
	// the capture side does not control light.
	Light *Light
}

// Guidance status codes, the most important problem first.
const (
	StatusBadFrame      = "bad_frame"
	StatusNoFace        = "no_face"
	StatusMultipleFaces = "multiple_faces"
	StatusTooFar        = "too_far"
	StatusTooClose      = "too_close"
	StatusOffCentre     = "off_centre"
	StatusTooDark       = "too_dark"
	StatusBlurred       = "blurred"
	StatusBacklit       = "backlit"
	StatusGlare         = "glare"
	StatusHoldStill     = "hold_still"
	// StatusBlinkPrompt: a passive session past its hold has seen no blink,
	// lip movement or head parallax yet; the user is asked to blink.
	StatusBlinkPrompt = "blink_prompt"
	// StatusLightWeak: a passive session with the light sequence, past its
	// hold, has seen a live face but not yet a clear response to the
	// light; the user is asked to come closer to the screen or dim the
	// room's lights.
	StatusLightWeak = "light_weak"
	StatusChallenge = "challenge"
	StatusDone      = "done"
)

// Guidance is what a user interface shows after a frame.
type Guidance struct {
	// Status is the main instruction: one of the Status… codes.
	Status string `json:"status"`
	// Issues lists every quality problem of the frame (a subset of the
	// Status… codes), empty when the frame is good.
	Issues []string `json:"issues,omitempty"`
	// Challenge is the current challenge in active mode ("" otherwise).
	Challenge Challenge `json:"challenge,omitempty"`
	// ChallengeIndex is the current challenge's position (0-based) and
	// ChallengeCount the number of challenges.
	ChallengeIndex int `json:"challenge_index"`
	ChallengeCount int `json:"challenge_count"`
	// ChallengeProgress is how far the current challenge is, in [0, 1].
	ChallengeProgress float64 `json:"challenge_progress"`
	// ChallengeRemaining is the time left for the current challenge.
	ChallengeRemaining time.Duration `json:"challenge_remaining"`
	// Progress is the whole session's progress in [0, 1].
	Progress float64 `json:"progress"`
	// Light is the light to emit from now on when the capture side controls
	// light (nil otherwise).
	Light *Light `json:"light,omitempty"`
	// Done reports that the Analyzer has enough evidence: call Verdict.
	Done bool `json:"done"`
	// Face is the face found in the frame (x, y, width, height in pixels)
	// when there was exactly one; nil otherwise.
	Face *[4]float64 `json:"face,omitempty"`
}
