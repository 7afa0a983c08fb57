package releases

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/jsonbody"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/ota/artifact"
)

// Error codes of these routes. They are not in apierr's registry yet (the
// integrator registers them there; see docs/ota-cloud.md).
var (
	CodeReleaseNotFound   = apierr.Register("release.not_found", http.StatusNotFound, "No release with this id.")
	CodeReleaseExists     = apierr.Register("release.exists", http.StatusConflict, "This exact artifact (same SHA-256) was already uploaded; the message names the release.")
	CodeReleaseInUse      = apierr.Register("release.in_use", http.StatusConflict, "The release has a running rollout; stop it first.")
	CodeReleaseTooLarge   = apierr.Register("release.too_large", http.StatusRequestEntityTooLarge, "The artifact is larger than the upload limit.")
	CodeRangeInvalid      = apierr.Register("release.range_not_satisfiable", http.StatusRequestedRangeNotSatisfiable, "The Range starts at or after the end of the artifact.")
	CodeStoreUnavailable  = apierr.Register("release.store_unavailable", http.StatusServiceUnavailable, "The object store holding release artifacts did not answer or refused the request (an upload stored nothing); retry later.")
	CodeRolloutNotFound   = apierr.Register("rollout.not_found", http.StatusNotFound, "No rollout with this id.")
	CodeRolloutNotRunning = apierr.Register("rollout.not_running", http.StatusConflict, "The rollout is completed, aborted or stopped (or already at its last stage, for advance).")
	CodeRolloutInvalid    = apierr.Register("rollout.invalid", http.StatusBadRequest, "The rollout request is invalid (stages must increase within (0, 100]; thresholds must not be negative).")
	// CodeDeviceNotFound is the fleet routes' code (the registry returns the same code).
	CodeDeviceNotFound = apierr.Register("device.not_found", http.StatusNotFound, "No device with this id.")
)

// RefusalCodes map an artifact refusal (artifact.Reason) to its error code
// (422): an upload that does not verify against the trusted roots.
var RefusalCodes = map[string]apierr.Code{}

func init() {
	for _, r := range []struct{ reason, meaning string }{
		{"unsigned", "The artifact has no manifest signature or no signing-key certificate."},
		{"untrusted-key", "The signing key is not certified by a trusted root key, or its certificate was altered."},
		{"bad-signature", "The manifest signature does not verify: the manifest was altered or another key signed it."},
		{"key-expired", "The signing key is outside its validity window, or the manifest was created outside it."},
		{"key-revoked", "The signing key is on the newest revocation list."},
		{"malformed", "Not an artifact: unknown entry, strict JSON failure, or bytes after the end of the archive."},
		{"truncated", "The artifact ends early."},
		{"payload-mismatch", "The payload's size or SHA-256 differs from the signed manifest (the payload was altered)."},
	} {
		RefusalCodes[r.reason] = apierr.Register("release."+strings.ReplaceAll(r.reason, "-", "_"), http.StatusUnprocessableEntity,
			"Upload refused: "+r.meaning)
	}
}

// Codes returns every error code these routes add, for the registry.
func Codes() []apierr.Code {
	out := []apierr.Code{CodeReleaseNotFound, CodeReleaseExists, CodeReleaseInUse, CodeReleaseTooLarge, CodeRangeInvalid, CodeStoreUnavailable,
		CodeRolloutNotFound, CodeRolloutNotRunning, CodeRolloutInvalid}
	for _, r := range []string{"unsigned", "untrusted-key", "bad-signature", "key-expired", "key-revoked", "malformed", "truncated", "payload-mismatch"} {
		out = append(out, RefusalCodes[r])
	}
	return out
}

// RoutesOptions configures Routes.
type RoutesOptions struct {
	// AdminToken authenticates the admin routes (LIVEGATE_ADMIN_TOKEN).
	// Optional: without it they answer auth.admin_disabled.
	AdminToken string
	// AuthorizeDownload, when set, is called before an artifact is served
	// (e.g. to check a device credential). Optional. Default: downloads are
	// open to anyone who knows the release id (artifacts are signed; a
	// device verifies before installing).
	AuthorizeDownload fiber.Handler
}

