package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/store"
)

var (
	bGalleries     = []byte("galleries")      // id → Gallery JSON
	bGalleryTenant = []byte("gallery_tenant") // tenant \x00 id → nil
	bPersons       = []byte("persons")        // id → Person JSON
	bPersonGallery = []byte("person_gallery") // gallery \x00 id → nil
	bPersonExt     = []byte("person_ext")     // gallery \x00 external id → person id
)

func init() {
	allBuckets = append(allBuckets, bGalleries, bGalleryTenant, bPersons, bPersonGallery, bPersonExt)
}

func (s *Store) CreateGallery(ctx context.Context, g *store.Gallery) error {
	if g == nil || g.ID == "" || g.TenantID == "" {
		return errors.New("bolt: create gallery: missing id or tenant")
	}
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("bolt: encode gallery %s: %w", g.ID, err)
	}
	return s.write(ctx, func(tx *bbolt.Tx) error {
		gb := bucket(tx, bGalleries)
		if gb.Get([]byte(g.ID)) != nil {
			return reject(exists("gallery", g.ID))
		}
		if err := bucket(tx, bGalleryTenant).Put(pairKey(g.TenantID, g.ID), nil); err != nil {
			return err
		}
		return gb.Put([]byte(g.ID), data)
	})
}

func (s *Store) GetGallery(ctx context.Context, id string) (*store.Gallery, error) {
	return getRecord[store.Gallery](ctx, s, bGalleries, "gallery", id)
}

func (s *Store) ListGalleries(ctx context.Context, tenantID string) ([]*store.Gallery, error) {
	return listOwned[store.Gallery](ctx, s, bGalleryTenant, bGalleries, "gallery", tenantID)
}

// bumpGallery adds delta persons and one version to gallery id.
func bumpGallery(tx *bbolt.Tx, id string, delta int, p *store.Person) error {
	gb := bucket(tx, bGalleries)
	v := gb.Get([]byte(id))
	if v == nil {
		return reject(notFound("gallery", id))
	}
	g, err := decode[store.Gallery]("gallery", id, v)
	if err != nil {
		return reject(err)
	}
	g.Version++
	g.Persons += delta
	g.UpdatedAt = p.UpdatedAt
	data, err := json.Marshal(g)
	if err != nil {
		return reject(err)
	}
	return gb.Put([]byte(id), data)
}

func (s *Store) CreatePerson(ctx context.Context, p *store.Person) error {
	if p == nil || p.ID == "" || p.GalleryID == "" || p.ExternalID == "" {
		return errors.New("bolt: create person: missing id, gallery or external id")
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("bolt: encode person %s: %w", p.ID, err)
	}
	return s.write(ctx, func(tx *bbolt.Tx) error {
		pb, xb := bucket(tx, bPersons), bucket(tx, bPersonExt)
		if pb.Get([]byte(p.ID)) != nil {
			return reject(exists("person", p.ID))
		}
		ext := pairKey(p.GalleryID, p.ExternalID)
		if xb.Get(ext) != nil {
			return reject(exists("person with external id", p.ExternalID))
		}
		if err := bumpGallery(tx, p.GalleryID, 1, p); err != nil {
			return err
		}
		if err := xb.Put(ext, []byte(p.ID)); err != nil {
			return err
		}
		if err := bucket(tx, bPersonGallery).Put(pairKey(p.GalleryID, p.ID), nil); err != nil {
			return err
		}
		return pb.Put([]byte(p.ID), data)
	})
}

func (s *Store) GetPerson(ctx context.Context, id string) (*store.Person, error) {
	return getRecord[store.Person](ctx, s, bPersons, "person", id)
}

func (s *Store) ListPersons(ctx context.Context, galleryID string) ([]*store.Person, error) {
	return listOwned[store.Person](ctx, s, bPersonGallery, bPersons, "person", galleryID)
}

// getRecord reads the kind record id of bucket b.
func getRecord[T any](ctx context.Context, s *Store, b []byte, kind, id string) (*T, error) {
	var out *T
	err := s.view(ctx, "get "+kind, func(tx *bbolt.Tx) error {
		v := tx.Bucket(b).Get([]byte(id))
		if v == nil {
			return notFound(kind, id)
		}
		var err error
		out, err = decode[T](kind, id, v)
		return err
	})
	return out, err
}

// listOwned reads the kind records of bucket data that the index bucket
// idx lists under owner (keys pairKey(owner, id)), in id order.
func listOwned[T any](ctx context.Context, s *Store, idx, data []byte, kind, owner string) ([]*T, error) {
	var out []*T
	err := s.view(ctx, "list "+kind+"s", func(tx *bbolt.Tx) error {
		db := tx.Bucket(data)
		prefix := pairKey(owner, "")
		c := tx.Bucket(idx).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			id := string(k[len(prefix):])
			r, err := decode[T](kind, id, db.Get([]byte(id)))
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

func (s *Store) UpdatePerson(ctx context.Context, id string, fn func(*store.Person) error) (*store.Person, error) {
	var out *store.Person
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		pb := bucket(tx, bPersons)
		v := pb.Get([]byte(id))
		if v == nil {
			return reject(notFound("person", id))
		}
		p, err := decode[store.Person]("person", id, v)
		if err != nil {
			return reject(err)
		}
		gallery, tenant, ext := p.GalleryID, p.TenantID, p.ExternalID
		if err := fn(p); err != nil {
			return reject(err)
		}
		if p.ID != id || p.GalleryID != gallery || p.TenantID != tenant || p.ExternalID != ext {
			return reject(fmt.Errorf("bolt: update person %s: id, gallery, tenant and external id are immutable", id))
		}
		data, err := json.Marshal(p)
		if err != nil {
			return reject(err)
		}
		if err := bumpGallery(tx, gallery, 0, p); err != nil {
			return err
		}
		out = p
		return pb.Put([]byte(id), data)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) DeletePerson(ctx context.Context, id string) (*store.Person, error) {
	var out *store.Person
	err := s.write(ctx, func(tx *bbolt.Tx) error {
		pb := bucket(tx, bPersons)
		v := pb.Get([]byte(id))
		if v == nil {
			return reject(notFound("person", id))
		}
		p, err := decode[store.Person]("person", id, v)
		if err != nil {
			return reject(err)
		}
		if err := bumpGallery(tx, p.GalleryID, -1, p); err != nil {
			return err
		}
		if err := bucket(tx, bPersonExt).Delete(pairKey(p.GalleryID, p.ExternalID)); err != nil {
			return err
		}
		if err := bucket(tx, bPersonGallery).Delete(pairKey(p.GalleryID, p.ID)); err != nil {
			return err
		}
		out = p
		return pb.Delete([]byte(id))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
