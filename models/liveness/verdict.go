package liveness

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Reason codes of a Verdict.
const (
	ReasonFaceNotDetected      = "face_not_detected"
	ReasonMultipleFaces        = "multiple_faces"
	ReasonChallengeTimeout     = "challenge_timeout"
	ReasonSpoofSuspected       = "spoof_suspected"
	ReasonIdentityChanged      = "identity_changed"
	ReasonInjectionSuspected   = "injection_suspected"
	ReasonLightResponseMissing = "light_response_missing"
	ReasonInsufficientMotion   = "insufficient_motion"
	ReasonPlanarMotion         = "planar_motion"
	ReasonMovesWithBackground  = "moves_with_background"
	ReasonTimestampAnomaly     = "timestamp_anomaly"
	ReasonRepeatedFrames       = "repeated_frames"
	ReasonBadFrames            = "bad_frames"
	ReasonLowQuality           = "low_quality"
	ReasonNoNonRigidMotion     = "no_non_rigid_motion"
)

// Environment reasons: added to a verdict that did not pass when at least
// envShare of the one-face frames showed the issue, so the user is told
// what to change (they are the guidance codes of the same name).
// StatusLightWeak is added too when the light response was the only layer
// that failed.
var envIssues = []string{StatusTooDark, StatusBacklit, StatusGlare, StatusBlurred}

// Advice keeps, of a verdict's reasons, those a user can act on (the
// environment reasons: light, glare, focus, the screen's light not
// reaching the face), in order; the other reasons say which check
// doubted the face and are not shown to the person presenting it.
func Advice(reasons []string) []string {
	var out []string
	for _, r := range reasons {
		if slices.Contains(envIssues, r) || r == StatusLightWeak {
			out = append(out, r)
		}
	}
	return out
}

const envShare = 0.4

// Layer names.
const (
	LayerChallenges  = "challenges"
	LayerAntiSpoof   = "anti_spoof"
	LayerInjection   = "injection"
	LayerConsistency = "face_consistency"
	LayerMotion      = "motion"
	LayerLight       = "light_response"
	LayerNonRigid    = "non_rigid"
)

// Verdict values.
const (
	VerdictPass  = "pass"
	VerdictFail  = "fail"
	VerdictRetry = "retry"
)

// LayerScore is one layer's result.
type LayerScore struct {
	Name string `json:"name"`
	// Score is the layer's liveness evidence in [0, 1] (1: live).
	Score float64 `json:"score"`
	// Passed says the layer found no reason to doubt liveness.
	Passed bool `json:"passed"`
	// Detail explains the score in words and figures.
	Detail string `json:"detail"`
	// Measures are the figures behind the score, by name (for evaluation).
	Measures map[string]float64 `json:"measures,omitempty"`
	// Reasons are the reason codes this layer raised.
	Reasons []string `json:"reasons,omitempty"`

	// hard marks a decisive failure: the confidence is capped below the
	// retry threshold.
	hard bool
}

// AuditFrame names a frame worth keeping for an audit trail.
type AuditFrame struct {
	Index int    `json:"index"`
	Why   string `json:"why"`
}

// Verdict is the session's outcome.
type Verdict struct {
	Verdict    string       `json:"verdict"`
	Confidence float64      `json:"confidence"`
	Reasons    []string     `json:"reasons"`
	Layers     []LayerScore `json:"layers"`
	// BestFrame is the index (among the frames fed, from 0) of the frame for
	// the ICAO photo, −1 when no frame had a face; see Analyzer.BestFrame.
	BestFrame int `json:"best_frame"`
	// Audit lists frames worth keeping: the reference frame, the best
	// frame, each completed challenge, the evidence of failures.
	Audit []AuditFrame `json:"audit,omitempty"`
	// Frames is the number of frames fed; FaceFrames those with one face.
	Frames     int `json:"frames"`
	FaceFrames int `json:"face_frames"`
}

// Fusion weights of the layers (docs/liveness.md).
var layerWeights = map[string]float64{
	LayerChallenges:  0.20,
	LayerAntiSpoof:   0.15,
	LayerInjection:   0.20,
	LayerConsistency: 0.15,
	LayerMotion:      0.30,
	LayerLight:       0.20,
	LayerNonRigid:    0.20,
}

// Caps applied to the confidence: below the retry threshold on a decisive
// failure, below the pass threshold on any other failed layer.
const (
	hardCap = 0.30
	softCap = 0.60
)