// ReleaseList is GET /admin/v1/releases.
type ReleaseList struct {
	Releases []Release `json:"releases"`
}

// RolloutView is a rollout with per-device progress and counts per state.
type RolloutView struct {
	Rollout
	Counts map[string]int `json:"counts" doc:"Devices per state (pending, notified, downloading, installing, succeeded, failed, rolled_back)."`
}

// RolloutList is GET /admin/v1/rollouts (without per-device progress).
type RolloutList struct {
	Rollouts []RolloutView `json:"rollouts"`
}

// LabelsRequest is the body of PUT /admin/v1/devices/{id}/labels.
type LabelsRequest struct {
	Labels map[string]string `json:"labels" doc:"The device's labels, replacing the ones it had (an empty object removes them). Keys: 1–63 of [A-Za-z0-9._/-], not \"tenant\" (every device carries its tenant id under it); values: up to 255 characters; at most 32 labels."`
}

// StopRequest is the optional body of POST /admin/v1/rollouts/{id}/stop.
type StopRequest struct {
	Reason string `json:"reason,omitempty" doc:"Why it was stopped (shown in the rollout)."`
}

const tagOTA = "OTA releases and rollouts"

var (
	pathRelease = openapi.Param{Name: "id", In: "path", Description: "Release id (rel_…)."}
	pathRollout = openapi.Param{Name: "id", In: "path", Description: "Rollout id (rol_…)."}
	pathDevice  = openapi.Param{Name: "id", In: "path", Description: "Device id."}
	adminErrs   = []apierr.Code{apierr.AdminDisabled, apierr.AdminInvalid}
)

