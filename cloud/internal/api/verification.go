package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/faceapi"
)

// Verification sessions (seed 003): POST /v1/sessions and the routes under
// /v1/sessions/{id}. An adapter over the one session lifecycle: a
// verification session is a managed session with a flow, a reference and a
// sealed subject, captured on the same hosted page and told through the
// same webhook outbox; these handlers only translate shapes and enforce the
// key's scopes.

// Codes of the verification routes.
var (
	CodeInsufficientScope = apierr.Register("auth.insufficient_scope", http.StatusForbidden,
		"The API key lacks the scope this route needs (sessions:read to read sessions, their results, reports, photos, audit frames and recordings; sessions:write to create, cancel and simulate them); the message names it. Give the key the scope when you create or rotate it.")
	CodeTenantKeyRequired = apierr.Register("auth.tenant_key_required", http.StatusForbidden,
		"Verification sessions (/v1/sessions) need a tenant API key (iksk_…); the legacy global key has no tenant to seal the subject with.")
	CodeFlowUnavailable = apierr.Register("session.flow_unavailable", http.StatusUnprocessableEntity,
		"The flow names checks this server does not run: document (liveness+facematch+document) everywhere, facematch on a server without the face engine (one not serving the capture routes); the message names what is missing. Flow liveness is always available.")
)

// referenceBodyLimit is the largest body of POST /v1/sessions and of the
// simulate route: a reference face (or a simulated probe) as base64 of an
// image at the face routes' limit, plus the other fields.
const referenceBodyLimit = (faceapi.DefaultMaxBytes+2)/3*4 + 64<<10

// Limits of a verification request's fields.
const (
	maxReference   = 256
	maxSubjectName = 200
	maxIDNumber    = 64
)

// VerificationRequest is the body of POST /v1/sessions.
type VerificationRequest struct {
	Flow        string               `json:"flow" doc:"The checks to run: liveness, or liveness+facematch (the capture's best frame against referenceFace). liveness+facematch+document gets 422 session.flow_unavailable, as does liveness+facematch on a server without the face engine." enum:"liveness,liveness+facematch,liveness+facematch+document"`
	Reference   string               `json:"reference,omitempty" doc:"Your own identifier for this verification (≤ 256 characters), echoed back in the report and webhooks so you can reconcile it."`
	Subject     *VerificationSubject `json:"subject,omitempty" doc:"Optional subject details. Sealed at rest with your tenant's data key; shown only in the report."`
	RedirectURL string               `json:"redirectUrl,omitempty" doc:"Where the hosted page sends the user when capture ends , with sessionId=<the session id> added to its query; https, or with --dev http:// to a loopback host." format:"uri"`
	Metadata    json.RawMessage      `json:"metadata,omitempty" doc:"Any JSON object (≤ 8 KiB) attached to the session, echoed back in the report and webhooks."`
	WebhookURL  string               `json:"webhookUrl,omitempty" doc:"livegate addition: an https URL that receives the signed session.* events of this session, in this shape." format:"uri"`
	Mode        string               `json:"mode,omitempty" doc:"livegate addition: the liveness mode, active (default: 3–6 challenges) or passive (hold still)." enum:"active,passive"`
	// ReferenceFace is named apart from reference, which the seed uses
	// for the integrator's own identifier.
	ReferenceFace *ReferenceFace `json:"referenceFace,omitempty" doc:"livegate addition, required with flow liveness+facematch (and refused with liveness): the face the capture's best frame is compared with, either image or sessionId."`
}

// ReferenceFace is the reference face of a liveness+facematch session.
type ReferenceFace struct {
	Image     string `json:"image,omitempty" doc:"A JPEG or PNG photo showing exactly one face, base64 (standard alphabet): at most 5 MiB decoded, 25 megapixels and 8192 px a side, at least 32 px a side. Refused with face.not_detected, face.multiple_faces or image.* (image.unsupported_type, image.corrupt, image.too_large, image.too_small). Only the face's embedding is kept, sealed with your tenant's data key; the image is not stored."`
	SessionID string `json:"sessionId,omitempty" doc:"An earlier session of your tenant that was approved (liveness pass) and whose portrait is ready: its portrait is the reference. Another tenant's or a missing session gets 404 session.not_found; one not approved 409 session.not_verified."`
}

