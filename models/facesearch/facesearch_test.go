package facesearch

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/facematch"
	"livegate.dev/models/ort"
)

func TestSearch(t *testing.T) {
	ix := NewIndex(3)
	for _, a := range []struct {
		id string
		v  []float32
	}{
		{"ann", []float32{1, 0, 0}},
		{"ann", []float32{0, 2, 0}}, // a second template, not normalised
		{"bob", []float32{0.8, 0.6, 0}},
		{"cy", []float32{0, 0, 1}},
	} {
		if err := ix.Add(a.id, a.v); err != nil {
			t.Fatal(err)
		}
	}
	if ix.Templates() != 4 || ix.Identities() != 3 || ix.Bytes() != 48 {
		t.Fatalf("templates %d identities %d bytes %d", ix.Templates(), ix.Identities(), ix.Bytes())
	}
	for _, c := range []struct {
		name  string
		probe []float32
		k     int
		want  []Hit
	}{
		{"best template of each identity", []float32{0, 1, 0}, 3, []Hit{{"ann", 1}, {"bob", 0.6}, {"cy", 0}}},
		{"k cuts", []float32{1, 0, 0}, 2, []Hit{{"ann", 1}, {"bob", 0.8}}},
		{"one", []float32{0, 0, 5}, 1, []Hit{{"cy", 1}}},
		{"k above the gallery", []float32{0, 0, 1}, 10, []Hit{{"cy", 1}, {"ann", 0}, {"bob", 0}}},
		{"k zero", []float32{1, 0, 0}, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ix.Search(c.probe, c.k)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i].ID != c.want[i].ID || math.Abs(got[i].Similarity-c.want[i].Similarity) > 1e-6 {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"short probe", func() error { _, err := ix.Search([]float32{1}, 1); return err }()},
		{"zero probe", func() error { _, err := ix.Search([]float32{0, 0, 0}, 1); return err }()},
		{"zero template", ix.Add("z", []float32{0, 0, 0})},
		{"long template", ix.Add("z", []float32{1, 0, 0, 0})},
	} {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestEvaluateCounts: on made-up embeddings with known truth, every count
// and rate is what the protocol says.
func TestEvaluateCounts(t *testing.T) {
	unit := func(i int, mix float32) []float32 {
		v := make([]float32, face.EmbeddingSize)
		v[i] = 1
		v[(i+1)%len(v)] = mix
		return v
	}
	// Three people with two faces each (the second near the first), and
	// one stranger that looks like person 0 at 0.8.
	faces := []facematch.Embedded{
		{Photo: "a1", Identity: "a", Vec: unit(0, 0)}, {Photo: "a2", Identity: "a", Vec: unit(0, 0.2)},
		{Photo: "b1", Identity: "b", Vec: unit(10, 0)}, {Photo: "b2", Identity: "b", Vec: unit(10, 2)}, // b2 at cos 0.45
		{Photo: "c1", Identity: "c", Vec: unit(20, 0)}, {Photo: "c2", Identity: "c", Vec: unit(20, 0.1)},
		{Photo: "s", Identity: "s", Vec: unit(0, 0.75)},
	}
	f, err := Evaluate(faces, 3, 50, 0.6, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mated+f.NonMated != 50*4 || f.Mated == 0 || f.NonMated == 0 {
		t.Fatalf("searches %d mated + %d non-mated, want 200 in all", f.Mated, f.NonMated)
	}
	// Every mated search of b misses (0.45 < 0.6), others hit.
	if f.Misses == 0 || f.FNIR <= 0 || f.FNIR >= 0.5 || f.MatedMin > 0.45 || f.MatedMin < 0.44 {
		t.Fatalf("misses %d FNIR %.3f mated min %.3f", f.Misses, f.FNIR, f.MatedMin)
	}
	// A non-mated search is false positive exactly when it is s's face
	// with a enrolled, or a's face (a2 or a1) with s enrolled and a not.
	if f.FalsePositives == 0 || f.FPIR <= 0 || f.NonMatedMax < 0.79 {
		t.Fatalf("false positives %d FPIR %.3f non-mated max %.3f", f.FalsePositives, f.FPIR, f.NonMatedMax)
	}
	if f.FPIRUpper95 <= f.FPIR || f.FNIRUpper95 <= f.FNIR {
		t.Fatalf("upper bounds %v %v not above %v %v", f.FPIRUpper95, f.FNIRUpper95, f.FPIR, f.FNIR)
	}
	if _, err := Evaluate(faces, 4, 1, 0.6, 1, 1); err == nil {
		t.Fatal("a gallery of every identity has no non-mated search: want an error")
	}
	if _, u := rate(0, 300, 30); u != 0.1 {
		t.Fatalf("rule of three on 30: %v", u)
	}
}

// TestSearchOnRealPhotos: on the calibration photos, a search finds the
// enrolled person from another photo of them and nobody for a stranger,
// at the engine's threshold, for every gallery size the docs quote.
func TestSearchOnRealPhotos(t *testing.T) {
	if testing.Short() {
		t.Skip("embeds 90 faces")
	}
	media := filepath.Join(assets.CacheDir(), "media")
	set, err := facematch.Calibration(media)
	if err == nil {
		var e *facematch.Embedder
		if e, err = facematch.NewEmbedder(ort.Options{}); err == nil {
			defer e.Close()
			var faces []facematch.Embedded
			if faces, err = e.EmbedAll(media, set); err == nil {
				for _, size := range EvalSizes {
					f, err := Evaluate(faces, size, EvalDraws, facematch.Accept, EvalCandidates, EvalSeed)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("N=%d: %d mated (%d faces) FNIR %.3f (≤ %.3f), %d non-mated (%d faces) FPIR %.3f (≤ %.3f), mated min %.3f non-mated max %.3f",
						size, f.Mated, f.DistinctMated, f.FNIR, f.FNIRUpper95, f.NonMated, f.DistinctNonMated, f.FPIR, f.FPIRUpper95, f.MatedMin, f.NonMatedMax)
					if f.Mated < 100 || f.NonMated < 100 || f.FNIR > 0 || f.FPIR > 0 {
						t.Errorf("N=%d: %+v", size, f)
					}
				}
				return
			}
		}
	}
	if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
		t.Skipf("media or models missing: %v", err)
	}
	t.Fatalf("%v — run `make setup`", err)
}

// BenchmarkSearch: one top-5 search of a 192-d probe in a gallery of
// 10,000 synthetic persons (random unit vectors, one template each).
func BenchmarkSearch(b *testing.B) {
	const persons = 10_000
	rng := rand.New(rand.NewPCG(1, 2))
	random := func() []float32 {
		v := make([]float32, face.EmbeddingSize)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	ix := NewIndex(face.EmbeddingSize)
	for i := 0; i < persons; i++ {
		if err := ix.Add(string(rune('a'+i%26))+string(rune(i)), random()); err != nil {
			b.Fatal(err)
		}
	}
	probe := random()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if hits, err := ix.Search(probe, 5); err != nil || len(hits) != 5 {
			b.Fatal(hits, err)
		}
	}
	b.ReportMetric(float64(ix.Bytes())/(1<<20), "gallery-MiB")
}
