package api

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/web"
)

// Server-side initiation with ephemeral devices (seed 004): an integrator's
// backend makes an ephemeral device with its API key (POST
// /api/device/ephemeral), starts sessions with the device's token (POST
// /api/sessions?workflowId=…) and hands the phone a link (/capture?url=…,
// /mobile?authorization=…&sessionId=…). An adapter over the one session
// lifecycle: a session started here is a verification session (same store,
// hosted page, webhooks, decision) bound to the device and to the external
// user id.
//
// The device's token is not stored: it is its claims (tenant, device id,
// the key that made it, test mode, expiry) and an HMAC-SHA256 of them
// under the tenant's data key, so every replica on the store checks it and
// nothing at rest can be replayed. It works while that key does.

// Codes of the ephemeral device routes.
var (
	CodeEphemeralExpired = apierr.Register("ephemeral.token_expired", http.StatusUnauthorized,
		"The ephemeral device's token is correct but past its TTL (ttl given when it was made, 60–86400 seconds): make a new ephemeral device with your API key (POST /api/device/ephemeral).")
	CodeEphemeralRequired = apierr.Register("ephemeral.token_required", http.StatusUnauthorized,
		"The route needs an ephemeral device's token (lgeph_…) in Authorization (with or without Bearer); it is missing, malformed, not signed by this tenant's key, or the API key that made it was revoked or has expired (or its tenant disabled). An API key is refused here: make an ephemeral device with it first.")
	CodeWorkflowNotFound = apierr.Register("workflow.not_found", http.StatusNotFound,
		"No workflow with this workflowId: neither one of your tenant's workflows (PUT /admin/v1/tenants/{id}/workflows) nor a flow's name (liveness runs; liveness+facematch and liveness+facematch+document are refused with session.flow_unavailable until their checks exist).")
	CodeHandoffInvalid = apierr.Register("handoff.invalid_link", http.StatusBadRequest,
		"The url of /capture is not this server's /mobile link with authorization and sessionId: the capture page only shows its own handoff links.")
)

// Bounds of an ephemeral device's TTL, in seconds.
const (
	ephemeralTTLMin     = 60
	ephemeralTTLMax     = 86400
	ephemeralTTLDefault = 3600
	ephemeralPrefix     = "lgeph_"
	maxExternalUserID   = 256
)

// EphemeralRequest is the body of POST /api/device/ephemeral.
type EphemeralRequest struct {
	TTL *int `json:"ttl,omitempty" doc:"Seconds the token lives, 60–86400 (default 3600). Sessions started with it keep their own TTL." minimum:"60" maximum:"86400"`
}

// EphemeralDevice is the answer of POST /api/device/ephemeral.
type EphemeralDevice struct {
	Authorization string    `json:"authorization" doc:"The device's token (lgeph_…): send it as Authorization (with or without Bearer) to POST /api/sessions and GET /api/sessions/{id}. Shown once; the server keeps no copy."`
	DeviceID      string    `json:"deviceId" doc:"The ephemeral device's id (eph_…)."`
	ExpiresAt     time.Time `json:"expiresAt" doc:"When the token stops working."`
}

// EphemeralSessionRequest is the body of POST /api/sessions.
type EphemeralSessionRequest struct {
	Metadata json.RawMessage `json:"metadata,omitempty" doc:"Any JSON object (≤ 8 KiB), echoed back in webhooks. metadata.externalUserId (a string, ≤ 256 characters), when given, binds the session to your user: it becomes the session's externalUserId and its user for the failed-capture throttle."`
}

// EphemeralSession is a session started with an ephemeral device's token.
type EphemeralSession struct {
	lifecycle.Verification
	ExternalUserID *string `json:"externalUserId" doc:"metadata.externalUserId given at creation; null without one."`
	WorkflowID     string  `json:"workflowId" doc:"The workflowId the session was started with: liveness, or one of your tenant's workflows."`
	HandoffURL     string  `json:"handoffUrl" doc:"The desktop page for this session (/capture?url=<the /mobile link, URL-encoded>), as the seed's step 4 builds it; it carries the device's token, so give it only to this user. Empty on GET."`
}

