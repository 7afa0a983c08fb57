package gallery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/models/face"
	"livegate.dev/models/facematch"
	"livegate.dev/models/facesearch"
)

// Documented limits.
const (
	// DefaultThreshold is a new gallery's match threshold: the calibrated
	// accept threshold of the 1:1 face match (facematch.Accept), so a pair
	// gets one answer on every route. docs/face.md gives its 1:N figures.
	DefaultThreshold = facematch.Accept
	MaxGalleries     = 100
	MaxPersons       = 100_000
	MaxFaces         = 10
	// DefaultTopK and MaxTopK bound the candidates a search returns.
	DefaultTopK = 5
	MaxTopK     = 50
	// MaxProbes is the most probe images of one batch search.
	MaxProbes = 16
)

// Keys returns a tenant's data key (tenancy.Service.DataKey wrapped).
type Keys func(ctx context.Context, tenantID string) (lifecycle.DataKey, error)

// Config configures a Service.
type Config struct {
	// Store keeps galleries and persons. Required.
	Store store.GalleryStore
	// Keys seals and opens templates. Required.
	Keys Keys
	// Clock. Optional. Default: the system clock.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// MaxCached is the most galleries kept decrypted in memory. Optional.
	// Default: 64.
	MaxCached int
}

// Service manages galleries and searches them. It is safe for concurrent use.
type Service struct {
	cfg   Config
	mu    sync.Mutex
	cache map[string]*cached
}

// cached is one gallery's templates opened, at a version.
type cached struct {
	version int64
	ix      *facesearch.Index
	persons map[string]*store.Person // templates stripped
	used    time.Time
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxCached <= 0 {
		cfg.MaxCached = 64
	}
	return &Service{cfg: cfg, cache: map[string]*cached{}}
}

// Gallery returns tenantID's gallery id (gallery.not_found otherwise).
func (s *Service) Gallery(ctx context.Context, tenantID, id string) (*store.Gallery, error) {
	g, err := s.cfg.Store.GetGallery(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && g.TenantID != tenantID) {
		return nil, apierr.New(CodeGalleryNotFound, "gallery %s not found", id)
	}
	return g, err
}

