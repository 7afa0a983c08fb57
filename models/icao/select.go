package icao

import (
	"math"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// Candidate is one frame offered for the portrait.
type Candidate struct {
	Image     *imgproc.RGB
	Landmarks *face.Landmarks
}

// Assessment scores a candidate frame by the portrait's criteria.
type Assessment struct {
	Yaw, Pitch, Roll   float64
	EyeOpen, MouthOpen float64
	Sharpness, EyeDist float64
	// Eligible is true when the frame meets every pose, expression and
	// sharpness limit; Why lists the limits it misses.
	Eligible bool
	Why      []string
	// Score ranks candidates (higher is better): eligible frames score in
	// (1, 2], others in [0, 1].
	Score float64
}

// Assess scores one frame: frontal (yaw, pitch within ±5°, roll within
// ±8°), eyes open, mouth closed, sharp; larger faces win ties.
func Assess(img *imgproc.RGB, l *face.Landmarks) Assessment {
	m := face.Measure(l)
	g := Measure(l)
	sharp, _ := faceStats(img, l)
	a := Assessment{Yaw: m.Yaw, Pitch: m.Pitch, Roll: g.RollDeg, EyeOpen: (m.LeftEye + m.RightEye) / 2,
		MouthOpen: m.MouthOpen, Sharpness: sharp, EyeDist: g.EyeDist}
	check := func(ok bool, why string) {
		if !ok {
			a.Why = append(a.Why, why)
		}
	}
	check(math.Abs(m.Yaw) <= MaxYaw, "yaw")
	check(math.Abs(m.Pitch) <= MaxPitch, "pitch")
	check(math.Abs(g.RollDeg) <= MaxRoll, "roll")
	check(a.EyeOpen >= MinEyeOpen, "eyes_open")
	check(m.MouthOpen <= MaxMouthOpen, "mouth_closed")
	check(sharp >= MinSharpness, "sharp")
	a.Eligible = len(a.Why) == 0
	q := math.Exp(-(m.Yaw*m.Yaw+m.Pitch*m.Pitch)/(2*MaxYaw*MaxYaw) - g.RollDeg*g.RollDeg/(2*MaxRoll*MaxRoll))
	q *= math.Min(sharp/(2*MinSharpness), 1)
	q *= math.Min(a.EyeOpen/0.27, 1)
	q *= 1 / (1 + 10*math.Max(m.MouthOpen, 0))
	q *= 0.8 + 0.2*math.Min(g.EyeDist/MinEyeDist, 1)
	a.Score = q
	if a.Eligible {
		a.Score = 1 + q
	}
	return a
}

// Select assesses every candidate and returns the index of the best (−1 when
// there is none) and all assessments.
func Select(cands []Candidate) (int, []Assessment) {
	best, bestScore := -1, -1.0
	out := make([]Assessment, len(cands))
	for i, c := range cands {
		if c.Image == nil || c.Landmarks == nil {
			continue
		}
		out[i] = Assess(c.Image, c.Landmarks)
		if out[i].Score > bestScore {
			best, bestScore = i, out[i].Score
		}
	}
	return best, out
}