// VerificationSubject is who a verification session is about.
type VerificationSubject struct {
	FirstName   string `json:"firstName" doc:"1–200 characters."`
	LastName    string `json:"lastName" doc:"1–200 characters."`
	IDNumber    string `json:"idNumber,omitempty" doc:"An identity document number, ≤ 64 characters."`
	DateOfBirth string `json:"dateOfBirth,omitempty" doc:"YYYY-MM-DD, not in the future." format:"date"`
}

// VerificationReport is the body of GET /v1/sessions/{id}/report.
type VerificationReport struct {
	SessionID       string               `json:"sessionId"`
	Status          core.Status          `json:"status" enum:"pending,in_progress,completed,expired,cancelled"`
	Flow            string               `json:"flow" enum:"liveness,liveness+facematch"`
	Reference       string               `json:"reference,omitempty"`
	Metadata        json.RawMessage      `json:"metadata,omitempty"`
	Subject         *VerificationSubject `json:"subject,omitempty" doc:"The subject given at creation (opened with your tenant's data key)."`
	Decision        *string              `json:"decision" doc:"As in GET /v1/sessions/{id}." enum:"approved,declined,review"`
	DecisionReasons []string             `json:"decisionReasons"`
	CreatedAt       time.Time            `json:"createdAt"`
	StartedAt       *time.Time           `json:"startedAt" doc:"When capture began (the first camera frame was analysed); null before, and for simulated sessions."`
	CompletedAt     *time.Time           `json:"completedAt" doc:"When the session got its outcome; null until then."`
	EndedAt         *time.Time           `json:"endedAt" doc:"When the session became terminal (completed, expired or cancelled); null until then."`
	ExpiresAt       time.Time            `json:"expiresAt"`
	Attempts        int                  `json:"attempts" doc:"Capture attempts made, the deciding one included."`
	Test            bool                 `json:"test" doc:"Created with a test-mode key."`
	Simulated       bool                 `json:"simulated" doc:"Completed by the test-mode simulate route, not a capture."`
	Checks          []ReportCheck        `json:"checks" doc:"Per check of the flow, its full breakdown."`
	Consent         *ReportConsent       `json:"consent" doc:"The user's consent as the hosted page recorded it before the camera started; null until then (and for a session completed by the test-mode simulate route without a page)."`
}

// ReportConsent is a verification session's consent record.
type ReportConsent struct {
	GivenAt    time.Time `json:"givenAt" doc:"When the server recorded it."`
	Language   string    `json:"language" doc:"The page's language when the user agreed."`
	Text       string    `json:"text" doc:"The exact text shown: the consent statement, a blank line, the checkbox's label — your tenant's texts (capture_page.messages consent.text, consent.agree) in that language where you set them, else the built-in ones; **…** marks bold."`
	TextSHA256 string    `json:"textSha256" doc:"SHA-256 of text (its UTF-8 bytes), hex."`
	PolicyURL  *string   `json:"policyUrl" doc:"Your privacy policy linked beside the text (capture_page.policy_url); null when none was set."`
}

