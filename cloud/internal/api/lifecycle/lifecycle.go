package lifecycle

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/receipt"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/webhook"
)

// URLChecker vets redirect and webhook URLs (netguard.Policy satisfies it).
type URLChecker interface {
	CheckURL(ctx context.Context, raw string) error
}

// Notifier wakes the webhook delivery worker after deliveries were queued.
type Notifier interface {
	Notify()
}

// Config configures a Service.
type Config struct {
	// Store persists sessions and deliveries. Required.
	Store store.Store
	// URLs checks redirect_url and webhook_url. Required.
	URLs URLChecker
	// TokenKey (≥ 32 bytes, derived from the master key) seals the copy of a
	// session's tokens kept for idempotent replays. Tokens themselves are
	// random; only their hashes are used to authenticate. Required.
	TokenKey []byte
	// PublicURL is the externally visible base URL, e.g. https://verify.example.com. Required.
	PublicURL string
	// Notifier is told when deliveries were queued. Optional. Default: none.
	Notifier Notifier
	// Clock is the time source. Optional. Default: clock.Real.
	Clock clock.Clock
	// TTL is how long a session can be captured. Optional. Default: 30m.
	TTL time.Duration
	// TokenGrace is how long after the TTL a result token still reads the
	// result. Optional. Default: 24h.
	TokenGrace time.Duration
	// SweepInterval is how often the sweeper looks for expired sessions.
	// Optional. Default: 15s.
	SweepInterval time.Duration
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// RetentionInterval is how often RunRetention applies the tenants'
	// retention. Optional. Default: 1h.
	RetentionInterval time.Duration
	// ScrubAfterRedact makes every redaction scrub the store (Store.Scrub)
	// before it returns; otherwise the next retention pass scrubs. Set for
	// bbolt, whose scrub is cheap; PostgreSQL's rewrites tables under an
	// exclusive lock, once per pass. Optional. Default: false.
	ScrubAfterRedact bool
}

