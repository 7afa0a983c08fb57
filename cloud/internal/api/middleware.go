package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/jsonbody"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/core"
)

// Locals keys.
const (
	localRequestID = "livegate.request_id"
	localSessionID = "livegate.session_id"
	localTenantID  = "livegate.tenant_id"
)

func requestIDOf(c *fiber.Ctx) string {
	id, _ := c.Locals(localRequestID).(string)
	return id
}

// requestID gives every request an id (req_…), in X-Request-Id and the logs.
func (s *Server) requestID(c *fiber.Ctx) error {
	id := core.NewID("req", s.cfg.Clock.Now())
	c.Locals(localRequestID, id)
	c.Set("X-Request-Id", id)
	return c.Next()
}

// accessLog logs one line per request and renders errors itself, so the
// status it logs is the status sent.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			return herr
		}
	}
	status := c.Response().StatusCode()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if !s.cfg.Logger.Enabled(c.UserContext(), level) {
		return nil
	}
	attrs := []slog.Attr{
		slog.String("request_id", requestIDOf(c)),
		slog.String("method", c.Method()),
		slog.String("path", c.Path()), // never the query: it may hold a token
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
	}
	if sid, ok := c.Locals(localSessionID).(string); ok {
		attrs = append(attrs, slog.String("session_id", sid))
	}
	if tid, ok := c.Locals(localTenantID).(string); ok {
		attrs = append(attrs, slog.String("tenant_id", tid))
	}
	s.cfg.Logger.LogAttrs(c.UserContext(), level, "http request", attrs...)
	return nil
}

// recoverPanic turns a panic into a 500 envelope and logs the stack.
func (s *Server) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = apierr.Wrap(apierr.Internal, fmt.Errorf("panic: %v\n%s", r, debug.Stack()), "internal error")
		}
	}()
	return c.Next()
}

// rateScope is whom the request rate limit counts a request to path
// against (openapi.PerCredential, PerAddress or NotLimited). The middleware
// asks it for every request and /docs/reference/rate-limits for every
// route, so the page says what the server does. Health probes are not
// limited: a load balancer must not be throttled.
func rateScope(method, path string) string {
	switch {
	case path == "/healthz" || path == "/readyz":
		return openapi.NotLimited
	case keyless(method, path):
		return openapi.PerAddress
	}
	return openapi.PerCredential
}

// textInput refuses query parameters and an Idempotency-Key that are not
// UTF-8 text (control characters included): they reach the stores, which
// hold text (PostgreSQL refused such a key with SQLSTATE 22021, a 500), and
// come back in results.
func textInput(c *fiber.Ctx) error {
	var bad string
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if bad == "" && (!isText(k) || !isText(v)) {
			bad = fmt.Sprintf("query parameter %q", strings.ToValidUTF8(string(k), "\ufffd"))
		}
	})
	if bad == "" && !isText(c.Request().Header.Peek("Idempotency-Key")) {
		bad = "header Idempotency-Key"
	}
	if bad != "" {
		return apierr.New(apierr.InvalidField, "%s must be UTF-8 text without control characters", bad)
	}
	return c.Next()
}

func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// browserPath reports whether a path is meant for browsers on other origins:
// direct sessions (created client-side, seed 001) and token reads.
func browserPath(path string) bool {
	if path == "/api/v1/session" || path == "/api/v1/captcha/challenge" {
		return true
	}
	if rest, ok := strings.CutPrefix(path, "/api/v1/session/"); ok {
		return strings.HasSuffix(rest, "/result") || strings.HasSuffix(rest, "/photo")
	}
	return false
}

// cors lets browser apps on any origin call the browser routes without
// credentials (no cookies; keys never belong in a browser), and answers
// their preflight requests.
func (s *Server) cors(c *fiber.Ctx) error {
	if !browserPath(c.Path()) || c.Get(fiber.HeaderOrigin) == "" {
		return c.Next()
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderAccessControlExposeHeaders, "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After")
	if c.Method() == fiber.MethodOptions && c.Get(fiber.HeaderAccessControlRequestMethod) != "" {
		c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST")
		c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type, Authorization, X-Captcha")
		c.Set(fiber.HeaderAccessControlMaxAge, "600")
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Next()
}

// keyless reports whether a path never takes an API key: it is limited per
// client IP whatever Authorization header comes with it (so inventing
// bearer values cannot buy a fresh budget).
func keyless(method, path string) bool {
	return (method == fiber.MethodPost && path == "/api/v1/session") || path == "/api/v1/captcha/challenge" || path == "/start" || strings.HasPrefix(path, "/start/") ||
		strings.HasPrefix(path, "/s/") ||
		strings.HasPrefix(path, "/docs/") || path == "/openapi.json"
}

// rateLimit counts the request against its credential (any Authorization
// bearer) or, on keyless routes and without one, its client IP; it sets
// X-RateLimit-* and refuses with 429. A request whose credential a route
// refuses (auth.invalid, auth.admin_invalid) also counts against the client
// IP's own budget, so that guessing keys or tokens from one address is
// limited like keyless traffic, on every route whoever checks the
// credential.
func (s *Server) rateLimit(c *fiber.Ctx) error {
	scope := rateScope(c.Method(), c.Path())
	if s.cfg.RateLimit <= 0 || scope == openapi.NotLimited {
		return c.Next()
	}
	id := "ip:" + c.IP()
	if b := bearer(c); b != "" && scope == openapi.PerCredential {
		h := sha256.Sum256([]byte(b))
		id = "k:" + hex.EncodeToString(h[:12])
	}
	if err := s.count(c, id, true); err != nil {
		return err
	}
	err := c.Next()
	if e, ok := apierr.As(err); ok && (e.Code == apierr.AuthInvalid || e.Code == apierr.AdminInvalid) {
		if lerr := s.count(c, "authfail:"+c.IP(), false); lerr != nil {
			return lerr
		}
	}
	return err
}

// count counts one request for id; with headers it sets X-RateLimit-*.
func (s *Server) count(c *fiber.Ctx, id string, headers bool) error {
	d := s.limiter.Allow(id)
	reset := int(math.Ceil(d.Reset.Seconds()))
	if headers {
		c.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
		c.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		c.Set("X-RateLimit-Reset", strconv.Itoa(reset))
	}
	if !d.Allowed {
		e := apierr.New(apierr.RateLimited, "rate limit of %d requests per minute exceeded; retry in %d s", d.Limit, reset)
		e.RetryAfter = max(reset, 1)
		return e
	}
	return nil
}

// errorHandler renders every error as the envelope.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	rid := requestIDOf(c)
	if rid == "" { // errors raised before the middleware ran (e.g. body too large)
		rid = core.NewID("req", s.cfg.Clock.Now())
		c.Set("X-Request-Id", rid)
	}
	e, ok := apierr.As(err)
	if !ok {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			e = fromFiber(fe, c)
		} else {
			e = apierr.Wrap(apierr.Internal, err, "internal error")
		}
	}
	if e.Code.Status >= 500 {
		s.cfg.Logger.LogAttrs(c.UserContext(), slog.LevelError, "request failed",
			slog.String("request_id", rid), slog.String("code", e.Code.ID), slog.Any("error", e))
	}
	if e.RetryAfter > 0 {
		c.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	c.Status(e.Code.Status)
	if strings.HasPrefix(c.Path(), "/s/") && strings.Contains(c.Get("Accept"), "text/html") {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return pageError.Execute(c, map[string]any{"Code": e.Code.ID, "Message": e.Message, "RequestID": rid, "Status": e.Code.Status})
	}
	return c.JSON(openapi.Envelope{Detail: openapi.EnvelopeDetail{Code: e.Code.ID, Message: e.Message, RequestID: rid, RetryAfter: e.RetryAfter}})
}

