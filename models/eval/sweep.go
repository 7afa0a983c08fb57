package eval

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"livegate.dev/models/lightsim"
	"livegate.dev/models/liveness"
)

// SweepPoint is the bona fide outcome at one reflection strength.
type SweepPoint struct {
	// Strength is the relative brightness change of the face at full
	// white (lightsim Params.Strength).
	Strength float64 `json:"strength"`
	// AmbientLux is the ambient illuminance that gives this strength with
	// the sweep's emitter and geometry (lightsim Params.WithStrength).
	AmbientLux float64 `json:"ambient_lux"`
	Samples    int     `json:"samples"`
	Rejected   int     `json:"rejected"`
	BPCER      float64 `json:"bpcer"`
	// LightRejected counts the rejected samples whose reasons include
	// light_response_missing.
	LightRejected int `json:"light_rejected"`
}

// Sweep is the light-strength sweep: bona fide passive samples under
// ConditionPassiveLight at each strength.
type Sweep struct {
	Points []SweepPoint `json:"points"`
	// MaxBPCER is the BPCER the summary looks for.
	MaxBPCER float64 `json:"max_bpcer"`
	// Weakest is the weakest strength from which on (it and every
	// stronger strength swept) BPCER is at most MaxBPCER; Found says
	// whether there is one.
	Weakest float64        `json:"weakest_strength,omitempty"`
	Found   bool           `json:"found"`
	Results []SampleResult `json:"results,omitempty"`
}

// ParseStrengths parses a comma-separated list of strengths (each in
// (0, 10]).
func ParseStrengths(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("eval: light strength %q: %w", f, err)
		}
		if !(v > 0 && v <= 10) {
			return nil, fmt.Errorf("eval: light strength %g: want a relative change in (0, 10]", v)
		}
		out = append(out, v)
	}
	return out, nil
}

// ComputeSweep gives the sweep's figures at threshold thr: results[i] are
// the samples run at strengths[i] with params[i].
func ComputeSweep(strengths []float64, params []lightsim.Params, results [][]SampleResult, thr, maxBPCER float64) *Sweep {
	sw := &Sweep{MaxBPCER: maxBPCER}
	for i, s := range strengths {
		pt := SweepPoint{Strength: s}
		if i < len(params) {
			pt.AmbientLux = params[i].AmbientLux
		}
		if i < len(results) {
			for _, r := range results[i] {
				pt.Samples++
				if r.Error == "" && r.Confidence >= thr {
					continue
				}
				pt.Rejected++
				if slices.Contains(r.Reasons, liveness.ReasonLightResponseMissing) {
					pt.LightRejected++
				}
			}
			sw.Results = append(sw.Results, results[i]...)
		}
		pt.BPCER = ratio(pt.Rejected, pt.Samples)
		sw.Points = append(sw.Points, pt)
	}
	sort.SliceStable(sw.Points, func(i, j int) bool { return sw.Points[i].Strength < sw.Points[j].Strength })
	sw.Weakest, sw.Found = WeakestStrength(sw.Points, maxBPCER)
	return sw
}

// WeakestStrength is the weakest strength s of the points such that every
// point at s or stronger has BPCER ≤ maxBPCER (a strength that passes by
// luck below a failing one does not count); ok is false when the
// strongest point fails or there are no points with samples.
func WeakestStrength(points []SweepPoint, maxBPCER float64) (s float64, ok bool) {
	ps := slices.Clone(points)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Strength < ps[j].Strength })
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].Samples == 0 {
			continue
		}
		if ps[i].BPCER > maxBPCER {
			break
		}
		s, ok = ps[i].Strength, true
	}
	return s, ok
}

// WriteTable prints BPCER per strength and the summary.
func (sw *Sweep) WriteTable(w io.Writer) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("light-strength sweep (bona fide passive samples, passive-light)\n")
	p("%9s %12s %8s %9s %8s %15s\n", "strength", "ambient lux", "samples", "rejected", "BPCER", "light rejected")
	for _, pt := range sw.Points {
		p("%9.4g %12.0f %8d %9d %7.1f%% %15d\n", pt.Strength, pt.AmbientLux, pt.Samples, pt.Rejected, 100*pt.BPCER, pt.LightRejected)
	}
	if sw.Found {
		p("weakest strength with BPCER ≤ %.1f%% (and at every stronger one): %.4g\n", 100*sw.MaxBPCER, sw.Weakest)
	} else {
		p("no strength swept keeps BPCER ≤ %.1f%%\n", 100*sw.MaxBPCER)
	}
	return err
}
