package gallery

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/jsonbody"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/faceapi"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/models/icao"
)

// Enrolment quality: what a template's face must show (gallery.poor_image).
const (
	MinFaceWidth  = 64   // px, facematch.MinFace
	MinSharpness  = 20.0 // faceapi's Laplacian variance over the face box
	MinEyesOpen   = icao.MinEyeOpen
	MinBrightness = 40.0
	MaxBrightness = 230.0
)

const (
	scopeRead  = core.ScopeGalleriesRead
	scopeWrite = core.ScopeGalleriesWrite
)

// Principal is an authenticated caller.
type Principal struct {
	TenantID string
	Scopes   []string
}

// Handlers serves the gallery and search routes.
type Handlers struct {
	Service *Service
	// Engine analyses the uploads. Required.
	Engine *faceapi.Engine
	// Authenticate checks the caller's API key and scope (auth.* codes).
	Authenticate func(c *fiber.Ctx, scope string) (Principal, error)
	// SessionPhoto returns the portrait of a liveness session of tenantID
	// (its best frame): session.not_found, session.not_verified otherwise.
	SessionPhoto func(ctx context.Context, tenantID, sessionID string) ([]byte, error)
	// Timeout bounds the wait for a model set. Optional. Default: 20 s.
	Timeout time.Duration
}

// GalleryRequest is the body of POST /v1/galleries.
type GalleryRequest struct {
	Name      string   `json:"name,omitempty" doc:"A label for you, at most 100 characters."`
	Threshold *float64 `json:"threshold,omitempty" doc:"Similarity at or above which a candidate is a match, in (0, 1]. Default 0.60, the engine's calibrated threshold (docs/face.md gives its 1:N figures)."`
}

