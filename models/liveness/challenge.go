package liveness

import (
	"math"
	"time"

	"livegate.dev/models/face"
)

// Challenge detection thresholds, relative to the subject's own neutral
// measures taken over the first baselineFrames good frames.
const (
	baselineFrames = 5
	// Blink: eye openness over the neutral level; closed below blinkClose,
	// open again above blinkOpen (hysteresis), closed at most blinkMaxShut.
	blinkClose   = 0.78
	blinkOpen    = 0.90
	blinkMaxShut = 1200 * time.Millisecond
	// Turns: yaw away from neutral, re-armed below turnArm.
	turnDeg = 20.0
	turnArm = 10.0
	// Smile: mouth width over neutral grows by smileWiden, or the corners
	// rise by smileLift (eye-distance units).
	smileWiden = 0.10
	smileLift  = 0.035
	// Nod: pitch down by nodDeg then back within nodBack of neutral.
	nodDeg  = 10.0
	nodBack = 4.0
)

type neutral struct {
	ear, yaw, pitch, mw, smile float64
	n                          int
}

// challengeTracker follows the challenges in order.
type challengeTracker struct {
	seq      []Challenge
	window   time.Duration
	mirrored bool

	base     neutral
	cur      int
	curStart time.Duration
	started  bool
	// per-challenge state
	armed    bool
	shut     bool
	shutAt   time.Duration
	stage    int
	progress float64
	streak   int

	doneAt   []int // frame index at which each challenge completed
	timedOut bool
}

func (c *challengeTracker) finished() bool { return c.cur >= len(c.seq) || c.timedOut }

func (c *challengeTracker) reset(t time.Duration) {
	c.curStart, c.armed, c.shut, c.stage, c.progress, c.streak = t, false, false, 0, 0, 0
}

func ear(m face.Measures) float64 { return (m.LeftEye + m.RightEye) / 2 }

// subjectYaw is positive when the subject turns to their own left.
func (c *challengeTracker) subjectYaw(m face.Measures) float64 {
	// face.Measure's yaw is positive towards the image's right, which is the
	// subject's left in an unmirrored frame.
	if c.mirrored {
		return -m.Yaw
	}
	return m.Yaw
}

// update advances the tracker with a frame at time t (ok: one face with a
// mesh). It returns true when a challenge completed on this frame.
func (c *challengeTracker) update(r *frameRec, t time.Duration) bool {
	if c.finished() {
		return false
	}
	if c.started && t-c.curStart > c.window {
		c.timedOut = true
		return false
	}
	if !r.ok {
		return false
	}
	m := r.m
	if c.base.n < baselineFrames {
		b := &c.base
		k := float64(b.n)
		b.ear = (b.ear*k + ear(m)) / (k + 1)
		b.yaw = (b.yaw*k + c.subjectYaw(m)) / (k + 1)
		b.pitch = (b.pitch*k + m.Pitch) / (k + 1)
		b.mw = (b.mw*k + m.MouthWidth) / (k + 1)
		b.smile = (b.smile*k + m.Smile) / (k + 1)
		b.n++
		if b.n == baselineFrames {
			c.started = true
			c.reset(t)
		}
		return false
	}
	done := false
	switch c.seq[c.cur] {
	case Blink:
		e := ear(m) / math.Max(c.base.ear, 1e-6)
		switch {
		case !c.shut && e >= blinkOpen:
			c.armed = true
			c.progress = 0
		case c.armed && !c.shut && e < blinkClose:
			c.shut, c.shutAt, c.progress = true, t, 0.5
		case c.shut && e >= blinkOpen:
			if t-c.shutAt <= blinkMaxShut {
				done = true
			}
			c.shut, c.progress = false, 0
		}
	case TurnLeft, TurnRight:
		y := c.subjectYaw(m) - c.base.yaw
		if c.seq[c.cur] == TurnRight {
			y = -y
		}
		if y < turnArm {
			c.armed = true
		}
		c.progress = clamp01(y / turnDeg)
		if c.armed && y >= turnDeg {
			done = true
		}
	case Smile:
		s := math.Max((m.MouthWidth/math.Max(c.base.mw, 1e-6)-1)/smileWiden, (m.Smile-c.base.smile)/smileLift)
		if s < 0.5 {
			c.armed, c.streak = true, 0
		}
		c.progress = clamp01(s)
		if c.armed && s >= 1 {
			c.streak++
			done = c.streak >= 2
		}
	case Nod:
		d := c.base.pitch - m.Pitch // positive when the head tilts down
		if c.stage == 0 && d < nodBack {
			c.armed = true
		}
		if c.armed && c.stage == 0 && d >= nodDeg {
			c.stage = 1
		}
		if c.stage == 1 {
			c.progress = 0.5
			if d < nodBack {
				done = true
			}
		} else {
			c.progress = clamp01(d/nodDeg) / 2
		}
	}
	if done {
		c.doneAt = append(c.doneAt, r.idx)
		c.cur++
		c.reset(t)
		return true
	}
	return false
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Min(1, math.Max(0, v))
}