// Routes returns the release and rollout routes, to mount with
// daemon.Options.Routes.
func Routes(s *Service, o RoutesOptions) []api.Route {
	h := &handlers{s: s, o: o, adminHash: sha256.Sum256([]byte(o.AdminToken))}
	admin := []string{openapi.SecAdmin}
	errs := func(extra ...apierr.Code) []apierr.Code {
		return append(append([]apierr.Code{}, adminErrs...), extra...)
	}
	refusals := errs(CodeReleaseExists, CodeReleaseTooLarge, apierr.MissingField, CodeStoreUnavailable)
	for _, c := range Codes() {
		if c.Status == http.StatusUnprocessableEntity {
			refusals = append(refusals, c)
		}
	}
	limit := fmt.Sprintf("%d MiB", s.cfg.MaxArtifactSize>>20)
	return []api.Route{
		{Operation: openapi.Operation{Method: "POST", Path: "/admin/v1/releases", ID: "uploadRelease", Tag: tagOTA, Security: admin,
			Summary: "Upload a signed OTA artifact",
			Description: "The body is the artifact file itself (Content-Type application/octet-stream or application/x-tar), or " +
				"multipart/form-data with the file in the field \"artifact\". Limit: " + limit + ". The artifact is verified completely against the trusted root keys — signature chain, manifest, payload " +
				"SHA-256, end of archive — before anything is stored; a refusal answers 422 with release.<reason>.",
			Responses: []openapi.Response{{Status: 201, Description: "Stored.", Body: Release{}, Headers: []string{"Location"}}},
			Errors:    refusals}, Handler: h.admin(h.upload), BodyLimit: 2*int(s.cfg.MaxArtifactSize) + 1<<20},
		{Operation: openapi.Operation{Method: "GET", Path: "/admin/v1/releases", ID: "listReleases", Tag: tagOTA, Security: admin,
			Summary:   "List releases, newest upload first",
			Responses: []openapi.Response{{Status: 200, Description: "The releases.", Body: ReleaseList{}}},
			Errors:    errs()}, Handler: h.admin(h.list)},
		{Operation: openapi.Operation{Method: "GET", Path: "/admin/v1/releases/{id}", ID: "getRelease", Tag: tagOTA, Security: admin,
			Summary: "Get a release", Params: []openapi.Param{pathRelease},
			Responses: []openapi.Response{{Status: 200, Description: "The release.", Body: Release{}}},
			Errors:    errs(CodeReleaseNotFound)}, Handler: h.admin(h.get)},
		{Operation: openapi.Operation{Method: "DELETE", Path: "/admin/v1/releases/{id}", ID: "deleteRelease", Tag: tagOTA, Security: admin,
			Summary: "Delete a release and its file", Description: "Refused while a rollout of it is running.", Params: []openapi.Param{pathRelease},
			Responses: []openapi.Response{{Status: 204, Description: "Deleted."}},
			Errors:    errs(CodeReleaseNotFound, CodeReleaseInUse)}, Handler: h.admin(h.delete)},
		{Operation: openapi.Operation{Method: "GET", Path: "/api/v1/releases/{id}/artifact", ID: "downloadArtifact", Tag: tagOTA,
			Summary: "Download a release's artifact (devices)",
			Description: "The signed artifact as uploaded. Supports a single Range (bytes=N-, bytes=N-M, bytes=-N) with 206 and Content-Range, " +
				"and If-Range with the ETag (the artifact's SHA-256); other Range forms get the whole file (200).",
			Params: []openapi.Param{pathRelease, {Name: "Range", In: "header", Description: "Optional: bytes=N- to resume."}},
			Responses: []openapi.Response{
				{Status: 200, Description: "The whole artifact.", ContentType: "application/octet-stream", Headers: []string{"ETag", "Accept-Ranges"}},
				{Status: 206, Description: "The requested range.", ContentType: "application/octet-stream", Headers: []string{"Content-Range", "ETag"}}},
			Errors: []apierr.Code{CodeReleaseNotFound, CodeRangeInvalid, CodeStoreUnavailable}}, Handler: h.download},
		{Operation: openapi.Operation{Method: "POST", Path: "/admin/v1/rollouts", ID: "startRollout", Tag: tagOTA, Security: admin,
			Summary: "Start a staged rollout of a release",
			Description: "Takes the devices that fit the release now (board, architecture, labels, firmware older than the release and " +
				"not below its min_version), tells the first stage at once, and aborts by itself when failures in the current stage reach " +
				"abort_failures or abort_percent.",
			Body: RolloutRequest{}, Example: `{"release_id": "rel_…", "stages": [10, 50, 100], "abort_failures": 3, "auto_advance_seconds": 3600}`,
			Responses: []openapi.Response{{Status: 201, Description: "Started; progress per device.", Body: RolloutView{}, Headers: []string{"Location"}}},
			Errors:    errs(CodeReleaseNotFound, CodeRolloutInvalid)}, Handler: h.admin(h.startRollout)},
		{Operation: openapi.Operation{Method: "GET", Path: "/admin/v1/rollouts", ID: "listRollouts", Tag: tagOTA, Security: admin,
			Summary:   "List rollouts, newest first (counts only)",
			Responses: []openapi.Response{{Status: 200, Description: "The rollouts.", Body: RolloutList{}}},
			Errors:    errs()}, Handler: h.admin(h.listRollouts)},
		{Operation: openapi.Operation{Method: "GET", Path: "/admin/v1/rollouts/{id}", ID: "getRollout", Tag: tagOTA, Security: admin,
			Summary: "Get a rollout with the progress of every device", Params: []openapi.Param{pathRollout},
			Responses: []openapi.Response{{Status: 200, Description: "The rollout.", Body: RolloutView{}}},
			Errors:    errs(CodeRolloutNotFound)}, Handler: h.admin(h.getRollout)},
		{Operation: openapi.Operation{Method: "POST", Path: "/admin/v1/rollouts/{id}/stop", ID: "stopRollout", Tag: tagOTA, Security: admin,
			Summary: "Stop a running rollout", Description: "No further device is told; devices already told may still install and report.",
			Params: []openapi.Param{pathRollout}, Body: StopRequest{}, Example: `{"reason": "crash reports from the first stage"}`,
			Responses: []openapi.Response{{Status: 200, Description: "Stopped.", Body: RolloutView{}}},
			Errors:    errs(CodeRolloutNotFound, CodeRolloutNotRunning)}, Handler: h.admin(h.stop)},
		{Operation: openapi.Operation{Method: "POST", Path: "/admin/v1/rollouts/{id}/advance", ID: "advanceRollout", Tag: tagOTA, Security: admin,
			Summary: "Advance a running rollout to its next stage", Description: "Tells the devices that join.",
			Params:    []openapi.Param{pathRollout},
			Responses: []openapi.Response{{Status: 200, Description: "Advanced.", Body: RolloutView{}}},
			Errors:    errs(CodeRolloutNotFound, CodeRolloutNotRunning)}, Handler: h.admin(h.advance)},
		{Operation: openapi.Operation{Method: "GET", Path: "/admin/v1/devices/{id}/labels", ID: "getDeviceLabels", Tag: tagOTA, Security: admin,
			Summary: "Get what rollouts know about a device: its board and labels", Params: []openapi.Param{pathDevice},
			Description: "The board comes from the device's telemetry; labels from PUT. Rollouts also give every device the label tenant=<its tenant id>.",
			Responses:   []openapi.Response{{Status: 200, Description: "The device's facts.", Body: DeviceFacts{}}},
			Errors:      errs(CodeDeviceNotFound)}, Handler: h.admin(h.getLabels)},
		{Operation: openapi.Operation{Method: "PUT", Path: "/admin/v1/devices/{id}/labels", ID: "setDeviceLabels", Tag: tagOTA, Security: admin,
			Summary: "Set a device's labels (rollout cohorts)", Params: []openapi.Param{pathDevice},
			Description: "Replaces the device's labels. A rollout takes the devices that fit it when it starts: set labels before starting one.",
			Body:        LabelsRequest{}, Example: `{"labels": {"site": "lobby", "ring": "canary"}}`,
			Responses: []openapi.Response{{Status: 200, Description: "The device's facts.", Body: DeviceFacts{}}},
			Errors:    errs(CodeDeviceNotFound, apierr.MissingField, apierr.InvalidField)}, Handler: h.admin(h.setLabels)},
	}
}

