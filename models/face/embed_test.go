package face

import (
	"math"
	"path/filepath"
	"sort"
	"testing"

	"livegate.dev/models/imgproc"
)

func TestAlignRecoversSimilarity(t *testing.T) {
	// Template points moved by a known similarity: scale 2.5, 30°, offset.
	th := 30 * math.Pi / 180
	s := 2.5
	var src [][2]float64
	for _, p := range arcface {
		x, y := p[0]*s, p[1]*s
		src = append(src, [2]float64{x*math.Cos(th) - y*math.Sin(th) + 200, x*math.Sin(th) + y*math.Cos(th) + 50})
	}
	a := alignTo(src, arcface[:], 1)
	for i, p := range arcface {
		x, y := a.Apply(p[0], p[1])
		if math.Hypot(x-src[i][0], y-src[i][1]) > 1e-6 {
			t.Fatalf("template point %d maps to %.3f,%.3f, want %v", i, x, y, src[i])
		}
	}
}

func TestCosine(t *testing.T) {
	tests := []struct {
		a, b []float32
		want float32
	}{
		{[]float32{1, 0}, []float32{1, 0}, 1},
		{[]float32{1, 0}, []float32{0, 2}, 0},
		{[]float32{1, 1}, []float32{-1, -1}, -1},
		{[]float32{0, 0}, []float32{1, 0}, 0},
	}
	for _, tc := range tests {
		if got := Cosine(tc.a, tc.b); math.Abs(float64(got-tc.want)) > 1e-6 {
			t.Errorf("Cosine(%v,%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// embedder bundles the pipeline the tests use: detect, mesh, align, embed.
type embedRig struct {
	d *Detector
	l *Landmarker
	e *Embedder
}

func newEmbedRig(t testing.TB) *embedRig {
	return &embedRig{newTestDetector(t, ShortRange, ShortRangeModel), newTestLandmarker(t), newTestEmbedder(t)}
}

// embedAll embeds the best face of each image, two per model call.
func (r *embedRig) embedAll(t testing.TB, imgs []*imgproc.RGB) [][]float32 {
	t.Helper()
	align := make([]imgproc.Affine, len(imgs))
	for i, img := range imgs {
		var m Landmarks
		if err := r.l.Detect(img, firstFace(t, r.d, img), &m); err != nil {
			t.Fatal(err)
		}
		align[i] = AlignLandmarks(&m)
	}
	out := make([][]float32, len(imgs))
	for i := range out {
		out[i] = make([]float32, EmbeddingSize)
	}
	for i := 0; i < len(imgs); i += 2 {
		j := min(i+1, len(imgs)-1)
		if err := r.e.EmbedPair(imgs[i], align[i], imgs[j], align[j], out[i], out[j]); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range out {
		var n float64
		for _, v := range e {
			n += float64(v) * float64(v)
		}
		if math.Abs(n-1) > 1e-4 {
			t.Fatalf("embedding norm² %v, want 1", n)
		}
	}
	return out
}

type johnsSample struct {
	person int
	path   string
	img    *imgproc.RGB
	emb    []float32
}

var johnsCache = map[int][]johnsSample{}

// johnsSet embeds the same-person set: perPerson photos of each person (0 =
// all 11). Results are shared by the tests of one run.
func johnsSet(t *testing.T, r *embedRig, perPerson int) []johnsSample {
	if s, ok := johnsCache[perPerson]; ok {
		return s
	}
	s := embedJohns(t, r, perPerson)
	johnsCache[perPerson] = s
	return s
}

func embedJohns(t *testing.T, r *embedRig, perPerson int) []johnsSample {
	files := needMediaDir(t, "johns", "*/*.jpg")
	people := map[string]int{}
	count := map[int]int{}
	var out []johnsSample
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		p, ok := people[name]
		if !ok {
			p = len(people)
			people[name] = p
		}
		if perPerson > 0 && count[p] >= perPerson {
			continue
		}
		count[p]++
		img := loadImage(t, "johns/"+name+"/"+filepath.Base(f))
		out = append(out, johnsSample{person: p, path: f, img: img})
	}
	if len(people) != 5 {
		t.Fatalf("johns set has %d people, want 5 — run `make setup`", len(people))
	}
	imgs := make([]*imgproc.RGB, len(out))
	for i := range out {
		imgs[i] = out[i].img
	}
	for i, e := range r.embedAll(t, imgs) {
		out[i].emb = e
	}
	return out
}

// rocStats returns the ROC AUC, the equal error rate, and the threshold and
// FNMR at the given false match rate.
func rocStats(same, diff []float64, fmr float64) (auc, eer, thr, fnmr float64) {
	var wins float64
	for _, s := range same {
		for _, d := range diff {
			if s > d {
				wins++
			} else if s == d {
				wins += 0.5
			}
		}
	}
	auc = wins / float64(len(same)*len(diff))
	ds := append([]float64(nil), diff...)
	sort.Float64s(ds)
	k := int(math.Ceil(float64(len(ds)) * (1 - fmr)))
	if k >= len(ds) {
		k = len(ds) - 1
	}
	thr = ds[k]
	fnmr = rate(same, func(s float64) bool { return s < thr })
	best := math.Inf(1)
	for _, th := range append(append([]float64{}, same...), diff...) {
		a := rate(diff, func(d float64) bool { return d >= th })
		b := rate(same, func(s float64) bool { return s < th })
		if math.Abs(a-b) < best {
			best, eer = math.Abs(a-b), (a+b)/2
		}
	}
	return auc, eer, thr, fnmr
}

func rate(xs []float64, f func(float64) bool) float64 {
	n := 0
	for _, x := range xs {
		if f(x) {
			n++
		}
	}
	return float64(n) / float64(len(xs))
}

// Same person vs different people on the johns set (5 people × 11 photos).
func TestEmbeddingSeparationJohns(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (MobileFaceNet, minutes under emulation): runs without -short")
	}
	r := newEmbedRig(t)
	set := johnsSet(t, r, 0)
	var same, diff []float64
	for i := range set {
		for j := i + 1; j < len(set); j++ {
			c := float64(Cosine(set[i].emb, set[j].emb))
			if set[i].person == set[j].person {
				same = append(same, c)
			} else {
				diff = append(diff, c)
			}
		}
	}
	auc, eer, thr, fnmr := rocStats(same, diff, 0.01)
	fm := rate(diff, func(d float64) bool { return d >= DefaultMatchThreshold })
	fnm := rate(same, func(s float64) bool { return s < DefaultMatchThreshold })
	sort.Float64s(same)
	sort.Float64s(diff)
	t.Logf("johns: %d same / %d different pairs: AUC %.4f, EER %.3f, FNMR %.3f at FMR 1%% (threshold %.3f); at %.2f: FMR %.3f FNMR %.3f; same-person min %.3f median %.3f, different-people max %.3f median %.3f",
		len(same), len(diff), auc, eer, fnmr, thr, DefaultMatchThreshold, fm, fnm, same[0], same[len(same)/2], diff[len(diff)-1], diff[len(diff)/2])
	if auc < 0.97 || eer > 0.08 || fnmr > 0.2 {
		t.Errorf("separation too weak: AUC %.4f EER %.3f FNMR@FMR1%% %.3f", auc, eer, fnmr)
	}
	if fm > 0.01 || fnm > 0.1 {
		t.Errorf("DefaultMatchThreshold %.2f gives FMR %.3f FNMR %.3f", DefaultMatchThreshold, fm, fnm)
	}
}

// The same photo under crop, shift and brightness change scores higher
// than any two different people.
func TestEmbeddingStableUnderEdits(t *testing.T) {
	if testing.Short() {
		t.Skip("heavy (≈100 embeddings): runs without -short")
	}
	r := newEmbedRig(t)
	set := johnsSet(t, r, 0)
	editPer := 5
	// Every different-person pair of the set; the edits on up to editPer
	// photos per person to keep the test short.
	edited := map[int]int{}
	maxDiff := -1.0
	for i := range set {
		for j := i + 1; j < len(set); j++ {
			if set[i].person != set[j].person {
				maxDiff = math.Max(maxDiff, float64(Cosine(set[i].emb, set[j].emb)))
			}
		}
	}
	edits := []struct {
		name string
		f    func(*imgproc.RGB) *imgproc.RGB
	}{
		{"crop", func(m *imgproc.RGB) *imgproc.RGB { return cropRGB(m, 6, 10, m.W-14, m.H-14) }},
		{"shift", func(m *imgproc.RGB) *imgproc.RGB { return shiftRGB(m, 12, 8) }},
		{"brighter", func(m *imgproc.RGB) *imgproc.RGB { return scaleRGB(m, 1.3) }},
		{"darker", func(m *imgproc.RGB) *imgproc.RGB { return scaleRGB(m, 0.7) }},
	}
	minEdit := 2.0
	for _, s := range set {
		if edited[s.person]++; edited[s.person] > editPer {
			continue
		}
		var imgs []*imgproc.RGB
		for _, e := range edits {
			imgs = append(imgs, e.f(s.img))
		}
		for k, emb := range r.embedAll(t, imgs) {
			c := float64(Cosine(s.emb, emb))
			minEdit = math.Min(minEdit, c)
			if c <= maxDiff {
				t.Errorf("%s %s: cosine %.3f not above the best different-person pair %.3f", filepath.Base(s.path), edits[k].name, c, maxDiff)
			}
		}
	}
	t.Logf("edited same photo: min cosine %.3f; different people: max %.3f", minEdit, maxDiff)
}

func cropRGB(m *imgproc.RGB, x0, y0, w, h int) *imgproc.RGB {
	out := imgproc.NewRGB(w, h)
	for y := 0; y < h; y++ {
		copy(out.Pix[y*w*3:(y+1)*w*3], m.Pix[((y0+y)*m.W+x0)*3:((y0+y)*m.W+x0+w)*3])
	}
	return out
}

func shiftRGB(m *imgproc.RGB, dx, dy int) *imgproc.RGB {
	out := imgproc.NewRGB(m.W, m.H)
	for y := dy; y < m.H; y++ {
		copy(out.Pix[(y*m.W+dx)*3:(y+1)*m.W*3], m.Pix[(y-dy)*m.W*3:((y-dy)*m.W+m.W-dx)*3])
	}
	return out
}

func scaleRGB(m *imgproc.RGB, k float64) *imgproc.RGB {
	out := imgproc.NewRGB(m.W, m.H)
	for i, v := range m.Pix {
		out.Pix[i] = uint8(math.Min(255, float64(v)*k))
	}
	return out
}

func TestEmbedderBadInput(t *testing.T) {
	// Input checks come before the model is touched.
	e := &Embedder{batch: 2, dim: EmbeddingSize}
	if err := e.Embed(nil, imgproc.Affine{A: 1, E: 1}, make([]float32, EmbeddingSize)); err == nil {
		t.Fatal("nil image accepted")
	}
	if err := e.Embed(imgproc.NewRGB(10, 10), imgproc.Affine{A: 1, E: 1}, make([]float32, 3)); err == nil {
		t.Fatal("short buffer accepted")
	}
}
