package faceapi

import (
	"errors"
	"net/http"
	"sort"

	"livegate.dev/cloud/internal/api/apierr"
)

// Decoding and analysis errors; returned errors wrap one of these.
var (
	ErrNotImage = errors.New("faceapi: not a JPEG or PNG image")
	ErrCorrupt  = errors.New("faceapi: corrupt or truncated image")
	ErrTooLarge = errors.New("faceapi: image over the size limit")
	ErrTooSmall = errors.New("faceapi: image under the minimum size")
)

// Code is an error code of the face routes, sent in the usual envelope
// {"detail": {"code", "message", "request_id"}}.
type Code struct {
	ID      string
	Status  int
	Meaning string
	// API is the same code as the API's error handler knows it.
	API apierr.Code
}

var codes []Code

func code(id string, status int, meaning string) Code {
	api := apierr.Register(id, status, meaning) // listed with every other code
	c := Code{ID: id, Status: status, Meaning: meaning, API: api}
	codes = append(codes, c)
	return c
}

// The codes of the face routes (docs/capture.md lists them).
var (
	CodeNoFace        = code("face.not_detected", http.StatusUnprocessableEntity, "No face was found in the image — a face route's upload, or a verification session's referenceFace.image or simulated faceImage (the message names the field).")
	CodeMultipleFaces = code("face.multiple_faces", http.StatusUnprocessableEntity, "Several faces were found where compare, or a verification session's reference face, needs exactly one (the message names the field).")
	CodeUnsupported   = code("image.unsupported_type", http.StatusUnsupportedMediaType, "The file is not a JPEG or PNG image (by its bytes, whatever its name or declared type), or the request is not multipart/form-data.")
	CodeCorrupt       = code("image.corrupt", http.StatusBadRequest, "The image is truncated or cannot be decoded.")
	CodeTooLarge      = code("image.too_large", http.StatusRequestEntityTooLarge, "The image is over 5 MiB, 25 megapixels or 8192 pixels a side, or would take over 160 MiB to decode (a 16-bit RGBA PNG holds 8 bytes a pixel); all checked from its header before decoding.")
	CodeTooSmall      = code("image.too_small", http.StatusBadRequest, "The image is under 32 pixels a side.")
	CodeMissingField  = code("request.missing_field", http.StatusBadRequest, "A required multipart field is missing; the message names it.")
	CodeInvalidField  = code("request.invalid_field", http.StatusBadRequest, "A field has an invalid value (threshold outside [0, 1], both reference and session_id…); the message names it.")
	CodeNotVerified   = code("session.not_verified", http.StatusConflict, "session_id (compare) or referenceFace.sessionId (POST /v1/sessions) names a session that has not passed — or, for a verification session, was not approved — or whose photo is not ready yet.")
	CodeBusy          = code("server.busy", http.StatusServiceUnavailable, "Every face model set stayed busy until the request's deadline; retry with backoff.")
	// CodeEngineUnavailable answers capture and face requests (and
	// liveness+facematch sessions' creation) when the models cannot be
	// loaded.
	CodeEngineUnavailable = code("server.engine_unavailable", http.StatusServiceUnavailable,
		"The liveness engine's models could not be loaded on this server (run `make setup`); retry later.")
)

// Codes returns the codes of the face routes, sorted by id.
func Codes() []Code {
	out := append([]Code(nil), codes...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Error is an API error of the face routes.
type Error struct {
	Code    Code
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Code.ID + ": " + e.Message + ": " + e.Cause.Error()
	}
	return e.Code.ID + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Cause }

// APIError returns err as the API's error handler renders it: a face-route
// *Error becomes the *apierr.Error of the same code and message; other
// errors pass through.
func APIError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	return apierr.Wrap(e.Code.API, e.Cause, "%s", e.Message)
}

func newErr(c Code, cause error, msg string) *Error {
	return &Error{Code: c, Message: msg, Cause: cause}
}

// imageErr maps a decoding error of field to its API error.
func imageErr(field string, err error) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return newErr(CodeTooLarge, err, field+": "+err.Error())
	case errors.Is(err, ErrTooSmall):
		return newErr(CodeTooSmall, err, field+": "+err.Error())
	case errors.Is(err, ErrNotImage):
		return newErr(CodeUnsupported, err, field+": not a JPEG or PNG image")
	case errors.Is(err, ErrCorrupt):
		return newErr(CodeCorrupt, err, field+": the image is corrupt or truncated")
	}
	return err
}
