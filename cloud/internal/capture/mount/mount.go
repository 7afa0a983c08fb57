// Package mount wires the capture page, the capture WebSocket and the face
// routes into livegate-cloud through daemon.Options.Routes: every route is
// documented in the OpenAPI document and served with the API's middleware.
// The engines (liveness models, face model sets) load on first use, so a
// server that never captures never pays for them, and a missing model cache
// makes only these routes answer 503.
package mount

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/faceapi"
	"livegate.dev/cloud/internal/gallery"
	"livegate.dev/cloud/internal/web"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
)

// Options configures the mounted routes. Every field is optional.
type Options struct {
	// DataDir holds the audit frames and the recordings of deciding
	// attempts (DataDir/audit). Default: neither is kept.
	DataDir string
	// AuditRetention is how long audit frames and recordings are kept.
	// Default: 30 days.
	AuditRetention time.Duration
	// Attempts per session. Default: capture.DefaultAttempts (3).
	Attempts int
	// NoLight disables the screen-colour light challenge.
	NoLight bool
	// ModelSets is the number of liveness and face model sets. Default:
	// runtime.GOMAXPROCS(0).
	ModelSets int
	// PostgresDSN, set in a PostgreSQL deployment, makes every replica
	// count failed attempts per end user and per client address in one
	// shared table (capture.PGThrottle). Default: each replica counts in
	// its own memory (capture.Throttle).
	PostgresDSN string
}

// Routes returns the daemon hook that builds the routes.
func Routes(o Options) func(daemon.Parts) ([]api.Route, func() error, error) {
	return func(p daemon.Parts) ([]api.Route, func() error, error) {
		m, err := newMount(o, p)
		if err != nil {
			return nil, nil, err
		}
		return m.routes(), m.close, nil
	}
}

// CodeEngineUnavailable answers capture and face requests when the models
// cannot be loaded.
var CodeEngineUnavailable = faceapi.CodeEngineUnavailable

// CodeRecordingUnavailable answers GET /api/v1/session/{id}/recording for a
// session that has no recording to give.
var CodeRecordingUnavailable = apierr.Register("session.recording_unavailable", 404,
	"The session has no recording: it has not completed through the capture WebSocket (pending, in progress, simulated, cancelled or expired), its retention has ended, or this server keeps none.")

type mount struct {
	o       Options
	p       daemon.Parts
	web     *web.Handler
	tenants *tenancy.Service
	audit   *capture.DirStore
	log     *slog.Logger
	// throttle is the shared failure throttle (nil: the handler's
	// in-memory default).
	throttle *capture.PGThrottle

	once    sync.Once
	err     error
	models  *liveness.Models
	engine  *faceapi.Engine
	capture *capture.Handler
	ws      fiber.Handler
	face    *faceapi.Handlers
	// gal serves the galleries and face search; its Engine is set when
	// the engines load.
	gal *gallery.Handlers

	stop chan struct{}
	wg   sync.WaitGroup
}

func newMount(o Options, p daemon.Parts) (*mount, error) {
	if o.ModelSets <= 0 {
		o.ModelSets = runtime.GOMAXPROCS(0)
	}
	m := &mount{o: o, p: p, tenants: tenancy.New(p.Store, nil, p.Clock), log: p.Logger, stop: make(chan struct{})}
	if m.log == nil {
		m.log = slog.Default()
	}
	mac := hmac.New(sha256.New, p.MasterKey)
	mac.Write([]byte("livegate handoff link key"))
	w, err := web.New(web.Config{Sessions: p.Sessions, Tenants: m.tenants, PublicURL: p.PublicURL, Live: m.live, HandoffKey: mac.Sum(nil), Clock: p.Clock})
	if err != nil {
		return nil, err
	}
	m.web = w
	p.Sessions.SetFaces(faces{m})
	m.gal = &gallery.Handlers{Authenticate: m.authenticate, SessionPhoto: m.sessionPhoto, Timeout: faceTimeout,
		Service: gallery.New(gallery.Config{Store: p.Store, Keys: m.dataKey, Clock: p.Clock, Logger: m.log})}
	if o.PostgresDSN != "" {
		tk := hmac.New(sha256.New, p.MasterKey)
		tk.Write([]byte("livegate capture throttle key"))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		m.throttle, err = capture.OpenPGThrottle(ctx, o.PostgresDSN, capture.PGThrottleConfig{Key: tk.Sum(nil), Logger: m.log})
		cancel()
		if err != nil {
			return nil, err
		}
	}
	if o.DataDir != "" {
		if m.audit, err = capture.NewDirStore(filepath.Join(o.DataDir, "audit"), o.AuditRetention, capture.WithRecordingKey(recordingKey(p.MasterKey))); err != nil {
			m.closeThrottle()
			return nil, err
		}
		// A redaction deletes the session's audit frames and recording.
		audit := m.audit
		p.Sessions.AddEraser(lifecycle.Eraser{Deletes: []string{core.DeletedAuditFrames, core.DeletedRecording}, Erase: audit.Delete})
		m.wg.Add(1)
		go m.sweep()
	}
	return m, nil
}

