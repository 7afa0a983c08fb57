package eval

import (
	"fmt"
	"io"
	"math"
	"sort"

	"livegate.dev/models/corpus"
)

// CueFigure is how well one measure of one layer separates one attack
// species from the bona fide samples of the same condition.
type CueFigure struct {
	Condition Condition `json:"condition,omitempty"`
	Species   string    `json:"species"`
	// Cue is "<layer>.<measure>" as in SampleResult.Measures.
	Cue string `json:"cue"`
	// AUC is the probability that an attack sample's value is higher than
	// a bona fide one's (ties count half): 1 or 0 separate perfectly (in
	// either direction), 0.5 not at all.
	AUC float64 `json:"auc"`
	// Separation is max(AUC, 1 − AUC): how well the cue separates in
	// whichever direction it points.
	Separation float64 `json:"separation"`
	// Attacks and BonaFide are the samples that had the measure.
	Attacks  int `json:"attacks"`
	BonaFide int `json:"bona_fide"`
}

// CueSeparation computes, per condition, attack species and measure, the
// AUC of the measure between that species and the bona fide samples;
// measures present in fewer than two samples on either side are skipped.
// Figures are sorted by condition, species (generator order), then
// separation, best first.
func CueSeparation(results []SampleResult) []CueFigure {
	type key struct {
		c       Condition
		species string
		cue     string
	}
	type side struct{ att, bona []float64 }
	vals := map[key]*side{}
	bona := map[Condition]map[string][]float64{}
	for _, r := range results {
		if r.Error != "" {
			continue
		}
		for layer, ms := range r.Measures {
			for name, v := range ms {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					continue
				}
				cue := layer + "." + name
				if r.Label != corpus.Attack {
					if bona[r.Condition] == nil {
						bona[r.Condition] = map[string][]float64{}
					}
					bona[r.Condition][cue] = append(bona[r.Condition][cue], v)
					continue
				}
				k := key{r.Condition, r.Species, cue}
				if vals[k] == nil {
					vals[k] = &side{}
				}
				vals[k].att = append(vals[k].att, v)
			}
		}
	}
	var out []CueFigure
	for k, s := range vals {
		b := bona[k.c][k.cue]
		if len(s.att) < 2 || len(b) < 2 {
			continue
		}
		auc := AUC(s.att, b)
		out = append(out, CueFigure{Condition: k.c, Species: k.species, Cue: k.cue, AUC: auc,
			Separation: math.Max(auc, 1-auc), Attacks: len(s.att), BonaFide: len(b)})
	}
	order := map[string]int{}
	for i, s := range corpus.Species {
		order[s] = i
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Condition != b.Condition {
			return a.Condition < b.Condition
		}
		if a.Species != b.Species {
			oa, okA := order[a.Species]
			ob, okB := order[b.Species]
			if okA != okB {
				return okA
			}
			if oa != ob {
				return oa < ob
			}
			return a.Species < b.Species
		}
		if a.Separation != b.Separation {
			return a.Separation > b.Separation
		}
		return a.Cue < b.Cue
	})
	return out
}

// AUC is the Mann–Whitney estimate of P(x > y) over the samples of x and y,
// ties counting half.
func AUC(x, y []float64) float64 {
	if len(x) == 0 || len(y) == 0 {
		return math.NaN()
	}
	ys := append([]float64(nil), y...)
	sort.Float64s(ys)
	var s float64
	for _, v := range x {
		lo := sort.SearchFloat64s(ys, v)                                  // ys[:lo] < v
		hi := sort.Search(len(ys), func(i int) bool { return ys[i] > v }) // ys[hi:] > v
		s += float64(lo) + 0.5*float64(hi-lo)
	}
	return s / float64(len(x)*len(y))
}

// WriteCues prints, per condition and species, the cues that separate at
// least minSep (best first, at most top of them).
func WriteCues(w io.Writer, cues []CueFigure, minSep float64, top int) error {
	var err error
	p := func(format string, a ...any) {
		if err == nil {
			_, err = fmt.Fprintf(w, format, a...)
		}
	}
	p("%-14s %-22s %-40s %6s %6s\n", "condition", "species", "cue (layer.measure)", "AUC", "n")
	var lastC Condition
	lastS := ""
	shown := 0
	for i, c := range cues {
		if i == 0 || c.Condition != lastC || c.Species != lastS {
			lastC, lastS, shown = c.Condition, c.Species, 0
		}
		if c.Separation < minSep || shown >= top {
			continue
		}
		shown++
		p("%-14s %-22s %-40s %6.3f %3d/%d\n", c.Condition.Name(), c.Species, c.Cue, c.AUC, c.Attacks, c.BonaFide)
	}
	return err
}
