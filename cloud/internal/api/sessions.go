package api

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/icao"
	"livegate.dev/models/liveness"
)

// createManaged: POST /api/v1/managed-session.
func (s *Server) createManaged(c *fiber.Ctx) error {
	p, err := s.principal(c)
	if err != nil {
		return err
	}
	if err := needScope(p, core.ScopeSessionsWrite); err != nil {
		return err
	}
	var req lifecycle.CreateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	created, err := s.cfg.Sessions.Create(c.UserContext(), p, core.KindManaged, req, c.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	return s.sendCreated(c, created)
}

// createDirect: POST /api/v1/session (no key).
func (s *Server) createDirect(c *fiber.Ctx) error {
	var req lifecycle.DirectRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := s.checkCaptcha(c); err != nil {
		return err
	}
	created, err := s.cfg.Sessions.Create(c.UserContext(), lifecycle.Principal{}, core.KindDirect,
		lifecycle.CreateRequest{UserID: req.UserID, Mode: req.Mode, RedirectURL: req.RedirectURL}, "")
	if err != nil {
		return err
	}
	return s.sendCreated(c, created)
}

func (s *Server) sendCreated(c *fiber.Ctx, created *lifecycle.Created) error {
	sess := created.Session
	c.Locals(localSessionID, sess.ID)
	if created.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Set(fiber.HeaderLocation, "/api/v1/session/"+sess.ID+"/result")
	return c.Status(fiber.StatusCreated).JSON(SessionCreated{
		SessionID:   sess.ID,
		SessionURL:  created.SessionURL,
		Token:       created.Token,
		ClientToken: created.ClientToken,
		ExpiresAt:   sess.ExpiresAt,
		Mode:        sess.Mode,
		Status:      sess.Status,
		Challenges:  sess.Challenges,
	})
}

// owns reports whether principal p may read and act on sess with its key.
func owns(p lifecycle.Principal, sess *core.Session) bool {
	switch p.Kind {
	case lifecycle.PrincipalTenant:
		return sess.TenantID != "" && sess.TenantID == p.TenantID
	case lifecycle.PrincipalLegacy:
		return sess.TenantID == "" && sess.Kind == core.KindManaged
	}
	return false
}

func notFound(id string) error {
	return apierr.New(apierr.SessionNotFound, "session %s not found", id)
}

// sessionParam returns the {id} path parameter, copied out of Fiber's buffer.
func sessionParam(c *fiber.Ctx) string {
	id := strings.Clone(c.Params("id"))
	c.Locals(localSessionID, id)
	return id
}

// readableSession authorizes a read with the session's token (?token= or a
// bearer lgst_… token) or the owning tenant's API key. Everything that is
// not allowed to see the session gets the same 404 as a missing session.
func (s *Server) readableSession(c *fiber.Ctx) (*core.Session, error) {
	id := sessionParam(c)
	token := c.Query("token")
	key := bearer(c)
	if token == "" && strings.HasPrefix(key, "lgst_") {
		token, key = key, ""
	}
	var p lifecycle.Principal
	switch {
	case key != "":
		var err error
		if p, err = s.principalFor(c, key); err != nil {
			return nil, err
		}
		if err := needScope(p, core.ScopeSessionsRead); err != nil {
			return nil, err
		}
	case token == "":
		return nil, apierr.New(apierr.AuthMissing, "send ?token=<session token> or Authorization: Bearer <API key>")
	}
	sess, err := s.cfg.Sessions.Get(c.UserContext(), id)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
			return nil, notFound(id)
		}
		return nil, err
	}
	if key != "" {
		if !owns(p, sess) {
			return nil, notFound(id)
		}
		return sess, nil
	}
	ok, expired := s.cfg.Sessions.TokenValid(sess, token)
	if expired {
		return nil, apierr.New(apierr.TokenExpired, "the token of session %s has expired; read it with your API key", id)
	}
	if !ok {
		return nil, notFound(id)
	}
	return sess, nil
}

// ownedSession authorizes an action with the owning API key only, which
// must carry scope.
func (s *Server) ownedSession(c *fiber.Ctx, scope string) (*core.Session, lifecycle.Principal, error) {
	id := sessionParam(c)
	p, err := s.principal(c)
	if err != nil {
		return nil, p, err
	}
	if err := needScope(p, scope); err != nil {
		return nil, p, err
	}
	sess, err := s.cfg.Sessions.Get(c.UserContext(), id)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
			return nil, p, notFound(id)
		}
		return nil, p, err
	}
	if !owns(p, sess) {
		return nil, p, notFound(id)
	}
	return sess, p, nil
}

// result: GET /api/v1/session/{id}/result.
func (s *Server) result(c *fiber.Ctx) error {
	sess, err := s.readableSession(c)
	if err != nil {
		return err
	}
	return c.JSON(s.cfg.Sessions.Result(sess))
}