// ephemeralClaims are what an ephemeral device's token carries.
type ephemeralClaims struct {
	Tenant  string `json:"t"`
	Device  string `json:"d"`
	Key     string `json:"k"`
	Test    bool   `json:"m,omitempty"`
	Expires int64  `json:"x"`
}

// rawAuthorization is the Authorization header with or without Bearer.
func rawAuthorization(c *fiber.Ctx) string {
	if b := bearer(c); b != "" {
		return b
	}
	return strings.TrimSpace(c.Get(fiber.HeaderAuthorization))
}

// ephemeralMAC signs the claims' encoding under the tenant's data key.
func (s *Server) ephemeralMAC(ctx context.Context, tenantID, payload string) ([]byte, error) {
	dk, err := s.cfg.Tenants.DataKey(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return dk.Digest([]byte("livegate ephemeral device v1\n" + payload)), nil
}

// createEphemeral: POST /api/device/ephemeral.
func (s *Server) createEphemeral(c *fiber.Ctx) error {
	key := rawAuthorization(c)
	if key == "" {
		return apierr.New(apierr.AuthMissing, "send Authorization: <API key> (or Bearer <API key>)")
	}
	if strings.HasPrefix(key, ephemeralPrefix) {
		return apierr.New(apierr.AuthInvalid, "an ephemeral device's token cannot make another ephemeral device: use your API key")
	}
	p, err := s.principalFor(c, key)
	if err != nil {
		return err
	}
	if p.Kind != lifecycle.PrincipalTenant {
		return apierr.New(CodeTenantKeyRequired, "ephemeral devices need a tenant API key (iksk_…), not the legacy global key")
	}
	if err := needScope(p, core.ScopeEphemeralDevicesWrite); err != nil {
		return err
	}
	var req EphemeralRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ttl := ephemeralTTLDefault
	if req.TTL != nil {
		ttl = *req.TTL
		if ttl < ephemeralTTLMin || ttl > ephemeralTTLMax {
			return apierr.New(apierr.InvalidField, "field \"ttl\" must be %d–%d seconds, got %d", ephemeralTTLMin, ephemeralTTLMax, ttl)
		}
	}
	now := s.cfg.Clock.Now().UTC()
	cl := ephemeralClaims{Tenant: p.TenantID, Device: core.NewID("eph", now), Key: p.KeyID, Test: p.Test,
		Expires: now.Add(time.Duration(ttl) * time.Second).Unix()}
	raw, err := json.Marshal(cl)
	if err != nil {
		return apierr.Wrap(apierr.Internal, err, "encoding the token failed")
	}
	payload := base64.RawURLEncoding.EncodeToString(raw)
	mac, err := s.ephemeralMAC(c.UserContext(), p.TenantID, payload)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(EphemeralDevice{
		Authorization: ephemeralPrefix + payload + "." + base64.RawURLEncoding.EncodeToString(mac),
		DeviceID:      cl.Device, ExpiresAt: time.Unix(cl.Expires, 0).UTC(),
	})
}

// ephemeralToken checks an ephemeral device's token and returns its claims.
func (s *Server) ephemeralToken(ctx context.Context, tok string) (ephemeralClaims, error) {
	var cl ephemeralClaims
	bad := apierr.New(CodeEphemeralRequired, "send Authorization: <the ephemeral device's token> (lgeph_…, from POST /api/device/ephemeral)")
	rest, ok := strings.CutPrefix(tok, ephemeralPrefix)
	if !ok {
		return cl, bad
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return cl, bad
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(payload)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || json.Unmarshal(raw, &cl) != nil || cl.Tenant == "" || cl.Device == "" {
		return cl, bad
	}
	want, err := s.ephemeralMAC(ctx, cl.Tenant, payload)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.TenantNotFound {
			return cl, bad
		}
		return cl, err
	}
	if !hmac.Equal(mac, want) {
		return cl, bad
	}
	if !s.cfg.Clock.Now().Before(time.Unix(cl.Expires, 0)) {
		return cl, apierr.New(CodeEphemeralExpired, "the ephemeral device %s expired at %s", cl.Device, time.Unix(cl.Expires, 0).UTC().Format(time.RFC3339))
	}
	// The key that made the device must still work: revoking it (or the
	// end of its rotation grace) ends its devices too.
	// So does disabling the tenant.
	if t, err := s.cfg.Tenants.Get(ctx, cl.Tenant); err != nil {
		return cl, err
	} else if t.Disabled {
		return cl, apierr.New(CodeEphemeralRequired, "the tenant of the ephemeral device %s is disabled", cl.Device)
	}
	keys, err := s.cfg.Tenants.Keys(ctx, cl.Tenant)
	if err != nil {
		return cl, err
	}
	for _, k := range keys {
		if k.ID == cl.Key && k.Usable(s.cfg.Clock.Now()) {
			return cl, nil
		}
	}
	return cl, apierr.New(CodeEphemeralRequired, "the API key that made the ephemeral device %s was revoked or has expired: make a new device with a working key", cl.Device)
}

// workflowOf resolves workflowId for tenant t: one of t's workflows, else
// a flow's name.
func workflowOf(t *core.Tenant, id string) (core.Workflow, error) {
	if id == "" {
		return core.Workflow{}, apierr.New(apierr.InvalidQuery, "query parameter \"workflowId\" is required (this server runs %q)", lifecycle.FlowLiveness)
	}
	if w, ok := t.Workflows[id]; ok {
		return w, nil
	}
	switch id {
	case lifecycle.FlowLiveness:
		return core.Workflow{Flow: id}, nil
	case lifecycle.FlowLivenessFacematch, lifecycle.FlowLivenessFacematchDocument:
		_, err := checkFlow(id, noWorkflowFacematch)
		return core.Workflow{}, err
	}
	return core.Workflow{}, apierr.New(CodeWorkflowNotFound, "no workflow %q: define it with PUT /admin/v1/tenants/{id}/workflows, or use a flow (%q)", id, lifecycle.FlowLiveness)
}

// Limits of a tenant's workflows.
const maxWorkflows = 50

// WorkflowsBody is the body and answer of PUT
// /admin/v1/tenants/{id}/workflows.
type WorkflowsBody struct {
	Workflows map[string]WorkflowSpec `json:"workflows" doc:"workflowId → what a session started with it runs. Ids: 1–64 letters, digits, _ . - (starting with a letter or digit), at most 50; the flows' own names are taken."`
}

// WorkflowSpec is one workflow.
type WorkflowSpec struct {
	Flow                string   `json:"flow" doc:"The checks: liveness. The other flows get 422 session.flow_unavailable until their checks exist." enum:"liveness,liveness+facematch,liveness+facematch+document"`
	Mode                string   `json:"mode,omitempty" doc:"active (default: 3–6 challenges) or passive." enum:"active,passive"`
	LivenessReviewBelow *float64 `json:"livenessReviewBelow,omitempty" doc:"A liveness pass below this confidence goes to review, instead of the tenant's verification.liveness_review_below; (0, 1]."`
	WebhookURL          string   `json:"webhookUrl,omitempty" doc:"An https URL that receives the signed session.* events of the workflow's sessions, in the verification sessions' camelCase shape (metadata, with externalUserId, included); checked here and again when each session starts." format:"uri"`
}

// checkWorkflows validates a workflow set and converts it; checkURL
// applies the server's URL policy to webhook URLs.
func checkWorkflows(in map[string]WorkflowSpec, checkURL func(field, raw string) error) (map[string]core.Workflow, error) {
	if in == nil {
		return nil, apierr.New(apierr.MissingField, "field \"workflows\" is required ({} removes every workflow)")
	}
	if len(in) > maxWorkflows {
		return nil, apierr.New(apierr.InvalidField, "field \"workflows\" has %d workflows, at most %d", len(in), maxWorkflows)
	}
	out := map[string]core.Workflow{}
	for id, w := range in {
		if !validWorkflowID(id) {
			return nil, apierr.New(apierr.InvalidField, "workflow id %q: want 1–64 letters, digits, _ . - starting with a letter or digit", id)
		}
		if id == lifecycle.FlowLiveness {
			return nil, apierr.New(apierr.InvalidField, "workflow id %q is a flow's name: choose another", id)
		}
		if _, err := checkFlow(w.Flow, noWorkflowFacematch); err != nil {
			e, _ := apierr.As(err)
			if e != nil && e.Code != CodeFlowUnavailable {
				return nil, apierr.New(e.Code, "workflows[%q]: %s", id, e.Message)
			}
			return nil, err
		}
		switch core.Mode(w.Mode) {
		case "", core.ModeActive, core.ModePassive:
		default:
			return nil, apierr.New(apierr.InvalidField, "workflows[%q].mode must be \"active\" or \"passive\", got %q", id, w.Mode)
		}
		if v := w.LivenessReviewBelow; v != nil && (*v <= 0 || *v > 1) {
			return nil, apierr.New(apierr.InvalidField, "workflows[%q].livenessReviewBelow must be in (0, 1], got %v", id, *v)
		}
		if w.WebhookURL != "" {
			if err := checkURL(fmt.Sprintf("workflows[%q].webhookUrl", id), w.WebhookURL); err != nil {
				return nil, err
			}
		}
		out[id] = core.Workflow{Flow: w.Flow, Mode: core.Mode(w.Mode), ReviewBelow: w.LivenessReviewBelow, WebhookURL: w.WebhookURL}
	}
	return out, nil
}

func validWorkflowID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i, r := range id {
		alnum := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || (r != '_' && r != '.' && r != '-')) {
			return false
		}
	}
	return true
}