type handlers struct {
	s         *Service
	o         RoutesOptions
	adminHash [32]byte
}

func (h *handlers) admin(next fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if h.o.AdminToken == "" {
			return apierr.New(apierr.AdminDisabled, "the admin API is disabled: set LIVEGATE_ADMIN_TOKEN to enable it")
		}
		tok := c.Get(fiber.HeaderAuthorization)
		if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
			tok = strings.TrimSpace(tok[7:])
		} else {
			tok = ""
		}
		got := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(got[:], h.adminHash[:]) != 1 {
			return apierr.New(apierr.AdminInvalid, "send Authorization: Bearer <admin token>")
		}
		return next(c)
	}
}

// apiErr maps the package's errors to API errors.
func apiErr(err error, notFound apierr.Code) error {
	var e *apierr.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, ErrNotFound):
		return apierr.Wrap(notFound, err, "%s", strings.TrimPrefix(err.Error(), "releases: "))
	case errors.Is(err, ErrExists):
		return apierr.Wrap(CodeReleaseExists, err, "%s", strings.TrimPrefix(err.Error(), "releases: "))
	case errors.Is(err, ErrInUse):
		return apierr.Wrap(CodeReleaseInUse, err, "%s", strings.TrimPrefix(err.Error(), "releases: "))
	case errors.Is(err, ErrTooLarge):
		return apierr.Wrap(CodeReleaseTooLarge, err, "the artifact is larger than the upload limit")
	case errors.Is(err, ErrFinished):
		return apierr.Wrap(CodeRolloutNotRunning, err, "%s", strings.TrimPrefix(err.Error(), "releases: "))
	case errors.Is(err, ErrInvalid):
		return apierr.Wrap(CodeRolloutInvalid, err, "%s", strings.TrimPrefix(err.Error(), "releases: "))
	case errors.Is(err, errNoFleet):
		return apierr.Wrap(apierr.StoreUnavailable, err, "rollouts are not available: this server has no fleet connection")
	case errors.Is(err, ErrStoreUnavailable):
		return apierr.Wrap(CodeStoreUnavailable, err, "the artifact store is unavailable; retry later")
	case errors.Is(err, ErrClosed):
		return apierr.Wrap(apierr.StoreUnavailable, err, "the release store cannot serve")
	}
	if code, ok := RefusalCodes[artifact.Reason(err)]; ok {
		return apierr.Wrap(code, err, "artifact refused (%s): %s", artifact.Reason(err), strings.TrimPrefix(err.Error(), "releases: "))
	}
	return err
}