// ReportCheck is the breakdown of one check of a verification session: a
// liveness check (score, mode, layers, reasons, captures) or a facematch
// check (similarity, thresholds, the faces compared); MarshalJSON writes
// the fields of its type.
type ReportCheck struct {
	Type       string          `json:"type" enum:"liveness,facematch"`
	Status     *string         `json:"status" doc:"liveness: pass, fail or retry (inconclusive); facematch: pass, review or fail (review also when no face of the capture could be compared); null until the check has an outcome." enum:"pass,fail,retry,review"`
	Score      *float64        `json:"score" optional:"true" doc:"liveness: confidence in [0, 1]; null until the check has an outcome."`
	Mode       core.Mode       `json:"mode" optional:"true" doc:"liveness: the liveness mode." enum:"active,passive"`
	Challenges []string        `json:"challenges,omitempty" doc:"liveness: a test-mode session's fixed challenge list, when it had one."`
	Layers     []core.Check    `json:"layers" optional:"true" doc:"liveness: the engine's layers in its order (challenges, anti_spoof, injection, face_consistency, motion, non_rigid, light_response), each with its status, score and detail."`
	Reasons    []string        `json:"reasons" optional:"true" doc:"liveness: the engine's reason codes (docs/liveness.md)."`
	Captures   []ReportCapture `json:"captures" optional:"true" doc:"liveness: the frames kept for your audit trail, with when each was captured; empty for simulated sessions and once their retention ended."`
	Similarity *float64        `json:"similarity" optional:"true" doc:"facematch: cosine similarity of the compared faces' embeddings (MobileFaceNet, mesh-aligned), in [-1, 1]; null until compared, or when no face could be."`
	Threshold  *float64        `json:"threshold" optional:"true" doc:"facematch: the accept threshold in force when the session was created: pass at or above it."`
	ReviewFrom *float64        `json:"reviewFrom" optional:"true" doc:"facematch: where the grey zone starts: from it up to threshold the decision is review, below it facematch fails."`
	Reference  *ReportFace     `json:"reference" optional:"true" doc:"facematch: the reference face (never the image)."`
	Probe      *ReportFace     `json:"probe" optional:"true" doc:"facematch: the face compared with it: the capture's best frame; null until compared, or when no face could be."`
}

// ReportFace names a face the facematch check compared: where it came from
// and a keyed digest of it — never an image.
type ReportFace struct {
	Source     string     `json:"source" doc:"reference: image (uploaded at creation) or session (an earlier session's portrait); probe: capture (the capture's best frame) or simulated (the test-mode simulate route's faceImage)." enum:"image,session,capture,simulated"`
	SessionID  string     `json:"sessionId,omitempty" doc:"reference from a session: that session's id."`
	Digest     string     `json:"digest" doc:"HMAC-SHA256 under your tenant's data key of the image bytes (reference, simulated probe) or the frame's pixels (captured probe), hex: the same face source gives the same digest within your tenant, and it reveals nothing of the face."`
	CapturedAt *time.Time `json:"capturedAt,omitempty" doc:"probe: when the frame was captured (or the simulate request made)."`
	AuditFrame *int       `json:"auditFrame,omitempty" doc:"probe: the index of the liveness check's capture that is this frame (why best), when it was kept."`
}

// MarshalJSON writes the fields of the check's type.
func (c ReportCheck) MarshalJSON() ([]byte, error) {
	if c.Type == lifecycle.CheckFacematch {
		return json.Marshal(struct {
			Type       string      `json:"type"`
			Status     *string     `json:"status"`
			Similarity *float64    `json:"similarity"`
			Threshold  *float64    `json:"threshold"`
			ReviewFrom *float64    `json:"reviewFrom"`
			Reference  *ReportFace `json:"reference"`
			Probe      *ReportFace `json:"probe"`
		}{c.Type, c.Status, c.Similarity, c.Threshold, c.ReviewFrom, c.Reference, c.Probe})
	}
	return json.Marshal(struct {
		Type       string          `json:"type"`
		Status     *string         `json:"status"`
		Score      *float64        `json:"score"`
		Mode       core.Mode       `json:"mode"`
		Challenges []string        `json:"challenges,omitempty"`
		Layers     []core.Check    `json:"layers"`
		Reasons    []string        `json:"reasons"`
		Captures   []ReportCapture `json:"captures"`
	}{c.Type, c.Status, c.Score, c.Mode, c.Challenges, c.Layers, c.Reasons, c.Captures})
}

// ReportCapture is one captured frame kept for the audit trail.
type ReportCapture struct {
	Index      int         `json:"index"`
	Why        string      `json:"why" doc:"reference, best, challenge:<kind>, last, or the analyzer's reason."`
	CapturedAt time.Time   `json:"capturedAt"`
	FaceBox    *[4]float64 `json:"faceBox" doc:"The largest face, [x, y, width, height] in pixels; null when none was found."`
	ExpiresAt  time.Time   `json:"expiresAt" doc:"When the frame is deleted."`
	URL        string      `json:"url" doc:"The JPEG: GET with your API key."`
}