// recordingKey seals the capture recordings at rest: they hold every frame
// of an attempt, so they are encrypted (AES-256-GCM) under a key derived
// from the master key, as the handoff and throttle keys are.
func recordingKey(master []byte) []byte {
	mac := hmac.New(sha256.New, master)
	mac.Write([]byte("livegate capture recording key"))
	return mac.Sum(nil)
}

// sweep deletes expired audit frames hourly until close.
func (m *mount) sweep() {
	defer m.wg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := m.audit.Sweep(context.Background(), m.p.Sessions.Now()); err != nil {
			m.log.Warn("capture: sweeping audit frames", slog.String("error", err.Error()))
		} else if n > 0 {
			m.log.Info("capture: audit frames deleted", slog.Int("sessions", n))
		}
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// engines loads the models once.
func (m *mount) engines() error {
	m.once.Do(func() {
		m.models, m.err = liveness.LoadModels(liveness.ModelOptions{Sets: m.o.ModelSets})
		if m.err != nil {
			m.err = fmt.Errorf("capture: liveness models: %w", m.err)
			return
		}
		m.engine, m.err = faceapi.New(faceapi.Config{Sets: m.o.ModelSets})
		if m.err != nil {
			m.err = fmt.Errorf("capture: face models: %w", m.err)
			return
		}
		cfg := capture.Config{Sessions: m.p.Sessions, Models: m.models, Attempts: m.o.Attempts, NoLight: m.o.NoLight,
			Tenants: m.tenants, Clock: m.p.Clock, Logger: m.log}
		if m.throttle != nil {
			cfg.Throttle = m.throttle
		}
		if m.audit != nil {
			cfg.Audit = m.audit
			cfg.Boxes = m.boxes
		}
		if m.p.Tenants != nil {
			cfg.FaceMatch = m.matchFace
		}
		m.capture, m.err = capture.New(cfg)
		if m.err != nil {
			return
		}
		m.ws = m.capture.Route()
		m.gal.Engine = m.engine
		m.face = &faceapi.Handlers{Engine: m.engine, Authorize: m.authorize, Sessions: m.p.Sessions, Logger: m.log,
			NotFound: func(id string) error { return apierr.New(apierr.SessionNotFound, "session %s not found", id) }}
	})
	if m.err != nil {
		m.log.Error("capture: engine unavailable", slog.String("error", m.err.Error()))
	}
	return m.err
}

func (m *mount) boxes(ctx context.Context, jpeg []byte) ([][4]float64, error) {
	a, err := m.engine.Analyze(ctx, jpeg, false)
	if err != nil {
		return nil, err
	}
	out := make([][4]float64, len(a.Faces))
	for i, f := range a.Faces {
		out[i] = f.Box
	}
	return out, nil
}

// faceTimeout bounds the wait for a face model set (then server.busy), as
// the face routes' requests are bounded.
const faceTimeout = 20 * time.Second

// faces is the face engine as the facematch check uses it
// (lifecycle.Faces): reference faces at session creation, simulated probes.
type faces struct{ m *mount }

var _ lifecycle.Faces = faces{}

func (f faces) Embed(ctx context.Context, field string, image []byte) ([]float32, error) {
	ctx, cancel := context.WithTimeout(ctx, faceTimeout)
	defer cancel()
	if f.m.engines() != nil {
		return nil, apierr.New(CodeEngineUnavailable.API, "%s: the face engine is not available on this server", field)
	}
	emb, err := f.m.engine.EmbedOne(ctx, field, image)
	if err != nil {
		return nil, faceapi.APIError(err)
	}
	return emb, nil
}

// matchFace is the capture's capture.FaceMatchFunc: the best frame's
// embedding against the session's reference face, opened with its
// tenant's data key.
func (m *mount) matchFace(ctx context.Context, sess *core.Session, img *imgproc.RGB, lm *face.Landmarks, at time.Time, frame int) (*core.FaceMatch, error) {
	ctx, cancel := context.WithTimeout(ctx, faceTimeout)
	defer cancel()
	emb, err := m.engine.EmbedLandmarks(ctx, img, lm)
	if err != nil {
		return nil, err
	}
	dk, err := m.p.Tenants.DataKey(ctx, sess.TenantID)
	if err != nil {
		return nil, fmt.Errorf("mount: data key of tenant %s: %w", sess.TenantID, err)
	}
	return lifecycle.MatchFace(sess, dk, emb, img.Pix, lifecycle.ProbeCapture, at, frame)
}

func (m *mount) live(id string) bool {
	if m.capture == nil {
		return false
	}
	return m.capture.Live(id)
}

// authorize authenticates a tenant API key.
func (m *mount) authorize(c *fiber.Ctx) (func(*core.Session) bool, error) {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return nil, apierr.New(apierr.AuthMissing, "send Authorization: Bearer <API key>")
	}
	_, t, err := m.tenants.Authenticate(c.UserContext(), strings.TrimSpace(h[7:]))
	if err != nil {
		return nil, err
	}
	return func(s *core.Session) bool { return s.TenantID != "" && s.TenantID == t.ID }, nil
}