func (h *handlers) upload(c *fiber.Ctx) error {
	var r io.Reader
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if strings.HasPrefix(ct, fiber.MIMEMultipartForm) {
		fh, err := c.FormFile("artifact")
		if err != nil {
			return apierr.New(apierr.MissingField, "multipart field \"artifact\" is required")
		}
		f, err := fh.Open()
		if err != nil {
			return fmt.Errorf("releases: open multipart artifact: %w", err)
		}
		defer func(f multipart.File) { f.Close() }(f)
		r = f
	} else {
		if len(c.Body()) == 0 {
			return apierr.New(apierr.MissingField, "the body must be the artifact file")
		}
		r = bytes.NewReader(c.Body())
	}
	rel, err := h.s.Upload(c.UserContext(), r)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return apierr.Wrap(CodeReleaseTooLarge, err, "the artifact is larger than the %d-byte upload limit", h.s.cfg.MaxArtifactSize)
		}
		return apiErr(err, CodeReleaseNotFound)
	}
	c.Set(fiber.HeaderLocation, "/admin/v1/releases/"+rel.ID)
	return c.Status(fiber.StatusCreated).JSON(rel)
}

func (h *handlers) list(c *fiber.Ctx) error {
	rs, err := h.s.List(c.UserContext())
	if err != nil {
		return apiErr(err, CodeReleaseNotFound)
	}
	out := ReleaseList{Releases: []Release{}}
	for _, r := range rs {
		out.Releases = append(out.Releases, *r)
	}
	return c.JSON(out)
}

func (h *handlers) get(c *fiber.Ctx) error {
	r, err := h.s.Get(c.UserContext(), c.Params("id"))
	if err != nil {
		return apiErr(err, CodeReleaseNotFound)
	}
	return c.JSON(r)
}

