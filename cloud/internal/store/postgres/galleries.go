package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/store"
)

func (s *Store) CreateGallery(ctx context.Context, g *store.Gallery) error {
	if g == nil || g.ID == "" || g.TenantID == "" {
		return errors.New("postgres: create gallery: missing id or tenant")
	}
	doc, err := encode("gallery", g.ID, g)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "create gallery", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO galleries (id, tenant_id, doc) VALUES ($1, $2, $3)", g.ID, g.TenantID, doc)
		return mapErr("create gallery "+g.ID, err)
	})
}

func (s *Store) GetGallery(ctx context.Context, id string) (*store.Gallery, error) {
	if err := s.check("get gallery"); err != nil {
		return nil, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT doc FROM galleries WHERE id = $1", id).Scan(&doc); err != nil {
		return nil, mapErr(fmt.Sprintf("gallery %q", id), err)
	}
	return decode[store.Gallery]("gallery", id, doc)
}

func (s *Store) ListGalleries(ctx context.Context, tenantID string) ([]*store.Gallery, error) {
	return list[store.Gallery](ctx, s, "list galleries", "SELECT id, doc FROM galleries WHERE tenant_id = $1 ORDER BY id", tenantID)
}

// bumpGallery adds delta persons and one version to gallery id, locking
// it. Writers lock the person's row before its gallery's (a create locks
// only the gallery), so two writers never wait on each other in a cycle.
func bumpGallery(ctx context.Context, tx pgx.Tx, id string, delta int, p *store.Person) error {
	var doc []byte
	if err := tx.QueryRow(ctx, "SELECT doc FROM galleries WHERE id = $1 FOR UPDATE", id).Scan(&doc); err != nil {
		return mapErr(fmt.Sprintf("gallery %q", id), err)
	}
	g, err := decode[store.Gallery]("gallery", id, doc)
	if err != nil {
		return err
	}
	g.Version++
	g.Persons += delta
	g.UpdatedAt = p.UpdatedAt
	if doc, err = encode("gallery", id, g); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "UPDATE galleries SET doc = $2 WHERE id = $1", id, doc)
	return mapErr("update gallery "+id, err)
}

func (s *Store) CreatePerson(ctx context.Context, p *store.Person) error {
	if p == nil || p.ID == "" || p.GalleryID == "" || p.ExternalID == "" {
		return errors.New("postgres: create person: missing id, gallery or external id")
	}
	doc, err := encode("person", p.ID, p)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "create person", func(tx pgx.Tx) error {
		if err := bumpGallery(ctx, tx, p.GalleryID, 1, p); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO persons (id, gallery_id, external_id, doc) VALUES ($1, $2, $3, $4)", p.ID, p.GalleryID, p.ExternalID, doc)
		return mapErr("create person "+p.ID, err)
	})
}

func (s *Store) GetPerson(ctx context.Context, id string) (*store.Person, error) {
	if err := s.check("get person"); err != nil {
		return nil, err
	}
	var doc []byte
	if err := s.pool.QueryRow(ctx, "SELECT doc FROM persons WHERE id = $1", id).Scan(&doc); err != nil {
		return nil, mapErr(fmt.Sprintf("person %q", id), err)
	}
	return decode[store.Person]("person", id, doc)
}

func (s *Store) ListPersons(ctx context.Context, galleryID string) ([]*store.Person, error) {
	return list[store.Person](ctx, s, "list persons", "SELECT id, doc FROM persons WHERE gallery_id = $1 ORDER BY id", galleryID)
}

func (s *Store) UpdatePerson(ctx context.Context, id string, fn func(*store.Person) error) (*store.Person, error) {
	var out *store.Person
	err := s.inTx(ctx, "update person", func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, "SELECT doc FROM persons WHERE id = $1 FOR UPDATE", id).Scan(&doc); err != nil {
			return mapErr(fmt.Sprintf("person %q", id), err)
		}
		p, err := decode[store.Person]("person", id, doc)
		if err != nil {
			return err
		}
		gallery, tenant, ext := p.GalleryID, p.TenantID, p.ExternalID
		if err := fn(p); err != nil {
			return callerError{err}
		}
		if p.ID != id || p.GalleryID != gallery || p.TenantID != tenant || p.ExternalID != ext {
			return fmt.Errorf("postgres: update person %s: id, gallery, tenant and external id are immutable", id)
		}
		if doc, err = encode("person", id, p); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE persons SET doc = $2 WHERE id = $1", id, doc); err != nil {
			return mapErr("update person "+id, err)
		}
		out = p
		return bumpGallery(ctx, tx, gallery, 0, p)
	})
	if err != nil {
		return nil, unwrapCaller(err)
	}
	return out, nil
}

func (s *Store) DeletePerson(ctx context.Context, id string) (*store.Person, error) {
	var out *store.Person
	err := s.inTx(ctx, "delete person", func(tx pgx.Tx) error {
		var doc []byte
		if err := tx.QueryRow(ctx, "DELETE FROM persons WHERE id = $1 RETURNING doc", id).Scan(&doc); err != nil {
			return mapErr(fmt.Sprintf("person %q", id), err)
		}
		p, err := decode[store.Person]("person", id, doc)
		if err != nil {
			return err
		}
		if err := bumpGallery(ctx, tx, p.GalleryID, -1, p); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
