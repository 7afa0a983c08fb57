package gallery

import (
	"net/http"

	"livegate.dev/cloud/internal/api/apierr"
)

// The codes of the gallery and search routes (docs/error-codes.md).
var (
	CodeGalleryNotFound = apierr.Register("gallery.not_found", http.StatusNotFound,
		"No such gallery, or it belongs to another tenant.")
	CodePersonNotFound = apierr.Register("gallery.person_not_found", http.StatusNotFound,
		"No such person in this gallery (or it was deleted).")
	CodePersonExists = apierr.Register("gallery.person_exists", http.StatusConflict,
		"The gallery already has a person with this externalId; the message names the existing person.")
	CodeLimitReached = apierr.Register("gallery.limit_reached", http.StatusConflict,
		"A gallery limit is reached: 100 galleries per tenant, 100,000 persons per gallery, or 10 faces per person; the message names which.")
	CodeFaceExists = apierr.Register("gallery.face_exists", http.StatusConflict,
		"This person already has a face enrolled from the very same image file (matched by its keyed digest); enrol a different photo.")
	CodePoorImage = apierr.Register("gallery.poor_image", http.StatusUnprocessableEntity,
		"The face would make a poor template; the message lists each reason: face_too_small (under 64 px wide), not_frontal (yaw or pitch beyond ±20°, roll beyond ±15°), blurred (sharpness under 20), eyes_closed (eye aspect ratio under 0.22), exposure (mean face grey outside 40–230).")
	CodeTooManyProbes = apierr.Register("search.too_many_probes", http.StatusBadRequest,
		"A batch search sent more than 16 probe images, or none.")
)
