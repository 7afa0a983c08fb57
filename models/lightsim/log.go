package lightsim

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"livegate.dev/models/liveness"
)

// LogVersion is the light log format's version.
const LogVersion = 1

// Log is the record of the light a capture side emitted during one
// session, as the hosted page (per frame sent) or the kiosk (per LED
// change) writes it, so that a stored session can be analysed again with
// the light it was given. JSON:
//
//	{"version": 1, "step_ms": 400, "offset_ms": 0,
//	 "plan":   [{"r": 1, "g": 0, "b": 0, "intensity": 1}, …],
//	 "frames": [{"t_ms": 0, "r": 1, "g": 0, "b": 0, "intensity": 1}, …]}
//
// with "changes" instead of "frames" for a log of emitter switches.
// Times t_ms are on the clock of the recorded clip's timestamps, minus
// offset_ms.
type Log struct {
	// Version is LogVersion (0 is read as 1).
	Version int `json:"version,omitempty"`
	// StepMS is the light sequence's step (liveness.Config.LightStep).
	// Optional. Default: 400.
	StepMS float64 `json:"step_ms,omitempty"`
	// OffsetMS is subtracted from every t_ms to put it on the clip's
	// timeline (the clip's clock reading at the log's zero). Optional.
	OffsetMS float64 `json:"offset_ms,omitempty"`
	// Plan is the analyzer's light sequence of the session
	// (Analyzer.LightSequence): step i starts i × step_ms after the first
	// frame with a face. Replaying it (liveness.Config.LightPlan) gives
	// the analyzer the session's own sequence. Optional: only where the
	// analyzer runs (the kiosk, the cloud) is it known.
	Plan []liveness.Light `json:"plan,omitempty"`
	// Frames are the light emitted while each frame was captured (the
	// Frame.Light the analyzer was fed), at the frame's timestamp.
	Frames []LogEntry `json:"frames,omitempty"`
	// Changes are the emitter's switches: from t_ms on it emitted this.
	Changes []LogEntry `json:"changes,omitempty"`
}

// LogEntry is one timed light of a Log.
type LogEntry struct {
	TMS float64 `json:"t_ms"`
	liveness.Light
}

// ParseLog decodes and checks a light log: exactly one of frames and
// changes, in increasing time, lights in [0, 1].
func ParseLog(data []byte) (*Log, error) {
	var l Log
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("lightsim: light log: %w", err)
	}
	if l.Version != 0 && l.Version != LogVersion {
		return nil, fmt.Errorf("lightsim: light log version %d: want %d", l.Version, LogVersion)
	}
	if l.StepMS == 0 {
		l.StepMS = 400
	}
	if !(l.StepMS > 0) || l.StepMS > 60000 {
		return nil, fmt.Errorf("lightsim: light log step_ms %g: want (0, 60000]", l.StepMS)
	}
	if math.IsNaN(l.OffsetMS) || math.IsInf(l.OffsetMS, 0) {
		return nil, fmt.Errorf("lightsim: light log offset_ms %g", l.OffsetMS)
	}
	if (len(l.Frames) == 0) == (len(l.Changes) == 0) {
		return nil, fmt.Errorf("lightsim: light log: want either frames or changes (got %d frames, %d changes)", len(l.Frames), len(l.Changes))
	}
	name, entries := "frames", l.Frames
	if len(l.Changes) > 0 {
		name, entries = "changes", l.Changes
	}
	for i, e := range entries {
		if err := checkLight(e.Light); err != nil {
			return nil, fmt.Errorf("lightsim: light log %s[%d]: %w", name, i, err)
		}
		if math.IsNaN(e.TMS) || math.IsInf(e.TMS, 0) || (i > 0 && e.TMS <= entries[i-1].TMS) {
			return nil, fmt.Errorf("lightsim: light log %s[%d]: t_ms %g not after %g", name, i, e.TMS, entries[max(i-1, 0)].TMS)
		}
	}
	for i, s := range l.Plan {
		if err := checkLight(s); err != nil {
			return nil, fmt.Errorf("lightsim: light log plan[%d]: %w", i, err)
		}
	}
	return &l, nil
}

func checkLight(l liveness.Light) error {
	for _, v := range []float64{l.R, l.G, l.B, l.Intensity} {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("light %+v: want channels and intensity in [0, 1]", l)
		}
	}
	return nil
}

// NewLog returns a log of the given plan and step (frames to be added
// with AddFrame).
func NewLog(step time.Duration, plan []liveness.LightStep) *Log {
	l := &Log{Version: LogVersion, StepMS: float64(step) / float64(time.Millisecond)}
	for _, s := range plan {
		l.Plan = append(l.Plan, s.Light)
	}
	return l
}

// AddFrame records that the frame stamped t was captured while light was
// emitted.
func (l *Log) AddFrame(t time.Duration, light liveness.Light) {
	l.Frames = append(l.Frames, LogEntry{TMS: float64(t) / float64(time.Millisecond), Light: light})
}

// Step is the log's step as a duration.
func (l *Log) Step() time.Duration { return ms(l.StepMS) }

func ms(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }

// entries are the log's timed lights on the clip's timeline.
func (l *Log) entries() []LogEntry {
	if len(l.Frames) > 0 {
		return l.Frames
	}
	return l.Changes
}

// LightAt is the light the log says was emitted when the frame stamped t
// (on the clip's timeline) was captured: the latest entry at or before t
// (1 ms of rounding allowed); ok is false before the first entry.
func (l *Log) LightAt(t time.Duration) (liveness.Light, bool) {
	e := l.entries()
	at := float64(t)/float64(time.Millisecond) + l.OffsetMS + 1
	i := sort.Search(len(e), func(i int) bool { return e[i].TMS > at })
	if i == 0 {
		return liveness.Light{}, false
	}
	return e[i-1].Light, true
}

// Schedule is the emitted light as a Schedule on the clip's timeline.
func (l *Log) Schedule() *Schedule {
	var s Schedule
	for _, e := range l.entries() {
		s.Set(ms(e.TMS-l.OffsetMS), e.Light)
	}
	return &s
}

// LightPlan is the plan as the analyzer's light steps (nil when the log
// has none).
func (l *Log) LightPlan() []liveness.LightStep {
	if len(l.Plan) == 0 {
		return nil
	}
	out := make([]liveness.LightStep, len(l.Plan))
	for i, s := range l.Plan {
		out[i] = liveness.LightStep{Light: s, Start: time.Duration(i) * l.Step()}
	}
	return out
}