// VerificationWebhookEvent is the body of a verification session's webhooks
// (built by the lifecycle, documented here).
type VerificationWebhookEvent struct {
	ID      string                      `json:"id" doc:"Event id (evt_…), also Livegate-Event-Id; the same on every attempt and replay: deduplicate on it."`
	Type    string                      `json:"type" enum:"session.completed,session.expired,session.cancelled,session.in_progress,session.redacted"`
	Created int64                       `json:"created" doc:"Unix seconds when the state changed."`
	Data    lifecycle.VerificationEvent `json:"data" doc:"The session at that change, as GET /v1/sessions/{id} returns it (clientToken null), with reference and metadata."`
}

// verificationPrincipal authenticates a tenant key carrying scope.
func (s *Server) verificationPrincipal(c *fiber.Ctx, scope string) (lifecycle.Principal, error) {
	p, err := s.principal(c)
	if err != nil {
		return p, err
	}
	if p.Kind != lifecycle.PrincipalTenant {
		return p, apierr.New(CodeTenantKeyRequired, "verification sessions need a tenant API key (iksk_…), not the legacy global key")
	}
	return p, needScope(p, scope)
}

// needScope refuses a principal whose key lacks scope.
func needScope(p lifecycle.Principal, scope string) error {
	if !core.HasScope(p.Scopes, scope) {
		return apierr.New(CodeInsufficientScope, "this API key lacks the %s scope (it has %s)", scope, strings.Join(p.Scopes, ", "))
	}
	return nil
}

// verificationSession authorizes an action on session {id} with a tenant
// key carrying scope; another tenant's session is a missing one.
func (s *Server) verificationSession(c *fiber.Ctx, scope string) (*core.Session, error) {
	id := sessionParam(c)
	p, err := s.verificationPrincipal(c, scope)
	if err != nil {
		return nil, err
	}
	sess, err := s.cfg.Sessions.Get(c.UserContext(), id)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
			return nil, notFound(id)
		}
		return nil, err
	}
	if !owns(p, sess) {
		return nil, notFound(id)
	}
	return sess, nil
}

// checkFlow maps a requested flow to the checks it runs; noFacematch,
// when not empty, says why facematch cannot run here.
func checkFlow(flow string, noFacematch string) ([]string, error) {
	switch flow {
	case "":
		return nil, apierr.New(apierr.MissingField, "field \"flow\" is required (this server runs %q)", lifecycle.FlowLiveness)
	case lifecycle.FlowLiveness:
		return []string{lifecycle.CheckLiveness}, nil
	case lifecycle.FlowLivenessFacematch:
		if noFacematch != "" {
			return nil, apierr.New(CodeFlowUnavailable, "flow %q needs the facematch check, which cannot run here: %s; use %q", flow, noFacematch, lifecycle.FlowLiveness)
		}
		return []string{lifecycle.CheckLiveness, lifecycle.CheckFacematch}, nil
	case lifecycle.FlowLivenessFacematchDocument:
		return nil, apierr.New(CodeFlowUnavailable, "flow %q needs the document check, which this server does not run yet; use %q or %q", flow, lifecycle.FlowLiveness, lifecycle.FlowLivenessFacematch)
	}
	return nil, apierr.New(apierr.InvalidField, "field \"flow\" must be %q, %q or %q, got %q", lifecycle.FlowLiveness,
		lifecycle.FlowLivenessFacematch, lifecycle.FlowLivenessFacematchDocument, flow)
}

// checkSubject validates a subject; now bounds the date of birth.
func checkSubject(sub *VerificationSubject, now time.Time) error {
	if sub == nil {
		return nil
	}
	for _, f := range []struct {
		name, v  string
		required bool
		max      int
	}{
		{"subject.firstName", sub.FirstName, true, maxSubjectName},
		{"subject.lastName", sub.LastName, true, maxSubjectName},
		{"subject.idNumber", sub.IDNumber, false, maxIDNumber},
	} {
		v := strings.TrimSpace(f.v)
		if v == "" && f.required {
			return apierr.New(apierr.MissingField, "field %q is required with subject", f.name)
		}
		if utf8.RuneCountInString(f.v) > f.max {
			return apierr.New(apierr.InvalidField, "field %q is longer than %d characters", f.name, f.max)
		}
		if strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return apierr.New(apierr.InvalidField, "field %q has control characters", f.name)
		}
	}
	if sub.DateOfBirth != "" {
		d, err := time.Parse(time.DateOnly, sub.DateOfBirth)
		if err != nil {
			return apierr.New(apierr.InvalidField, "field \"subject.dateOfBirth\" must be a date YYYY-MM-DD, got %q", sub.DateOfBirth)
		}
		if d.After(now) {
			return apierr.New(apierr.InvalidField, "field \"subject.dateOfBirth\" %s is in the future", sub.DateOfBirth)
		}
	}
	return nil
}

