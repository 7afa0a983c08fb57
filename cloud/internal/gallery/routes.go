package gallery

import (
	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/faceapi"
)

// multipartSlack is what an upload route accepts beyond its images.
const multipartSlack = 64 << 10

// Routes documents and serves the gallery and search routes. wrap guards
// the handlers that need the face models (server.engine_unavailable when
// they cannot load); h is read when a request comes, so the mount may
// build it on first use.
func Routes(h func() *Handlers, wrap func(fiber.Handler) fiber.Handler, authErrs []apierr.Code) []api.Route {
	tag := "Galleries"
	sec := []string{openapi.SecAPIKey}
	id := openapi.Param{Name: "id", In: "path", Description: "Gallery id (gal_…)."}
	pid := openapi.Param{Name: "person_id", In: "path", Description: "Person id (per_…)."}
	errs := func(codes ...apierr.Code) []apierr.Code {
		return append(append([]apierr.Code{}, authErrs...), codes...)
	}
	jsonErrs := []apierr.Code{apierr.InvalidJSON, apierr.UnknownField, apierr.MissingField, apierr.InvalidField, apierr.UnsupportedMediaType}
	imageErrs := []apierr.Code{faceapi.CodeNoFace.API, faceapi.CodeMultipleFaces.API, faceapi.CodeUnsupported.API, faceapi.CodeCorrupt.API,
		faceapi.CodeTooLarge.API, faceapi.CodeTooSmall.API, faceapi.CodeBusy.API, faceapi.CodeEngineUnavailable.API}
	call := func(f func(*Handlers, *fiber.Ctx) error) fiber.Handler {
		return func(c *fiber.Ctx) error { return f(h(), c) }
	}
	limits := " Limits: 100 galleries per tenant, 100,000 persons per gallery, 10 faces per person; images JPEG or PNG, 5 MiB, 25 MP and 8192 px a side."
	scopes := " Needs the galleries:read scope (reads and searches) or galleries:write (changes)."
	return []api.Route{
		{Operation: openapi.Operation{Method: "GET", Path: "/v1/galleries", ID: "listGalleries", Tag: tag, Security: sec,
			Summary: "List your face galleries", Description: "Every gallery of the key's tenant." + scopes,
			Responses: []openapi.Response{{Status: 200, Description: "The galleries.", Body: GalleryList{}}},
			Errors:    errs()}, Handler: call((*Handlers).ListGalleries)},
		{Operation: openapi.Operation{Method: "POST", Path: "/v1/galleries", ID: "createGallery", Tag: tag, Security: sec,
			Summary:     "Create a face gallery",
			Description: "A gallery holds persons and their enrolled faces for 1:N search (POST /v1/face/search), with its match threshold." + limits + scopes,
			Body:        GalleryRequest{}, Example: `{"name": "staff", "threshold": 0.6}`,
			Responses: []openapi.Response{{Status: 201, Description: "The gallery.", Body: GalleryView{}}},
			Errors:    errs(append(jsonErrs, CodeLimitReached)...)}, Handler: call((*Handlers).CreateGallery)},
		{Operation: openapi.Operation{Method: "GET", Path: "/v1/galleries/{id}", ID: "getGallery", Tag: tag, Security: sec,
			Summary: "Get a face gallery", Description: "Its threshold, person count and version." + scopes, Params: []openapi.Param{id},
			Responses: []openapi.Response{{Status: 200, Description: "The gallery.", Body: GalleryView{}}},
			Errors:    errs(CodeGalleryNotFound)}, Handler: call((*Handlers).GetGallery)},
		{Operation: openapi.Operation{Method: "GET", Path: "/v1/galleries/{id}/persons", ID: "listPersons", Tag: tag, Security: sec,
			Summary: "List a gallery's persons", Description: "By id, with their enrolled faces' ids (never an embedding or image)." + scopes, Params: []openapi.Param{id},
			Responses: []openapi.Response{{Status: 200, Description: "The persons.", Body: PersonList{}}},
			Errors:    errs(CodeGalleryNotFound)}, Handler: call((*Handlers).ListPersons)},
		{Operation: openapi.Operation{Method: "POST", Path: "/v1/galleries/{id}/persons", ID: "addPerson", Tag: tag, Security: sec,
			Summary:     "Add a person to a gallery",
			Description: "externalId (unique in the gallery), displayName, an optional validity window and zones; enrol faces next." + limits + scopes,
			Params:      []openapi.Param{id}, Body: PersonRequest{},
			Example:   `{"externalId": "emp-1042", "displayName": "Ada L.", "validFrom": "2026-01-01T00:00:00Z", "zones": ["lobby"]}`,
			Responses: []openapi.Response{{Status: 201, Description: "The person.", Body: PersonView{}}},
			Errors:    errs(append(jsonErrs, CodeGalleryNotFound, CodePersonExists, CodeLimitReached)...)}, Handler: call((*Handlers).AddPerson)},
		{Operation: openapi.Operation{Method: "GET", Path: "/v1/galleries/{id}/persons/{person_id}", ID: "getPerson", Tag: tag, Security: sec,
			Summary: "Get a person", Description: "The person and their enrolled faces' ids." + scopes, Params: []openapi.Param{id, pid},
			Responses: []openapi.Response{{Status: 200, Description: "The person.", Body: PersonView{}}},
			Errors:    errs(CodeGalleryNotFound, CodePersonNotFound)}, Handler: call((*Handlers).GetPerson)},
		{Operation: openapi.Operation{Method: "DELETE", Path: "/v1/galleries/{id}/persons/{person_id}", ID: "deletePerson", Tag: tag, Security: sec,
			Summary:     "Delete a person and every enrolled face",
			Description: "The person and all their templates go in one transaction; the next search no longer returns them." + scopes, Params: []openapi.Param{id, pid},
			Responses: []openapi.Response{{Status: 200, Description: "Deleted.", Body: DeleteResponse{}}},
			Errors:    errs(CodeGalleryNotFound, CodePersonNotFound)}, Handler: call((*Handlers).DeletePerson)},
		{Operation: openapi.Operation{Method: "POST", Path: "/v1/galleries/{id}/persons/{person_id}/faces", ID: "enrolFace", Tag: tag, Security: sec,
			Summary: "Enrol a face of a person",
			Description: "multipart/form-data with a file field image holding exactly one face. An image that would make a poor template is refused " +
				"with gallery.poor_image naming each reason (face_too_small, not_frontal, blurred, eyes_closed, exposure). The face's embedding is kept " +
				"sealed with your tenant's data key; the image is not kept." + limits + scopes,
			Params:    []openapi.Param{id, pid},
			Responses: []openapi.Response{{Status: 201, Description: "The enrolled face.", Body: EnrolResponse{}}},
			Errors: errs(append(append([]apierr.Code{}, imageErrs...), apierr.MissingField, CodeGalleryNotFound, CodePersonNotFound, CodePoorImage,
				CodeFaceExists, CodeLimitReached)...)}, Handler: wrap(call((*Handlers).Enrol)), BodyLimit: faceapi.DefaultMaxBytes + multipartSlack},
		{Operation: openapi.Operation{Method: "POST", Path: "/v1/face/search", ID: "searchFaces", Tag: "Face", Security: sec,
			Summary: "Search a gallery for a face (1:N)",
			Description: "multipart/form-data: galleryId, image (a file holding exactly one face) or sessionId (a passed liveness session of your " +
				"tenant: its portrait, made from the best frame of the capture), topK (1–50, default 5) → up to topK persons by similarity, each " +
				"with match (≥ the gallery's threshold) and validNow, and match for the best. Exhaustive search over the gallery's decrypted " +
				"embeddings. How accuracy falls as galleries grow, and when to prefer 1:1: docs/face.md." + limits + scopes,
			Responses: []openapi.Response{{Status: 200, Description: "The candidates.", Body: SearchResponse{}}},
			Errors: errs(append(append([]apierr.Code{}, imageErrs...), apierr.MissingField, apierr.InvalidField, CodeGalleryNotFound,
				apierr.SessionNotFound, faceapi.CodeNotVerified.API)...)}, Handler: wrap(call((*Handlers).Search)), BodyLimit: faceapi.DefaultMaxBytes + multipartSlack},
		{Operation: openapi.Operation{Method: "POST", Path: "/v1/face/search/batch", ID: "searchFacesBatch", Tag: "Face", Security: sec,
			Summary: "Search a gallery for many faces in one request",
			Description: "multipart/form-data: galleryId, 1–16 file fields images (each exactly one face, 5 MiB at most; the body at most 24 MiB), " +
				"topK → results, one per image in order, each as a single search's answer or, for an image that could not be searched, error " +
				"{code, message} with the single search's code. Probes are searched one after another on one model set." + limits + scopes,
			Responses: []openapi.Response{{Status: 200, Description: "The results.", Body: BatchResponse{}}},
			Errors: errs(apierr.MissingField, apierr.InvalidField, faceapi.CodeUnsupported.API, faceapi.CodeTooLarge.API, faceapi.CodeBusy.API,
				faceapi.CodeEngineUnavailable.API, CodeGalleryNotFound, CodeTooManyProbes)}, Handler: wrap(call((*Handlers).SearchBatch)), BodyLimit: BatchBodyLimit},
	}
}

// BatchBodyLimit is the largest batch search body (24 MiB).
const BatchBodyLimit = 24 << 20