func configDefault(c Config) (Config, error) {
	if c.Store == nil || c.URLs == nil {
		return c, errors.New("lifecycle: Store and URLs are required")
	}
	if len(c.TokenKey) < 32 {
		return c, errors.New("lifecycle: TokenKey must be at least 32 bytes")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("lifecycle: PublicURL %q is not an absolute http(s) URL", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.TTL <= 0 {
		c.TTL = 30 * time.Minute
	}
	if c.TokenGrace <= 0 {
		c.TokenGrace = 24 * time.Hour
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = time.Hour
	}
	return c, nil
}

// Service runs the session lifecycle.
type Service struct {
	cfg      Config
	sealer   *secret.Sealer
	assigner atomic.Pointer[Assigner]
	faces    atomic.Pointer[Faces]
	// signer signs deletion receipts.
	signer    *receipt.Signer
	erasersMu sync.Mutex
	erasers   []Eraser
}

// SetAssigner enables device_id on session creation; the device fleet calls
// it when it starts.
func (s *Service) SetAssigner(a Assigner) { s.assigner.Store(&a) }

// SetFaces enables the facematch check (flow liveness+facematch); the
// capture routes, which own the face engine, call it when they are mounted.
func (s *Service) SetFaces(f Faces) { s.faces.Store(&f) }

// Faces returns the face engine set by SetFaces, or nil: this server runs
// no facematch.
func (s *Service) Faces() Faces {
	if f := s.faces.Load(); f != nil {
		return *f
	}
	return nil
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	cfg, err := configDefault(cfg)
	if err != nil {
		return nil, err
	}
	// A key of its own for sealing tokens, separate from other uses of TokenKey.
	h := hmac.New(sha256.New, cfg.TokenKey)
	h.Write([]byte("livegate session-token sealing key v1"))
	sealer, err := secret.New(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	signer, err := receipt.NewSigner(cfg.TokenKey)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, sealer: sealer, signer: signer}, nil
}

// TTL is the configured session TTL.
func (s *Service) TTL() time.Duration { return s.cfg.TTL }

// Now is the service clock's time.
func (s *Service) Now() time.Time { return s.cfg.Clock.Now() }

// Principal is who makes a request.
type Principal struct {
	Kind     PrincipalKind
	TenantID string // PrincipalTenant only
	KeyID    string // PrincipalTenant only
	Test     bool   // a test-mode key
	// Scopes of the tenant key (nil: every scope; the legacy key has every
	// scope).
	Scopes []string
}

// PrincipalKind says how a caller authenticated.
type PrincipalKind int

const (
	PrincipalAnonymous PrincipalKind = iota // keyless (direct sessions)
	PrincipalTenant                         // a tenant API key
	PrincipalLegacy                         // the legacy global managed-session key
)

// CreateRequest is the body of POST /api/v1/managed-session and of
// POST /v1/liveness/sessions.
type CreateRequest struct {
	UserID      string          `json:"user_id,omitempty" doc:"Your identifier for the user, echoed back in results and webhooks (≤ 256 characters)."`
	Mode        string          `json:"mode,omitempty" doc:"active (default: 3–6 challenges) or passive (hold still for 3 seconds)." enum:"active,passive"`
	RedirectURL string          `json:"redirect_url,omitempty" doc:"https URL the user returns to on completion; session_id is added to its query." format:"uri"`
	WebhookURL  string          `json:"webhook_url,omitempty" doc:"https URL that receives the signed session.* events." format:"uri"`
	Metadata    json.RawMessage `json:"metadata,omitempty" doc:"Any JSON object (≤ 8 KiB), stored and echoed back."`
	DeviceID    string          `json:"device_id,omitempty" doc:"A kiosk of your tenant that runs this session (flow 3): the cloud sends it an assign command over MQTT. Needs the device fleet enabled (--mqtt-addr or --mqtt-url)."`
	Challenges  []string        `json:"challenges,omitempty" doc:"Test-mode keys only (iksk_test_…; live and legacy keys get 403 auth.test_key_required). The active-mode challenges in order (1–6), instead of the random draw, so that a browser test's recorded clip can answer them: a list known in advance can be recorded, which is why live sessions always draw theirs when the capture starts. Needs mode active; not with device_id (a kiosk draws its own)." enum:"blink,turn_left,turn_right,smile,nod" minItems:"1" maxItems:"6"`
}

// Assigner sends a session to a kiosk (the device fleet satisfies it).
type Assigner interface {
	// CheckDevice reports whether deviceID is an enrolled, unrevoked device
	// of tenantID (an error wrapping store.ErrNotFound if not).
	CheckDevice(ctx context.Context, tenantID, deviceID string) error
	// AssignSession sends sess (with DeviceID set) to its device and returns
	// the command id.
	AssignSession(ctx context.Context, sess *core.Session) (string, error)
}

// Device codes of session creation (shared with the fleet routes).
var (
	codeDeviceNotFound = apierr.Register("device.not_found", http.StatusNotFound, "No device with this id.")
	codeFleetDisabled  = apierr.Register("device.fleet_disabled", http.StatusBadRequest, "device_id was given but this server runs no device fleet (start it with --mqtt-addr or --mqtt-url), or the key is the legacy key, which has no devices.")
	codeAssignFailed   = apierr.Register("device.assign_failed", http.StatusServiceUnavailable, "The session was stored but the assign command could not be sent; retry the request with the same Idempotency-Key to send it again.")
)

// DirectRequest is the body of POST /api/v1/session (no key: no webhook).
type DirectRequest struct {
	UserID      string `json:"user_id,omitempty" doc:"Optional identifier for the user (≤ 256 characters)."`
	Mode        string `json:"mode,omitempty" doc:"active (default) or passive." enum:"active,passive"`
	RedirectURL string `json:"redirect_url,omitempty" doc:"https URL the user returns to on completion." format:"uri"`
}

// Created is a new (or idempotently replayed) session and its secrets.
type Created struct {
	Session     *core.Session
	Token       string // result token, for the integrator's backend
	ClientToken string // capture-page token, carried in SessionURL
	SessionURL  string
	Replayed    bool // an earlier request with the same Idempotency-Key
}

const (
	maxUserID   = 256
	maxMetadata = 8 << 10
	maxIdemKey  = 255
)

// Create validates req and stores a new pending session for p.
func (s *Service) Create(ctx context.Context, p Principal, kind core.SessionKind, req CreateRequest, idempotencyKey string) (*Created, error) {
	return s.CreateWith(ctx, p, kind, req, idempotencyKey, Extra{})
}

// Extra is what a verification session (seed 003) adds to a session at
// creation; the zero value adds nothing.
type Extra struct {
	// Flow is the checks requested, e.g. ["liveness"].
	Flow []string
	// Reference is the integrator's identifier, echoed back.
	Reference string
	// SealedSubject and SubjectDigest: the subject sealed with the tenant's
	// data key, and its keyed digest (compared on idempotent retries).
	SealedSubject, SubjectDigest []byte
	// ReviewBelow, when positive, sends a pass whose confidence is below it
	// to review (the tenant's grey zone when the session was created).
	ReviewBelow float64
	// KeepTokens keeps the session's tokens sealed (as for an
	// Idempotency-Key) so that reads can return the client token.
	KeepTokens bool
	// EphemeralDevice binds the session to an ephemeral device (seed 004).
	EphemeralDevice string
	// Workflow is the workflowId the session was started with (seed 004).
	Workflow string
	// FaceRef is the reference face of a facematch flow (sealed).
	FaceRef *core.FaceRef
}

// CreateWith is Create with the additions of x.
func (s *Service) CreateWith(ctx context.Context, p Principal, kind core.SessionKind, req CreateRequest, idempotencyKey string, x Extra) (*Created, error) {
	if len(req.UserID) > maxUserID {
		return nil, apierr.New(apierr.InvalidField, "field \"user_id\" is longer than %d characters", maxUserID)
	}
	mode := core.Mode(req.Mode)
	switch mode {
	case "":
		mode = core.ModeActive
	case core.ModeActive, core.ModePassive:
	default:
		return nil, apierr.New(apierr.InvalidField, "field \"mode\" must be \"active\" or \"passive\", got %q", req.Mode)
	}
	challenges, err := checkChallenges(p, mode, req)
	if err != nil {
		return nil, err
	}
	var meta json.RawMessage
	if len(req.Metadata) > 0 && !bytes.Equal(bytes.TrimSpace(req.Metadata), []byte("null")) {
		if len(req.Metadata) > maxMetadata {
			return nil, apierr.New(apierr.InvalidField, "field \"metadata\" is larger than %d bytes", maxMetadata)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(req.Metadata, &obj); err != nil {
			return nil, apierr.New(apierr.InvalidField, "field \"metadata\" must be a JSON object")
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, req.Metadata); err != nil {
			return nil, apierr.New(apierr.InvalidField, "field \"metadata\" must be a JSON object")
		}
		meta = buf.Bytes()
	}
	var assigner Assigner
	if req.DeviceID != "" {
		a := s.assigner.Load()
		if a == nil || p.Kind != PrincipalTenant {
			return nil, apierr.New(codeFleetDisabled, "device_id %q cannot be used here: no device fleet on this server, or no tenant key", req.DeviceID)
		}
		assigner = *a
		if err := assigner.CheckDevice(ctx, p.TenantID, req.DeviceID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, apierr.New(codeDeviceNotFound, "field \"device_id\": no device %q for this tenant", req.DeviceID)
			}
			return nil, storeErr("reading device", err)
		}
	}
	if len(idempotencyKey) > maxIdemKey {
		return nil, apierr.New(apierr.InvalidField, "header Idempotency-Key is longer than %d characters", maxIdemKey)
	}
	for _, u := range []struct{ field, url string }{{"redirect_url", req.RedirectURL}, {"webhook_url", req.WebhookURL}} {
		if u.url == "" {
			continue
		}
		if err := s.cfg.URLs.CheckURL(ctx, u.url); err != nil {
			return nil, urlErr(u.field, err)
		}
	}

	now := s.cfg.Clock.Now().UTC()
	sess := &core.Session{
		ID:              core.NewID("ses", now),
		Kind:            kind,
		TenantID:        p.TenantID,
		Test:            p.Kind == PrincipalTenant && p.Test,
		UserID:          req.UserID,
		Mode:            mode,
		RedirectURL:     req.RedirectURL,
		WebhookURL:      req.WebhookURL,
		Metadata:        meta,
		DeviceID:        req.DeviceID,
		Challenges:      challenges,
		Flow:            slices.Clone(x.Flow),
		Reference:       x.Reference,
		SealedSubject:   x.SealedSubject,
		SubjectDigest:   x.SubjectDigest,
		ReviewBelow:     x.ReviewBelow,
		EphemeralDevice: x.EphemeralDevice,
		Workflow:        x.Workflow,
		FaceRef:         x.FaceRef,
		IdempotencyKey:  idempotencyKey,
		Status:          core.StatusPending,
		CreatedAt:       now,
		UpdatedAt:       now,
		ExpiresAt:       now.Add(s.cfg.TTL),
	}
	sess.ClientExpiresAt = sess.ExpiresAt
	token, client := core.NewSecret("lgst_"), core.NewSecret("lgct_")
	sess.TokenHash = core.HashSecret(token)
	sess.ClientTokenHash = core.HashSecret(client)
	if idempotencyKey != "" || x.KeepTokens {
		// An idempotent retry must return the same tokens: keep them sealed.
		sess.SealedTokens = s.sealer.Seal([]byte(token + "\n" + client))
	}

	stored, err := s.cfg.Store.CreateSession(ctx, sess, nil)
	replayed := false
	if errors.Is(err, store.ErrExists) && idempotencyKey != "" && stored != nil {
		if !sameRequest(stored, sess) {
			return nil, apierr.New(apierr.IdempotencyReused, "Idempotency-Key %q was used for session %s with a different request", idempotencyKey, stored.ID)
		}
		replayed = true
		sess = stored
		if token, client, err = s.openTokens(sess); err != nil {
			return nil, storeErr("reading sealed tokens", err)
		}
	} else if err != nil {
		return nil, storeErr("creating session", err)
	}
	if assigner != nil && !sess.Status.Terminal() {
		// The session is durable first; a replay with the same
		// Idempotency-Key sends the command again (the kiosk dedupes by id).
		if _, err := assigner.AssignSession(ctx, sess); err != nil {
			s.cfg.Logger.Warn("assign command not sent", "session_id", sess.ID, "device_id", sess.DeviceID, "err", err)
			return nil, apierr.Wrap(codeAssignFailed, err, "session %s stored, but the assign command to device %s could not be sent", sess.ID, sess.DeviceID)
		}
	}
	return &Created{
		Session:     sess,
		Token:       token,
		ClientToken: client,
		SessionURL:  s.cfg.PublicURL + "/s/" + sess.ID + "?t=" + url.QueryEscape(client),
		Replayed:    replayed,
	}, nil
}

func sameRequest(a, b *core.Session) bool {
	return a.Kind == b.Kind && a.TenantID == b.TenantID && a.UserID == b.UserID && a.Mode == b.Mode &&
		a.RedirectURL == b.RedirectURL && a.WebhookURL == b.WebhookURL && bytes.Equal(a.Metadata, b.Metadata) &&
		a.DeviceID == b.DeviceID && slices.Equal(a.Challenges, b.Challenges) &&
		slices.Equal(a.Flow, b.Flow) && a.Reference == b.Reference && bytes.Equal(a.SubjectDigest, b.SubjectDigest) &&
		sameFaceRef(a.FaceRef, b.FaceRef)
}

// sameFaceRef compares two reference faces by source and digest (their
// sealed embeddings differ by nonce).
func sameFaceRef(a, b *core.FaceRef) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Source == b.Source && a.SessionID == b.SessionID && bytes.Equal(a.Digest, b.Digest)
}

// checkChallenges validates the fixed challenge list of a creation request:
// test-mode keys only, active mode, 1–MaxChallenges known kinds, not on a
// kiosk. It returns nil when the request has none (the challenges are
// drawn when the capture starts).
func checkChallenges(p Principal, mode core.Mode, req CreateRequest) ([]string, error) {
	if req.Challenges == nil {
		return nil, nil
	}
	if p.Kind != PrincipalTenant || !p.Test {
		return nil, apierr.New(apierr.LiveKey, "field \"challenges\" needs a test-mode key (iksk_test_…): a challenge list known in advance can be recorded, so live sessions always draw theirs at random")
	}
	if mode != core.ModeActive {
		return nil, apierr.New(apierr.InvalidField, "field \"challenges\" needs mode \"active\", got %q", mode)
	}
	if n := len(req.Challenges); n < 1 || n > core.MaxChallenges {
		return nil, apierr.New(apierr.InvalidField, "field \"challenges\" must list 1–%d challenges, got %d", core.MaxChallenges, n)
	}
	for i, k := range req.Challenges {
		if !slices.Contains(core.ChallengeKinds, k) {
			return nil, apierr.New(apierr.InvalidField, "field \"challenges\"[%d] is %q: want one of %s", i, k, strings.Join(core.ChallengeKinds, ", "))
		}
	}
	if req.DeviceID != "" {
		return nil, apierr.New(apierr.InvalidField, "field \"challenges\" cannot be used with device_id %q: a kiosk draws its own challenges", req.DeviceID)
	}
	return slices.Clone(req.Challenges), nil
}

// openTokens recovers the tokens sealed at creation for idempotent replays.
func (s *Service) openTokens(sess *core.Session) (token, client string, err error) {
	pt, err := s.sealer.Open(sess.SealedTokens)
	if err != nil {
		return "", "", fmt.Errorf("session %s: %w", sess.ID, err)
	}
	token, client, ok := strings.Cut(string(pt), "\n")
	if !ok || !core.SecretMatches(token, sess.TokenHash) || !core.SecretMatches(client, sess.ClientTokenHash) {
		return "", "", fmt.Errorf("session %s: sealed tokens do not match their hashes", sess.ID)
	}
	return token, client, nil
}

// ClientToken returns the capture-page token of a session whose tokens are
// kept sealed (verification sessions, and sessions created with an
// Idempotency-Key); ok is false for others.
func (s *Service) ClientToken(sess *core.Session) (token string, ok bool, err error) {
	if len(sess.SealedTokens) == 0 {
		return "", false, nil
	}
	_, client, err := s.openTokens(sess)
	if err != nil {
		return "", false, storeErr("reading sealed tokens", err)
	}
	return client, true, nil
}

// PublicURL is the externally visible base URL, without a trailing slash.
func (s *Service) PublicURL() string { return s.cfg.PublicURL }

// Get returns a session, expiring it first if its TTL has passed.
// ListByUser returns tenantID's verification sessions of end user userID (user_id,
// externalUserId), newest first, at most limit; one past its TTL is
// expired first, as Get does.
func (s *Service) ListByUser(ctx context.Context, tenantID, userID string, limit int) ([]*core.Session, error) {
	list, err := s.cfg.Store.ListVerificationsByUser(ctx, tenantID, userID, limit)
	if err != nil {
		return nil, storeErr("listing sessions", err)
	}
	for i, sess := range list {
		if !sess.Status.Terminal() && !s.cfg.Clock.Now().Before(sess.ExpiresAt) {
			if list[i], err = s.Expire(ctx, sess.ID); err != nil {
				return nil, err
			}
		}
	}
	return list, nil
}

func (s *Service) Get(ctx context.Context, id string) (*core.Session, error) {
	sess, err := s.cfg.Store.GetSession(ctx, id)
	if err != nil {
		return nil, storeErr("reading session", err)
	}
	if !sess.Status.Terminal() && !s.cfg.Clock.Now().Before(sess.ExpiresAt) {
		return s.Expire(ctx, id)
	}
	return sess, nil
}

// TokenValid reports whether token is sess's result token and still valid
// (until TokenGrace after the session's TTL). A token of another session is
// simply not valid; an expired correct token reports expired.
func (s *Service) TokenValid(sess *core.Session, token string) (ok, expired bool) {
	if token == "" || !core.SecretMatches(token, sess.TokenHash) {
		return false, false
	}
	if !s.cfg.Clock.Now().Before(sess.ExpiresAt.Add(s.cfg.TokenGrace)) {
		return false, true
	}
	return true, false
}

// ClientTokenValid reports whether token is sess's capture-page token and
// the session can still be captured.
func (s *Service) ClientTokenValid(sess *core.Session, token string) bool {
	return token != "" && core.SecretMatches(token, sess.ClientTokenHash) && s.cfg.Clock.Now().Before(sess.ClientExpiresAt)
}

var errNoChange = errors.New("lifecycle: no change")

// Expire moves a non-terminal session past its TTL to expired and queues
// session.expired. A terminal session is returned unchanged.
func (s *Service) Expire(ctx context.Context, id string) (*core.Session, error) {
	now := s.cfg.Clock.Now().UTC()
	var queued bool
	sess, err := s.cfg.Store.UpdateSession(ctx, id, func(cur *core.Session) ([]*core.Delivery, error) {
		if cur.Status.Terminal() || now.Before(cur.ExpiresAt) {
			return nil, errNoChange
		}
		return s.transition(cur, core.StatusExpired, core.EventSessionExpired, now, &queued)
	})
	if errors.Is(err, errNoChange) {
		return s.cfg.Store.GetSession(ctx, id)
	}
	if err != nil {
		return nil, storeErr("expiring session", err)
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "session expired", slog.String("session_id", id))
	s.notify(queued)
	return sess, nil
}

// Cancel cancels a session that has not finished and queues session.cancelled.
func (s *Service) Cancel(ctx context.Context, id string) (*core.Session, error) {
	now := s.cfg.Clock.Now().UTC()
	var queued bool
	sess, err := s.cfg.Store.UpdateSession(ctx, id, func(cur *core.Session) ([]*core.Delivery, error) {
		if cur.Status.Terminal() {
			return nil, apierr.New(apierr.SessionTerminal, "session %s is already %s", id, cur.Status)
		}
		return s.transition(cur, core.StatusCancelled, core.EventSessionCancelled, now, &queued)
	})
	if err != nil {
		return nil, storeErr("cancelling session", err)
	}
	s.notify(queued)
	return sess, nil
}

// transition moves cur to status at now and queues event for it (in the
// caller's UpdateSession transaction); *queued says whether a delivery was
// queued, so the caller wakes the webhook worker after the commit.
func (s *Service) transition(cur *core.Session, status core.Status, event string, now time.Time, queued *bool) ([]*core.Delivery, error) {
	cur.Status = status
	cur.UpdatedAt = now
	ds, err := s.events(cur, event, now)
	*queued = len(ds) > 0
	return ds, err
}

// RecordConsent records the user's consent to the capture of session id
// (the hosted page, before the camera starts). The first record stands: a
// session that already has one is returned unchanged. A terminal or
// expired session is refused (session.already_finished, session.expired).
func (s *Service) RecordConsent(ctx context.Context, id string, c core.Consent) (*core.Session, error) {
	now := s.cfg.Clock.Now().UTC()
	c.GivenAt = now
	sess, err := s.cfg.Store.UpdateSession(ctx, id, func(cur *core.Session) ([]*core.Delivery, error) {
		switch {
		case cur.Status.Terminal():
			return nil, apierr.New(apierr.SessionTerminal, "session %s is already %s", id, cur.Status)
		case !now.Before(cur.ExpiresAt):
			return nil, apierr.New(apierr.SessionExpired, "session %s expired at %s", id, cur.ExpiresAt.Format(time.RFC3339))
		case cur.Consent != nil:
			return nil, errNoChange
		}
		cp := c
		cur.Consent = &cp
		cur.UpdatedAt = now
		return nil, nil
	})
	if errors.Is(err, errNoChange) {
		return s.cfg.Store.GetSession(ctx, id)
	}
	if err != nil {
		return nil, storeErr("recording consent", err)
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "consent recorded", slog.String("session_id", id), slog.String("language", c.Language))
	return sess, nil
}

// Start records that capture of a session has begun: a pending session
// becomes in_progress and session.in_progress is queued, in one transaction.
// The capture WebSocket calls it when it starts analysing the first frame
// of a connection. A session already in progress is returned unchanged, so a
// reconnect (on this replica or another) never sends the event twice. A
// terminal session gets session.terminal; one past its TTL is expired
// (session.expired is queued) and gets session.expired.
func (s *Service) Start(ctx context.Context, id string) (*core.Session, error) {
	now := s.cfg.Clock.Now().UTC()
	var queued, expired bool
	sess, err := s.cfg.Store.UpdateSession(ctx, id, func(cur *core.Session) ([]*core.Delivery, error) {
		queued, expired = false, false
		switch {
		case cur.Status.Terminal():
			return nil, apierr.New(apierr.SessionTerminal, "session %s is already %s", id, cur.Status)
		case !now.Before(cur.ExpiresAt):
			expired = true
			return s.transition(cur, core.StatusExpired, core.EventSessionExpired, now, &queued)
		case cur.Status != core.StatusPending:
			return nil, errNoChange
		}
		cur.StartedAt = &now
		return s.transition(cur, core.StatusInProgress, core.EventSessionStarted, now, &queued)
	})
	if errors.Is(err, errNoChange) {
		return s.cfg.Store.GetSession(ctx, id)
	}
	if err != nil {
		return nil, storeErr("starting session", err)
	}
	s.notify(queued)
	if expired {
		return sess, apierr.New(apierr.SessionExpired, "session %s passed its TTL before capture began", id)
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "session in progress", slog.String("session_id", id))
	return sess, nil
}

// CountAttempt records a failed attempt of a session that still has
// attempts left: Attempts is incremented durably (no event, the status
// stays), so the limit holds across reconnects, replicas and restarts. When
// this attempt would be the session's last of limit, nothing is written and
// last is true: the caller completes the session with Complete, which
// counts it. A terminal session gets session.terminal.
func (s *Service) CountAttempt(ctx context.Context, id string, limit int) (sess *core.Session, last bool, err error) {
	now := s.cfg.Clock.Now().UTC()
	sess, err = s.cfg.Store.UpdateSession(ctx, id, func(cur *core.Session) ([]*core.Delivery, error) {
		last = false
		if cur.Status.Terminal() {
			return nil, apierr.New(apierr.SessionTerminal, "session %s is already %s", id, cur.Status)
		}
		if cur.Attempts+1 >= limit {
			last = true
			return nil, errNoChange
		}
		cur.Attempts++
		cur.UpdatedAt = now
		return nil, nil
	})
	if errors.Is(err, errNoChange) {
		sess, err = s.cfg.Store.GetSession(ctx, id)
	}
	if err != nil {
		return nil, false, storeErr("counting attempt", err)
	}
	return sess, last, nil
}

// Outcome is what a capture (real or simulated) decided.
type Outcome struct {
	Confidence float64
	// Verdict, when empty, is core.VerdictFor(Confidence).
	Verdict core.Verdict
	Checks  []core.Check
	Reasons []string
	// Photo is the 480×600 ICAO JPEG of a pass. When nil on a pass, the
	// photo is marked pending (GET /photo answers 202) until PutPhoto.
	Photo     []byte
	Simulated bool
	// AuditFrames are the frames kept for the audit trail (their JPEGs
	// already stored by the caller). Optional.
	AuditFrames []core.AuditFrame
	// FaceMatch is the facematch comparison of a session that has a
	// reference face, when a face could be compared. Optional.
	FaceMatch *core.FaceMatch
}

// Complete records the outcome of a capture: the photo (on pass) first, then
// the completed session and its session.completed delivery in one
// transaction. A session past its TTL is expired instead and Complete
// returns session.expired.
func (s *Service) Complete(ctx context.Context, id string, o Outcome) (*core.Session, error) {
	if o.Confidence < 0 || o.Confidence > 1 {
		return nil, apierr.New(apierr.InvalidField, "confidence %v is outside [0, 1]", o.Confidence)
	}
	verdict := o.Verdict
	if verdict == "" {
		verdict = core.VerdictFor(o.Confidence)
	}
	if verdict == core.VerdictPass && o.Photo != nil {
		// Refuse before writing the photo, so a refused completion changes
		// nothing (the transaction below checks again).
		cur, err := s.cfg.Store.GetSession(ctx, id)
		if err != nil {
			return nil, storeErr("reading session", err)
		}
		if cur.Status.Terminal() {
			return nil, apierr.New(apierr.SessionTerminal, "session %s is already %s", id, cur.Status)
		}
		if err := s.cfg.Store.PutPhoto(ctx, id, o.Photo); err != nil {
			return nil, storeErr("storing photo", err)
		}
	}
	now := s.cfg.Clock.Now().UTC()
	var queued, expired bool
	sess, err := s.cfg.Store.UpdateSession(ctx, id, func(cur *core.Session) ([]*core.Delivery, error) {
		queued, expired = false, false
		if cur.Status.Terminal() {
			return nil, apierr.New(apierr.SessionTerminal, "session %s is already %s", id, cur.Status)
		}
		if !now.Before(cur.ExpiresAt) {
			expired = true
			return s.transition(cur, core.StatusExpired, core.EventSessionExpired, now, &queued)
		}
		conf := o.Confidence
		v := verdict
		cur.Status = core.StatusCompleted
		cur.UpdatedAt = now
		cur.CompletedAt = &now
		cur.Verdict = &v
		cur.Confidence = &conf
		cur.Checks = append([]core.Check(nil), o.Checks...)
		cur.Reasons = append([]string(nil), o.Reasons...)
		cur.Simulated = o.Simulated
		cur.AuditFrames = append([]core.AuditFrame(nil), o.AuditFrames...)
		cur.FaceMatch = o.FaceMatch
		cur.Attempts++
		switch {
		case v != core.VerdictPass:
			cur.Photo = core.PhotoNone
		case o.Photo != nil:
			cur.Photo = core.PhotoReady
		default:
			cur.Photo = core.PhotoPending
		}
		ds, err := s.events(cur, core.EventSessionCompleted, now)
		queued = len(ds) > 0
		return ds, err
	})
	if err != nil {
		return nil, storeErr("completing session", err)
	}
	s.notify(queued)
	if expired {
		return sess, apierr.New(apierr.SessionExpired, "session %s passed its TTL before it completed", id)
	}
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "session completed",
		slog.String("session_id", id), slog.String("verdict", string(verdict)), slog.Bool("simulated", o.Simulated))
	return sess, nil
}