// createVerification: POST /v1/sessions.
func (s *Server) createVerification(c *fiber.Ctx) error {
	p, err := s.verificationPrincipal(c, core.ScopeSessionsWrite)
	if err != nil {
		return err
	}
	var req VerificationRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	faces := s.cfg.Sessions.Faces()
	noFacematch := ""
	if faces == nil {
		noFacematch = "this server serves no face engine"
	}
	flow, err := checkFlow(req.Flow, noFacematch)
	if err != nil {
		return err
	}
	facematch := slices.Contains(flow, lifecycle.CheckFacematch)
	switch {
	case facematch && req.ReferenceFace == nil:
		return apierr.New(apierr.MissingField, "field \"referenceFace\" is required with flow %q: an image or an earlier sessionId", req.Flow)
	case !facematch && req.ReferenceFace != nil:
		return apierr.New(apierr.InvalidField, "field \"referenceFace\" needs flow %q, got %q", lifecycle.FlowLivenessFacematch, req.Flow)
	}
	if utf8.RuneCountInString(req.Reference) > maxReference {
		return apierr.New(apierr.InvalidField, "field \"reference\" is longer than %d characters", maxReference)
	}
	if err := checkSubject(req.Subject, s.cfg.Clock.Now()); err != nil {
		return err
	}
	ctx := c.UserContext()
	t, err := s.cfg.Tenants.Get(ctx, p.TenantID)
	if err != nil {
		return err
	}
	x := lifecycle.Extra{Flow: flow, Reference: req.Reference, KeepTokens: true}
	if v := t.Settings.Verification.LivenessReviewBelow; v != nil {
		x.ReviewBelow = *v
	}
	if req.Subject != nil {
		dk, err := s.cfg.Tenants.DataKey(ctx, p.TenantID)
		if err != nil {
			return err
		}
		plain, err := json.Marshal(req.Subject)
		if err != nil {
			return apierr.Wrap(apierr.Internal, err, "encoding the subject failed")
		}
		x.SealedSubject, x.SubjectDigest = dk.Seal(plain), dk.Digest(plain)
	}
	if facematch {
		if x.FaceRef, err = s.referenceFace(ctx, p, t, faces, req.ReferenceFace); err != nil {
			return err
		}
	}
	created, err := s.cfg.Sessions.CreateWith(ctx, p, core.KindManaged, lifecycle.CreateRequest{
		Mode: req.Mode, RedirectURL: req.RedirectURL, WebhookURL: req.WebhookURL, Metadata: req.Metadata,
	}, c.Get("Idempotency-Key"), x)
	if err != nil {
		return renameFields(err)
	}
	c.Locals(localSessionID, created.Session.ID)
	if created.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Set(fiber.HeaderLocation, "/v1/sessions/"+created.Session.ID)
	return c.Status(fiber.StatusCreated).JSON(lifecycle.VerificationOf(created.Session, s.cfg.Sessions.PublicURL(), created.ClientToken))
}

