package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"sync"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/api/ratelimit"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/captcha"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// DefaultBodyLimit is the largest request body accepted (413 above it).
const DefaultBodyLimit = 64 << 10

// DefaultRateLimit is the default number of requests per minute per API key
// (or per client IP on keyless routes).
const DefaultRateLimit = 600

// Notifier wakes the webhook worker (webhook.Worker satisfies it).
type Notifier interface {
	Notify()
}

// ReplayFunc re-queues a dead or delivered webhook delivery
// (webhook.Replay with the store bound).
type ReplayFunc func(ctx context.Context, id string) (*core.Delivery, error)

// Config configures a Server.
type Config struct {
	// Sessions runs the session lifecycle. Required.
	Sessions *lifecycle.Service
	// Tenants manages tenants and authenticates API keys. Required.
	Tenants *tenancy.Service
	// Store backs /readyz and the delivery admin routes. Required.
	Store store.Store
	// Replay re-queues a delivery for POST /admin/v1/deliveries/{id}/replay. Required.
	Replay ReplayFunc
	// Notifier is told when the admin API re-queued a delivery. Optional.
	Notifier Notifier
	// AdminToken enables the admin API when non-empty. Optional. Default: disabled.
	AdminToken string
	// LegacyKey is the legacy global managed-session key (seed 000). Optional. Default: none.
	LegacyKey string
	// RateLimit is requests per minute per identity; ≤ 0 disables limiting
	// (headers are still sent). Optional. Default: 0 here; the command sets DefaultRateLimit.
	RateLimit int
	// BodyLimit in bytes. Optional. Default: DefaultBodyLimit.
	BodyLimit int
	// ProxyHeader, when set, is the header holding the client IP (e.g.
	// X-Forwarded-For) behind a trusted proxy. Optional. Default: the peer address.
	ProxyHeader string
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// Version is reported in the OpenAPI document. Optional. Default: "dev".
	Version string
	// Routes are more routes to serve and document; one with the method and
	// path of a built-in route replaces it. Optional.
	Routes []Route
	// HSTS is the Strict-Transport-Security value sent on every response
	// over TLS (never over plain HTTP), e.g. "max-age=31536000". Optional.
	// Default: none.
	HSTS string
	// Captcha, when set, guards POST /api/v1/session: a request without a
	// solution the verifier accepts (X-Captcha) is refused with a captcha.*
	// code and creates nothing; a *captcha.PoW also serves
	// GET /api/v1/captcha/challenge. Optional. Default: none.
	Captcha captcha.Verifier
}

// Server is the HTTP API.
type Server struct {
	cfg        Config
	app        *fiber.App
	limiter    *ratelimit.Limiter
	ops        []route
	adminHash  [32]byte
	legacyHash [32]byte

	specOnce sync.Once
	spec     map[string]any
	specJSON []byte
	specErr  error
}

// New builds the server and registers its routes.
func New(cfg Config) (*Server, error) {
	if cfg.Sessions == nil || cfg.Tenants == nil || cfg.Store == nil || cfg.Replay == nil {
		return nil, errors.New("api: Sessions, Tenants, Store and Replay are required")
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	s := &Server{cfg: cfg, limiter: ratelimit.New(ratelimit.Config{Limit: cfg.RateLimit, Clock: cfg.Clock})}
	if cfg.AdminToken != "" {
		s.adminHash = sha256.Sum256([]byte(cfg.AdminToken))
	}
	if cfg.LegacyKey != "" {
		s.legacyHash = sha256.Sum256([]byte(cfg.LegacyKey))
	}
	extra := append([]Route(nil), cfg.Routes...)
	for i := range extra {
		switch {
		case extra[i].ReadsSession && extra[i].OwnsSession:
			return nil, fmt.Errorf("api: route %s %s: ReadsSession and OwnsSession are exclusive", extra[i].Method, extra[i].Path)
		case extra[i].ReadsSession:
			extra[i].Handler = s.readsSession(extra[i].Handler)
		case extra[i].OwnsSession:
			extra[i].Handler = s.ownsSession(extra[i].Handler)
		}
		if (extra[i].ReadsSession || extra[i].OwnsSession) && !slices.Contains(extra[i].Errors, CodeInsufficientScope) {
			// The wrapper checks the key's sessions:read scope.
			extra[i].Errors = append(slices.Clone(extra[i].Errors), CodeInsufficientScope)
		}
	}
	s.ops = merge(s.routes(), extra)
	// Fiber's limit is app-wide: set it to the largest route limit and
	// enforce each route's own limit in limitBody.
	limits := bodyLimits()
	appLimit := cfg.BodyLimit
	for k, l := range limits {
		limits[k] = max(l, cfg.BodyLimit)
		appLimit = max(appLimit, l)
	}
	for _, r := range cfg.Routes {
		if r.BodyLimit > 0 {
			limits[r.Method+" "+r.Path] = r.BodyLimit
			appLimit = max(appLimit, r.BodyLimit)
		}
	}
	s.app = fiber.New(fiber.Config{
		AppName:               "livegate-cloud",
		BodyLimit:             appLimit,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		ProxyHeader:           cfg.ProxyHeader,
		JSONEncoder:           marshalJSON,
		JSONDecoder:           json.Unmarshal,
	})
	if cfg.HSTS != "" {
		s.app.Use(hsts(cfg.HSTS))
	}
	s.app.Use(s.requestID, s.accessLog, s.recoverPanic, textInput, s.cors, s.rateLimit)
	for _, r := range s.ops {
		limit, ok := limits[r.Method+" "+r.Path]
		if !ok {
			limit = cfg.BodyLimit
		}
		s.app.Add(r.Method, fiberPath(r.Path), limitBody(limit), r.handler)
	}
	return s, nil
}

// limitBody refuses a body over limit bytes with 413 before the handler runs.
func limitBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		n := c.Request().Header.ContentLength()
		if n < 0 || n <= limit {
			n = len(c.Body())
		}
		if n > limit {
			return apierr.New(apierr.BodyTooLarge, "request body is %d bytes; this route accepts at most %d", n, limit)
		}
		return c.Next()
	}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// fiberPath turns /a/{id}/b into Fiber's /a/:id/b.