func (h *handlers) delete(c *fiber.Ctx) error {
	if err := h.s.Delete(c.UserContext(), c.Params("id")); err != nil {
		return apiErr(err, CodeReleaseNotFound)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// download serves the artifact with single-range support.
func (h *handlers) download(c *fiber.Ctx) error {
	if h.o.AuthorizeDownload != nil {
		if err := h.o.AuthorizeDownload(c); err != nil {
			return err
		}
	}
	rel, err := h.s.Get(c.UserContext(), c.Params("id"))
	if err != nil || !validID(rel.ID) {
		if err == nil {
			err = ErrNotFound
		}
		return apiErr(err, CodeReleaseNotFound)
	}
	size := rel.Size
	etag := `"` + rel.SHA256 + `"`
	start, end, partial := int64(0), size-1, false
	if rg := c.Get(fiber.HeaderRange); rg != "" && (c.Get(fiber.HeaderIfRange) == "" || c.Get(fiber.HeaderIfRange) == etag) {
		s, e, ok, satisfiable := parseRange(rg, size)
		if ok && !satisfiable {
			c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", size))
			return apierr.New(CodeRangeInvalid, "range %q is outside the %d-byte artifact", rg, size)
		}
		if ok {
			start, end, partial = s, e, true
		}
	}
	n := end - start + 1
	// The bytes stream through this server from the store (disk or
	// object store): devices need no access to the object store, and
	// Range, If-Range and the ETag mean the same whatever the store.
	rc, _, err := h.s.Open(c.UserContext(), rel.ID, start, n)
	if err != nil {
		return apiErr(err, CodeReleaseNotFound)
	}
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set(fiber.HeaderETag, etag)
	if partial {
		c.Status(fiber.StatusPartialContent)
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", start, end, size))
	}
	c.Context().SetBodyStream(rc, int(n))
	return nil
}

// parseRange parses a single byte range. ok is false when the header is
// not one range in a form this server honours (the whole file is sent);
// satisfiable is false when it starts past the end.
func parseRange(h string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	if a == "" { // suffix: the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		if n > size {
			n = size
		}
		return size - n, size - 1, true, true
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, false, false
	}
	e := size - 1
	if b != "" {
		if e, err = strconv.ParseInt(b, 10, 64); err != nil || e < s {
			return 0, 0, false, false
		}
		if e > size-1 {
			e = size - 1
		}
	}
	if s >= size {
		return 0, 0, true, false
	}
	return s, e, true, true
}

func view(ro *Rollout, devices bool) RolloutView {
	v := RolloutView{Rollout: *ro, Counts: map[string]int{}}
	for _, p := range ro.Devices {
		v.Counts[p.State]++
	}
	if !devices {
		v.Devices = nil
	}
	return v
}

func (h *handlers) startRollout(c *fiber.Ctx) error {
	var req RolloutRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.ReleaseID == "" {
		return apierr.New(apierr.MissingField, "field \"release_id\" is required")
	}
	ro, err := h.s.StartRollout(c.UserContext(), req)
	if err != nil {
		return apiErr(err, CodeReleaseNotFound)
	}
	c.Set(fiber.HeaderLocation, "/admin/v1/rollouts/"+ro.ID)
	return c.Status(fiber.StatusCreated).JSON(view(ro, true))
}

func (h *handlers) listRollouts(c *fiber.Ctx) error {
	ros, err := h.s.Rollouts(c.UserContext())
	if err != nil {
		return apiErr(err, CodeRolloutNotFound)
	}
	out := RolloutList{Rollouts: []RolloutView{}}
	for _, ro := range ros {
		out.Rollouts = append(out.Rollouts, view(ro, false))
	}
	return c.JSON(out)
}

func (h *handlers) getRollout(c *fiber.Ctx) error {
	ro, err := h.s.Rollout(c.UserContext(), c.Params("id"))
	if err != nil {
		return apiErr(err, CodeRolloutNotFound)
	}
	return c.JSON(view(ro, true))
}

func (h *handlers) stop(c *fiber.Ctx) error {
	var req StopRequest
	if len(c.Body()) > 0 {
		if err := decode(c, &req); err != nil {
			return err
		}
	}
	ro, err := h.s.Stop(c.UserContext(), c.Params("id"), req.Reason)
	if err != nil {
		return apiErr(err, CodeRolloutNotFound)
	}
	return c.JSON(view(ro, true))
}

func (h *handlers) advance(c *fiber.Ctx) error {
	ro, err := h.s.Advance(c.UserContext(), c.Params("id"))
	if err != nil {
		return apiErr(err, CodeRolloutNotFound)
	}
	return c.JSON(view(ro, true))
}

// knownDevice checks that id is an enrolled, unrevoked device.
func (h *handlers) knownDevice(c *fiber.Ctx, id string) error {
	if h.s.cfg.Devices == nil {
		return nil
	}
	ds, err := h.s.cfg.Devices.List(c.UserContext())
	if err != nil {
		return apierr.Wrap(apierr.StoreUnavailable, err, "the device registry cannot serve")
	}
	for _, d := range ds {
		if d.ID == id {
			return nil
		}
	}
	return apierr.New(CodeDeviceNotFound, "no enrolled device %s", id)
}

func (h *handlers) getLabels(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := h.knownDevice(c, id); err != nil {
		return err
	}
	f, err := h.s.DeviceFacts(c.UserContext(), id)
	if err != nil {
		return apiErr(err, CodeDeviceNotFound)
	}
	return c.JSON(f)
}

func (h *handlers) setLabels(c *fiber.Ctx) error {
	var req LabelsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if req.Labels == nil {
		return apierr.New(apierr.MissingField, "field \"labels\" is required (an empty object removes every label)")
	}
	if err := validLabels(req.Labels); err != nil {
		return apierr.Wrap(apierr.InvalidField, err, "field \"labels\": %s", strings.TrimPrefix(err.Error(), "releases: invalid: "))
	}
	id := c.Params("id")
	if err := h.knownDevice(c, id); err != nil {
		return err
	}
	f, err := h.s.SetLabels(c.UserContext(), id, req.Labels)
	if err != nil {
		return apiErr(err, CodeDeviceNotFound)
	}
	return c.JSON(f)
}

func decode(c *fiber.Ctx, v any) error {
	if ct := c.Get(fiber.HeaderContentType); len(c.Body()) > 0 && ct != "" && !strings.HasPrefix(strings.ToLower(ct), fiber.MIMEApplicationJSON) {
		return apierr.New(apierr.UnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
	}
	if err := jsonbody.Decode(c.Body(), v); err != nil {
		return err
	}
	return nil
}
