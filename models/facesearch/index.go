package facesearch

import (
	"fmt"
	"math"
	"sort"
)

// Hit is one candidate of a search: an enrolled identity and its best
// similarity over its templates.
type Hit struct {
	ID         string  `json:"id"`
	Similarity float64 `json:"similarity"`
}

// Index is an in-memory gallery of unit-normalised embeddings, each
// labelled with its identity. Add is not safe concurrently with Search;
// concurrent Searches are.
type Index struct {
	dim  int
	ids  []string  // identity of each template
	vecs []float32 // len(ids)*dim, each row unit length
	n    map[string]bool
}

// NewIndex returns an empty index of dim-dimensional embeddings.
func NewIndex(dim int) *Index { return &Index{dim: dim, n: map[string]bool{}} }

// Add enrols one template of identity id (v is copied and normalised). A
// zero or wrongly sized vector is an error.
func (ix *Index) Add(id string, v []float32) error {
	if len(v) != ix.dim {
		return fmt.Errorf("facesearch: template of %d values, the index holds %d", len(v), ix.dim)
	}
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return fmt.Errorf("facesearch: template of %s has no direction", id)
	}
	inv := float32(1 / math.Sqrt(ss))
	for _, x := range v {
		ix.vecs = append(ix.vecs, x*inv)
	}
	ix.ids = append(ix.ids, id)
	ix.n[id] = true
	return nil
}

// Templates is the number of templates; Identities the number of distinct
// identities.
func (ix *Index) Templates() int  { return len(ix.ids) }
func (ix *Index) Identities() int { return len(ix.n) }

// Bytes is the memory the embeddings take.
func (ix *Index) Bytes() int { return 4 * len(ix.vecs) }

// Search returns up to k identities by descending similarity to probe
// (each at its best template), ties by id. k ≤ 0 returns none.
func (ix *Index) Search(probe []float32, k int) ([]Hit, error) {
	if len(probe) != ix.dim {
		return nil, fmt.Errorf("facesearch: probe of %d values, the index holds %d", len(probe), ix.dim)
	}
	if k <= 0 || len(ix.ids) == 0 {
		return nil, nil
	}
	var ss float64
	for _, x := range probe {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) {
		return nil, fmt.Errorf("facesearch: the probe has no direction")
	}
	inv := float32(1 / math.Sqrt(ss))
	q := make([]float32, ix.dim)
	for i, x := range probe {
		q[i] = x * inv
	}
	// The best score of each identity, kept in a small sorted top list:
	// templates of one identity are usually few, so a map is only needed
	// for the (rare) identity already listed.
	top := make([]Hit, 0, k+1)
	for t, id := range ix.ids {
		s := float64(dot(ix.vecs[t*ix.dim:(t+1)*ix.dim:(t+1)*ix.dim], q))
		if len(top) == k && s <= top[k-1].Similarity {
			continue
		}
		top = insert(top, Hit{ID: id, Similarity: s}, k)
	}
	return top, nil
}

// insert puts h into the descending list top (at most k long), replacing
// a lower entry of the same identity.
func insert(top []Hit, h Hit, k int) []Hit {
	for i := range top {
		if top[i].ID == h.ID {
			if h.Similarity <= top[i].Similarity {
				return top
			}
			top = append(top[:i], top[i+1:]...)
			break
		}
	}
	i := sort.Search(len(top), func(i int) bool {
		return top[i].Similarity < h.Similarity || (top[i].Similarity == h.Similarity && top[i].ID > h.ID)
	})
	top = append(top, Hit{})
	copy(top[i+1:], top[i:])
	top[i] = h
	if len(top) > k {
		top = top[:k]
	}
	return top
}

// dot is the inner product of two equally long vectors, four lanes at a
// time (independent sums let the CPU overlap the multiply-adds).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