// Result renders sess as the result routes serve it now: audit frames
// whose retention has ended are left out.
func (s *Service) Result(sess *core.Session) Result {
	return ResultAt(sess, s.cfg.Clock.Now())
}

// Photo returns the JPEG of a passed session.
func (s *Service) Photo(ctx context.Context, id string) ([]byte, error) {
	b, err := s.cfg.Store.GetPhoto(ctx, id)
	if err != nil {
		return nil, storeErr("reading photo", err)
	}
	return b, nil
}

func (s *Service) notify(queued bool) {
	if queued && s.cfg.Notifier != nil {
		s.cfg.Notifier.Notify()
	}
}

// events builds the deliveries of one state change: one event to the
// session's webhook_url, if it has one, whose data is the session's result.
func (s *Service) events(sess *core.Session, typ string, now time.Time) ([]*core.Delivery, error) {
	if sess.WebhookURL == "" {
		return nil, nil
	}
	data, err := s.eventData(sess)
	if err != nil {
		return nil, err
	}
	d, err := webhook.NewDelivery(now, typ, sess, data)
	if err != nil {
		return nil, err
	}
	return []*core.Delivery{d}, nil
}

// eventData is the data of sess's webhook events: its result, or for a
// verification session (seed 003) its own camelCase shape.
func (s *Service) eventData(sess *core.Session) (json.RawMessage, error) {
	var view any = ResultOf(sess)
	if len(sess.Flow) > 0 {
		view = VerificationEventOf(sess, s.cfg.PublicURL)
	}
	data, err := json.Marshal(view)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: encoding result of %s: %w", sess.ID, err)
	}
	return data, nil
}