// authenticate authenticates a tenant API key carrying scope (the
// gallery routes).
func (m *mount) authenticate(c *fiber.Ctx, scope string) (gallery.Principal, error) {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) < 8 || !strings.EqualFold(h[:7], "bearer ") {
		return gallery.Principal{}, apierr.New(apierr.AuthMissing, "send Authorization: Bearer <API key>")
	}
	k, t, err := m.tenants.Authenticate(c.UserContext(), strings.TrimSpace(h[7:]))
	if err != nil {
		return gallery.Principal{}, err
	}
	if !core.HasScope(k.Scopes, scope) {
		return gallery.Principal{}, apierr.New(api.CodeInsufficientScope, "this API key lacks the %s scope (it has %s)", scope, strings.Join(k.Scopes, ", "))
	}
	return gallery.Principal{TenantID: t.ID, Scopes: k.Scopes}, nil
}

// sessionPhoto is a liveness session's portrait for a search by sessionId.
func (m *mount) sessionPhoto(ctx context.Context, tenantID, id string) ([]byte, error) {
	return m.face.SessionPhoto(ctx, id, func(s *core.Session) bool { return s.TenantID != "" && s.TenantID == tenantID })
}

// dataKey is a tenant's data key, which seals the gallery templates.
func (m *mount) dataKey(ctx context.Context, tenantID string) (lifecycle.DataKey, error) {
	if m.p.Tenants == nil {
		return nil, errors.New("mount: no tenant service to seal gallery templates with")
	}
	return m.p.Tenants.DataKey(ctx, tenantID)
}

func (m *mount) unavailable(c *fiber.Ctx) error {
	c.Set(fiber.HeaderRetryAfter, "30")
	return faceapi.WriteError(c, CodeEngineUnavailable, "the liveness engine is not available on this server")
}

func (m *mount) close() error {
	close(m.stop)
	m.wg.Wait()
	var errs []error
	if m.capture != nil {
		errs = append(errs, m.capture.Close())
	}
	if m.engine != nil {
		errs = append(errs, m.engine.Close())
	}
	if m.models != nil {
		errs = append(errs, m.models.Close())
	}
	errs = append(errs, m.closeThrottle())
	return errors.Join(errs...)
}

