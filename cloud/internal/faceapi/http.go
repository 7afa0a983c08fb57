package faceapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/core"
)

// Authorize authenticates a request's API key. It returns a function that
// says whether the caller may use a given session (its tenant owns it), or
// an error the API's error handler renders (auth.missing, auth.invalid).
type Authorize func(c *fiber.Ctx) (owns func(*core.Session) bool, err error)

// Sessions reads sessions and their ICAO photos (lifecycle.Service satisfies it).
type Sessions interface {
	Get(ctx context.Context, id string) (*core.Session, error)
	Photo(ctx context.Context, id string) ([]byte, error)
}

// Handlers serves the face routes.
type Handlers struct {
	// Engine runs the models. Required.
	Engine *Engine
	// Authorize authenticates the caller. Required.
	Authorize Authorize
	// Sessions resolves session_id in compare. Optional: without it
	// session_id is refused.
	Sessions Sessions
	// NotFound is the error returned for a session the caller may not see
	// (the API's session.not_found). Required with Sessions.
	NotFound func(id string) error
	// Timeout bounds the wait for a model set. Optional. Default: 20 s.
	Timeout time.Duration
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

// DetectResponse is the body of POST /v1/face/detect.
type DetectResponse struct {
	Width     int    `json:"width" doc:"Image width in pixels."`
	Height    int    `json:"height" doc:"Image height in pixels."`
	FaceCount int    `json:"face_count" doc:"Number of faces found."`
	Faces     []Face `json:"faces" doc:"Each face: box [x, y, w, h], score, keypoints and quality measures."`
}

// CompareResponse is the body of POST /v2/face/compare.
type CompareResponse struct {
	Similarity float64 `json:"similarity" doc:"Cosine similarity of the two faces' embeddings in [0, 1]."`
	Match      bool    `json:"match" doc:"similarity ≥ threshold."`
	Threshold  float64 `json:"threshold" doc:"The threshold used (default 0.60, the engine's calibrated threshold)."`
	Reference  Face    `json:"reference" doc:"The reference face (from the upload or the session's ICAO photo)."`
	Probe      Face    `json:"probe" doc:"The probe face."`
	SessionID  string  `json:"session_id,omitempty" doc:"The session compared against, when session_id was given."`
}

func (h *Handlers) ctx(c *fiber.Ctx) (context.Context, context.CancelFunc) {
	t := h.Timeout
	if t <= 0 {
		t = 20 * time.Second
	}
	return context.WithTimeout(c.UserContext(), t)
}

// Detect: POST /v1/face/detect (multipart "image").
func (h *Handlers) Detect(c *fiber.Ctx) error {
	if _, err := h.Authorize(c); err != nil {
		return err
	}
	data, err := h.file(c, "image", true)
	if err != nil {
		return h.fail(c, err)
	}
	ctx, cancel := h.ctx(c)
	defer cancel()
	a, err := h.Engine.Analyze(ctx, data, false)
	if err != nil {
		return h.fail(c, analyzeErr("image", err))
	}
	return c.JSON(DetectResponse{Width: a.Width, Height: a.Height, FaceCount: len(a.Faces), Faces: a.Faces})
}

// Compare: POST /v2/face/compare (multipart "reference" or "session_id",
// "probe", "threshold").
func (h *Handlers) Compare(c *fiber.Ctx) error {
	owns, err := h.Authorize(c)
	if err != nil {
		return err
	}
	thr := DefaultThreshold
	if v := strings.TrimSpace(c.FormValue("threshold")); v != "" {
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil || f < 0 || f > 1 || f != f {
			return h.fail(c, newErr(CodeInvalidField, perr, fmt.Sprintf("threshold must be a number in [0, 1], got %q", v)))
		}
		thr = f
	}
	sessionID := strings.TrimSpace(c.FormValue("session_id"))
	probe, err := h.file(c, "probe", true)
	if err != nil {
		return h.fail(c, err)
	}
	ref, err := h.file(c, "reference", sessionID == "")
	if err != nil {
		return h.fail(c, err)
	}
	ctx, cancel := h.ctx(c)
	defer cancel()
	refField := "reference"
	if sessionID != "" {
		if ref != nil {
			return h.fail(c, newErr(CodeInvalidField, nil, "send either reference or session_id, not both"))
		}
		if ref, err = h.sessionPhoto(ctx, sessionID, owns); err != nil {
			return h.fail(c, err)
		}
		refField = "session_id"
	}
	rf, err := h.one(ctx, refField, ref)
	if err != nil {
		return h.fail(c, err)
	}
	pf, err := h.one(ctx, "probe", probe)
	if err != nil {
		return h.fail(c, err)
	}
	sim := Similarity(rf, pf)
	return c.JSON(CompareResponse{Similarity: sim, Match: sim >= thr, Threshold: thr, Reference: *rf, Probe: *pf, SessionID: sessionID})
}

// SessionPhoto returns the ICAO portrait of session id — made from the
// best frame of its liveness capture — for a caller that owns it: the
// API's session.not_found otherwise, session.not_verified unless it passed
// with its photo ready.
func (h *Handlers) SessionPhoto(ctx context.Context, id string, owns func(*core.Session) bool) ([]byte, error) {
	return h.sessionPhoto(ctx, id, owns)
}

func (h *Handlers) sessionPhoto(ctx context.Context, id string, owns func(*core.Session) bool) ([]byte, error) {
	if h.Sessions == nil {
		return nil, newErr(CodeInvalidField, nil, "session_id is not supported by this server")
	}
	sess, err := h.Sessions.Get(ctx, id)
	if err != nil || !owns(sess) {
		return nil, h.NotFound(id)
	}
	if sess.Verdict == nil || *sess.Verdict != core.VerdictPass || sess.Photo != core.PhotoReady {
		return nil, newErr(CodeNotVerified, nil, fmt.Sprintf("session %s has not passed (or its photo is not ready)", id))
	}
	b, err := h.Sessions.Photo(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("faceapi: reading photo of %s: %w", id, err)
	}
	return b, nil
}

// one analyses data and requires exactly one face.
func (h *Handlers) one(ctx context.Context, field string, data []byte) (*Face, error) {
	return h.Engine.one(ctx, field, data)
}

func analyzeErr(field string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return newErr(CodeBusy, err, "the face models stayed busy; retry later")
	}
	return imageErr(field, err)
}

