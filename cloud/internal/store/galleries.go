package store

import (
	"context"
	"time"
)

// Gallery is a tenant's set of enrolled persons that face searches run
// against (POST /v1/face/search).
type Gallery struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name,omitempty"`
	// Threshold is the cosine similarity at or above which a search calls
	// a candidate a match.
	Threshold float64 `json:"threshold"`
	// Version grows by one with every change to the gallery's persons, in
	// the same transaction: a replica's cache of decrypted embeddings is
	// current while its version is the stored one.
	Version   int64     `json:"version"`
	Persons   int       `json:"persons"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Person is one enrolled identity of a gallery.
type Person struct {
	ID          string     `json:"id"`
	GalleryID   string     `json:"gallery_id"`
	TenantID    string     `json:"tenant_id"`
	ExternalID  string     `json:"external_id"`
	DisplayName string     `json:"display_name,omitempty"`
	ValidFrom   *time.Time `json:"valid_from,omitempty"`
	ValidTo     *time.Time `json:"valid_to,omitempty"`
	Zones       []string   `json:"zones,omitempty"`
	Faces       []Template `json:"faces,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Template is one enrolled face: its embedding sealed with the tenant's
// data key (never kept in clear), and the keyed digest of the image it
// came from (the image itself is not kept).
type Template struct {
	ID              string    `json:"id"`
	SealedEmbedding []byte    `json:"sealed_embedding"`
	ImageDigest     []byte    `json:"image_digest,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
}

// GalleryStore is the galleries' part of the Store.
type GalleryStore interface {
	// CreateGallery stores a new gallery (ErrExists if its id is taken).
	CreateGallery(ctx context.Context, g *Gallery) error
	GetGallery(ctx context.Context, id string) (*Gallery, error)
	// ListGalleries lists tenantID's galleries by id.
	ListGalleries(ctx context.Context, tenantID string) ([]*Gallery, error)
	// CreatePerson stores a new person in its gallery and bumps the
	// gallery's Version and Persons, in one transaction: ErrNotFound
	// without the gallery, ErrExists if the id, or the external id within
	// the gallery, is taken.
	CreatePerson(ctx context.Context, p *Person) error
	GetPerson(ctx context.Context, id string) (*Person, error)
	// ListPersons lists a gallery's persons by id.
	ListPersons(ctx context.Context, galleryID string) ([]*Person, error)
	// UpdatePerson applies fn to the current person and bumps its
	// gallery's Version, in one transaction (id, gallery, tenant and
	// external id are immutable). If fn returns an error nothing is written.
	UpdatePerson(ctx context.Context, id string, fn func(*Person) error) (*Person, error)
	// DeletePerson removes a person with every template and bumps its
	// gallery's Version, in one transaction; it returns what was deleted.
	DeletePerson(ctx context.Context, id string) (*Person, error)
}