// fuse combines layer scores into a confidence, and the reason codes.
func fuse(layers []LayerScore, passT, retryT float64) (conf float64, verdict string, reasons []string) {
	var sw, s float64
	hard, soft := false, false
	seen := map[string]bool{}
	for _, l := range layers {
		w := layerWeights[l.Name]
		sw += w
		s += w * l.Score
		if l.hard {
			hard = true
		} else if !l.Passed {
			soft = true
		}
		for _, r := range l.Reasons {
			if !seen[r] {
				seen[r] = true
				reasons = append(reasons, r)
			}
		}
	}
	if sw > 0 {
		conf = s / sw
	}
	if hard {
		conf = math.Min(conf, math.Min(hardCap, retryT-0.01))
	} else if soft {
		conf = math.Min(conf, math.Min(softCap, passT-0.01))
	}
	conf = clamp01(conf)
	switch {
	case conf >= passT:
		verdict = VerdictPass
	case conf >= retryT:
		verdict = VerdictRetry
	default:
		verdict = VerdictFail
	}
	sort.Strings(reasons)
	if reasons == nil {
		reasons = []string{}
	}
	return conf, verdict, reasons
}

// onlyFailed reports whether the named layer failed and no other did.
func onlyFailed(layers []LayerScore, name string) bool {
	failed := false
	for _, l := range layers {
		if !l.Passed {
			if l.Name != name {
				return false
			}
			failed = true
		}
	}
	return failed
}

// Verdict computes the session's verdict from the evidence so far. It may
// be called before Done (the verdict then reflects a partial session); once
// Done it is computed once and cached.
func (a *Analyzer) Verdict() Verdict {
	if a.verdict != nil {
		return *a.verdict
	}
	v := Verdict{BestFrame: a.best.idx, Frames: a.n}
	for i := range a.recs {
		if a.recs[i].ok {
			v.FaceFrames++
		}
	}
	if a.cfg.Mode == Active {
		v.Layers = append(v.Layers, challengeLayer(&a.ch, a.haveFace))
	}
	motion := motionLayer(a.recs, a.cfg.HandheldCamera)
	nr := nonRigidLayer(a.recs)
	motion = stillWithDeformation(motion, nr)
	v.Layers = append(v.Layers,
		antiSpoofLayer(a.recs),
		injectionLayer(a.recs, a.tsErrors, a.badFrms, a.cfg.StrictTiming),
		consistencyLayer(a.recs, a.embCos, a.cfg.IdentityThreshold),
		motion,
		liveEvidence(nr, motion),
	)
	if a.cfg.LightControlled {
		v.Layers = append(v.Layers, lightLayer(a.recs, a.lights, a.firstFace, a.cfg.LightStep))
	}
	v.Confidence, v.Verdict, v.Reasons = fuse(v.Layers, a.cfg.PassThreshold, a.cfg.RetryThreshold)
	if v.Verdict != VerdictPass {
		// What the user can change: the light, the glare, the focus.
		for _, is := range envIssues {
			if a.goodFrames > 0 && float64(a.env[is]) >= envShare*float64(a.goodFrames) {
				v.Reasons = append(v.Reasons, is)
			}
		}
		// The light alone stood between the session and a pass: say what
		// makes it show (closer to the screen, a dimmer room).
		if onlyFailed(v.Layers, LayerLight) {
			v.Reasons = append(v.Reasons, StatusLightWeak)
		}
	}
	if a.refIdx >= 0 {
		v.Audit = append(v.Audit, AuditFrame{a.refIdx, "reference"})
	}
	if a.best.idx >= 0 {
		v.Audit = append(v.Audit, AuditFrame{a.best.idx, "best"})
	}
	for i, idx := range a.ch.doneAt {
		v.Audit = append(v.Audit, AuditFrame{idx, fmt.Sprintf("challenge %d %s", i+1, a.ch.seq[i])})
	}
	if len(a.embCos) > 0 {
		lo := a.embCos[0]
		for _, e := range a.embCos {
			if e.cos < lo.cos {
				lo = e
			}
		}
		v.Audit = append(v.Audit, AuditFrame{lo.idx, fmt.Sprintf("least similar to reference (cosine %.2f)", lo.cos)})
	}
	if a.done {
		a.verdict = &v
	}
	return v
}
