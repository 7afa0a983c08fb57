package facematch

import (
	"math"
	"sort"

	"livegate.dev/models/face"
)

// The calibrated thresholds on the cosine similarity of two mesh-aligned
// MobileFaceNet embeddings, measured by `livegate-face facematch-eval` on
// the calibration set (Calibration: 90 faces of 30 people, 330 same-person
// and 3494 different-people pairs). There the two kinds of pair do not
// overlap (ROC AUC 1.000): different people reach at most 0.448, the same
// person at least 0.659, and FMR ≤ 1 % holds from 0.330. Accept sits near
// the same-person side of that gap — a false match costs more than a
// review — and is the engine's face.DefaultMatchThreshold, so one pair gets
// one answer on every route; ReviewFrom opens the grey zone half-way, above
// every different-people pair, so that a same-person probe pushed under
// Accept by pose, light or a poor camera goes to a human instead of being
// declined. Thirty people is a small set: docs/face.md gives the figures and
// their limits.
const (
	Accept     = face.DefaultMatchThreshold
	ReviewFrom = 0.50
)

// Outcome is the decision on one comparison.
type Outcome string

// Outcomes of Decide.
const (
	Pass   Outcome = "pass"
	Review Outcome = "review"
	Fail   Outcome = "fail"
)

// Decide maps a similarity to an outcome: pass at or above accept, review
// from reviewFrom up to accept, fail below reviewFrom (a reviewFrom at or
// above accept leaves no grey zone).
func Decide(similarity, accept, reviewFrom float64) Outcome {
	switch {
	case similarity >= accept:
		return Pass
	case similarity >= reviewFrom:
		return Review
	}
	return Fail
}

// Figures are the error rates of a pair of thresholds on scored pairs.
type Figures struct {
	SamePairs      int     `json:"same_pairs"`
	DifferentPairs int     `json:"different_pairs"`
	AUC            float64 `json:"roc_auc"`
	EER            float64 `json:"eer"`
	EERThreshold   float64 `json:"eer_threshold"`
	// ThresholdFMR1 is the data's own lowest threshold with FMR ≤ 1 %.
	ThresholdFMR1 float64 `json:"threshold_at_fmr_1pct"`
	Accept        float64 `json:"accept"`
	ReviewFrom    float64 `json:"review_from"`
	// FMR and FNMR at Accept: different people passed, same person not
	// passed (reviewed or failed).
	FMRAccept  float64 `json:"fmr_at_accept"`
	FNMRAccept float64 `json:"fnmr_at_accept"`
	// FMR and FNMR at ReviewFrom: different people passed or sent to
	// review, same person failed.
	FMRReview  float64 `json:"fmr_at_review_from"`
	FNMRReview float64 `json:"fnmr_at_review_from"`
	// GreySame and GreyDifferent are the shares of each kind of pair in
	// the grey zone [ReviewFrom, Accept).
	GreySame      float64 `json:"grey_same"`
	GreyDifferent float64 `json:"grey_different"`
	SameMin       float64 `json:"same_min"`
	SameMedian    float64 `json:"same_median"`
	DifferentMax  float64 `json:"different_max"`
	DiffMedian    float64 `json:"different_median"`
}

// Evaluate scores the thresholds accept and reviewFrom on the similarities
// of same-person and different-people pairs.
func Evaluate(same, different []float64, accept, reviewFrom float64) Figures {
	f := Figures{SamePairs: len(same), DifferentPairs: len(different), Accept: accept, ReviewFrom: reviewFrom}
	if len(same) == 0 || len(different) == 0 {
		return f
	}
	f.AUC = AUC(same, different)
	f.EER, f.EERThreshold = EER(same, different)
	f.ThresholdFMR1 = ThresholdAt(different, 0.01)
	f.FMRAccept = share(different, func(v float64) bool { return v >= accept })
	f.FNMRAccept = share(same, func(v float64) bool { return v < accept })
	f.FMRReview = share(different, func(v float64) bool { return v >= reviewFrom })
	f.FNMRReview = share(same, func(v float64) bool { return v < reviewFrom })
	grey := func(v float64) bool { return v >= reviewFrom && v < accept }
	f.GreySame, f.GreyDifferent = share(same, grey), share(different, grey)
	s, d := sorted(same), sorted(different)
	f.SameMin, f.SameMedian = s[0], s[len(s)/2]
	f.DifferentMax, f.DiffMedian = d[len(d)-1], d[len(d)/2]
	return f
}

// AUC is the ROC area: the probability that a same-person pair scores
// above a different-people pair, ties counting half.
func AUC(same, different []float64) float64 {
	if len(same) == 0 || len(different) == 0 {
		return math.NaN()
	}
	d := sorted(different)
	var s float64
	for _, v := range same {
		lo := sort.SearchFloat64s(d, v)
		hi := sort.Search(len(d), func(i int) bool { return d[i] > v })
		s += float64(lo) + 0.5*float64(hi-lo)
	}
	return s / float64(len(same)*len(different))
}

// EER is the equal error rate — where FMR and FNMR cross, their mean at the
// candidate threshold with the smallest gap — and that threshold.
func EER(same, different []float64) (eer, threshold float64) {
	best := math.Inf(1)
	for _, t := range append(append([]float64{}, same...), different...) {
		fmr := share(different, func(v float64) bool { return v >= t })
		fnmr := share(same, func(v float64) bool { return v < t })
		if gap := math.Abs(fmr - fnmr); gap < best || (gap == best && t < threshold) {
			best, eer, threshold = gap, (fmr+fnmr)/2, t
		}
	}
	return eer, threshold
}

// ThresholdAt is the lowest threshold whose FMR on different is at most
// fmr: just above the different-people score that would be one match too
// many.
func ThresholdAt(different []float64, fmr float64) float64 {
	if len(different) == 0 {
		return math.NaN()
	}
	d := sorted(different)
	allowed := int(math.Floor(fmr * float64(len(d))))
	if allowed >= len(d) {
		return d[0]
	}
	return math.Nextafter(d[len(d)-1-allowed], math.Inf(1))
}

func share(xs []float64, f func(float64) bool) float64 {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}

func sorted(xs []float64) []float64 {
	out := append([]float64(nil), xs...)
	sort.Float64s(out)
	return out
}