// viewWorkflows renders a tenant's workflows.
func viewWorkflows(t *core.Tenant) WorkflowsBody {
	out := WorkflowsBody{Workflows: map[string]WorkflowSpec{}}
	for id, w := range t.Workflows {
		out.Workflows[id] = WorkflowSpec{Flow: w.Flow, Mode: string(w.Mode), LivenessReviewBelow: w.ReviewBelow, WebhookURL: w.WebhookURL}
	}
	return out
}

// putWorkflows: PUT /admin/v1/tenants/{id}/workflows.
func (s *Server) putWorkflows(c *fiber.Ctx) error {
	id := tenantParam(c)
	var req WorkflowsBody
	if err := decode(c, &req); err != nil {
		return err
	}
	w, err := checkWorkflows(req.Workflows, func(field, raw string) error {
		return s.cfg.Sessions.CheckURL(c.UserContext(), field, raw)
	})
	if err != nil {
		return err
	}
	t, err := s.cfg.Tenants.SetWorkflows(c.UserContext(), id, w)
	if err != nil {
		return err
	}
	return c.JSON(viewWorkflows(t))
}

// getWorkflows: GET /admin/v1/tenants/{id}/workflows.
func (s *Server) getWorkflows(c *fiber.Ctx) error {
	t, err := s.cfg.Tenants.Get(c.UserContext(), tenantParam(c))
	if err != nil {
		return err
	}
	return c.JSON(viewWorkflows(t))
}