// photo: GET /api/v1/session/{id}/photo.
func (s *Server) photo(c *fiber.Ctx) error {
	sess, err := s.readableSession(c)
	if err != nil {
		return err
	}
	pending := func(msg string) error {
		c.Set("Retry-After", "2")
		return c.Status(fiber.StatusAccepted).JSON(PhotoPending{SessionID: sess.ID, Status: sess.Status, Message: msg})
	}
	switch {
	case sess.Status == core.StatusPending || sess.Status == core.StatusInProgress:
		return pending("the session has not completed yet; a photo exists only if it passes")
	case sess.Status != core.StatusCompleted || sess.Verdict == nil || *sess.Verdict != core.VerdictPass:
		return apierr.New(apierr.PhotoUnavailable, "session %s is %s without a pass verdict: it has no photo", sess.ID, sess.Status)
	case sess.Photo == core.PhotoDeleted:
		return apierr.New(apierr.PhotoUnavailable, "the photo of session %s was deleted (receipt %s)", sess.ID, sess.Redaction.ReceiptID)
	case sess.Photo == core.PhotoPending:
		return pending("the photo is being made")
	case sess.Photo != core.PhotoReady:
		return apierr.New(apierr.PhotoUnavailable, "the photo of session %s could not be made", sess.ID)
	}
	b, err := s.cfg.Sessions.Photo(c.UserContext(), sess.ID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/jpeg")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(b)
}

// Default confidences of simulated verdicts, one inside each band.
var simulatedConfidence = map[core.Verdict]float64{
	core.VerdictPass: 0.97, core.VerdictRetry: 0.55, core.VerdictFail: 0.12,
}

// simulate: POST /api/v1/session/{id}/simulate (test keys only).
func (s *Server) simulate(c *fiber.Ctx) error {
	sess, p, err := s.ownedSession(c, core.ScopeSessionsWrite)
	if err != nil {
		return err
	}
	if p.Kind != lifecycle.PrincipalTenant || !p.Test || !sess.Test {
		return apierr.New(apierr.LiveKey, "simulate needs a test-mode key (iksk_test_…) of the session's tenant")
	}
	var req SimulateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	v := core.Verdict(req.Verdict)
	def, ok := simulatedConfidence[v]
	if !ok {
		if req.Verdict == "" {
			return apierr.New(apierr.MissingField, "field \"verdict\" is required (pass, fail or retry)")
		}
		return apierr.New(apierr.InvalidField, "field \"verdict\" must be pass, fail or retry, got %q", req.Verdict)
	}
	conf := def
	if req.Confidence != nil {
		conf = *req.Confidence
		if conf < 0 || conf > 1 || core.VerdictFor(conf) != v {
			return apierr.New(apierr.InvalidField, "field \"confidence\" %v is not in the %s band (pass ≥ 0.70, retry 0.45–0.70, fail < 0.45)", conf, v)
		}
	}
	out := lifecycle.Outcome{
		Confidence: conf,
		Verdict:    v,
		Simulated:  true,
	}
	out.Checks, out.Reasons = simulatedChecks(sess.Mode, v, conf)
	if out.FaceMatch, err = s.simulatedFaceMatch(c.UserContext(), sess, req.FaceImage); err != nil {
		return err
	}
	if v == core.VerdictPass {
		jpeg, err := icao.TestPhoto(sess.ID, s.cfg.Clock.Now())
		if err != nil {
			return apierr.Wrap(apierr.Internal, err, "making the test photo failed")
		}
		out.Photo = jpeg
	}
	done, err := s.cfg.Sessions.Complete(c.UserContext(), sess.ID, out)
	if err != nil {
		return err
	}
	return c.JSON(SimulateResponse{Result: lifecycle.ResultOf(done), RedirectTo: lifecycle.RedirectTarget(done)})
}

// simulatedFaceMatch compares the simulate request's faceImage with the
// reference face of a liveness+facematch session (nil without one).
func (s *Server) simulatedFaceMatch(ctx context.Context, sess *core.Session, b64 string) (*core.FaceMatch, error) {
	if b64 == "" {
		return nil, nil
	}
	const field = "faceImage"
	if sess.FaceRef == nil {
		return nil, apierr.New(apierr.InvalidField, "field %q needs a session of flow %q, this one runs %q", field, lifecycle.FlowLivenessFacematch, lifecycle.FlowOf(sess))
	}
	faces := s.cfg.Sessions.Faces()
	if faces == nil {
		return nil, apierr.New(CodeFlowUnavailable, "field %q: this server serves no face engine", field)
	}
	img, err := decodeImage(field, b64)
	if err != nil {
		return nil, err
	}
	emb, err := faces.Embed(ctx, field, img)
	if err != nil {
		return nil, err
	}
	dk, err := s.cfg.Tenants.DataKey(ctx, sess.TenantID)
	if err != nil {
		return nil, err
	}
	fm, err := lifecycle.MatchFace(sess, dk, emb, img, lifecycle.ProbeSimulated, s.cfg.Clock.Now(), -1)
	if err != nil {
		return nil, apierr.Wrap(apierr.Internal, err, "comparing faces of session %s failed", sess.ID)
	}
	return fm, nil
}

// simulatedFailure is the layer a simulated fail or retry puts the blame
// on, and the reason codes the engine raises with it: a fail is a picture
// moved as a plane (decisive), a retry a user who neither blinked nor spoke.
var simulatedFailure = map[core.Verdict]struct {
	layer   string
	reasons []string
}{
	core.VerdictFail:  {liveness.LayerMotion, []string{liveness.ReasonPlanarMotion, liveness.ReasonSpoofSuspected}},
	core.VerdictRetry: {liveness.LayerNonRigid, []string{liveness.ReasonNoNonRigidMotion}},
}

// simulatedChecks reports the layers a real capture reports, under the
// engine's names and in its order (the light challenge is always on for the
// hosted page and kiosks), each scored conf; on fail or retry one layer
// failed, with the engine's reason codes for it.
func simulatedChecks(mode core.Mode, v core.Verdict, conf float64) ([]core.Check, []string) {
	var names []string
	if mode == core.ModeActive {
		names = append(names, liveness.LayerChallenges)
	}
	names = append(names, liveness.LayerAntiSpoof, liveness.LayerInjection, liveness.LayerConsistency,
		liveness.LayerMotion, liveness.LayerNonRigid, liveness.LayerLight)
	failed := simulatedFailure[v]
	out := make([]core.Check, len(names))
	for i, n := range names {
		status := "passed"
		if n == failed.layer {
			status = "failed"
		}
		out[i] = core.Check{Name: n, Status: status, Score: conf, Detail: "simulated (test mode)"}
	}
	return out, append([]string{}, failed.reasons...)
}

// cancel: POST /api/v1/session/{id}/cancel.
func (s *Server) cancel(c *fiber.Ctx) error {
	sess, _, err := s.ownedSession(c, core.ScopeSessionsWrite)
	if err != nil {
		return err
	}
	done, err := s.cfg.Sessions.Cancel(c.UserContext(), sess.ID)
	if err != nil {
		return err
	}
	return c.JSON(lifecycle.ResultOf(done))
}

// createLiveness: POST /v1/liveness/sessions (seed 002).
func (s *Server) createLiveness(c *fiber.Ctx) error {
	p, err := s.principal(c)
	if err != nil {
		return err
	}
	if err := needScope(p, core.ScopeSessionsWrite); err != nil {
		return err
	}
	var req lifecycle.CreateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	created, err := s.cfg.Sessions.Create(c.UserContext(), p, core.KindManaged, req, c.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	c.Locals(localSessionID, created.Session.ID)
	if created.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Set(fiber.HeaderLocation, "/v1/liveness/sessions/"+created.Session.ID)
	view := livenessView(created.Session, s.cfg.Clock.Now())
	view.URL, view.Token = created.SessionURL, created.Token
	return c.Status(fiber.StatusCreated).JSON(view)
}

// getLiveness: GET /v1/liveness/sessions/{id} (seed 002).
func (s *Server) getLiveness(c *fiber.Ctx) error {
	sess, _, err := s.ownedSession(c, core.ScopeSessionsRead)
	if err != nil {
		return err
	}
	return c.JSON(livenessView(sess, s.cfg.Clock.Now()))
}

func livenessView(sess *core.Session, now time.Time) LivenessSession {
	v := LivenessSession{
		ID: sess.ID, Object: "liveness_session", Status: sess.Status, Mode: sess.Mode, UserID: sess.UserID,
		CreatedAt: sess.CreatedAt, ExpiresAt: sess.ExpiresAt, Metadata: sess.Metadata, Test: sess.Test, Simulated: sess.Simulated,
		Challenges: sess.Challenges,
	}
	if sess.Status == core.StatusCompleted && sess.Verdict != nil && sess.Confidence != nil && sess.CompletedAt != nil {
		r := lifecycle.ResultAt(sess, now)
		v.Result = &LivenessSessionResult{
			Verdict: *sess.Verdict, Confidence: *sess.Confidence, Checks: r.Checks, Reasons: r.Reasons,
			CompletedAt: *sess.CompletedAt, PhotoAvailable: r.PhotoAvailable, AuditFrames: r.AuditFrames,
		}
		v.RedirectTo = lifecycle.RedirectTarget(sess)
	}
	return v
}