func (m *mount) closeThrottle() error {
	if m.throttle == nil {
		return nil
	}
	return m.throttle.Close()
}

// auditList: GET /api/v1/session/{id}/audit, authorized like the result.
func (m *mount) auditList(c *fiber.Ctx) error {
	sess := api.SessionOf(c)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.JSON(AuditList{SessionID: sess.ID, Frames: lifecycle.AuditFramesAt(sess, m.p.Sessions.Now())})
}

// auditFrame: GET /api/v1/session/{id}/audit/{n}, authorized like the
// result: the JPEG of a frame the session lists, until its retention ends.
func (m *mount) auditFrame(c *fiber.Ctx) error {
	sess := api.SessionOf(c)
	n, err := strconv.Atoi(c.Params("n"))
	notFound := apierr.New(apierr.SessionNotFound, "no audit frame %q for session %s", c.Params("n"), sess.ID)
	if err != nil || m.audit == nil {
		return notFound
	}
	listed := false
	for _, f := range lifecycle.AuditFramesAt(sess, m.p.Sessions.Now()) {
		listed = listed || f.Index == n
	}
	if !listed {
		return notFound
	}
	f, err := m.audit.Get(c.UserContext(), sess.ID, n)
	if err != nil {
		if !errors.Is(err, capture.ErrAuditNotFound) {
			m.log.Warn("capture: reading audit frame", slog.String("session_id", sess.ID), slog.String("error", err.Error()))
		}
		return notFound
	}
	c.Set(fiber.HeaderContentType, "image/jpeg")
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.Send(f.JPEG)
}

// recording: GET /api/v1/session/{id}/recording, with the owning API key
// only: the recording of the attempt that decided the session
// (livegate.dev/models/replay), opened from its sealed file as it is sent,
// until the audit retention after completion ends.
func (m *mount) recording(c *fiber.Ctx) error {
	sess := api.SessionOf(c)
	unavailable := func(why string) error {
		return apierr.New(CodeRecordingUnavailable, "session %s has no recording: %s", sess.ID, why)
	}
	switch {
	case m.audit == nil:
		return unavailable("this server keeps no recordings")
	case sess.Status != core.StatusCompleted || sess.CompletedAt == nil:
		return unavailable("it is " + string(sess.Status))
	case !m.p.Sessions.Now().Before(sess.CompletedAt.Add(m.audit.Retention())):
		return unavailable("its retention has ended")
	}
	rc, err := m.audit.GetRecording(c.UserContext(), sess.ID)
	if err != nil {
		if !errors.Is(err, capture.ErrRecordingNotFound) {
			m.log.Warn("capture: opening a recording", slog.String("session_id", sess.ID), slog.String("error", err.Error()))
		}
		return unavailable("none was kept (a simulated session, or one decided before recordings were kept)")
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEOctetStream)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+sess.ID+`.lgr"`)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	return c.SendStream(&loggedReader{rc: rc, log: m.log, id: sess.ID})
}

// loggedReader logs a recording that fails to open part-way (the response
// has begun: the client sees a short body, which replay reports as
// truncated). Only the error is logged, never content.
type loggedReader struct {
	rc     io.ReadCloser
	log    *slog.Logger
	id     string
	logged bool
}

func (l *loggedReader) Read(p []byte) (int, error) {
	n, err := l.rc.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !l.logged {
		l.logged = true
		l.log.Error("capture: reading a recording", slog.String("session_id", l.id), slog.String("error", err.Error()))
	}
	return n, err
}

func (l *loggedReader) Close() error { return l.rc.Close() }

// AuditList is the body of GET /api/v1/session/{id}/audit.
type AuditList struct {
	SessionID string                 `json:"session_id"`
	Frames    []lifecycle.AuditFrame `json:"frames" doc:"0–4 frames kept for the audit trail, the same list as the result's audit_frames."`
}