// externalUserID reads metadata.externalUserId.
func externalUserID(meta json.RawMessage) (string, error) {
	if len(meta) == 0 {
		return "", nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(meta, &obj); err != nil || obj == nil {
		if string(meta) == "null" {
			return "", nil
		}
		return "", apierr.New(apierr.InvalidField, "field \"metadata\" must be a JSON object")
	}
	v, ok := obj["externalUserId"]
	if !ok {
		return "", nil
	}
	var id string
	if err := json.Unmarshal(v, &id); err != nil {
		return "", apierr.New(apierr.InvalidField, "field \"metadata.externalUserId\" must be a string")
	}
	switch {
	case strings.TrimSpace(id) == "":
		return "", apierr.New(apierr.InvalidField, "field \"metadata.externalUserId\" is empty")
	case utf8.RuneCountInString(id) > maxExternalUserID:
		return "", apierr.New(apierr.InvalidField, "field \"metadata.externalUserId\" is longer than %d characters", maxExternalUserID)
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", apierr.New(apierr.InvalidField, "field \"metadata.externalUserId\" has control characters")
	}
	return id, nil
}

// ephemeralView renders sess for the device's routes.
func (s *Server) ephemeralView(sess *core.Session, client, handoff string) EphemeralSession {
	v := EphemeralSession{Verification: lifecycle.VerificationOf(sess, s.cfg.Sessions.PublicURL(), client),
		WorkflowID: sess.Workflow, HandoffURL: handoff}
	if v.WorkflowID == "" {
		v.WorkflowID = lifecycle.FlowOf(sess)
	}
	if sess.UserID != "" {
		id := sess.UserID
		v.ExternalUserID = &id
	}
	return v
}