// RedirectTarget is where the user goes when sess completes: redirect_url
// with the session's id added to its query (existing parameters kept as
// written) as session_id, or as sessionId for a verification session
// (camelCase like the rest of /v1/sessions). Empty when the session has no
// redirect_url.
func RedirectTarget(sess *core.Session) string {
	if sess.RedirectURL == "" {
		return ""
	}
	u, err := url.Parse(sess.RedirectURL)
	if err != nil {
		return ""
	}
	param := RedirectParam(sess)
	q := u.Query()
	if q.Has(param) {
		q.Set(param, sess.ID)
		u.RawQuery = q.Encode()
	} else if u.RawQuery == "" {
		u.RawQuery = param + "=" + url.QueryEscape(sess.ID)
	} else {
		u.RawQuery += "&" + param + "=" + url.QueryEscape(sess.ID)
	}
	return u.String()
}

// RedirectParam is the query parameter RedirectTarget names the session
// with: sessionId for verification sessions (created by POST /v1/sessions,
// which have a flow), session_id for every other.
func RedirectParam(sess *core.Session) string {
	if len(sess.Flow) > 0 {
		return "sessionId"
	}
	return "session_id"
}

// CheckURL checks raw against the server's URL policy (https, public
// hosts; loopback http with --dev) as session creation does, the refusal
// naming field.
func (s *Service) CheckURL(ctx context.Context, field, raw string) error {
	if err := s.cfg.URLs.CheckURL(ctx, raw); err != nil {
		return urlErr(field, err)
	}
	return nil
}