// GalleryView is a gallery as the API shows it.
type GalleryView struct {
	GalleryID string    `json:"galleryId"`
	Name      string    `json:"name,omitempty"`
	Threshold float64   `json:"threshold"`
	Persons   int       `json:"persons" doc:"Number of persons enrolled."`
	Version   int64     `json:"version" doc:"Grows with every change to the gallery's persons."`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// GalleryList is the body of GET /v1/galleries.
type GalleryList struct {
	Galleries []GalleryView `json:"galleries"`
}

// PersonRequest is the body of POST /v1/galleries/{id}/persons.
type PersonRequest struct {
	ExternalID  string     `json:"externalId" doc:"Your identifier of the person, unique in the gallery: 1–128 characters, no control characters."`
	DisplayName string     `json:"displayName,omitempty" doc:"At most 200 characters."`
	ValidFrom   *time.Time `json:"validFrom,omitempty" doc:"The person is valid from this time (RFC 3339)."`
	ValidTo     *time.Time `json:"validTo,omitempty" doc:"…until this time, after validFrom."`
	Zones       []string   `json:"zones,omitempty" doc:"Up to 32 zone names (letters, digits, . _ : -; 1–64 characters) for your access rule."`
}

// FaceView is one enrolled face (no embedding, no image: neither is ever sent).
type FaceView struct {
	FaceID    string    `json:"faceId"`
	CreatedAt time.Time `json:"createdAt"`
}

// PersonView is a person as the API shows it.
type PersonView struct {
	PersonID    string     `json:"personId"`
	GalleryID   string     `json:"galleryId"`
	ExternalID  string     `json:"externalId"`
	DisplayName string     `json:"displayName,omitempty"`
	ValidFrom   *time.Time `json:"validFrom,omitempty"`
	ValidTo     *time.Time `json:"validTo,omitempty"`
	Zones       []string   `json:"zones,omitempty"`
	Faces       []FaceView `json:"faces" doc:"The enrolled faces."`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

// PersonList is the body of GET /v1/galleries/{id}/persons.
type PersonList struct {
	Persons []PersonView `json:"persons"`
}

// EnrolResponse is the body of POST /v1/galleries/{id}/persons/{person_id}/faces.
type EnrolResponse struct {
	Face    FaceView        `json:"face"`
	Quality faceapi.Quality `json:"quality" doc:"The measures the image passed."`
	Person  PersonView      `json:"person"`
}

// DeleteResponse is the body of DELETE /v1/galleries/{id}/persons/{person_id}.
type DeleteResponse struct {
	PersonID         string `json:"personId"`
	Deleted          bool   `json:"deleted"`
	TemplatesDeleted int    `json:"templatesDeleted" doc:"Enrolled faces deleted with the person."`
}

// SearchResult is the answer for one probe.
type SearchResult struct {
	Match      bool          `json:"match" doc:"The first candidate is a match (similarity ≥ threshold)."`
	Candidates []Candidate   `json:"candidates" doc:"Up to topK persons by descending similarity; matches first."`
	Probe      *faceapi.Face `json:"probe,omitempty" doc:"The probe face (box, score, keypoints, quality)."`
	// Error is set instead, in a batch, for a probe that could not be searched.
	Error *ProbeError `json:"error,omitempty" doc:"Batch only: why this probe was not searched (the same codes as a single search)."`
}

// ProbeError is a batch probe's refusal.
type ProbeError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SearchResponse is the body of POST /v1/face/search.
type SearchResponse struct {
	GalleryID string  `json:"galleryId"`
	Threshold float64 `json:"threshold"`
	SessionID string  `json:"sessionId,omitempty" doc:"The liveness session searched with, when sessionId was given."`
	SearchResult
}

// BatchResponse is the body of POST /v1/face/search/batch.
type BatchResponse struct {
	GalleryID string         `json:"galleryId"`
	Threshold float64        `json:"threshold"`
	Results   []SearchResult `json:"results" doc:"One per probe image, in the order sent."`
}

func view(g *store.Gallery) GalleryView {
	return GalleryView{GalleryID: g.ID, Name: g.Name, Threshold: g.Threshold, Persons: g.Persons, Version: g.Version, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

func personView(p *store.Person) PersonView {
	v := PersonView{PersonID: p.ID, GalleryID: p.GalleryID, ExternalID: p.ExternalID, DisplayName: p.DisplayName, ValidFrom: p.ValidFrom,
		ValidTo: p.ValidTo, Zones: p.Zones, Faces: []FaceView{}, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	for _, f := range p.Faces {
		v.Faces = append(v.Faces, FaceView{FaceID: f.ID, CreatedAt: f.CreatedAt})
	}
	return v
}

func (h *Handlers) gallery(c *fiber.Ctx, scope string) (*store.Gallery, error) {
	p, err := h.Authenticate(c, scope)
	if err != nil {
		return nil, err
	}
	return h.Service.Gallery(c.UserContext(), p.TenantID, c.Params("id"))
}

// ListGalleries: GET /v1/galleries.
func (h *Handlers) ListGalleries(c *fiber.Ctx) error {
	p, err := h.Authenticate(c, scopeRead)
	if err != nil {
		return err
	}
	gs, err := h.Service.ListGalleries(c.UserContext(), p.TenantID)
	if err != nil {
		return err
	}
	out := GalleryList{Galleries: []GalleryView{}}
	for _, g := range gs {
		out.Galleries = append(out.Galleries, view(g))
	}
	return c.JSON(out)
}

// CreateGallery: POST /v1/galleries.
func (h *Handlers) CreateGallery(c *fiber.Ctx) error {
	p, err := h.Authenticate(c, scopeWrite)
	if err != nil {
		return err
	}
	var req GalleryRequest
	if e := decodeJSON(c, &req); e != nil {
		return e
	}
	if utf8.RuneCountInString(req.Name) > 100 || hasControl(req.Name) {
		return apierr.New(apierr.InvalidField, "field \"name\": at most 100 characters, no control characters")
	}
	thr := DefaultThreshold
	if req.Threshold != nil {
		if t := *req.Threshold; !(t > 0 && t <= 1) {
			return apierr.New(apierr.InvalidField, "field \"threshold\" must be in (0, 1], got %v", t)
		}
		thr = *req.Threshold
	}
	g, err := h.Service.CreateGallery(c.UserContext(), p.TenantID, strings.TrimSpace(req.Name), thr)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(view(g))
}

// GetGallery: GET /v1/galleries/{id}.
func (h *Handlers) GetGallery(c *fiber.Ctx) error {
	g, err := h.gallery(c, scopeRead)
	if err != nil {
		return err
	}
	return c.JSON(view(g))
}

var zoneRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// AddPerson: POST /v1/galleries/{id}/persons.
func (h *Handlers) AddPerson(c *fiber.Ctx) error {
	g, err := h.gallery(c, scopeWrite)
	if err != nil {
		return err
	}
	var req PersonRequest
	if e := decodeJSON(c, &req); e != nil {
		return e
	}
	switch n := utf8.RuneCountInString(req.ExternalID); {
	case strings.TrimSpace(req.ExternalID) == "":
		return apierr.New(apierr.MissingField, "field \"externalId\" is required")
	case n > 128 || hasControl(req.ExternalID):
		return apierr.New(apierr.InvalidField, "field \"externalId\": 1–128 characters, no control characters")
	case utf8.RuneCountInString(req.DisplayName) > 200 || hasControl(req.DisplayName):
		return apierr.New(apierr.InvalidField, "field \"displayName\": at most 200 characters, no control characters")
	case req.ValidFrom != nil && req.ValidTo != nil && !req.ValidTo.After(*req.ValidFrom):
		return apierr.New(apierr.InvalidField, "field \"validTo\" must be after validFrom")
	case len(req.Zones) > 32:
		return apierr.New(apierr.InvalidField, "field \"zones\": at most 32, got %d", len(req.Zones))
	}
	for i, z := range req.Zones {
		if !zoneRE.MatchString(z) {
			return apierr.New(apierr.InvalidField, "field \"zones\"[%d] is %q: 1–64 letters, digits, . _ : -", i, z)
		}
	}
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	p, err := h.Service.AddPerson(c.UserContext(), g, &store.Person{ExternalID: req.ExternalID, DisplayName: req.DisplayName,
		ValidFrom: utc(req.ValidFrom), ValidTo: utc(req.ValidTo), Zones: req.Zones})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(personView(p))
}

// ListPersons: GET /v1/galleries/{id}/persons.
func (h *Handlers) ListPersons(c *fiber.Ctx) error {
	g, err := h.gallery(c, scopeRead)
	if err != nil {
		return err
	}
	ps, err := h.Service.Persons(c.UserContext(), g)
	if err != nil {
		return err
	}
	out := PersonList{Persons: []PersonView{}}
	for _, p := range ps {
		out.Persons = append(out.Persons, personView(p))
	}
	return c.JSON(out)
}

// GetPerson: GET /v1/galleries/{id}/persons/{person_id}.
func (h *Handlers) GetPerson(c *fiber.Ctx) error {
	g, err := h.gallery(c, scopeRead)
	if err != nil {
		return err
	}
	p, err := h.Service.Person(c.UserContext(), g, c.Params("person_id"))
	if err != nil {
		return err
	}
	return c.JSON(personView(p))
}

// DeletePerson: DELETE /v1/galleries/{id}/persons/{person_id}.
func (h *Handlers) DeletePerson(c *fiber.Ctx) error {
	g, err := h.gallery(c, scopeWrite)
	if err != nil {
		return err
	}
	p, err := h.Service.DeletePerson(c.UserContext(), g, c.Params("person_id"))
	if err != nil {
		return err
	}
	return c.JSON(DeleteResponse{PersonID: p.ID, Deleted: true, TemplatesDeleted: len(p.Faces)})
}

// Enrol: POST /v1/galleries/{id}/persons/{person_id}/faces (multipart image).
func (h *Handlers) Enrol(c *fiber.Ctx) error {
	g, err := h.gallery(c, scopeWrite)
	if err != nil {
		return err
	}
	if _, err := h.Service.Person(c.UserContext(), g, c.Params("person_id")); err != nil {
		return err
	}
	data, err := faceapi.FormFile(c, "image", true, h.Engine.Config().MaxBytes)
	if err != nil {
		return faceapi.APIError(err)
	}
	ctx, cancel := h.ctx(c)
	defer cancel()
	f, err := h.Engine.One(ctx, "image", data)
	if err != nil {
		return faceapi.APIError(err)
	}
	if why := Poor(f); len(why) > 0 {
		return apierr.New(CodePoorImage, "image: the face would make a poor template: %s", strings.Join(why, "; "))
	}
	p, t, err := h.Service.Enrol(c.UserContext(), g, c.Params("person_id"), f.Embedding(), data)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(EnrolResponse{Face: FaceView{FaceID: t.ID, CreatedAt: t.CreatedAt}, Quality: f.Quality, Person: personView(p)})
}

// Poor lists why a face would make a poor template (none: good enough).
func Poor(f *faceapi.Face) []string {
	var why []string
	q := f.Quality
	if f.Box[2] < MinFaceWidth {
		why = append(why, fmt.Sprintf("face_too_small (%.0f px wide, at least %d)", f.Box[2], MinFaceWidth))
	}
	if !q.Frontal {
		why = append(why, fmt.Sprintf("not_frontal (yaw %.0f°, pitch %.0f°, roll %.0f°)", q.Yaw, q.Pitch, q.Roll))
	}
	if q.Sharpness < MinSharpness {
		why = append(why, fmt.Sprintf("blurred (sharpness %.1f, at least %g)", q.Sharpness, MinSharpness))
	}
	if q.EyesOpen < MinEyesOpen {
		why = append(why, fmt.Sprintf("eyes_closed (eye aspect ratio %.2f, at least %g)", q.EyesOpen, MinEyesOpen))
	}
	if q.Brightness < MinBrightness || q.Brightness > MaxBrightness {
		why = append(why, fmt.Sprintf("exposure (mean face grey %.0f, want %g–%g)", q.Brightness, MinBrightness, MaxBrightness))
	}
	return why
}

// searchParams reads galleryId and topK of a search form.
func (h *Handlers) searchParams(c *fiber.Ctx) (Principal, *store.Gallery, int, error) {
	p, err := h.Authenticate(c, scopeRead)
	if err != nil {
		return p, nil, 0, err
	}
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		return p, nil, 0, faceapi.APIError(faceapi.FormFileTypeError(c))
	}
	id := strings.TrimSpace(c.FormValue("galleryId"))
	if id == "" {
		return p, nil, 0, apierr.New(apierr.MissingField, "multipart field \"galleryId\" is required")
	}
	k := DefaultTopK
	if v := strings.TrimSpace(c.FormValue("topK")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTopK {
			return p, nil, 0, apierr.New(apierr.InvalidField, "field \"topK\" must be an integer in [1, %d], got %q", MaxTopK, v)
		}
		k = n
	}
	g, err := h.Service.Gallery(c.UserContext(), p.TenantID, id)
	return p, g, k, err
}

// Search: POST /v1/face/search (multipart galleryId, image or sessionId, topK).
func (h *Handlers) Search(c *fiber.Ctx) error {
	p, g, k, err := h.searchParams(c)
	if err != nil {
		return err
	}
	data, err := faceapi.FormFile(c, "image", false, h.Engine.Config().MaxBytes)
	if err != nil {
		return faceapi.APIError(err)
	}
	ctx, cancel := h.ctx(c)
	defer cancel()
	sessionID, field := strings.TrimSpace(c.FormValue("sessionId")), "image"
	switch {
	case sessionID != "" && data != nil:
		return apierr.New(apierr.InvalidField, "send either image or sessionId, not both")
	case sessionID != "":
		if data, err = h.SessionPhoto(ctx, p.TenantID, sessionID); err != nil {
			return faceapi.APIError(err)
		}
		field = "sessionId"
	case data == nil:
		return apierr.New(apierr.MissingField, "send a multipart file field \"image\" or a field \"sessionId\"")
	}
	r, err := h.search(ctx, g, field, data, k)
	if err != nil {
		return err
	}
	return c.JSON(SearchResponse{GalleryID: g.ID, Threshold: g.Threshold, SessionID: sessionID, SearchResult: *r})
}

// SearchBatch: POST /v1/face/search/batch (multipart galleryId, images…, topK).
func (h *Handlers) SearchBatch(c *fiber.Ctx) error {
	_, g, k, err := h.searchParams(c)
	if err != nil {
		return err
	}
	form, err := c.MultipartForm()
	if err != nil {
		return faceapi.APIError(faceapi.FormFileTypeError(c))
	}
	files := form.File["images"]
	if len(files) == 0 || len(files) > MaxProbes {
		return apierr.New(CodeTooManyProbes, "send 1–%d multipart file fields \"images\", got %d", MaxProbes, len(files))
	}
	ctx, cancel := h.ctx(c)
	defer cancel()
	out := BatchResponse{GalleryID: g.ID, Threshold: g.Threshold, Results: make([]SearchResult, 0, len(files))}
	for i, fh := range files {
		field := fmt.Sprintf("images[%d]", i)
		data, err := faceapi.ReadFile(fh, field, h.Engine.Config().MaxBytes)
		var r *SearchResult
		if err == nil {
			r, err = h.search(ctx, g, field, data, k)
		}
		if err != nil {
			e, ok := apierr.As(faceapi.APIError(err))
			if !ok || e.Code.Status >= 500 {
				return err // busy or broken: the whole batch fails
			}
			r = &SearchResult{Candidates: []Candidate{}, Error: &ProbeError{Code: e.Code.ID, Message: e.Message}}
		}
		out.Results = append(out.Results, *r)
	}
	return c.JSON(out)
}

func (h *Handlers) search(ctx context.Context, g *store.Gallery, field string, data []byte, k int) (*SearchResult, error) {
	f, err := h.Engine.One(ctx, field, data)
	if err != nil {
		return nil, faceapi.APIError(err)
	}
	cands, err := h.Service.Search(ctx, g, f.Embedding(), k)
	if err != nil {
		return nil, err
	}
	return &SearchResult{Match: len(cands) > 0 && cands[0].Match, Candidates: cands, Probe: f}, nil
}

func (h *Handlers) ctx(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	t := h.Timeout
	if t <= 0 {
		t = 20 * time.Second
	}
	return context.WithTimeout(c.UserContext(), t)
}

func decodeJSON(c *fiber.Ctx, v any) error {
	if ct := strings.ToLower(c.Get(fiber.HeaderContentType)); !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return apierr.New(apierr.UnsupportedMediaType, "send Content-Type: application/json")
	}
	if e := jsonbody.Decode(c.Body(), v); e != nil {
		return e
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0 || !utf8.ValidString(s)
}
