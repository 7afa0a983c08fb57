package liveness

import (
	"fmt"
	"math"
	"time"
)

// Mode selects how a session proves liveness.
type Mode string

const (
	// Active asks for 3 to 6 random challenges in order (seed 001's default).
	Active Mode = "active"
	// Passive asks the user to hold still for a few seconds.
	Passive Mode = "passive"
)

// Challenge is one action asked of the user in active mode.
type Challenge string

// Challenges. Turns are the subject's own left and right (see
// Config.Mirrored).
const (
	Blink     Challenge = "blink"
	TurnLeft  Challenge = "turn_left"
	TurnRight Challenge = "turn_right"
	Smile     Challenge = "smile"
	Nod       Challenge = "nod"
)

// DefaultChallengeKinds are the kinds drawn from by default. Nod is supported
// but not drawn by default: pitch from the mesh is noisier than yaw.
var DefaultChallengeKinds = []Challenge{Blink, TurnLeft, TurnRight, Smile}

// Config configures an Analyzer. The zero value is valid: every field is
// optional and documented with its default.
type Config struct {
	// Mode is Active or Passive. Optional. Default: Active.
	Mode Mode
	// MinChallenges and MaxChallenges bound the number of challenges drawn in
	// active mode (uniformly in between). Optional. Default: 3 and 4; both
	// are clamped to [1, 6].
	MinChallenges, MaxChallenges int
	// ChallengeKinds are the kinds drawn from. Optional. Default:
	// DefaultChallengeKinds.
	ChallengeKinds []Challenge
	// ChallengeWindow is the time allowed for each challenge, counted from
	// when it becomes current. Optional. Default: 5 s.
	ChallengeWindow time.Duration
	// Hold is how long the face must be held in view in passive mode (and
	// the minimum observation in active mode). Optional. Default: 3 s.
	Hold time.Duration
	// EvidenceWait is how long passive mode keeps watching after the hold
	// when it has seen nothing a picture cannot do — no blink, no lip
	// movement, no head parallax — before it ends the session with what it
	// has (which cannot pass). Most people blink within it. Optional.
	// Default: 5 s.
	EvidenceWait time.Duration
	// MaxDuration ends the session with the evidence gathered so far.
	// Optional. Default: 20 s passive; Hold + n×ChallengeWindow + 3 s active.
	MaxDuration time.Duration
	// PassThreshold and RetryThreshold map the confidence to a verdict:
	// pass at or above PassThreshold, retry at or above RetryThreshold, fail
	// below. Optional. Default: 0.70 and 0.45.
	PassThreshold, RetryThreshold float64
	// LightControlled says the capture side emits the light sequence of
	// Analyzer.LightSequence (screen colours, kiosk LEDs) and reports it in
	// Frame.Light; it enables the light-response layer. Optional. Default:
	// false.
	LightControlled bool
	// LightStep is the duration of one step of the light sequence.
	// Optional. Default: 400 ms.
	LightStep time.Duration
	// LightPlan, when set, is the light sequence to use instead of a random
	// draw: a stored session replayed for support (its recorded plan) or a
	// capture side that chose the colours itself. Steps start at 0 and are
	// LightStep apart; it implies LightControlled. Never set it from
	// anything the client sends: a sequence known in advance can be
	// recorded. Optional. Default: none (drawn at random).
	LightPlan []LightStep
	// ChallengePlan, when set, is the challenge sequence to use in active
	// mode instead of a random draw (a stored session replayed, or a cloud
	// test-mode session whose integrator fixed it so that a recorded clip
	// can answer it in a browser test). The same warning applies: live
	// sessions must draw theirs. Optional. Default: none (drawn at random).
	ChallengePlan []Challenge
	// Mirrored says the frames fed are mirror images (a selfie preview
	// flipped before it was sent). Turns are judged on the subject's own
	// left and right either way. Optional. Default: false (frames as the
	// camera captured them).
	Mirrored bool
	// StrictTiming says the timestamps come from a live capture clock (a
	// kiosk camera, a browser's frame callback), so perfectly regular
	// intervals are suspicious. Leave it false for recorded files, whose
	// timestamps are computed from a frame rate. Optional. Default: false.
	StrictTiming bool
	// IdentityThreshold is the embedding cosine under which a frame counts
	// as another person than the session's reference frame. Optional.
	// Default: 0.45 (docs/liveness.md: same-session frames score ≥ 0.6,
	// different people ≤ 0.45 on the johns set).
	IdentityThreshold float64
	// HandheldCamera says the camera itself may move during the session (a
	// phone held in the hand). The motion layer then takes no evidence from
	// the background: a background that moves with the face is not a sign
	// of a picture held in front of the camera, and a still user must show
	// parallax. Optional. Default: false (a kiosk's or a laptop's camera,
	// which does not move).
	HandheldCamera bool
	// MaxFrameSide rejects decoded frames larger than this on either side.
	// Optional. Default: 4096.
	MaxFrameSide int
}