// urlErr maps a URL policy refusal to its API code, naming the field.
func urlErr(field string, err error) error {
	code := apierr.URLInvalid
	var ne *netguard.Error
	if errors.As(err, &ne) {
		switch ne.Code {
		case netguard.CodeSchemeNotAllowed:
			code = apierr.URLSchemeNotAllowed
		case netguard.CodeHostNotAllowed:
			code = apierr.URLHostNotAllowed
		case netguard.CodeHostUnresolvable:
			code = apierr.URLHostUnresolvable
		}
		return apierr.Wrap(code, err, "%s refused: %s", field, ne.Message)
	}
	return apierr.Wrap(code, err, "%s refused: %s", field, err.Error())
}

// storeErr maps store errors to API errors; *apierr.Error passes through.
func storeErr(what string, err error) error {
	if _, ok := apierr.As(err); ok {
		return err
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.Wrap(apierr.SessionNotFound, err, "session not found")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierr.Wrap(apierr.StoreUnavailable, err, "%s timed out", what)
	case errors.Is(err, store.ErrClosed):
		return apierr.Wrap(apierr.StoreUnavailable, err, "%s: the store is shutting down", what)
	}
	return apierr.Wrap(apierr.Internal, fmt.Errorf("%s: %w", what, err), "%s failed", what)
}
