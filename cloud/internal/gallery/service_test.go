package gallery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/models/face"
)

// unit is a made-up embedding pointing along axis i (mixed with j).
func unit(i, j int, mix float32) []float32 {
	v := make([]float32, face.EmbeddingSize)
	v[i], v[j] = 1, mix
	return v
}

// TestReplicas: two services on one store, as two replicas on one
// PostgreSQL: what one enrols or deletes, the other's next search sees,
// though it had the gallery cached; validity windows read at search time.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, err := secret.New(bytes.Repeat([]byte{9}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	ten := tenancy.New(st, sealer, clk)
	nt, err := ten.Create(ctx, "acme", core.TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(ctx context.Context, id string) (lifecycle.DataKey, error) { return ten.DataKey(ctx, id) }
	a, b := New(Config{Store: st, Keys: keys, Clock: clk}), New(Config{Store: st, Keys: keys, Clock: clk})

	g, err := a.CreateGallery(ctx, nt.Tenant.ID, "staff", DefaultThreshold)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Gallery(ctx, "ten_other", g.ID); !isCode(err, CodeGalleryNotFound) {
		t.Fatalf("another tenant's gallery: %v", err)
	}
	later := clk.Now().Add(time.Hour)
	ann, err := a.AddPerson(ctx, g, &store.Person{ExternalID: "ann", ValidFrom: &later})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddPerson(ctx, g, &store.Person{ExternalID: "ann"}); !isCode(err, CodePersonExists) {
		t.Fatalf("same externalId: %v", err)
	}
	if _, _, err := a.Enrol(ctx, g, ann.ID, unit(0, 1, 0), []byte("img-ann")); err != nil {
		t.Fatal(err)
	}
	search := func(s *Service, probe []float32) []Candidate {
		t.Helper()
		g, err := s.Gallery(ctx, nt.Tenant.ID, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Search(ctx, g, probe, 5)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := search(b, unit(0, 1, 0.1)); len(c) != 1 || c[0].PersonID != ann.ID || !c[0].Match || c[0].ValidNow {
		t.Fatalf("b finds ann (not yet valid): %+v", c)
	}
	// a enrols bob; b had the gallery cached at the older version.
	bob, err := a.AddPerson(ctx, g, &store.Person{ExternalID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Enrol(ctx, g, bob.ID, unit(5, 6, 0), []byte("img-bob")); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if c := search(b, unit(5, 6, 0.2)); len(c) != 2 || c[0].PersonID != bob.ID || !c[0].Match || c[1].Match || !c[1].ValidNow {
		t.Fatalf("b finds bob enrolled by a: %+v", c)
	}
	// A second template of ann: she scores at her best one.
	if _, _, err := b.Enrol(ctx, g, ann.ID, unit(9, 10, 0), []byte("img-ann-2")); err != nil {
		t.Fatal(err)
	}
	if c := search(a, unit(9, 10, 0)); c[0].PersonID != ann.ID || c[0].Similarity != 1 {
		t.Fatalf("ann's second template: %+v", c)
	}
	if _, err := a.DeletePerson(ctx, g, bob.ID); err != nil {
		t.Fatal(err)
	}
	if c := search(b, unit(5, 6, 0.2)); len(c) != 1 || c[0].PersonID != ann.ID || c[0].Match {
		t.Fatalf("b after a deleted bob: %+v", c)
	}
	if _, err := b.DeletePerson(ctx, g, bob.ID); !isCode(err, CodePersonNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	// At rest: sealed, not the encoded embedding.
	p, _ := st.GetPerson(ctx, ann.ID)
	if len(p.Faces) != 2 || bytes.Contains(p.Faces[0].SealedEmbedding, lifecycle.EncodeEmbedding(unit(0, 1, 0))[:16]) {
		t.Fatalf("ann at rest: %d templates", len(p.Faces))
	}
}

func isCode(err error, c apierr.Code) bool {
	e, ok := apierr.As(err)
	return ok && e.Code.ID == c.ID && !errors.Is(err, context.Canceled)
}

// BenchmarkOpen10k: what the first search after a change pays on a
// 10,000-person gallery (one template each): opening every sealed
// template with the tenant's data key into the index (the store read
// not counted).
func BenchmarkOpen10k(b *testing.B) {
	ctx := context.Background()
	st, err := bolt.Open(b.TempDir(), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sealer, _ := secret.New(bytes.Repeat([]byte{9}, secret.KeySize))
	ten := tenancy.New(st, sealer, clock.Real{})
	nt, err := ten.Create(ctx, "acme", core.TenantTest)
	if err != nil {
		b.Fatal(err)
	}
	dk, err := ten.DataKey(ctx, nt.Tenant.ID)
	if err != nil {
		b.Fatal(err)
	}
	ps := make([]*store.Person, 10_000)
	for i := range ps {
		v := unit(i%face.EmbeddingSize, (i+1)%face.EmbeddingSize, float32(i%97)/97)
		ps[i] = &store.Person{ID: fmt.Sprintf("per_%05d", i), ExternalID: fmt.Sprint(i),
			Faces: []store.Template{{ID: "t", SealedEmbedding: dk.Seal(lifecycle.EncodeEmbedding(v))}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, err := openAll(ps, dk)
		if err != nil || c.ix.Templates() != len(ps) {
			b.Fatal(err)
		}
	}
}