func (m *mount) routes() []api.Route {
	pathID := openapi.Param{Name: "id", In: "path", Description: "Session id (ses_…)."}
	t := openapi.Param{Name: "t", In: "query", Description: "The client token (session_url carries it)."}
	sessErrs := []apierr.Code{apierr.SessionNotFound, apierr.SessionExpired, apierr.SessionTerminal}
	keyErrs := []apierr.Code{apierr.AuthMissing, apierr.AuthInvalid}
	readErrs := []apierr.Code{apierr.AuthMissing, apierr.AuthInvalid, apierr.TokenExpired, apierr.SessionNotFound}
	readSec := []string{openapi.SecSessionToken, openapi.SecAPIKey}
	resultToken := openapi.Param{Name: "token", In: "query", Description: "The session's result token (alternatively send the owning tenant's API key as a bearer)."}
	faceDoc := " Face-route error codes (face.not_detected, face.multiple_faces, image.unsupported_type, image.corrupt, " +
		"image.too_large, image.too_small, request.missing_field, request.invalid_field, session.not_verified, server.busy, " +
		"server.engine_unavailable) are listed in docs/capture.md. Limits: 5 MiB, 25 MP and 8192 px a side per image; " +
		"the multipart body may be at most one (detect) or two (compare) images plus 64 KiB."
	withEngine := func(h func(*fiber.Ctx) error) fiber.Handler {
		return func(c *fiber.Ctx) error {
			if m.engines() != nil {
				return m.unavailable(c)
			}
			return h(c)
		}
	}
	tag := "Capture"
	policy := capture.DefaultPolicy() // a tenant's settings may change it
	galleries := gallery.Routes(func() *gallery.Handlers { return m.gal }, func(h fiber.Handler) fiber.Handler { return withEngine(h) },
		[]apierr.Code{apierr.AuthMissing, apierr.AuthInvalid, api.CodeInsufficientScope})
	return append([]api.Route{
		{Operation: openapi.Operation{Method: "GET", Path: "/s/{id}", ID: "hostedPage", Tag: tagSessions,
			Summary: "The hosted capture page (session_url)",
			Description: "HTML, all assets inline (about 31 kB, 11 kB compressed; docs/capture.md): consent (POST /s/{id}/consent), welcome, camera permission, live guidance with a face-guide oval, " +
				"challenges or a 3-second hold, the screen-colour light challenge, Analyzing…, the result and the redirect to redirect_url?session_id=… (sessionId=… for a verification session), " +
				"and after too many failed attempts the wait counted down (Try again enabled at zero). " +
				"?h= opens a handoff link made by POST /s/{id}/handoff instead of ?t=. 410 past the TTL. See docs/capture.md.",
			Params:    []openapi.Param{pathID, t, {Name: "h", In: "query", Description: "A handoff link's sealed token (instead of t)."}},
			Responses: []openapi.Response{{Status: 200, Description: "The page.", ContentType: "text/html"}},
			Errors:    sessErrs}, Handler: m.web.Page},
		{Operation: openapi.Operation{Method: "GET", Path: "/s/{id}/state", ID: "hostedPageState", Tag: tag,
			Summary:     "The session's state for the page (polled to follow a handoff)",
			Description: "status, whether a capture connection is live, and once completed the verdict (never a score) and the redirect target.",
			Params:      []openapi.Param{pathID, t},
			Responses:   []openapi.Response{{Status: 200, Description: "The state.", Body: web.State{}}},
			Errors:      []apierr.Code{apierr.SessionNotFound, apierr.SessionExpired}}, Handler: m.web.State},
		{Operation: openapi.Operation{Method: "GET", Path: "/s/{id}/logo", ID: "hostedPageLogo", Tag: tag,
			Summary:     "The logo of the session's tenant, for its page",
			Description: "image/png as the server encoded it from the tenant's upload (PUT /admin/v1/tenants/{id}/capture-page/logo); cached privately for a day, ETag its SHA-256.",
			Params:      []openapi.Param{pathID, t, {Name: "h", In: "query", Description: "A handoff link's sealed token (instead of t)."}},
			Responses: []openapi.Response{{Status: 200, Description: "The logo.", ContentType: "image/png"},
				{Status: 304, Description: "Not modified (If-None-Match)."}},
			Errors: []apierr.Code{apierr.SessionNotFound, apierr.SessionExpired, web.CodeLogoNotFound}}, Handler: m.web.Logo},
		{Operation: openapi.Operation{Method: "POST", Path: "/s/{id}/consent", ID: "hostedPageConsent", Tag: tag,
			Summary: "Record the user's consent to the capture (the page, before the camera starts)",
			Description: "The hosted page opens on a consent screen — the tenant's consent text where it set one for the page's language " +
				"(capture_page.messages consent.text and consent.agree), else the built-in one, and its policy link (capture_page.policy_url) — " +
				"and posts here when the user ticks the box and agrees, sending the page's language and the SHA-256 of the text it showed. " +
				"The server records the text, its hash, the language, the policy link and the time on the session; the report of a verification " +
				"session shows them (GET /v1/sessions/{id}/report, consent). A text changed since the page loaded is refused " +
				"(409 consent.text_changed: reload). The first consent stands; posting again returns it. The capture WebSocket refuses a " +
				"verification session without one (403 consent.required). docs/capture.md, Consent.",
			Params: []openapi.Param{pathID, t, {Name: "h", In: "query", Description: "A handoff link's sealed token (instead of t)."}},
			Body:   web.ConsentRequest{}, Example: `{"language": "en", "text_sha256": "3f0c…"}`,
			Responses: []openapi.Response{{Status: 200, Description: "The consent recorded.", Body: web.ConsentRecord{}}},
			Errors: append([]apierr.Code{apierr.InvalidJSON, apierr.UnknownField, apierr.MissingField, apierr.InvalidField,
				apierr.UnsupportedMediaType, web.CodeConsentTextChanged}, sessErrs...)}, Handler: m.web.Consent},
		{Operation: openapi.Operation{Method: "POST", Path: "/s/{id}/handoff", ID: "hostedPageHandoff", Tag: tag,
			Summary:     "A short-lived link (and QR code) that opens the page on a phone",
			Description: "Valid 5 minutes (never past the session's TTL); the client token travels sealed (AES-GCM) and bound to the session.",
			Params:      []openapi.Param{pathID, t},
			Responses:   []openapi.Response{{Status: 200, Description: "The link.", Body: web.Handoff{}}},
			Errors:      sessErrs}, Handler: m.web.Handoff},
		{Operation: openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/ws", ID: "captureWebSocket", Tag: tag,
			Summary: "The capture WebSocket (binary JPEG frames in, JSON guidance and verdict out)",
			Description: "Upgrade to WebSocket with ?token=<client token>. Client → server: binary JPEG frames ≤ 1.5 MB at ~10/s, and " +
				"{\"type\":\"retry\"}. Server → client: {\"type\": \"feedback\"|\"challenge\"|\"light\"|\"progress\"|\"verdict\"|\"error\", …}. " +
				"One live connection per session (a second is closed with 4409), frames dropped when the engine is busy (reported in progress.dropped), " +
				"attempts per session, and failed attempts throttled per end user (user_id, or the session: " + per(policy.User) + ") and per client address " +
				"(" + per(policy.Address) + "), both set per tenant (PUT /admin/v1/tenants/{id}/settings), test-mode sessions exempt by default " +
				"(/docs/reference/rate-limits): a client cooling down is upgraded with Retry-After, then gets too_many_failures with retry_after and " +
				"close 4429; a plain HTTP request gets 429. The protocol, close codes and examples: docs/websocket.md.",
			Params:    []openapi.Param{pathID, {Name: "token", In: "query", Description: "The client token (client_token).", Required: true}},
			Responses: []openapi.Response{{Status: 101, Description: "Switching protocols (WebSocket)."}}, Limits: capture.Limits(policy),
			Errors: append([]apierr.Code{apierr.BadRequest, capture.CodeThrottled, capture.CodeConsentRequired}, sessErrs...)}, Handler: withEngine(func(c *fiber.Ctx) error { return m.ws(c) })},
		{Operation: openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/audit", ID: "listAuditFrames", Tag: tagSessions,
			Summary: "List a session's audit frames",
			Description: "0–4 frames with face boxes, kept for the configured retention (30 days by default): the same list as the result's " +
				"audit_frames. With ?token= (the result token) or the owning API key, like the result.",
			Security: readSec, Params: []openapi.Param{pathID, resultToken},
			Responses: []openapi.Response{{Status: 200, Description: "The frames.", Body: AuditList{}}},
			Errors:    readErrs}, Handler: m.auditList, ReadsSession: true},
		{Operation: openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/audit/{n}", ID: "getAuditFrame", Tag: tagSessions,
			Summary: "Download one audit frame (JPEG)",
			Description: "The url of an entry of audit_frames. With ?token= (the result token) or the owning API key, like the result; " +
				"404 once the retention has ended.",
			Security:  readSec,
			Params:    []openapi.Param{pathID, {Name: "n", In: "path", Description: "Position in the list (0–3).", Type: "integer"}, resultToken},
			Responses: []openapi.Response{{Status: 200, Description: "The frame.", ContentType: "image/jpeg"}},
			Errors:    readErrs}, Handler: m.auditFrame, ReadsSession: true},
		{Operation: openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/recording", ID: "getSessionRecording", Tag: tagSessions,
			Summary: "Download the recording of a session's deciding attempt (for support replays)",
			Description: "The attempt that produced the session's verdict, as the engine judged it: its configuration (mode, thresholds, " +
				"the light and challenge plans drawn), every frame fed to the engine (JPEG, timestamp, the light shown) and the verdict, in " +
				"livegate's replay format (docs/liveness.md#replaying-a-session); `livegate-face replay FILE` replays it to the same verdict. " +
				"With the owning API key only (never a session token: a recording is biometric data the end user's page has no need of). " +
				"Kept sealed (AES-256-GCM) beside the audit frames, for the same retention after completion.",
			Security: []string{openapi.SecAPIKey}, Params: []openapi.Param{pathID},
			Responses: []openapi.Response{{Status: 200, Description: "The recording (Content-Disposition names it <session id>.lgr).", ContentType: "application/octet-stream"}},
			Errors:    append(append([]apierr.Code{}, keyErrs...), apierr.SessionNotFound, CodeRecordingUnavailable)}, Handler: m.recording, OwnsSession: true},
		{Operation: openapi.Operation{Method: "POST", Path: "/v1/face/detect", ID: "detectFaces", Tag: "Face",
			Summary:     "Detect faces in an image (seed 002)",
			Description: "multipart/form-data with a file field image (JPEG or PNG) → every face with box, score, keypoints and quality measures." + faceDoc,
			Security:    []string{openapi.SecAPIKey},
			Responses:   []openapi.Response{{Status: 200, Description: "The faces.", Body: faceapi.DetectResponse{}}},
			Errors:      keyErrs}, Handler: withEngine(func(c *fiber.Ctx) error { return m.face.Detect(c) }),
			BodyLimit: faceapi.DefaultMaxBytes + multipartSlack},
		{Operation: openapi.Operation{Method: "POST", Path: "/v2/face/compare", ID: "compareFaces", Tag: "Face",
			Summary: "Compare two faces, or a face with a verified session (seed 002)",
			Description: "multipart/form-data: reference (file) or session_id (a passed session of your tenant), probe (file), threshold " +
				"(default 0.60, the engine's calibrated threshold) → similarity in [0, 1], match, and both faces. Each image must hold exactly one face." + faceDoc,
			Security:  []string{openapi.SecAPIKey},
			Responses: []openapi.Response{{Status: 200, Description: "The comparison.", Body: faceapi.CompareResponse{}}},
			Errors:    append(append([]apierr.Code{}, keyErrs...), apierr.SessionNotFound)}, Handler: withEngine(func(c *fiber.Ctx) error { return m.face.Compare(c) }),
			BodyLimit: 2*faceapi.DefaultMaxBytes + multipartSlack},
	}, galleries...)
}

const tagSessions = "Sessions"

// per words a throttle rule: "5 in 3 minutes".
func per(r capture.Rule) string {
	if r.Window%time.Minute == 0 {
		return fmt.Sprintf("%d in %d minutes", r.Limit, r.Window/time.Minute)
	}
	return fmt.Sprintf("%d in %d s", r.Limit, r.Window/time.Second)
}

// multipartSlack is what a face route accepts beyond its images: multipart
// headers and the small text fields.
const multipartSlack = 64 << 10