// referenceFace makes the sealed reference face of a liveness+facematch
// session from an uploaded image or an earlier approved session's portrait
// of the same tenant. Neither the image nor the embedding is logged.
func (s *Server) referenceFace(ctx context.Context, p lifecycle.Principal, t *core.Tenant, faces lifecycle.Faces, rf *ReferenceFace) (*core.FaceRef, error) {
	var img []byte
	source, field := core.FaceRefImage, "referenceFace.image"
	switch {
	case rf.Image != "" && rf.SessionID != "":
		return nil, apierr.New(apierr.InvalidField, "field \"referenceFace\" takes image or sessionId, not both")
	case rf.Image != "":
		b, err := decodeImage(field, rf.Image)
		if err != nil {
			return nil, err
		}
		img = b
	case rf.SessionID != "":
		source, field = core.FaceRefSession, "referenceFace.sessionId"
		ref, err := s.cfg.Sessions.Get(ctx, rf.SessionID)
		if err != nil {
			if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
				return nil, apierr.New(apierr.SessionNotFound, "%s: no session %s", field, rf.SessionID)
			}
			return nil, err
		}
		if !owns(p, ref) {
			return nil, apierr.New(apierr.SessionNotFound, "%s: no session %s", field, rf.SessionID)
		}
		d, _, _ := lifecycle.Decide(ref)
		approved := d != nil && *d == lifecycle.DecisionApproved
		if len(ref.Flow) == 0 { // a session of the other routes: its liveness pass
			approved = ref.Verdict != nil && *ref.Verdict == core.VerdictPass
		}
		if !approved || ref.Photo != core.PhotoReady {
			return nil, apierr.New(faceapi.CodeNotVerified.API, "%s: session %s was not approved, or its portrait is not ready", field, rf.SessionID)
		}
		if img, err = s.cfg.Sessions.Photo(ctx, rf.SessionID); err != nil {
			return nil, err
		}
	default:
		return nil, apierr.New(apierr.MissingField, "field \"referenceFace\" needs image or sessionId")
	}
	emb, err := faces.Embed(ctx, field, img)
	if err != nil {
		return nil, err
	}
	dk, err := s.cfg.Tenants.DataKey(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	accept, from := t.Settings.Verification.Facematch()
	return lifecycle.NewFaceRef(dk, source, rf.SessionID, img, emb, accept, from), nil
}

// facematchReport is the report's facematch check of sess, whose decided
// checks (Decide) are checks.
func facematchReport(sess *core.Session, checks []lifecycle.VerificationCheck) ReportCheck {
	rc := ReportCheck{Type: lifecycle.CheckFacematch}
	for _, c := range checks {
		if c.Type == lifecycle.CheckFacematch {
			st := c.Status
			rc.Status = &st
		}
	}
	if ref := sess.FaceRef; ref != nil {
		accept, from := ref.Accept, ref.ReviewFrom
		rc.Threshold, rc.ReviewFrom = &accept, &from
		rc.Reference = &ReportFace{Source: ref.Source, SessionID: ref.SessionID, Digest: hex.EncodeToString(ref.Digest)}
	}
	if fm := sess.FaceMatch; fm != nil {
		sim := fm.Similarity
		rc.Similarity = &sim
		at := fm.ProbeAt
		rc.Probe = &ReportFace{Source: fm.ProbeSource, Digest: hex.EncodeToString(fm.ProbeDigest), CapturedAt: &at}
		if fm.ProbeFrame >= 0 {
			n := fm.ProbeFrame
			rc.Probe.AuditFrame = &n
		}
	}
	return rc
}

// decodeImage decodes the base64 image of field (standard alphabet,
// padding optional), bounded like the face routes' uploads.
func decodeImage(field, b64 string) ([]byte, error) {
	b64 = strings.TrimRight(b64, "=")
	if base64.RawStdEncoding.DecodedLen(len(b64)) > faceapi.DefaultMaxBytes {
		return nil, apierr.New(faceapi.CodeTooLarge.API, "%s: more than %d bytes once decoded, the limit", field, faceapi.DefaultMaxBytes)
	}
	b, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return nil, apierr.New(apierr.InvalidField, "field %q must be base64 (standard alphabet): %v", field, err)
	}
	return b, nil
}

// renameFields names the camelCase fields in the lifecycle's messages.
func renameFields(err error) error {
	e, ok := apierr.As(err)
	if !ok {
		return err
	}
	r := strings.NewReplacer("redirect_url", "redirectUrl", "webhook_url", "webhookUrl")
	cp := *e
	cp.Message = r.Replace(e.Message)
	return &cp
}

