package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/store"
)

func person(id, gallery, ext string) *store.Person {
	return &store.Person{ID: id, GalleryID: gallery, TenantID: "ten_1", ExternalID: ext, DisplayName: "P " + ext,
		Zones: []string{"lobby"}, CreatedAt: T0, UpdatedAt: T0,
		Faces: []store.Template{{ID: "tpl_" + id, SealedEmbedding: []byte("sealed-" + id), CreatedAt: T0}}}
}

func testGalleries(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, g := range []*store.Gallery{
		{ID: "gal_b", TenantID: "ten_1", Name: "staff", Threshold: 0.6, CreatedAt: T0, UpdatedAt: T0},
		{ID: "gal_a", TenantID: "ten_1", Name: "visitors", Threshold: 0.7, CreatedAt: T0, UpdatedAt: T0},
		{ID: "gal_c", TenantID: "ten_2", Threshold: 0.6, CreatedAt: T0, UpdatedAt: T0},
	} {
		if err := s.CreateGallery(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateGallery(ctx, &store.Gallery{ID: "gal_a", TenantID: "ten_2"}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateGallery(taken id): %v", err)
	}
	gs, err := s.ListGalleries(ctx, "ten_1")
	if err != nil || len(gs) != 2 || gs[0].ID != "gal_a" || gs[1].ID != "gal_b" || gs[0].Threshold != 0.7 {
		t.Fatalf("ListGalleries(ten_1) = %v, %v", gs, err)
	}
	if gs, err := s.ListGalleries(ctx, "ten_3"); err != nil || len(gs) != 0 {
		t.Fatalf("ListGalleries(ten_3) = %v, %v", gs, err)
	}
	if _, err := s.GetGallery(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetGallery(nope): %v", err)
	}

	for _, c := range []struct {
		name string
		p    *store.Person
		want error
	}{
		{"first", person("per_1", "gal_a", "emp-1"), nil},
		{"second", person("per_2", "gal_a", "emp-2"), nil},
		{"same external id in another gallery", person("per_3", "gal_b", "emp-1"), nil},
		{"taken id", person("per_1", "gal_b", "emp-9"), store.ErrExists},
		{"taken external id", person("per_4", "gal_a", "emp-1"), store.ErrExists},
		{"no gallery", person("per_5", "gal_zz", "emp-5"), store.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.CreatePerson(ctx, c.p)
			if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("CreatePerson(%s): %v, want %v", c.p.ID, err, c.want)
			}
		})
	}
	g, err := s.GetGallery(ctx, "gal_a")
	if err != nil || g.Version != 2 || g.Persons != 2 {
		t.Fatalf("gal_a after two persons: %+v %v", g, err)
	}
	ps, err := s.ListPersons(ctx, "gal_a")
	if err != nil || len(ps) != 2 || ps[0].ID != "per_1" || ps[1].ID != "per_2" || !bytes.Equal(ps[0].Faces[0].SealedEmbedding, []byte("sealed-per_1")) {
		t.Fatalf("ListPersons(gal_a) = %v, %v", ps, err)
	}

	later := T0.Add(time.Minute)
	p, err := s.UpdatePerson(ctx, "per_1", func(p *store.Person) error {
		p.Faces = append(p.Faces, store.Template{ID: "tpl_x", SealedEmbedding: []byte("x"), CreatedAt: later})
		p.UpdatedAt = later
		return nil
	})
	if err != nil || len(p.Faces) != 2 {
		t.Fatalf("UpdatePerson: %+v %v", p, err)
	}
	if g, _ := s.GetGallery(ctx, "gal_a"); g.Version != 3 || g.Persons != 2 || !g.UpdatedAt.Equal(later) {
		t.Fatalf("gal_a after an update: %+v", g)
	}
	boom := errors.New("boom")
	if _, err := s.UpdatePerson(ctx, "per_1", func(p *store.Person) error { p.Faces = nil; return boom }); !errors.Is(err, boom) {
		t.Fatalf("UpdatePerson(fn fails): %v", err)
	}
	if _, err := s.UpdatePerson(ctx, "per_1", func(p *store.Person) error { p.ExternalID = "other"; return nil }); err == nil {
		t.Fatal("UpdatePerson changed the external id")
	}
	if _, err := s.UpdatePerson(ctx, "nope", func(*store.Person) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdatePerson(nope): %v", err)
	}
	if p, _ := s.GetPerson(ctx, "per_1"); len(p.Faces) != 2 || p.ExternalID != "emp-1" {
		t.Fatalf("per_1 after refused updates: %+v", p)
	}
	if g, _ := s.GetGallery(ctx, "gal_a"); g.Version != 3 {
		t.Fatalf("a refused update bumped the version: %+v", g)
	}

	del, err := s.DeletePerson(ctx, "per_1")
	if err != nil || del.ID != "per_1" || len(del.Faces) != 2 {
		t.Fatalf("DeletePerson: %+v %v", del, err)
	}
	if _, err := s.GetPerson(ctx, "per_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetPerson(deleted): %v", err)
	}
	if _, err := s.DeletePerson(ctx, "per_1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeletePerson(deleted): %v", err)
	}
	if g, _ := s.GetGallery(ctx, "gal_a"); g.Version != 4 || g.Persons != 1 {
		t.Fatalf("gal_a after a delete: %+v", g)
	}
	// The external id is free again once its person is deleted.
	if err := s.CreatePerson(ctx, person("per_6", "gal_a", "emp-1")); err != nil {
		t.Fatalf("CreatePerson(freed external id): %v", err)
	}

	// Concurrent enrolments into one gallery: every one counted once.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%2 == 0 {
				errs <- s.CreatePerson(ctx, person(fmt.Sprintf("per_c%d", i), "gal_b", fmt.Sprintf("c-%d", i)))
				return
			}
			_, err := s.UpdatePerson(ctx, "per_3", func(p *store.Person) error { p.DisplayName = fmt.Sprint(i); return nil })
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if g, _ := s.GetGallery(ctx, "gal_b"); g.Persons != 11 || g.Version != 21 {
		t.Fatalf("gal_b after 10 creates and 10 updates: persons %d version %d, want 11 and 21", g.Persons, g.Version)
	}
}