func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = Active
	}
	if c.MinChallenges <= 0 {
		c.MinChallenges = 3
	}
	if c.MaxChallenges <= 0 {
		c.MaxChallenges = max(4, c.MinChallenges)
	}
	c.MinChallenges = min(max(c.MinChallenges, 1), 6)
	c.MaxChallenges = min(max(c.MaxChallenges, c.MinChallenges), 6)
	if len(c.ChallengeKinds) == 0 {
		c.ChallengeKinds = DefaultChallengeKinds
	}
	if c.ChallengeWindow <= 0 {
		c.ChallengeWindow = 5 * time.Second
	}
	if c.Hold <= 0 {
		c.Hold = 3 * time.Second
	}
	if c.EvidenceWait <= 0 {
		c.EvidenceWait = 5 * time.Second
	}
	if c.PassThreshold <= 0 {
		c.PassThreshold = 0.70
	}
	if c.RetryThreshold <= 0 {
		c.RetryThreshold = 0.45
	}
	if c.LightStep <= 0 {
		c.LightStep = 400 * time.Millisecond
	}
	if len(c.LightPlan) > 0 {
		c.LightControlled = true
	}
	if c.IdentityThreshold <= 0 {
		c.IdentityThreshold = 0.45
	}
	if c.MaxFrameSide <= 0 {
		c.MaxFrameSide = 4096
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Mode != "" && c.Mode != Active && c.Mode != Passive {
		return fmt.Errorf("liveness: mode %q: want %q or %q", c.Mode, Active, Passive)
	}
	for _, k := range c.ChallengeKinds {
		switch k {
		case Blink, TurnLeft, TurnRight, Smile, Nod:
		default:
			return fmt.Errorf("liveness: challenge kind %q unknown", k)
		}
	}
	d := c.withDefaults()
	for i, st := range c.LightPlan {
		if st.Start != time.Duration(i)*d.LightStep {
			return fmt.Errorf("liveness: light plan step %d starts at %v, want %v (steps %v apart from 0)", i, st.Start, time.Duration(i)*d.LightStep, d.LightStep)
		}
		l := st.Light
		for _, v := range []float64{l.R, l.G, l.B, l.Intensity} {
			if v < 0 || v > 1 || math.IsNaN(v) {
				return fmt.Errorf("liveness: light plan step %d: colour %+v: want channels and intensity in [0, 1]", i, l)
			}
		}
	}
	for i, k := range c.ChallengePlan {
		switch k {
		case Blink, TurnLeft, TurnRight, Smile, Nod:
		default:
			return fmt.Errorf("liveness: challenge plan %d: kind %q unknown", i, k)
		}
	}
	if len(c.ChallengePlan) > 6 {
		return fmt.Errorf("liveness: challenge plan of %d: want at most 6", len(c.ChallengePlan))
	}
	if d.RetryThreshold > d.PassThreshold || d.PassThreshold > 1 {
		return fmt.Errorf("liveness: thresholds retry %.2f, pass %.2f: want retry ≤ pass ≤ 1", d.RetryThreshold, d.PassThreshold)
	}
	return nil
}

// Light is a colour and intensity emitted towards the face.
type Light struct {
	// R, G, B are the colour's channels in [0, 1].
	R float64 `json:"r"`
	G float64 `json:"g"`
	B float64 `json:"b"`
	// Intensity scales the colour, in [0, 1].
	Intensity float64 `json:"intensity"`
}

// vec returns the emitted light as an RGB vector.
func (l Light) vec() [3]float64 {
	return [3]float64{l.R * l.Intensity, l.G * l.Intensity, l.B * l.Intensity}
}

// LightStep is one step of a light sequence.
type LightStep struct {
	Light
	// Start is the offset from the start of the sequence (the first frame
	// with a face).
	Start time.Duration `json:"start"`
}