// CreateGallery makes a gallery of tenantID.
func (s *Service) CreateGallery(ctx context.Context, tenantID, name string, threshold float64) (*store.Gallery, error) {
	gs, err := s.cfg.Store.ListGalleries(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if len(gs) >= MaxGalleries {
		return nil, apierr.New(CodeLimitReached, "tenant has %d galleries, the limit", len(gs))
	}
	now := s.cfg.Clock.Now().UTC()
	g := &store.Gallery{ID: core.NewID("gal", now), TenantID: tenantID, Name: name, Threshold: threshold, CreatedAt: now, UpdatedAt: now}
	if err := s.cfg.Store.CreateGallery(ctx, g); err != nil {
		return nil, err
	}
	return g, nil
}

// ListGalleries lists tenantID's galleries.
func (s *Service) ListGalleries(ctx context.Context, tenantID string) ([]*store.Gallery, error) {
	return s.cfg.Store.ListGalleries(ctx, tenantID)
}

// AddPerson adds p (its identity fields set) to gallery g.
func (s *Service) AddPerson(ctx context.Context, g *store.Gallery, p *store.Person) (*store.Person, error) {
	if g.Persons >= MaxPersons {
		return nil, apierr.New(CodeLimitReached, "gallery %s has %d persons, the limit", g.ID, g.Persons)
	}
	now := s.cfg.Clock.Now().UTC()
	p.ID, p.GalleryID, p.TenantID, p.CreatedAt, p.UpdatedAt = core.NewID("per", now), g.ID, g.TenantID, now, now
	err := s.cfg.Store.CreatePerson(ctx, p)
	if errors.Is(err, store.ErrExists) {
		if other := s.byExternalID(ctx, g.ID, p.ExternalID); other != "" {
			return nil, apierr.New(CodePersonExists, "gallery %s already has a person with externalId %q: %s", g.ID, p.ExternalID, other)
		}
		return nil, apierr.New(CodePersonExists, "gallery %s already has a person with externalId %q", g.ID, p.ExternalID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.New(CodeGalleryNotFound, "gallery %s not found", g.ID)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) byExternalID(ctx context.Context, galleryID, ext string) string {
	ps, err := s.cfg.Store.ListPersons(ctx, galleryID)
	if err != nil {
		return ""
	}
	for _, p := range ps {
		if p.ExternalID == ext {
			return p.ID
		}
	}
	return ""
}

// Person returns person id of gallery g.
func (s *Service) Person(ctx context.Context, g *store.Gallery, id string) (*store.Person, error) {
	p, err := s.cfg.Store.GetPerson(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (p.GalleryID != g.ID || p.TenantID != g.TenantID)) {
		return nil, apierr.New(CodePersonNotFound, "person %s not found in gallery %s", id, g.ID)
	}
	return p, err
}

// Persons lists gallery g's persons.
func (s *Service) Persons(ctx context.Context, g *store.Gallery) ([]*store.Person, error) {
	return s.cfg.Store.ListPersons(ctx, g.ID)
}

// DeletePerson deletes person id of gallery g with every template.
func (s *Service) DeletePerson(ctx context.Context, g *store.Gallery, id string) (*store.Person, error) {
	if _, err := s.Person(ctx, g, id); err != nil {
		return nil, err
	}
	p, err := s.cfg.Store.DeletePerson(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.New(CodePersonNotFound, "person %s not found in gallery %s", id, g.ID)
	}
	if err != nil {
		return nil, err
	}
	s.forget(g.ID)
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "gallery: person deleted", slog.String("tenant_id", g.TenantID),
		slog.String("gallery_id", g.ID), slog.String("person_id", id), slog.Int("templates", len(p.Faces)))
	return p, nil
}

// Enrol adds a template to person id of gallery g: emb sealed with the
// tenant's data key, the image's keyed digest (the image is not kept).
func (s *Service) Enrol(ctx context.Context, g *store.Gallery, id string, emb []float32, image []byte) (*store.Person, *store.Template, error) {
	if _, err := s.Person(ctx, g, id); err != nil {
		return nil, nil, err
	}
	k, err := s.cfg.Keys(ctx, g.TenantID)
	if err != nil {
		return nil, nil, fmt.Errorf("gallery: data key of tenant %s: %w", g.TenantID, err)
	}
	now := s.cfg.Clock.Now().UTC()
	t := store.Template{ID: core.NewID("fac", now), SealedEmbedding: k.Seal(lifecycle.EncodeEmbedding(emb)), ImageDigest: k.Digest(image), CreatedAt: now}
	p, err := s.cfg.Store.UpdatePerson(ctx, id, func(p *store.Person) error {
		for _, f := range p.Faces {
			if bytes.Equal(f.ImageDigest, t.ImageDigest) {
				return apierr.New(CodeFaceExists, "person %s already has face %s from this image", id, f.ID)
			}
		}
		if len(p.Faces) >= MaxFaces {
			return apierr.New(CodeLimitReached, "person %s has %d faces, the limit", id, len(p.Faces))
		}
		p.Faces = append(p.Faces, t)
		p.UpdatedAt = now
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, apierr.New(CodePersonNotFound, "person %s not found in gallery %s", id, g.ID)
	}
	if err != nil {
		return nil, nil, err
	}
	s.forget(g.ID)
	return p, &t, nil
}

// Candidate is one person a search returns.
type Candidate struct {
	PersonID    string   `json:"personId" doc:"The person (per_…)."`
	ExternalID  string   `json:"externalId" doc:"Your identifier of the person."`
	DisplayName string   `json:"displayName,omitempty"`
	Zones       []string `json:"zones,omitempty" doc:"The person's zones, for your access rule."`
	Similarity  float64  `json:"similarity" doc:"Cosine similarity of the probe to the person's best enrolled face, in [-1, 1] (4 decimals)."`
	Match       bool     `json:"match" doc:"similarity ≥ the gallery's threshold."`
	ValidNow    bool     `json:"validNow" doc:"The search time is within the person's validFrom–validTo window (true without one)."`
}

// Search returns the k persons of gallery g most similar to probe.
func (s *Service) Search(ctx context.Context, g *store.Gallery, probe []float32, k int) ([]Candidate, error) {
	c, err := s.open(ctx, g)
	if err != nil {
		return nil, err
	}
	hits, err := c.ix.Search(probe, k)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Clock.Now()
	out := make([]Candidate, 0, len(hits))
	for _, h := range hits {
		p := c.persons[h.ID]
		sim := math.Round(h.Similarity*1e4) / 1e4
		out = append(out, Candidate{PersonID: p.ID, ExternalID: p.ExternalID, DisplayName: p.DisplayName, Zones: p.Zones,
			Similarity: sim, Match: sim >= g.Threshold, ValidNow: ValidAt(p, now)})
	}
	return out, nil
}

// ValidAt says whether t is within p's validity window.
func ValidAt(p *store.Person, t time.Time) bool {
	return (p.ValidFrom == nil || !t.Before(*p.ValidFrom)) && (p.ValidTo == nil || t.Before(*p.ValidTo))
}

// open returns g's templates decrypted, from the cache while its version
// is g's.
func (s *Service) open(ctx context.Context, g *store.Gallery) (*cached, error) {
	s.mu.Lock()
	c := s.cache[g.ID]
	if c != nil && c.version == g.Version {
		c.used = s.cfg.Clock.Now()
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	// g was read before the persons: if its version is still the stored
	// one after, the persons read are that version's.
	ps, err := s.cfg.Store.ListPersons(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	k, err := s.cfg.Keys(ctx, g.TenantID)
	if err != nil {
		return nil, fmt.Errorf("gallery: data key of tenant %s: %w", g.TenantID, err)
	}
	c, err = openAll(ps, k)
	if err != nil {
		return nil, err
	}
	c.version, c.used = g.Version, s.cfg.Clock.Now()
	if cur, err := s.cfg.Store.GetGallery(ctx, g.ID); err == nil && cur.Version != g.Version {
		c.version = -1 // changed while reading: serve this search, cache nothing
		return c, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= s.cfg.MaxCached {
		var oldest string
		for id, e := range s.cache {
			if oldest == "" || e.used.Before(s.cache[oldest].used) {
				oldest = id
			}
		}
		delete(s.cache, oldest)
	}
	s.cache[g.ID] = c
	return c, nil
}

func (s *Service) forget(galleryID string) {
	s.mu.Lock()
	delete(s.cache, galleryID)
	s.mu.Unlock()
}

// openAll opens every template of persons with k into a fresh index.
func openAll(ps []*store.Person, k lifecycle.DataKey) (*cached, error) {
	c := &cached{ix: facesearch.NewIndex(face.EmbeddingSize), persons: make(map[string]*store.Person, len(ps))}
	for _, p := range ps {
		for _, t := range p.Faces {
			plain, err := k.Open(t.SealedEmbedding)
			if err != nil {
				return nil, fmt.Errorf("gallery: opening template %s of person %s: %w", t.ID, p.ID, err)
			}
			v, err := lifecycle.DecodeEmbedding(plain)
			if err != nil {
				return nil, fmt.Errorf("gallery: template %s of person %s: %w", t.ID, p.ID, err)
			}
			if err := c.ix.Add(p.ID, v); err != nil {
				return nil, err
			}
		}
		meta := *p
		meta.Faces = nil
		c.persons[p.ID] = &meta
	}
	return c, nil
}