func fiberPath(p string) string { return pathParam.ReplaceAllString(p, ":$1") }

// App is the Fiber application (for tests and embedding).
func (s *Server) App() *fiber.App { return s.app }

// Serve serves HTTP on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for requests in flight
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// Operations are the documented routes, as the server registers them.
func (s *Server) Operations() []openapi.Operation {
	out := make([]openapi.Operation, len(s.ops))
	for i, r := range s.ops {
		out[i] = r.Operation
	}
	return out
}

// OpenAPI returns the OpenAPI 3.1 document as JSON.
func (s *Server) OpenAPI() ([]byte, error) {
	s.specOnce.Do(func() {
		s.spec, s.specErr = openapi.Build(openapi.Info{
			Title:   "livegate-cloud API",
			Version: s.cfg.Version,
			Description: "Hosted face-liveness sessions: create a session with your API key, send the user to session_url, " +
				"receive the signed webhook, and read the result (and, on pass, the 480×600 ICAO photo). " +
				"Errors are always {\"detail\": {\"code\", \"message\", \"request_id\"}}.",
		}, s.Operations(), webhookDocs()...)
		if s.specErr == nil {
			s.specJSON, s.specErr = json.MarshalIndent(s.spec, "", "  ")
		}
	})
	if s.specErr != nil {
		return nil, fmt.Errorf("api: building OpenAPI document: %w", s.specErr)
	}
	return s.specJSON, nil
}

// marshalJSON encodes like json.Marshal without escaping <, > and & (URLs
// in responses stay readable; every response is application/json).
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// webhookDocs documents the events the service sends.
func webhookDocs() []openapi.Webhook {
	headers := []openapi.Param{
		{Name: "Livegate-Event-Id", Description: "The event id (evt_…), same on every attempt.", Required: true},
		{Name: "Livegate-Event-Type", Description: "The event type.", Required: true},
		{Name: "Livegate-Attempt", Description: "1-based attempt number.", Required: true},
		{Name: "Livegate-Signature", Description: "t=<unix>,v1=<hex HMAC-SHA256(webhook_secret, \"<t>.<raw body>\")>, one v1 per secret while a secret rotates. Absent for legacy-key sessions."},
	}
	ev := func(name, summary string) openapi.Webhook {
		return openapi.Webhook{Name: name, Summary: summary, Headers: headers, Body: WebhookEvent{},
			Description: "POSTed to the session's webhook_url; see docs/webhooks.md for verification in Go, Python and Node."}
	}
	return []openapi.Webhook{
		ev("session.in_progress", "Capture of the session began (the capture WebSocket started analysing its first frame); sent once per session"),
		ev("session.completed", "The session has a verdict (pass, fail or retry)"),
		ev("session.expired", "The session passed its TTL without completing"),
		ev("session.cancelled", "The session was cancelled"),
		ev("session.redacted", "The session's data was deleted (a redact route or the retention sweeper); data is the tombstone with redaction {scope, redacted_at, reason, receipt_id, deleted_by}, and the session's earlier payloads were rewritten the same way"),
		{Name: "verification_session_event", Summary: "Any of the events above, for a verification session (/v1/sessions)",
			Description: "POSTed to the verification session's webhookUrl with the same headers and signature; data is the session as " +
				"GET /v1/sessions/{id} returns it, with clientToken null, plus reference and metadata. See docs/webhooks.md.",
			Headers: headers, Body: VerificationWebhookEvent{}},
	}
}