// verificationView renders sess with its client token while it has one.
func (s *Server) verificationView(sess *core.Session) (lifecycle.Verification, error) {
	client := ""
	if !sess.Status.Terminal() {
		tok, ok, err := s.cfg.Sessions.ClientToken(sess)
		if err != nil {
			return lifecycle.Verification{}, err
		}
		if ok {
			client = tok
		}
	}
	return lifecycle.VerificationOf(sess, s.cfg.Sessions.PublicURL(), client), nil
}

// getVerification: GET /v1/sessions/{id}.
func (s *Server) getVerification(c *fiber.Ctx) error {
	sess, err := s.verificationSession(c, core.ScopeSessionsRead)
	if err != nil {
		return err
	}
	v, err := s.verificationView(sess)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// cancelVerification: POST /v1/sessions/{id}/cancel.
func (s *Server) cancelVerification(c *fiber.Ctx) error {
	sess, err := s.verificationSession(c, core.ScopeSessionsWrite)
	if err != nil {
		return err
	}
	done, err := s.cfg.Sessions.Cancel(c.UserContext(), sess.ID)
	if err != nil {
		return err
	}
	v, err := s.verificationView(done)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// verificationReport: GET /v1/sessions/{id}/report.
func (s *Server) verificationReport(c *fiber.Ctx) error {
	sess, err := s.verificationSession(c, core.ScopeSessionsRead)
	if err != nil {
		return err
	}
	r := VerificationReport{
		SessionID: sess.ID, Status: sess.Status, Flow: lifecycle.FlowOf(sess), Reference: sess.Reference, Metadata: sess.Metadata,
		CreatedAt: sess.CreatedAt, StartedAt: sess.StartedAt, CompletedAt: sess.CompletedAt, ExpiresAt: sess.ExpiresAt,
		Attempts: sess.Attempts, Test: sess.Test, Simulated: sess.Simulated,
	}
	if sess.Status.Terminal() {
		ended := sess.UpdatedAt
		if sess.CompletedAt != nil {
			ended = *sess.CompletedAt
		}
		r.EndedAt = &ended
	}
	var checks []lifecycle.VerificationCheck
	r.Decision, r.DecisionReasons, checks = lifecycle.Decide(sess)
	if len(sess.SealedSubject) > 0 {
		dk, err := s.cfg.Tenants.DataKey(c.UserContext(), sess.TenantID)
		if err != nil {
			return err
		}
		plain, err := dk.Open(sess.SealedSubject)
		if err != nil {
			return apierr.Wrap(apierr.Internal, err, "opening the subject of session %s failed", sess.ID)
		}
		var sub VerificationSubject
		if err := json.Unmarshal(plain, &sub); err != nil {
			return apierr.Wrap(apierr.Internal, err, "decoding the subject of session %s failed", sess.ID)
		}
		r.Subject = &sub
	}
	lc := ReportCheck{Type: lifecycle.CheckLiveness, Mode: sess.Mode, Challenges: sess.Challenges,
		Layers: append([]core.Check{}, sess.Checks...), Reasons: append([]string{}, sess.Reasons...), Captures: []ReportCapture{}}
	if len(checks) > 0 {
		st, sc := checks[0].Status, checks[0].Score
		lc.Status, lc.Score = &st, &sc
	}
	for _, f := range lifecycle.AuditFramesAt(sess, s.cfg.Clock.Now()) {
		lc.Captures = append(lc.Captures, ReportCapture{Index: f.Index, Why: f.Why, CapturedAt: f.CapturedAt, FaceBox: f.FaceBox,
			ExpiresAt: f.ExpiresAt, URL: f.URL})
	}
	r.Checks = []ReportCheck{lc}
	if lifecycle.HasFacematch(sess) {
		r.Checks = append(r.Checks, facematchReport(sess, checks))
	}
	if cs := sess.Consent; cs != nil {
		rc := &ReportConsent{GivenAt: cs.GivenAt, Language: cs.Language, Text: cs.Text, TextSHA256: cs.TextSHA256}
		if cs.PolicyURL != "" {
			rc.PolicyURL = &cs.PolicyURL
		}
		r.Consent = rc
	}
	return c.JSON(r)
}