// HandoffLink is the seed's step 4: the desktop page /capture carrying the
// phone's link /mobile?authorization=…&sessionId=….
func HandoffLink(publicURL, token, sessionID string) string {
	base := strings.TrimRight(publicURL, "/")
	mobile := base + "/mobile?authorization=" + url.QueryEscape(token) + "&sessionId=" + url.QueryEscape(sessionID)
	return base + "/capture?url=" + url.QueryEscape(mobile)
}

// createEphemeralSession: POST /api/sessions?workflowId=….
func (s *Server) createEphemeralSession(c *fiber.Ctx) error {
	ctx := c.UserContext()
	tok := rawAuthorization(c)
	if tok == "" {
		return apierr.New(apierr.AuthMissing, "send Authorization: <the ephemeral device's token> (from POST /api/device/ephemeral)")
	}
	cl, err := s.ephemeralToken(ctx, tok)
	if err != nil {
		return err
	}
	c.Locals(localTenantID, cl.Tenant)
	t, err := s.cfg.Tenants.Get(ctx, cl.Tenant)
	if err != nil {
		return err
	}
	wfID := c.Query("workflowId")
	wf, err := workflowOf(t, wfID)
	if err != nil {
		return err
	}
	flow, err := checkFlow(wf.Flow, noWorkflowFacematch)
	if err != nil {
		return err
	}
	var req EphemeralSessionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ext, err := externalUserID(req.Metadata)
	if err != nil {
		return err
	}
	x := lifecycle.Extra{Flow: flow, KeepTokens: true, EphemeralDevice: cl.Device, Workflow: wfID}
	if v := t.Settings.Verification.LivenessReviewBelow; v != nil {
		x.ReviewBelow = *v
	}
	if v := wf.ReviewBelow; v != nil {
		x.ReviewBelow = *v
	}
	p := lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: cl.Tenant, KeyID: cl.Key, Test: cl.Test}
	created, err := s.cfg.Sessions.CreateWith(ctx, p, core.KindManaged, lifecycle.CreateRequest{
		UserID: ext, Metadata: req.Metadata, Mode: string(wf.Mode), WebhookURL: wf.WebhookURL,
	}, c.Get("Idempotency-Key"), x)
	if err != nil {
		return renameFields(err)
	}
	sess := created.Session
	if sess.EphemeralDevice != cl.Device {
		// An Idempotency-Key reused by another device names a session
		// this device must not see.
		return apierr.New(apierr.IdempotencyReused, "Idempotency-Key %q was used by another ephemeral device", c.Get("Idempotency-Key"))
	}
	c.Locals(localSessionID, sess.ID)
	if created.Replayed {
		c.Set("Idempotent-Replayed", "true")
	}
	c.Set(fiber.HeaderLocation, "/api/sessions/"+sess.ID)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(s.ephemeralView(sess, created.ClientToken,
		HandoffLink(s.cfg.Sessions.PublicURL(), tok, sess.ID)))
}

