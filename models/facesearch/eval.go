package facesearch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"livegate.dev/models/face"
	"livegate.dev/models/facematch"
)

// Figures are the 1:N error rates of a threshold at one gallery size,
// summed over Draws random galleries.
type Figures struct {
	GallerySize int     `json:"gallery_size"`
	Threshold   float64 `json:"threshold"`
	// Candidates is the candidate list length L a search returns.
	Candidates int `json:"candidates"`
	Draws      int `json:"draws"`
	// Mated and NonMated count the searches; Misses and FalsePositives
	// the errors among them.
	Mated          int `json:"mated_searches"`
	NonMated       int `json:"non_mated_searches"`
	Misses         int `json:"misses"`
	FalsePositives int `json:"false_positives"`
	// FNIR is Misses/Mated, FPIR FalsePositives/NonMated. The Upper95
	// figures are one-sided 95 % upper bounds (the rule of three when no
	// error was seen, else the normal approximation): what so few
	// searches can and cannot rule out.
	// DistinctMated and DistinctNonMated count the different probe faces
	// behind those searches (draws reuse them): the bounds are taken on
	// these, as repeated searches of one face are not independent.
	DistinctMated    int     `json:"distinct_mated_probes"`
	DistinctNonMated int     `json:"distinct_non_mated_probes"`
	FNIR             float64 `json:"fnir"`
	FPIR             float64 `json:"fpir"`
	FNIRUpper95      float64 `json:"fnir_upper95"`
	FPIRUpper95      float64 `json:"fpir_upper95"`
	// MatedMin is the lowest score of a mate; NonMatedMax the highest
	// score of any candidate of a non-mated search: the margin around the
	// threshold on this data.
	MatedMin    float64 `json:"mated_min"`
	NonMatedMax float64 `json:"non_mated_max"`
}

// Evaluate runs 1:N searches on embedded faces (facematch.EmbedAll's
// output) for a gallery of size identities, draws times: each draw enrols
// size identities picked at random (seeded), each by its first face;
// every other face of an enrolled identity is a mated search, every face
// of an identity not enrolled a non-mated one. A candidate of a non-mated
// search whose truth is unknown (another photo of the probe's group, see
// facematch.Pairs) is not counted against it.
func Evaluate(faces []facematch.Embedded, size, draws int, threshold float64, candidates int, seed uint64) (Figures, error) {
	byID := map[string][]facematch.Embedded{}
	var ids []string
	for _, f := range faces {
		if _, ok := byID[f.Identity]; !ok {
			ids = append(ids, f.Identity)
		}
		byID[f.Identity] = append(byID[f.Identity], f)
	}
	sort.Strings(ids)
	if size < 1 || size >= len(ids) {
		return Figures{}, fmt.Errorf("facesearch: gallery size %d: the set has %d identities (a non-mated search needs one left out)", size, len(ids))
	}
	fig := Figures{GallerySize: size, Threshold: threshold, Candidates: candidates, Draws: draws, MatedMin: math.Inf(1), NonMatedMax: math.Inf(-1)}
	rng := rand.New(rand.NewPCG(seed, uint64(size)))
	matedSeen, nonMatedSeen := map[string]bool{}, map[string]bool{}
	for d := 0; d < draws; d++ {
		perm := rng.Perm(len(ids))
		ix := NewIndex(face.EmbeddingSize)
		enrolled := map[string]facematch.Embedded{}
		for _, i := range perm[:size] {
			f := byID[ids[i]][0]
			if err := ix.Add(f.Identity, f.Vec); err != nil {
				return Figures{}, err
			}
			enrolled[f.Identity] = f
		}
		for _, i := range perm {
			id := ids[i]
			_, isEnrolled := enrolled[id]
			for j, probe := range byID[id] {
				if isEnrolled && j == 0 {
					continue // the enrolled face itself
				}
				hits, err := ix.Search(probe.Vec, len(ids))
				if err != nil {
					return Figures{}, err
				}
				key := fmt.Sprint(probe.Photo, probe.Box)
				if isEnrolled {
					matedSeen[key] = true
					fig.Mated++
					found := false
					for r, h := range hits {
						if h.ID == id {
							fig.MatedMin = math.Min(fig.MatedMin, h.Similarity)
							found = r < candidates && h.Similarity >= threshold
						}
					}
					if !found {
						fig.Misses++
					}
					continue
				}
				nonMatedSeen[key] = true
				fig.NonMated++
				fp := false
				for _, h := range hits {
					g := enrolled[h.ID]
					if probe.Group != "" && g.Group == probe.Group && g.Photo != probe.Photo {
						continue // unknown truth
					}
					fig.NonMatedMax = math.Max(fig.NonMatedMax, h.Similarity)
					fp = h.Similarity >= threshold
					break // the best candidate of known truth decides
				}
				if fp {
					fig.FalsePositives++
				}
			}
		}
	}
	fig.DistinctMated, fig.DistinctNonMated = len(matedSeen), len(nonMatedSeen)
	fig.FNIR, fig.FNIRUpper95 = rate(fig.Misses, fig.Mated, fig.DistinctMated)
	fig.FPIR, fig.FPIRUpper95 = rate(fig.FalsePositives, fig.NonMated, fig.DistinctNonMated)
	return fig, nil
}

// rate is k/n and its one-sided 95 % upper bound with only distinct
// independent trials.
func rate(k, n, distinct int) (float64, float64) {
	if n == 0 || distinct == 0 {
		return math.NaN(), math.NaN()
	}
	p := float64(k) / float64(n)
	if k == 0 {
		return 0, math.Min(1, 3/float64(distinct))
	}
	return p, math.Min(1, p+1.645*math.Sqrt(p*(1-p)/float64(distinct)))
}

// The protocol livegate-face search-eval and the docs use.
var EvalSizes = []int{5, 10, 20, 28}

const (
	EvalDraws      = 20
	EvalCandidates = 5
	EvalSeed       = 20
)