func fromFiber(fe *fiber.Error, c *fiber.Ctx) *apierr.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return apierr.New(apierr.RouteNotFound, "no route %s %s", c.Method(), c.Path())
	case fiber.StatusMethodNotAllowed:
		return apierr.New(apierr.MethodNotAllowed, "%s is not allowed on %s", c.Method(), c.Path())
	case fiber.StatusRequestEntityTooLarge:
		return apierr.New(apierr.BodyTooLarge, "request body is larger than the limit")
	case fiber.StatusRequestTimeout:
		return apierr.New(apierr.RequestTimeout, "request timed out")
	case fiber.StatusRequestHeaderFieldsTooLarge:
		return apierr.New(apierr.HeadersTooLarge, "request headers are too large")
	case fiber.StatusBadRequest:
		return apierr.New(apierr.BadRequest, "malformed request")
	}
	return apierr.Wrap(apierr.Internal, fe, "internal error")
}

var pageError = template.Must(template.New("err").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>livegate</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:560px;margin:12vh auto;padding:0 20px;color:#1d2329}code{font-size:13px;color:#5b6670}</style></head>
<body><h1>{{if eq .Status 410}}This verification link has expired{{else if eq .Status 404}}Verification session not found{{else}}Something went wrong{{end}}</h1>
<p>{{.Message}}</p><p>Please return to the site that sent you here and start again.</p><p><code>{{.Code}} · {{.RequestID}}</code></p></body></html>`))

// bearer returns the Authorization: Bearer credential, or "".
func bearer(c *fiber.Ctx) string {
	h := c.Get(fiber.HeaderAuthorization)
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// principal authenticates the API key of a request: a tenant key or the
// legacy global key.
func (s *Server) principal(c *fiber.Ctx) (lifecycle.Principal, error) {
	key := bearer(c)
	if key == "" {
		return lifecycle.Principal{}, apierr.New(apierr.AuthMissing, "send Authorization: Bearer <API key>")
	}
	return s.principalFor(c, key)
}

func (s *Server) principalFor(c *fiber.Ctx, key string) (lifecycle.Principal, error) {
	if s.cfg.LegacyKey != "" {
		h := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(h[:], s.legacyHash[:]) == 1 {
			return lifecycle.Principal{Kind: lifecycle.PrincipalLegacy}, nil
		}
	}
	k, t, err := s.cfg.Tenants.Authenticate(c.UserContext(), key)
	if err != nil {
		return lifecycle.Principal{}, err
	}
	c.Locals(localTenantID, t.ID)
	return lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: t.ID, KeyID: k.ID, Test: k.Mode == core.TenantTest, Scopes: k.Scopes}, nil
}

// requireAdmin checks the admin bearer token in constant time.
func (s *Server) requireAdmin(c *fiber.Ctx) error {
	if s.cfg.AdminToken == "" {
		return apierr.New(apierr.AdminDisabled, "the admin API is disabled: set LIVEGATE_ADMIN_TOKEN to enable it")
	}
	h := sha256.Sum256([]byte(bearer(c)))
	if subtle.ConstantTimeCompare(h[:], s.adminHash[:]) != 1 {
		return apierr.New(apierr.AdminInvalid, "send Authorization: Bearer <admin token>")
	}
	return nil
}

// decode reads a strict JSON body into v. A body with a Content-Type other
// than JSON is refused; no Content-Type is accepted.
func decode(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(body) > 0 {
		ct := c.Get(fiber.HeaderContentType)
		if ct != "" && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), fiber.MIMEApplicationJSON) {
			return apierr.New(apierr.UnsupportedMediaType, "Content-Type must be application/json, got %q", ct)
		}
	}
	if err := jsonbody.Decode(body, v); err != nil {
		return err
	}
	return nil
}