// deviceSession reads session id for the ephemeral device of tok: another
// device's session, or one not started by a device, is a missing one.
func (s *Server) deviceSession(ctx context.Context, tok, id string) (*core.Session, error) {
	if tok == "" {
		return nil, apierr.New(apierr.AuthMissing, "send Authorization: <the ephemeral device's token>")
	}
	cl, err := s.ephemeralToken(ctx, tok)
	if err != nil {
		return nil, err
	}
	sess, err := s.cfg.Sessions.Get(ctx, id)
	if err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.SessionNotFound {
			return nil, notFound(id)
		}
		return nil, err
	}
	if sess.TenantID != cl.Tenant || sess.EphemeralDevice == "" || !hmac.Equal([]byte(sess.EphemeralDevice), []byte(cl.Device)) {
		return nil, notFound(id)
	}
	return sess, nil
}

// getEphemeralSession: GET /api/sessions/{id}.
func (s *Server) getEphemeralSession(c *fiber.Ctx) error {
	sess, err := s.deviceSession(c.UserContext(), rawAuthorization(c), sessionParam(c))
	if err != nil {
		return err
	}
	client := ""
	if !sess.Status.Terminal() {
		if tok, ok, err := s.cfg.Sessions.ClientToken(sess); err != nil {
			return err
		} else if ok {
			client = tok
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(s.ephemeralView(sess, client, ""))
}

// mobileHandoff: GET /mobile?authorization=…&sessionId=…: the phone's
// link. It opens the hosted page of that one session, and only while the
// device's token lives and the session can be captured.
func (s *Server) mobileHandoff(c *fiber.Ctx) error {
	id := c.Query("sessionId")
	if id == "" {
		return apierr.New(apierr.InvalidQuery, "query parameter \"sessionId\" is required")
	}
	c.Locals(localSessionID, id)
	sess, err := s.deviceSession(c.UserContext(), c.Query("authorization"), id)
	if err != nil {
		return err
	}
	switch {
	case sess.Status == core.StatusExpired || (!sess.Status.Terminal() && !s.cfg.Clock.Now().Before(sess.ExpiresAt)):
		return apierr.New(apierr.SessionExpired, "session %s has expired", id)
	case sess.Status.Terminal():
		return apierr.New(apierr.SessionTerminal, "session %s is already %s", id, sess.Status)
	}
	client, ok, err := s.cfg.Sessions.ClientToken(sess)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(id)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer")
	return c.Redirect(lifecycle.HostedURL(s.cfg.Sessions.PublicURL(), sess.ID, client), fiber.StatusSeeOther)
}

// mobileLink checks that raw is this server's /mobile link and returns it.
func (s *Server) mobileLink(raw string) (string, error) {
	bad := apierr.New(CodeHandoffInvalid, "query parameter \"url\" must be this server's /mobile?authorization=…&sessionId=… link")
	if raw == "" {
		return "", bad
	}
	u, err := url.Parse(raw)
	pub, err2 := url.Parse(strings.TrimRight(s.cfg.Sessions.PublicURL(), "/"))
	if err != nil || err2 != nil || u.Scheme != pub.Scheme || u.Host != pub.Host || u.User != nil ||
		u.Path != strings.TrimRight(pub.Path, "/")+"/mobile" || u.Fragment != "" {
		return "", bad
	}
	q := u.Query()
	if q.Get("authorization") == "" || q.Get("sessionId") == "" {
		return "", bad
	}
	return u.String(), nil
}

// captureRefresh is how often the desktop page reloads itself while the
// phone has not finished.
const captureRefresh = 3

// capturePage: GET /capture?url=…: the desktop page of a handoff. While
// the session is pending it shows the phone's link as a QR code and a
// button; it follows the phone by reloading itself every few seconds (no
// script), saying when the phone is capturing and when it has finished.
func (s *Server) capturePage(c *fiber.Ctx) error {
	link, err := s.mobileLink(c.Query("url"))
	if err != nil {
		return err
	}
	u, _ := url.Parse(link)
	id := u.Query().Get("sessionId")
	c.Locals(localSessionID, id)
	sess, err := s.deviceSession(c.UserContext(), u.Query().Get("authorization"), id)
	if err != nil {
		return err
	}
	if !sess.Status.Terminal() && !s.cfg.Clock.Now().Before(sess.ExpiresAt) {
		if sess, err = s.cfg.Sessions.Get(c.UserContext(), id); err != nil {
			return err
		}
	}
	var head, body string
	switch sess.Status {
	case core.StatusPending:
		svg, err := web.QRSVG(link)
		if err != nil {
			return apierr.Wrap(CodeHandoffInvalid, err, "the link is too long for a QR code")
		}
		head = `<meta http-equiv="refresh" content="` + strconv.Itoa(captureRefresh) + `">`
		body = `<h1>Continue on your phone</h1><p>Scan this code with your phone's camera to verify it's you there.</p>` +
			`<div id="qr">` + svg + `</div><p>On this device or your phone already?</p><a class="button" id="open" href="` + html.EscapeString(link) + `">Open on this device</a>`
	case core.StatusInProgress:
		head = `<meta http-equiv="refresh" content="` + strconv.Itoa(captureRefresh) + `">`
		body = `<h1 id="state" data-status="in_progress">Your phone is verifying…</h1><p>Keep going on your phone; this page follows it.</p>`
	case core.StatusCompleted:
		body = `<h1 id="state" data-status="completed">Done on your phone</h1><p>The verification has finished. You can close this page.</p>`
	default:
		body = `<h1 id="state" data-status="` + html.EscapeString(string(sess.Status)) + `">This verification has ended</h1><p>It was ` +
			html.EscapeString(string(sess.Status)) + ` before it finished. Start again from the site that sent you here.</p>`
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	c.Type("html", "utf-8")
	return c.SendString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` + head +
		`<title>Continue on your phone</title><style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;text-align:center}` +
		`#qr svg{width:16rem;height:16rem}a.button{display:inline-block;margin-top:1rem;padding:.75rem 1.5rem;background:#0b57d0;color:#fff;border-radius:.5rem;text-decoration:none}</style></head>` +
		`<body><main aria-live="polite">` + body + `</main></body></html>`)
}

// Limits of GET /v1/sessions?externalUserId=….
const (
	listDefault = 20
	listMax     = 100
)

// SessionList is the answer of GET /v1/sessions?externalUserId=….
type SessionList struct {
	Sessions []ListedSession `json:"sessions" doc:"The user's verification sessions, newest first."`
}

// ListedSession is one session of a list: as GET /v1/sessions/{id}, without
// the client token, with the external user id.
type ListedSession struct {
	lifecycle.Verification
	ExternalUserID string    `json:"externalUserId" doc:"The external user id searched for."`
	CreatedAt      time.Time `json:"createdAt"`
}

// listVerifications: GET /v1/sessions?externalUserId=….
func (s *Server) listVerifications(c *fiber.Ctx) error {
	p, err := s.verificationPrincipal(c, core.ScopeSessionsRead)
	if err != nil {
		return err
	}
	user := c.Query("externalUserId")
	if user == "" {
		return apierr.New(apierr.InvalidQuery, "query parameter \"externalUserId\" is required")
	}
	if utf8.RuneCountInString(user) > maxExternalUserID {
		return apierr.New(apierr.InvalidQuery, "query parameter \"externalUserId\" is longer than %d characters", maxExternalUserID)
	}
	limit := listDefault
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > listMax {
			return apierr.New(apierr.InvalidQuery, "query parameter \"limit\" must be an integer 1–%d, got %q", listMax, v)
		}
		limit = n
	}
	list, err := s.cfg.Sessions.ListByUser(c.UserContext(), p.TenantID, user, limit)
	if err != nil {
		return err
	}
	out := SessionList{Sessions: []ListedSession{}}
	for _, sess := range list {
		out.Sessions = append(out.Sessions, ListedSession{Verification: lifecycle.VerificationOf(sess, s.cfg.Sessions.PublicURL(), ""),
			ExternalUserID: sess.UserID, CreatedAt: sess.CreatedAt})
	}
	return c.JSON(out)
}

// noWorkflowFacematch is why a workflow's flow cannot be
// liveness+facematch: its sessions start from a device token
// (POST /api/sessions?workflowId=…), which gives no reference face.
const noWorkflowFacematch = "a workflow's sessions start without a reference face (create liveness+facematch sessions with POST /v1/sessions and referenceFace)"