// file reads a multipart file field, bounded by the engine's byte limit.
func (h *Handlers) file(c *fiber.Ctx, field string, required bool) ([]byte, error) {
	return FormFile(c, field, required, h.Engine.Config().MaxBytes)
}

// FormFile reads the multipart file field of a request, at most limit
// bytes: nil without it unless required. Errors are *Error naming field
// (image.unsupported_type for a body that is not multipart/form-data,
// request.missing_field, image.too_large).
func FormFile(c *fiber.Ctx, field string, required bool, limit int64) ([]byte, error) {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if !strings.HasPrefix(ct, fiber.MIMEMultipartForm) {
		return nil, newErr(CodeUnsupported, nil, fmt.Sprintf("send multipart/form-data, got %q", c.Get(fiber.HeaderContentType)))
	}
	fh, err := c.FormFile(field)
	if err != nil || fh == nil {
		if !required {
			return nil, nil
		}
		return nil, newErr(CodeMissingField, err, fmt.Sprintf("multipart file field %q is required", field))
	}
	return ReadFile(fh, field, limit)
}

// ReadFile reads one uploaded file of field, at most limit bytes.
func ReadFile(fh *multipart.FileHeader, field string, limit int64) ([]byte, error) {
	if fh.Size > limit {
		return nil, newErr(CodeTooLarge, nil, fmt.Sprintf("%s: %d bytes, the limit is %d", field, fh.Size, limit))
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("faceapi: opening field %s: %w", field, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("faceapi: reading field %s: %w", field, err)
	}
	if int64(len(data)) > limit {
		return nil, newErr(CodeTooLarge, nil, fmt.Sprintf("%s: more than %d bytes", field, limit))
	}
	return data, nil
}

// fail renders a face-route error in the envelope; other errors go to the
// API's error handler.
func (h *Handlers) fail(c *fiber.Ctx, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	if e.Cause != nil && e.Code.Status >= 500 {
		h.logger().LogAttrs(c.UserContext(), slog.LevelWarn, "face request failed", slog.String("code", e.Code.ID), slog.String("error", e.Cause.Error()))
	}
	return WriteError(c, e.Code, e.Message)
}

// WriteError writes the error envelope with the request id the API's
// middleware put in X-Request-Id.
func WriteError(c *fiber.Ctx, code Code, msg string) error {
	rid := string(c.Response().Header.Peek(fiber.HeaderXRequestID))
	return c.Status(code.Status).JSON(fiber.Map{"detail": fiber.Map{"code": code.ID, "message": msg, "request_id": rid}})
}

func (h *Handlers) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// FormFileTypeError is the error of a request that is not multipart/form-data.
func FormFileTypeError(c *fiber.Ctx) error {
	return newErr(CodeUnsupported, nil, fmt.Sprintf("send multipart/form-data, got %q", c.Get(fiber.HeaderContentType)))
}
